#!/usr/bin/env bash
# CUDA tests (CudaTrainEpochTest + CudaBackendTest) then EpochBench; logs in $OUT.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-/tmp/fe-out}"; mkdir -p "$out"
java="$here/jre/bin/java"
cp="$here/classes:$here/test-classes:$(ls "$here"/lib/*.jar | tr '\n' ':')"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader | tee "$out/gpu.txt"
timeout 110 "$java" -jar "$here/junit-console.jar" execute --class-path "$cp" \
  --select-class io.fastembedding.backend.cuda.CudaTrainEpochTest \
  --select-class io.fastembedding.backend.cuda.CudaBackendTest --details=tree --disable-banner --disable-ansi-colors \
  > "$out/gpu-tests.log" 2>&1
echo "# tests exit code $?"
grep -E "tests (successful|failed|aborted|skipped)|containers failed" "$out/gpu-tests.log"
grep -B2 -A10 -E "✘|AssertionFailed|Exception" "$out/gpu-tests.log" | head -60
timeout 80 "$java" -cp "$cp" io.fastembedding.bench.cuda.EpochBench > "$out/epoch-bench.txt" 2>&1
echo "# EpochBench exit code $?"
cat "$out/epoch-bench.txt"
