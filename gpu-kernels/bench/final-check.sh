#!/usr/bin/env bash
# Final check of main on one H200: every GPU test class with two base seeds, then CudaBench --quick
# (mode train) and the det/atomic ratios of the committed walk rule, measured as one run.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"; . "$here/lib.sh"
out="${OUT:-/tmp/out}"; mkdir -p "$out"
gpu_info | tee "$out/gpu.txt"
for seed in 20261201 31337; do
  timeout 95 "$java" -Dfastembedding.test.seed=$seed "${junit[@]}" --class-path "$cp" \
    "${gpu_suite[@]}" --select-class io.fastembedding.backend.cuda.ResidentEpochTest \
    --details=tree > "$out/gpu-tests-seed$seed.log" 2>&1
  echo "# seed $seed exit $?"; grep -E "tests (successful|failed|aborted)" "$out/gpu-tests-seed$seed.log"
  grep -B2 -A8 -E "✘" "$out/gpu-tests-seed$seed.log" | head -40
done
timeout 75 "$java" -cp "$cp" io.fastembedding.bench.cuda.CudaBench --quick --out "$out/fe.csv" > "$out/fe.log" 2>&1
echo "# CudaBench exit $?"
det_ratios --worst 8 "$out/fe.csv" | tee "$out/det-ratios.txt"
