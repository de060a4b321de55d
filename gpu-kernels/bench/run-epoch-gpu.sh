#!/usr/bin/env bash
# On the GPU machine: the CUDA tests (run-gpu.sh --no-bench), then EpochBench; logs in $OUT.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-/tmp/fe-out}"; mkdir -p "$out"
bash "$here/run-gpu.sh" --no-bench
java="$here/jre/bin/java"
cp="$here/classes:$here/test-classes:$(ls "$here"/lib/*.jar | tr '\n' ':')"
timeout 80 "$java" -cp "$cp" io.fastembedding.bench.cuda.EpochBench > "$out/epoch-bench.txt" 2>&1
echo "# EpochBench exit code $?"
cat "$out/epoch-bench.txt"
