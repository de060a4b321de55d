#!/usr/bin/env bash
# Issue 11's GPU evidence in one device call, from the checkout root, with the folder stage-gpu.sh
# filled (DIR below):
#   1. the GPU suite (CudaBackendTest, CudaTrainEpochTest, CudaDevicesTest) under SEEDS different base
#      seeds, PAR JVMs at a time, each comparison printed (-Dfastembedding.test.agreement=print);
#   2. alongside, compute-sanitizer memcheck and racecheck over CudaBackendTest (one seed each);
#   3. then, alone on the GPU, the PyTorch baseline and CudaBench over the same grid, and the ratios.
# Usage: bash DIR/run-issue11.sh [SEEDS] [PAR] [SANITIZER_SECONDS]. Logs: $OUT/logs.tgz; short table last.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-/tmp/fe-out}"
work=/tmp/fe-issue11
rm -rf "$work"; mkdir -p "$work" "$out"
seeds="${1:-20}"; par="${2:-5}"; santime="${3:-300}"
java="$here/jre/bin/java"
cp="$here/classes:$here/test-classes:$(ls "$here"/lib/*.jar | tr '\n' ':')"
info="$(nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.sm --format=csv,noheader)"
echo "# GPU: $info" | tee "$work/summary.txt"
junit() {  # $1 = seed, rest: extra selectors
  local seed=$1; shift
  "$java" -Dfastembedding.test.seed="$seed" -Dfastembedding.test.agreement=print -jar "$here/junit-console.jar" \
    execute --class-path "$cp" "$@" --details=tree --disable-banner --disable-ansi-colors
}
all=(--select-class io.fastembedding.backend.cuda.CudaBackendTest --select-class io.fastembedding.backend.cuda.CudaTrainEpochTest
     --select-class io.fastembedding.backend.cuda.CudaDevicesTest)
san="$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -1)"
t0=$(date +%s)
if [ -n "$san" ]; then
  # memcheck over the whole suite; racecheck (much slower) over every 7th case of the main test and
  # the other tests of CudaBackendTest. API errors are not reported: clearErrors provokes an out-of-memory
  # on purpose, and every driver call's status is checked by the backend itself.
  ( timeout "$santime" "$san" --tool memcheck --report-api-errors no --error-exitcode 9 --print-limit 50 \
      "$java" -Dfastembedding.test.seed=1000 -jar "$here/junit-console.jar" execute --class-path "$cp" \
      "${all[@]}" --details=summary --disable-banner --disable-ansi-colors \
      > "$work/sanitizer-memcheck.log" 2>&1; echo "exit $?" >> "$work/sanitizer-memcheck.log" ) &
  ( timeout "$santime" "$san" --tool racecheck --error-exitcode 9 --print-limit 50 \
      "$java" -Dfastembedding.test.seed=2000 -Dfastembedding.test.caseStride=7 -jar "$here/junit-console.jar" \
      execute --class-path "$cp" --select-class io.fastembedding.backend.cuda.CudaBackendTest \
      --details=summary --disable-banner --disable-ansi-colors \
      > "$work/sanitizer-racecheck.log" 2>&1; echo "exit $?" >> "$work/sanitizer-racecheck.log" ) &
else
  echo "compute-sanitizer not found" | tee -a "$work/summary.txt"
fi
base=20261130
i=0
while [ $i -lt "$seeds" ]; do
  pids=()
  for j in $(seq 1 "$par"); do
    [ $i -ge "$seeds" ] && break
    s=$((base + 7919 * i))
    ( timeout "${SEED_TIMEOUT:-250}" bash -c "$(declare -f junit); java='$java' cp='$cp' here='$here' junit $s ${all[*]}" \
        > "$work/seed-$s.log" 2>&1; echo "exit $?" >> "$work/seed-$s.log" ) &
    pids+=($!)
    i=$((i + 1))
  done
  wait "${pids[@]}"
done
echo "# seeds done after $(( $(date +%s) - t0 )) s" | tee -a "$work/summary.txt"
wait
echo "# sanitizers done after $(( $(date +%s) - t0 )) s" | tee -a "$work/summary.txt"
{
  for f in "$work"/seed-*.log; do
    printf '%s: %s | %s | %s\n' "$(basename "$f" .log)" "$(grep -E '^\[ *[0-9]+ tests successful' "$f" | tr -s ' ')" \
      "$(grep -E '^\[ *[0-9]+ tests failed' "$f" | tr -s ' ')" "$(tail -1 "$f")"
  done
  echo "# failures (first 40 lines each)"
  grep -h -A3 "✘" "$work"/seed-*.log | grep -v "^--" | head -80
  echo "# agreement ratios (candidate error / baseline error floor), worst 15 of $(cat "$work"/seed-*.log | grep -c '^AGREEMENT')"
  grep -h '^AGREEMENT' "$work"/seed-*.log | awk '{print $NF, $0}' | sort -g -r | head -15 | cut -c1-220
  for tool in memcheck racecheck; do
    echo "# sanitizer $tool:"; grep -E "ERROR SUMMARY|RACECHECK SUMMARY|tests (successful|failed)|^exit" "$work/sanitizer-$tool.log" | tr -s ' '
    grep -E "Race reported|Invalid|Error" "$work/sanitizer-$tool.log" | sort | uniq -c | head -5
  done
} | tee -a "$work/summary.txt"
if [ "${BENCH:-1}" = 1 ]; then
  OUT="$work" bash "$here/run-gpu.sh" --no-tests > "$work/bench.txt" 2>&1
  cp "$work/fe.csv" "$work/torch.csv" "$work/ratios.txt" "$out/" 2>/dev/null
fi
cp "$work/summary.txt" "$out/"
tar czf "$out/logs.tgz" -C "$work" .
cat "$work/summary.txt"
[ -f "$work/ratios.txt" ] && tail -45 "$work/ratios.txt"
