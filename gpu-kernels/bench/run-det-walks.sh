#!/usr/bin/env bash
# The walk modes of det_apply_rows (KernelConstants.DET_WALK_*) side by side, in one short device call, from
# the checkout root with the folder stage-gpu.sh filled:
#   1. at once, one JVM per mode: the deterministic tests of CudaBackendTest (the sub-list walk against
#      the serial walk bit for bit, both scatter tiles, every third deterministic case) under that mode;
#   2. then alone on the GPU: CudaBench on part of the grid (POINTS, a regex of CudaBench --points) per mode.
# Usage: [MODES="0 2 4 6 1"] [POINTS=...] bash DIR/run-det-walks.sh. Logs: $OUT/walks.tgz; table last.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"; . "$here/lib.sh"
out="${OUT:-/tmp/fe-out}"
work=/tmp/fe-walks
rm -rf "$work"; mkdir -p "$work" "$out"
modes="${MODES:-0 2 4 6 1}"
points="${POINTS:-^single,(1000|1000000),(8|128),131072,(UNIFORM|POW_1_2_K|UNI_AND_20P_SAME_INDEX),|^single,1000000,32,(16384|131072),UNIFORM,|^multi,,(33|90),(16384|131072),(ALL_UNIFORM|ALL_MIXED),}"
gpu_info | tee "$work/summary.txt"
t0=$(date +%s)
pids=()
for m in $modes; do
  ( timeout 150 "$java" -Dfastembedding.cuda.detWalkMode="$m" -Dfastembedding.test.seed=$((4242 + m)) \
      -Dfastembedding.test.detOnly=true -Dfastembedding.test.caseStride=3 "${junit[@]}" --class-path "$cp" \
      "${det_tests[@]}" --details=tree > "$work/tests-mode$m.log" 2>&1; echo "exit $?" >> "$work/tests-mode$m.log" ) &
  pids+=($!)
done
wait "${pids[@]}"
{
  echo "# tests after $(( $(date +%s) - t0 )) s"
  for m in $modes; do
    test_summary "$work/tests-mode$m.log"
    grep -A4 "✘" "$work/tests-mode$m.log" | head -12
  done
} | tee -a "$work/summary.txt"
csvs=()
for m in $modes; do
  "$java" -Dfastembedding.cuda.detWalkMode="$m" -cp "$cp" io.fastembedding.bench.cuda.CudaBench --no-stream \
    --points "$points" --out "$work/fe-mode$m.csv" > "$work/fe-mode$m.log" 2>&1
  echo "# CudaBench mode $m: exit $?" | tee -a "$work/summary.txt"
  csvs+=("mode $m=$work/fe-mode$m.csv")
done
det_ratios --table "${csvs[@]}" | tee -a "$work/summary.txt"
cp "$work/summary.txt" "$out/"
tar czf "$out/walks.tgz" -C "$work" .
