#!/usr/bin/env bash
# Profile of the deterministic step against the atomic one on the points where it misses issue 11's goals
# (one device call, from the checkout root with the folder stage-gpu.sh filled):
#   1. CudaBench on those points, alone (timing as in the grid);
#   2. every kernel's duration under ncu (no cache flush, no clock lock), to split a step into its kernels
#      and count its launches;
#   3. ncu's full sections (line info) of the scatter (atomic and record mode) and det_apply_rows under the
#      serial and the parallel walk on one point (PPOINT).
# Usage: [POINTS=...] [PPOINT=...] bash DIR/prof-det.sh. Files under $OUT.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"; out="${OUT:-/tmp/out}"; mkdir -p "$out"
java="$here/jre/bin/java"; lib="$(ls "$here"/lib/*.jar | tr '\n' ':')"
cp="$here/classes:$here/test-classes:$lib"; cpl="$here/classes-lineinfo:$here/test-classes:$lib"
points="${POINTS:-^multi,,(33|90),(16384|131072),(ALL_UNIFORM|ALL_MIXED),|^single,1000000,8,131072,(UNIFORM|UNI_AND_BINOMIAL),|^single,1000,8,1024,(UNIFORM|SAME_INDEX),}"
ppoint="${PPOINT:-^multi,,90,131072,ALL_UNIFORM,}"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader | tee "$out/gpu.txt"
ncu --version | tail -1 | tee -a "$out/gpu.txt"
t0=$(date +%s)
"$java" -cp "$cp" io.fastembedding.bench.cuda.CudaBench --no-stream --points "$points" --out "$out/plain.csv" > "$out/plain.log" 2>&1
echo "# plain exit $? after $(( $(date +%s) - t0 )) s"
for m in ${MODES:-0 1 16}; do
  timeout 200 ncu --cache-control none --clock-control none --metrics gpu__time_duration.sum,launch__grid_size,launch__block_size,launch__registers_per_thread,sm__warps_active.avg.pct_of_peak_sustained_active,dram__bytes.sum \
    --csv --print-units base --log-file "$out/ncu-dur-mode$m.csv" \
    "$java" -Dfastembedding.cuda.detWalkMode=$m -cp "$cp" io.fastembedding.bench.cuda.CudaBench --no-stream --iters 3 \
    --points "$points" --out "$out/ncu-dur-mode$m-bench.csv" > "$out/ncu-dur-mode$m.log" 2>&1
  echo "# ncu durations mode $m exit $? after $(( $(date +%s) - t0 )) s"
done
for m in 1 16; do
  # 5 warm-up + 3 timed steps per backend: skip the atomic step's first 7 scatters
  timeout 200 ncu --set full --import-source yes -k 'regex:scatter|det_apply' --launch-skip 7 --launch-count 3 \
    -o "$out/full-mode$m" "$java" -Dfastembedding.cuda.detWalkMode=$m -cp "$cpl" io.fastembedding.bench.cuda.CudaBench \
    --no-stream --iters 3 --points "$ppoint" --out "$out/full-mode$m-bench.csv" > "$out/full-mode$m.log" 2>&1
  echo "# ncu full mode $m exit $? after $(( $(date +%s) - t0 )) s"
  ncu --import "$out/full-mode$m.ncu-rep" --page details > "$out/full-mode$m-details.txt" 2>&1
  ncu --import "$out/full-mode$m.ncu-rep" --page source --csv --print-source cuda > "$out/full-mode$m-source.csv" 2>&1 || true
done
ls -la "$out"
