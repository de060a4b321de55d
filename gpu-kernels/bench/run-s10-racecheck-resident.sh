#!/usr/bin/env bash
# Session 10: racecheck over ResidentEpochTest alone (session 9's timed out sharing the GPU with five other
# JVMs), and one seed of the GPU suite + ResidentEpochTest on main e1f778a, at once on one H200.
# stage-gpu.sh DEST copies it there with lib.sh; run it as bash DEST/run-s10-racecheck-resident.sh.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"; . "$here/lib.sh"
out="${OUT:-/tmp/fe-out}"; mkdir -p "$out"
echo "# GPU: $(gpu_info)" | tee "$out/summary.txt"
san="$(sanitizer)"; pkg=io.fastembedding.backend.cuda
cpline="$here/classes-lineinfo:$here/test-classes:$libs"
t0=$(date +%s)
( timeout 560 "$san" --tool racecheck --racecheck-report all --error-exitcode 9 --print-limit 100 \
    "$java" "$(own_tmpdir)" -Dfastembedding.test.seed=2000 "${junit[@]}" --class-path "$cpline" --select-class $pkg.ResidentEpochTest \
    --details=tree > "$out/sanitizer-racecheck-resident.log" 2>&1; echo "exit $?" >> "$out/sanitizer-racecheck-resident.log" ) &
p1=$!
s=20261210
( timeout 420 "$java" "$(own_tmpdir)" -Xmx4g -Dfastembedding.test.seed="$s" -Dfastembedding.test.agreement=print "${junit[@]}" \
    --class-path "$cp" "${gpu_suite[@]}" --select-class $pkg.ResidentEpochTest --details=tree > "$out/seed-$s.log" 2>&1; echo "exit $?" >> "$out/seed-$s.log" ) &
p2=$!
wait $p1 $p2
{
  echo "# done after $(( $(date +%s) - t0 )) s"
  echo "# seed $s:"; grep -E "tests (successful|failed)|^exit" "$out/seed-$s.log"
  echo "# racecheck ResidentEpochTest:"; grep -E "tests (successful|failed)|RACECHECK SUMMARY|^exit" "$out/sanitizer-racecheck-resident.log"
  grep -c "✔" "$out/sanitizer-racecheck-resident.log" | sed 's/^/tests passed so far: /'
} | tee -a "$out/summary.txt"
