#!/usr/bin/env bash
# Session 6 (issue 11): the linear head's warp-per-row forward (linear_forward_lanes) against the shared-tile
# linear_forward. One device call from the checkout root, DIR filled by stage-gpu.sh plus variant PTX
# under DIR/v-*/ (other launch bounds). In order, each alone on the card:
#   tests:  the GPU test classes under 4 base seeds at once (the new kernel is the default);
#   points: CudaBench on POINTS, each variant of VARIANTS twice, alternating;
#   ncu:    the forward kernels' durations under ncu at MT_10XS and MT_20XS, batch 131072, both kernels;
#   grid:   the full grid with the new kernel (fe.csv) and the old (fe-old.csv);
#   torch:  the PyTorch baseline right after; goals: det_goals.py on each grid.
# Files under $OUT: summary.txt, fe.csv, fe-old.csv, torch.csv, points CSVs, logs.tgz.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"; . "$here/lib.sh"
out="${OUT:-/tmp/fe-out}"; mkdir -p "$out/logs"; sum="$out/summary.txt"
steps="${STEPS:-tests points ncu grid torch}"
echo "# GPU: $(gpu_info)" | tee "$sum"
t0=$(date +%s)
if [[ " $steps " == *" tests "* ]]; then
  pids=()
  for s in ${TEST_SEEDS:-20261206 20269125 20277044 20284963}; do
    ( timeout 300 "$java" "$(own_tmpdir)" -Xmx4g -Dfastembedding.test.seed=$s -Dfastembedding.test.agreement=print \
        "${junit[@]}" --class-path "$cp" "${gpu_suite[@]}" --select-class io.fastembedding.backend.cuda.ResidentEpochTest \
        --details=tree > "$out/logs/seed-$s.log" 2>&1; echo "exit $?" >> "$out/logs/seed-$s.log" ) & pids+=($!)
  done
  wait "${pids[@]}"
  seed_report "$out/logs" 5 | tee -a "$sum"
  echo "# tests after $(( $(date +%s) - t0 )) s" | tee -a "$sum"
fi
points="${POINTS:-^multi,,(33|90|168),(1024|16384|131072),(ALL_UNIFORM|ALL_MIXED),|^single,1000000,(8|128),131072,(UNIFORM|UNI_AND_BINOMIAL),|^single,1000,8,1024,}"
old=-Dfastembedding.cuda.linearForwardLanes=false
variants="${VARIANTS:-lanes= tile=$old lb4=ptx:v-lb4 lb0=ptx:v-lb0 lanes2= tile2=$old}"
if [[ " $steps " == *" points "* ]]; then
  for v in $variants; do
    bench "$out/points-${v%%=*}.csv" "${v%%=*}" "$(echo "${v#*=}" | tr ',' ' ')" --no-stream --points "$points"
  done
  python3 - "$out" $(for v in $variants; do echo "${v%%=*}"; done) <<'PY' | tee -a "$sum"
import csv, sys
out, names = sys.argv[1], sys.argv[2:]
rows = {}
for n in names:
    for r in csv.DictReader(open(f"{out}/points-{n}.csv")):
        key = (r["suite"], r["impl"], r["num_embeddings"], r["dim"], r["batch"], r["scenario"])
        rows.setdefault(key, {})[n] = float(r["ms_median"])
print("# ms_median per point and variant")
print("suite impl n dim batch scenario | " + " ".join(f"{n:>8}" for n in names))
for key in sorted(rows):
    print(" ".join(key) + " | " + " ".join(f"{rows[key].get(n, float('nan')):8.4f}" for n in names))
PY
fi
if [[ " $steps " == *" ncu "* ]]; then
  for v in "lanes=" "tile=$old"; do
    name="${v%%=*}"; opts="${v#*=}"
    timeout 150 ncu --cache-control none --clock-control none --kernel-name regex:'linear_forward.*' \
      --metrics gpu__time_duration.sum,launch__grid_size,launch__registers_per_thread,sm__warps_active.avg.pct_of_peak_sustained_active,dram__bytes.sum \
      --csv --print-units base --log-file "$out/logs/ncu-$name.csv" \
      "$java" $opts -cp "$cp" io.fastembedding.bench.cuda.CudaBench --no-stream --iters 3 --warmup-ms 0 \
      --points '^multi,,(33|90),131072,ALL_UNIFORM,' --out "$out/logs/ncu-$name-bench.csv" > "$out/logs/ncu-$name.log" 2>&1
    echo "# ncu $name exit $? after $(( $(date +%s) - t0 )) s" | tee -a "$sum"
    python3 - "$out/logs/ncu-$name.csv" <<'PY' | tee -a "$sum"
import csv, sys, statistics
rows = [r for r in csv.reader(open(sys.argv[1])) if len(r) > 10]
if not rows:
    sys.exit(0)
h = rows[0]; ki = h.index("Kernel Name"); mi = h.index("Metric Name"); vi = h.index("Metric Value")
grid = {}; dur = {}
order = []
for r in rows[1:]:
    if r[mi] == "gpu__time_duration.sum":
        dur.setdefault(r[ki], []).append(float(r[vi]) / 1000)
        order.append(float(r[vi]) / 1000)
    if r[mi] == "launch__registers_per_thread":
        grid[r[ki]] = r[vi]
for k, v in dur.items():
    print(f"  {k}: {len(v)} launches, duration us median {statistics.median(v):.1f}, min {min(v):.1f}, max {max(v):.1f}; registers {grid.get(k)}")
PY
  done
fi
grids="${GRID_VARIANTS:-default= old=$old}"
grids_torch_goals "$grids"
(cd "$out" && tar czf logs.tgz logs && rm -rf logs)
