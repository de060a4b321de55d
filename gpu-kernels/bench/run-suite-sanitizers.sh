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
here="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-/tmp/fe-out}"; mkdir -p "$out"
seeds="${SEEDS:-20}"
java="$here/jre/bin/java"
libs="$(ls "$here"/lib/*.jar | tr '\n' ':')"
cp="$here/classes:$here/test-classes:$libs"
cpline="$here/classes-lineinfo:$here/test-classes:$libs"
echo "# GPU: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader)" | tee "$out/summary.txt"
san="$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -1)"
junit=(-jar "$here/junit-console.jar" execute --disable-banner --disable-ansi-colors)
pkg=io.fastembedding.backend.cuda
all=(--select-class $pkg.CudaBackendTest --select-class $pkg.CudaTrainEpochTest
     --select-class $pkg.CudaDevicesTest --select-class $pkg.ResidentEpochTest)
t0=$(date +%s); pids=()
jvm() { local d; d="$(mktemp -d /tmp/fe-jvm.XXXXXX)"; echo "-Djava.io.tmpdir=$d"; }
if [ "${SAN:-1}" = 1 ]; then
( timeout "${SAN_LIMIT:-480}" "$san" --tool memcheck --report-api-errors no --error-exitcode 9 --print-limit 50 \
    "$java" "$(jvm)" -Dfastembedding.test.seed=1000 "${junit[@]}" --class-path "$cpline" "${all[@]}" --details=summary \
    > "$out/sanitizer-memcheck.log" 2>&1; echo "exit $?" >> "$out/sanitizer-memcheck.log" ) & pids+=($!)
( timeout "${SAN_LIMIT:-480}" "$san" --tool racecheck --racecheck-report all --error-exitcode 9 --print-limit 100 \
    "$java" "$(jvm)" -Dfastembedding.test.seed=2000 "${junit[@]}" --class-path "$cpline" --select-class $pkg.ResidentEpochTest \
    --details=summary > "$out/sanitizer-racecheck-resident.log" 2>&1; echo "exit $?" >> "$out/sanitizer-racecheck-resident.log" ) & pids+=($!)
( timeout "${SAN_LIMIT:-480}" "$san" --tool racecheck --racecheck-report all --error-exitcode 9 --print-limit 100 \
    "$java" "$(jvm)" -Dfastembedding.test.seed=2001 -Dfastembedding.test.detOnly=true -Dfastembedding.test.caseStride=3 \
    "${junit[@]}" --class-path "$cpline" --select-class $pkg.CudaBackendTest \
    --include-methodname '.*(trainsLikeTheReference|deterministicSubListWalk|bothScatterTiles|residentBatches).*' \
    --details=summary > "$out/sanitizer-racecheck-det.log" 2>&1; echo "exit $?" >> "$out/sanitizer-racecheck-det.log" ) & pids+=($!)
fi
for i in $(seq 0 $((seeds - 1))); do
  s=$((20261201 + 7919 * i))
  ( timeout "${SEED_LIMIT:-420}" "$java" "$(jvm)" -Xmx4g -Dfastembedding.test.seed="$s" -Dfastembedding.test.agreement=print "${junit[@]}" \
      --class-path "$cp" "${all[@]}" --details=tree > "$out/seed-$s.log" 2>&1; echo "exit $?" >> "$out/seed-$s.log" ) & pids+=($!)
done
wait "${pids[@]}"
{
  echo "# done after $(( $(date +%s) - t0 )) s"
  for f in "$out"/seed-*.log; do
    printf '%s: %s | %s | %s\n' "$(basename "$f" .log)" "$(grep -E '^\[ *[0-9]+ tests successful' "$f" | tr -s ' ')" \
      "$(grep -E '^\[ *[0-9]+ tests failed' "$f" | tr -s ' ')" "$(tail -1 "$f")"
  done
  echo "# failures"; grep -h -A4 "✘" "$out"/seed-*.log | grep -v "^--" | head -60
  echo "# agreement ratios (GPU error / CPU error), worst 5 of $(cat "$out"/seed-*.log | grep -c '^AGREEMENT')"
  grep -h '^AGREEMENT' "$out"/seed-*.log | awk '{print $NF, $0}' | sort -g -r | head -5 | cut -c1-200
  for f in "$out"/sanitizer-*.log; do
    echo "# $(basename "$f" .log):"
    grep -E "ERROR SUMMARY|RACECHECK SUMMARY|tests (successful|failed)|^exit" "$f" | tr -s ' '
    grep -E -A3 "(Race|Hazard) reported|Invalid|Error:|Warning:" "$f" | head -30
  done
} | tee -a "$out/summary.txt"
(cd "$out" && logs=$(ls seed-*.log sanitizer-*.log 2>/dev/null) && tar czf logs.tgz $logs && rm -f $logs)
