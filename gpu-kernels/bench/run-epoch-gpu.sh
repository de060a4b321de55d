#!/usr/bin/env bash
# On the GPU machine: the CUDA tests (run-gpu.sh --no-bench), then EpochBench; logs in $OUT
# (default: a new mktemp folder).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"; . "$here/lib.sh"
# one folder for both scripts' logs: $OUT, or a new one from mktemp
out="${OUT:-$(mktemp -d -t fe-out.XXXXXX)}"; mkdir -p "$out"
OUT="$out" bash "$here/run-gpu.sh" --no-bench
timeout 80 "$java" -cp "$cp" io.fastembedding.bench.cuda.EpochBench > "$out/epoch-bench.txt" 2>&1
echo "# EpochBench exit code $?"
cat "$out/epoch-bench.txt"
