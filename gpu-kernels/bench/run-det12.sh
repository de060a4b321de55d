#!/usr/bin/env bash
# Deterministic mode, fourth pass (issue 11, item 1), one device call from the checkout root with the folder
# stage-gpu.sh filled. Steps (STEPS, default "tests bench quick ncu"):
#   tests: CudaBackendTest + CudaTrainEpochTest + ResidentEpochTest (base seed SEED) and, beside them,
#          compute-sanitizer memcheck and racecheck over the deterministic-walk test (line info);
#   bench: CudaBench on the points where the third pass missed the goals (POINTS), once per walk mode
#          (MODES; 0 = the default, 32 = every row through det_apply_rows as before), alone on the card;
#   quick: CudaBench --quick per walk mode in QMODES (default: 0);
#   ncu:   every kernel's duration under ncu on those points (modes in NCU_MODES), and ncu's full sections
#          of the deterministic kernels on PPOINT (mode 0).
# Files under $OUT; summary.txt last.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"; out="${OUT:-/tmp/out}"; mkdir -p "$out"
java="$here/jre/bin/java"; lib="$(ls "$here"/lib/*.jar | tr '\n' ':')"
cp="$here/classes:$here/test-classes:$lib"; cpl="$here/classes-lineinfo:$here/test-classes:$lib"
steps="${STEPS:-tests bench quick ncu}"; seed="${SEED:-20261202}"
points="${POINTS:-^multi,,(33|90),(1024|16384|131072),(ALL_UNIFORM|ALL_MIXED),|^single,1000000,(8|128),131072,(UNIFORM|UNI_AND_BINOMIAL),|^single,1000,8,(1024|131072),(UNIFORM|SAME_INDEX|POW_1_2_K),}"
ppoint="${PPOINT:-^multi,,90,131072,ALL_UNIFORM,}"
sum="$out/summary.txt"
{ nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader; ncu --version | tail -1; } | tee "$sum"
t0=$(date +%s)
junit() {  # log, java options..., then junit selectors
  local log="$1"; shift
  "$@" --details=tree --disable-banner --disable-ansi-colors > "$log" 2>&1; echo "exit $?" >> "$log"
}
if [[ " $steps " == *" tests "* ]]; then
  junit "$out/gpu-tests-seed$seed.log" timeout 200 "$java" -Dfastembedding.test.seed=$seed -jar "$here/junit-console.jar" \
    execute --class-path "$cp" --select-class io.fastembedding.backend.cuda.CudaBackendTest \
    --select-class io.fastembedding.backend.cuda.CudaTrainEpochTest --select-class io.fastembedding.backend.cuda.ResidentEpochTest &
  p1=$!
  for tool in memcheck racecheck; do
    opts="--tool $tool"; [ $tool = memcheck ] && opts="$opts --report-api-errors no"; [ $tool = racecheck ] && opts="$opts --racecheck-report all"
    junit "$out/sanitizer-$tool.log" timeout 200 compute-sanitizer $opts "$java" -Dfastembedding.test.seed=$((seed + 1)) \
      -jar "$here/junit-console.jar" execute --class-path "$cpl" --select-method \
      io.fastembedding.backend.cuda.CudaBackendTest#deterministicWalksGiveTheSameBits &
    eval "p_$tool=\$!"
  done
  wait $p1 $p_memcheck $p_racecheck
  for f in "$out"/gpu-tests-seed$seed.log "$out"/sanitizer-*.log; do
    echo "# $(basename $f): $(grep -E 'tests (successful|failed)' $f | tr -s ' ' | tr '\n' ' ') $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' $f | head -2 | tr '\n' ' ') $(tail -1 $f)"
    grep -B2 -A10 "✘" "$f" | head -40
  done | tee -a "$sum"
  echo "# tests after $(( $(date +%s) - t0 )) s" | tee -a "$sum"
fi
if [[ " $steps " == *" bench "* ]]; then
  for m in ${MODES:-0 32}; do
    "$java" -Dfastembedding.cuda.detWalkMode=$m -cp "$cp" io.fastembedding.bench.cuda.CudaBench --no-stream \
      --points "$points" --out "$out/points-mode$m.csv" > "$out/points-mode$m.log" 2>&1
    echo "# points mode $m exit $? after $(( $(date +%s) - t0 )) s" | tee -a "$sum"
  done
fi
if [[ " $steps " == *" quick "* ]]; then
  for m in ${QMODES:-0}; do
    timeout 120 "$java" -Dfastembedding.cuda.detWalkMode=$m -cp "$cp" io.fastembedding.bench.cuda.CudaBench --quick \
      --out "$out/quick-mode$m.csv" > "$out/quick-mode$m.log" 2>&1
    echo "# quick mode $m exit $? after $(( $(date +%s) - t0 )) s" | tee -a "$sum"
  done
fi
python3 - "$out" <<'PY' | tee -a "$sum"
import csv, glob, os, statistics, sys
out = sys.argv[1]
for f in sorted(glob.glob(out + "/points-mode*.csv")) + sorted(glob.glob(out + "/quick-mode*.csv")):
    rows = list(csv.DictReader(open(f)))
    key = lambda r: (r['suite'], r['num_embeddings'] or r['config'], r['dim'], r['batch'], r['scenario'])
    at = {key(r): float(r['ms_median']) for r in rows if r['impl'] == 'fe_cuda' and r['mode'] == 'train'}
    de = {key(r): float(r['ms_median']) for r in rows if r['impl'] == 'fe_cuda_det' and r['mode'] == 'train'}
    rs = sorted(((de[k] / at[k], k) for k in de if k in at), reverse=True)
    if not rs: continue
    v = [r for r, _ in rs]
    print(f"## {os.path.basename(f)}: points {len(v)}  det/atomic median {statistics.median(v):.2f}  worst {v[0]:.2f}  above 2: {sum(x > 2 for x in v)}")
    for r, k in rs[: (40 if 'points' in f else 10)]:
        print(f"  {r:5.2f}  atomic {at[k]:.4f}  det {de[k]:.4f}  {' '.join(k)}")
PY
if [[ " $steps " == *" ncu "* ]]; then
  for m in ${NCU_MODES:-0 32}; do
    timeout 150 ncu --cache-control none --clock-control none --metrics gpu__time_duration.sum,launch__grid_size,launch__block_size,launch__registers_per_thread,sm__warps_active.avg.pct_of_peak_sustained_active,dram__bytes.sum \
      --csv --print-units base --log-file "$out/ncu-dur-mode$m.csv" \
      "$java" -Dfastembedding.cuda.detWalkMode=$m -cp "$cp" io.fastembedding.bench.cuda.CudaBench --no-stream --iters 3 \
      --points "$points" --out "$out/ncu-dur-mode$m-bench.csv" > "$out/ncu-dur-mode$m.log" 2>&1
    echo "# ncu durations mode $m exit $? after $(( $(date +%s) - t0 )) s" | tee -a "$sum"
  done
  # 5 warm-up + 3 timed steps per backend: the atomic step's last scatter, then the det step's kernels
  timeout 150 ncu --set full --import-source yes -k 'regex:scatter|det_apply' --launch-skip 7 --launch-count 4 \
    -o "$out/full" "$java" -cp "$cpl" io.fastembedding.bench.cuda.CudaBench \
    --no-stream --iters 3 --points "$ppoint" --out "$out/full-bench.csv" > "$out/full.log" 2>&1
  echo "# ncu full exit $? after $(( $(date +%s) - t0 )) s" | tee -a "$sum"
  ncu --import "$out/full.ncu-rep" --page details > "$out/full-details.txt" 2>&1
  ncu --import "$out/full.ncu-rep" --page source --csv --print-source cuda > "$out/full-source.csv" 2>&1 || true
fi
echo "# done after $(( $(date +%s) - t0 )) s" | tee -a "$sum"
