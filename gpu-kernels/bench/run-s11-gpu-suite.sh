#!/usr/bin/env bash
# Session 11: the GPU suite (CudaBackendTest compares the CUDA fwfm head with the CPU backend's, whose pair loops
# changed in 2674e97 / a399aa1) on two seeds at once, and the CPU tests of the changed code on that machine's CPU (the
# staged JRE has no jdk.incubator.vector, so there they run the scalar loops).
# stage-gpu.sh DEST copies it there with lib.sh; run it as bash DEST/run-s11-gpu-suite.sh.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"; . "$here/lib.sh"
out="${OUT:-/tmp/fe-out}"; mkdir -p "$out"
echo "# GPU: $(gpu_info)" | tee "$out/summary.txt"
t0=$(date +%s)
pids=()
for s in 20261211 20261212; do
  ( timeout 420 "$java" "$(own_tmpdir)" -Xmx4g -Dfastembedding.test.seed="$s" "${junit[@]}" --class-path "$cp" \
      "${gpu_suite[@]}" --details=tree > "$out/seed-$s.log" 2>&1; echo "exit $?" >> "$out/seed-$s.log" ) &
  pids+=($!)
done
( timeout 420 "$java" "$(own_tmpdir)" "${junit[@]}" --class-path "$cp" \
    --select-class io.fastembedding.simd.FloatLanesTest --select-class io.fastembedding.backend.cpu.CpuBackendHogwildTest \
    --select-class io.fastembedding.backend.cpu.CpuBackendAgreementTest --details=tree > "$out/cpu-tests.log" 2>&1
  echo "exit $?" >> "$out/cpu-tests.log" ) &
pids+=($!)
wait "${pids[@]}"
{
  echo "# done after $(( $(date +%s) - t0 )) s"
  for f in "$out"/seed-*.log "$out/cpu-tests.log"; do
    echo "# $(basename "$f"):"; grep -E "tests (successful|failed)|^exit" "$f"
  done
} | tee -a "$out/summary.txt"
