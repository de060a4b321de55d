#!/usr/bin/env bash
# On the GPU machine, from the checkout root, with the folder stage-gpu.sh filled: the CUDA tests,
# then the PyTorch baseline and our benchmark over the same grid in the same run, then the ratios.
# Full logs go to $OUT (default: a new folder from mktemp, named on the first line); the ratio
# table is printed last.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"; . "$here/lib.sh"
out="${OUT:-$(mktemp -d -t fe-out.XXXXXX)}"
mkdir -p "$out"
echo "# logs in $out"
quick=()
tests=1
bench=1
for a in "$@"; do
  case "$a" in
    --quick) quick=(--quick) ;;
    --no-tests) tests=0 ;;
    --no-bench) bench=0 ;;
    *) echo "unknown argument $a"; exit 2 ;;
  esac
done
info="$(gpu_info)"
echo "# GPU: $info"
if [ "$tests" = 1 ]; then
  timeout 400 "$java" "${junit[@]}" --class-path "$cp" "${gpu_suite[@]}" --details=tree > "$out/gpu-tests.log" 2>&1
  echo "# tests exit code $?"
  grep -E "tests (successful|failed|aborted|skipped)|containers failed" "$out/gpu-tests.log"
  grep -B2 -A12 -E "✘|MethodSource|AssertionFailed|Exception" "$out/gpu-tests.log" | head -150
fi
if [ "$bench" = 1 ]; then
  PYTHONUNBUFFERED=1 python3 "$here/torch_baseline.py" ${quick[@]+"${quick[@]}"} --out "$out/torch.csv" 2> "$out/torch.log"
  echo "# torch baseline exit code $?"
  tail -25 "$out/torch.log"
  "$java" -cp "$cp" io.fastembedding.bench.cuda.CudaBench ${quick[@]+"${quick[@]}"} --out "$out/fe.csv" > "$out/fe.log" 2>&1
  echo "# CudaBench exit code $?"
  tail -5 "$out/fe.log"
  { echo "# GPU: $info"; python3 "$here/ratios.py" "$out/torch.csv" "$out/fe.csv"; } > "$out/ratios.txt" 2>&1
  cat "$out/ratios.txt"
fi
