#!/usr/bin/env bash
# session 5: the scatter's record pushes issued right after the sort (variant PTX in v-early) against main's
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"; . "$here/lib.sh"
out="${OUT:-/tmp/fe-out}"; mkdir -p "$out/logs"
vcp="$here/v-early:$cp"
# correctness of the variant: the four GPU classes under 4 seeds at once
pids=()
for s in 20261201 20269120 20277039 20284958; do
  ( timeout 300 "$java" "$(own_tmpdir)" -Xmx4g -Dfastembedding.test.seed=$s "${junit[@]}" --class-path "$vcp" \
      "${gpu_suite[@]}" --select-class io.fastembedding.backend.cuda.ResidentEpochTest --details=tree \
      > "$out/logs/early-seed-$s.log" 2>&1; echo "exit $?" >> "$out/logs/early-seed-$s.log" ) & pids+=($!)
done
wait "${pids[@]}"
test_summary "$out"/logs/early-seed-*.log | tee "$out/summary.txt"
STEPS="points grid torch" VARIANTS="base= early=ptx:v-early base2= early2=ptx:v-early" \
  GRID_VARIANTS="default= early=ptx:v-early" OUT="$out/det13" bash "$here/run-det13.sh" >/dev/null 2>&1
cat "$out/det13/summary.txt" >> "$out/summary.txt"
mv "$out/det13/"*.csv "$out/" 2>/dev/null
(cd "$out" && tar czf logs.tgz logs det13/logs.tgz && rm -rf logs det13)
tail -80 "$out/summary.txt"
