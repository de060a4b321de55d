#!/usr/bin/env bash
# Issue 11's correctness evidence in one device call, from the checkout root, with DIR filled by
# stage-gpu.sh: the GPU test classes (CudaBackendTest, CudaTrainEpochTest, CudaDevicesTest,
# ResidentEpochTest) under SEEDS base seeds (20261201 + 7919 i), in parallel; compute-sanitizer memcheck
# over all four classes (seed 1000) and racecheck over ResidentEpochTest (epoch_gather) plus the
# deterministic cases and det tests (seed 2000), both on PTX with line info.
# Each JVM gets its own java.io.tmpdir: JCuda unpacks its native library there, and JVMs started at
# once that share the file crash (SIGBUS in ld.so). SAN=0 skips the sanitizers.
# Usage: [SEEDS=20] [SAN=1] bash DIR/run-suite-sanitizers.sh. Logs: $OUT/logs.tgz; summary last.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"; . "$here/lib.sh"
out="${OUT:-/tmp/fe-out}"; mkdir -p "$out"
seeds="${SEEDS:-20}"
cpline="$here/classes-lineinfo:$here/test-classes:$libs"
echo "# GPU: $(gpu_info)" | tee "$out/summary.txt"
san="$(sanitizer)"
pkg=io.fastembedding.backend.cuda
all=("${gpu_suite[@]}" --select-class $pkg.ResidentEpochTest)
t0=$(date +%s); pids=()
if [ "${SAN:-1}" = 1 ]; then
( timeout "${SAN_LIMIT:-480}" "$san" --tool memcheck --report-api-errors no --error-exitcode 9 --print-limit 50 \
    "$java" "$(own_tmpdir)" -Dfastembedding.test.seed=1000 "${junit[@]}" --class-path "$cpline" "${all[@]}" --details=summary \
    > "$out/sanitizer-memcheck.log" 2>&1; echo "exit $?" >> "$out/sanitizer-memcheck.log" ) & pids+=($!)
( timeout "${SAN_LIMIT:-480}" "$san" --tool racecheck --racecheck-report all --error-exitcode 9 --print-limit 100 \
    "$java" "$(own_tmpdir)" -Dfastembedding.test.seed=2000 "${junit[@]}" --class-path "$cpline" --select-class $pkg.ResidentEpochTest \
    --details=summary > "$out/sanitizer-racecheck-resident.log" 2>&1; echo "exit $?" >> "$out/sanitizer-racecheck-resident.log" ) & pids+=($!)
( timeout "${SAN_LIMIT:-480}" "$san" --tool racecheck --racecheck-report all --error-exitcode 9 --print-limit 100 \
    "$java" "$(own_tmpdir)" -Dfastembedding.test.seed=2001 -Dfastembedding.test.detOnly=true -Dfastembedding.test.caseStride=3 \
    "${junit[@]}" --class-path "$cpline" "${det_tests[@]}" --details=summary \
    > "$out/sanitizer-racecheck-det.log" 2>&1; echo "exit $?" >> "$out/sanitizer-racecheck-det.log" ) & pids+=($!)
fi
for i in $(seq 0 $((seeds - 1))); do
  s=$((20261201 + 7919 * i))
  ( timeout "${SEED_LIMIT:-420}" "$java" "$(own_tmpdir)" -Xmx4g -Dfastembedding.test.seed="$s" -Dfastembedding.test.agreement=print "${junit[@]}" \
      --class-path "$cp" "${all[@]}" --details=tree > "$out/seed-$s.log" 2>&1; echo "exit $?" >> "$out/seed-$s.log" ) & pids+=($!)
done
wait "${pids[@]}"
{
  echo "# done after $(( $(date +%s) - t0 )) s"
  seed_report "$out" 5
  sanitizer_report "$out" memcheck racecheck-resident racecheck-det
} | tee -a "$out/summary.txt"
(cd "$out" && logs=$(ls seed-*.log sanitizer-*.log 2>/dev/null || true) && [ -n "$logs" ] && tar czf logs.tgz $logs && rm -f $logs)
