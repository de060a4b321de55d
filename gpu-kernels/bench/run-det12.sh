#!/usr/bin/env bash
# Deterministic mode, fourth pass (issue 11, item 1): one device call from the checkout root with the folder
# stage-gpu.sh filled. Steps (STEPS, default "tests bench quick ncu"; also grid, torch, ncufull):
#   tests: every GPU test class under each base seed of SEEDS (default SEED), and beside them compute-sanitizer
#          memcheck (deterministic cases and the other tests) and racecheck (the deterministic tests, every
#          RACE_STRIDE-th case), PTX with line info;
#   bench: CudaBench on POINTS (the points the third pass missed) once per variant of VARIANTS (name=java
#          options, comma-separated), alone on the card;  quick: CudaBench --quick per QVARIANTS;
#   grid:  the full CudaBench grid, alone;  torch: the PyTorch baseline, alone, after ours;
#   ncu:   every kernel's duration under ncu on POINTS (NCU_VARIANTS);  ncufull: ncu's full sections of the
#          scatter and the deterministic kernels on PPOINT.
# Files under $OUT: summary.txt and all.tgz (the device tool returns few files).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"; out="${OUT:-/tmp/out}"; mkdir -p "$out"
java="$here/jre/bin/java"; lib="$(ls "$here"/lib/*.jar | tr '\n' ':')"
cp="$here/classes:$here/test-classes:$lib"; cpl="$here/classes-lineinfo:$here/test-classes:$lib"
steps="${STEPS:-tests bench quick ncu}"; seed="${SEED:-20261202}"  # STEPS also: grid, torch, ncufull
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
  # every GPU test class under each base seed (SEEDS), and beside them memcheck (the deterministic cases and the
  # other tests of the three classes) and racecheck (the deterministic tests, every RACE_STRIDE-th case)
  gpu=(--select-class io.fastembedding.backend.cuda.CudaBackendTest --select-class io.fastembedding.backend.cuda.CudaDevicesTest
       --select-class io.fastembedding.backend.cuda.CudaTrainEpochTest --select-class io.fastembedding.backend.cuda.ResidentEpochTest)
  pids=()
  for s in ${SEEDS:-$seed}; do
    junit "$out/gpu-tests-seed$s.log" timeout "${TEST_LIMIT:-150}" "$java" -Dfastembedding.test.seed=$s \
      -jar "$here/junit-console.jar" execute --class-path "$cp" "${gpu[@]}" &
    pids+=($!)
  done
  junit "$out/sanitizer-memcheck.log" timeout "${SAN_LIMIT:-120}" compute-sanitizer --tool memcheck --report-api-errors no \
    --error-exitcode 9 "$java" -Dfastembedding.test.seed=$((seed + 1)) -Dfastembedding.test.detOnly=true \
    -jar "$here/junit-console.jar" execute --class-path "$cpl" --select-class io.fastembedding.backend.cuda.CudaBackendTest \
    --select-class io.fastembedding.backend.cuda.CudaTrainEpochTest --select-class io.fastembedding.backend.cuda.ResidentEpochTest &
  pids+=($!)
  junit "$out/sanitizer-racecheck.log" timeout "${SAN_LIMIT:-120}" compute-sanitizer --tool racecheck --racecheck-report all \
    --error-exitcode 9 --print-limit 100 "$java" -Dfastembedding.test.seed=$((seed + 2)) -Dfastembedding.test.detOnly=true \
    -Dfastembedding.test.caseStride=${RACE_STRIDE:-3} -jar "$here/junit-console.jar" execute --class-path "$cpl" \
    --select-class io.fastembedding.backend.cuda.CudaBackendTest \
    --include-methodname '.*(trainsLikeTheReference|deterministicWalks|bothScatterTiles|residentBatches).*' &
  pids+=($!)
  wait "${pids[@]}"
  for f in "$out"/gpu-tests-seed*.log "$out"/sanitizer-*.log; do
    echo "# $(basename $f): $(grep -E 'tests (successful|failed)' $f | tr -s ' ' | tr '\n' ' ') $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' $f | head -2 | tr '\n' ' ') $(tail -1 $f)"
    grep -B2 -A10 "✘" "$f" | head -40
  done | tee -a "$sum"
  echo "# tests after $(( $(date +%s) - t0 )) s" | tee -a "$sum"
fi
# VARIANTS: name=java options (comma-separated), e.g. "new= old=-Dfastembedding.cuda.detWalkMode=32,-Dfastembedding.cuda.detLargeTileBlocks=512"
variants="${VARIANTS:-new= old=-Dfastembedding.cuda.detWalkMode=32,-Dfastembedding.cuda.detLargeTileBlocks=512}"
if [[ " $steps " == *" bench "* ]]; then
  for v in $variants; do
    name="${v%%=*}"; opts="$(echo "${v#*=}" | tr ',' ' ')"
    "$java" $opts -cp "$cp" io.fastembedding.bench.cuda.CudaBench --no-stream \
      --points "$points" --out "$out/points-$name.csv" > "$out/points-$name.log" 2>&1
    echo "# points $name ($opts) exit $? after $(( $(date +%s) - t0 )) s" | tee -a "$sum"
  done
fi
if [[ " $steps " == *" quick "* ]]; then
  for v in ${QVARIANTS:-new=}; do
    name="${v%%=*}"; opts="$(echo "${v#*=}" | tr ',' ' ')"
    timeout 120 "$java" $opts -cp "$cp" io.fastembedding.bench.cuda.CudaBench --quick \
      --out "$out/quick-$name.csv" > "$out/quick-$name.log" 2>&1
    echo "# quick $name ($opts) exit $? after $(( $(date +%s) - t0 )) s" | tee -a "$sum"
  done
fi
if [[ " $steps " == *" grid "* ]]; then  # the full grid, alone on the card
  timeout 300 "$java" -cp "$cp" io.fastembedding.bench.cuda.CudaBench --out "$out/fe.csv" > "$out/fe.log" 2>&1
  echo "# full grid exit $? after $(( $(date +%s) - t0 )) s" | tee -a "$sum"
fi
if [[ " $steps " == *" torch "* ]]; then  # the PyTorch baseline, alone on the card, after ours
  timeout "${TORCH_LIMIT:-280}" python3 "$here/torch_baseline.py" --out "$out/torch.csv" > "$out/torch.log" 2>&1
  echo "# torch exit $? after $(( $(date +%s) - t0 )) s" | tee -a "$sum"
fi
python3 - "$out" <<'PY' | tee -a "$sum"
import csv, glob, os, statistics, sys
out = sys.argv[1]
for f in sorted(glob.glob(out + "/points-*.csv")) + sorted(glob.glob(out + "/quick-*.csv")) + sorted(glob.glob(out + "/fe.csv")):
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
  for v in ${NCU_VARIANTS:-new=}; do
    name="${v%%=*}"; opts="$(echo "${v#*=}" | tr ',' ' ')"
    timeout 150 ncu --cache-control none --clock-control none --metrics gpu__time_duration.sum,launch__grid_size,launch__block_size,launch__registers_per_thread,sm__warps_active.avg.pct_of_peak_sustained_active,dram__bytes.sum \
      --csv --print-units base --log-file "$out/ncu-dur-$name.csv" \
      "$java" $opts -cp "$cp" io.fastembedding.bench.cuda.CudaBench --no-stream --iters 3 \
      --points "$points" --out "$out/ncu-dur-$name-bench.csv" > "$out/ncu-dur-$name.log" 2>&1
    echo "# ncu durations $name exit $? after $(( $(date +%s) - t0 )) s" | tee -a "$sum"
  done
fi
if [[ " $steps " == *" ncufull "* ]]; then
  # 5 warm-up + 3 timed steps per backend: the atomic step's last scatter, then the det step's kernels
  timeout 150 ncu --set full --import-source yes -k 'regex:scatter|det_apply' --launch-skip 7 --launch-count 4 \
    -o "$out/full" "$java" -cp "$cpl" io.fastembedding.bench.cuda.CudaBench \
    --no-stream --iters 3 --points "$ppoint" --out "$out/full-bench.csv" > "$out/full.log" 2>&1
  echo "# ncu full exit $? after $(( $(date +%s) - t0 )) s" | tee -a "$sum"
  ncu --import "$out/full.ncu-rep" --page details > "$out/full-details.txt" 2>&1
fi
echo "# done after $(( $(date +%s) - t0 )) s" | tee -a "$sum"
# the device tool returns few files: everything in one archive, the summary beside it
tar czf /tmp/det12-all.tgz -C "$out" --exclude=summary.txt --exclude='*.ncu-rep' . && find "$out" -maxdepth 1 -type f ! -name summary.txt ! -name '*.ncu-rep' -delete && mv /tmp/det12-all.tgz "$out/all.tgz"
