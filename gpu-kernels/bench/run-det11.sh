#!/usr/bin/env bash
# Issue 11, deterministic mode at atomic speed: the evidence in one device call, from the checkout root,
# with the folder stage-gpu.sh filled (DIR below) and, for the racecheck of the code before the sub-list
# walk, DIR/old/{classes,test-classes} (any earlier build; its PTX preferably with line info).
#   1. at once: the GPU suite (CudaBackendTest, CudaTrainEpochTest, CudaDevicesTest) under SEEDS base
#      seeds; compute-sanitizer memcheck over the suite; racecheck over the deterministic cases and the
#      det tests; racecheck of the old code on the selection of the earlier runs (seed 2000, every 7th
#      case), both with --racecheck-report all and PTX with line info, so hazards name source lines;
#   2. then alone on the GPU: the PyTorch baseline and CudaBench over the full grid (run-gpu.sh), and
#      CudaBench again for each variant of the deterministic backward (VARIANTS, knobs of CudaBackend).
# Usage: [SEEDS=4] [VARIANTS="S W T"] bash DIR/run-det11.sh. Logs: $OUT/logs.tgz; short table last.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"; . "$here/lib.sh"
out="${OUT:-/tmp/fe-out}"
work=/tmp/fe-det11
rm -rf "$work"; mkdir -p "$work" "$out"
seeds="${SEEDS:-4}"
cpline="$here/classes-lineinfo:$here/test-classes:$libs"
cpold="$here/old/classes:$here/old/test-classes:$libs"
echo "# GPU: $(gpu_info)" | tee "$work/summary.txt"
san="$(sanitizer)"
t0=$(date +%s)
pids=()
if [ -n "$san" ]; then
  ( timeout 230 "$san" --tool memcheck --report-api-errors no --error-exitcode 9 --print-limit 50 \
      "$java" -Dfastembedding.test.seed=1000 "${junit[@]}" --class-path "$cpline" "${gpu_suite[@]}" --details=summary \
      > "$work/sanitizer-memcheck.log" 2>&1; echo "exit $?" >> "$work/sanitizer-memcheck.log" ) &
  pids+=($!)
  ( timeout 230 "$san" --tool racecheck --racecheck-report all --error-exitcode 9 --print-limit 100 \
      "$java" -Dfastembedding.test.seed=2000 -Dfastembedding.test.detOnly=true -Dfastembedding.test.caseStride=3 \
      "${junit[@]}" --class-path "$cpline" "${det_tests[@]}" --details=summary \
      > "$work/sanitizer-racecheck.log" 2>&1; echo "exit $?" >> "$work/sanitizer-racecheck.log" ) &
  pids+=($!)
  if [ -d "$here/old/classes" ]; then
    ( timeout 230 "$san" --tool racecheck --racecheck-report all --error-exitcode 9 --print-limit 100 \
        "$java" -Dfastembedding.test.seed=2000 -Dfastembedding.test.caseStride=7 "${junit[@]}" --class-path "$cpold" \
        --select-class io.fastembedding.backend.cuda.CudaBackendTest --details=summary \
        > "$work/sanitizer-racecheck-old.log" 2>&1; echo "exit $?" >> "$work/sanitizer-racecheck-old.log" ) &
    pids+=($!)
  fi
else
  echo "compute-sanitizer not found" | tee -a "$work/summary.txt"
fi
base=20261130
for i in $(seq 0 $((seeds - 1))); do
  s=$((base + 7919 * i))
  ( timeout 250 "$java" -Dfastembedding.test.seed="$s" -Dfastembedding.test.agreement=print "${junit[@]}" \
      --class-path "$cp" "${gpu_suite[@]}" --details=tree > "$work/seed-$s.log" 2>&1; echo "exit $?" >> "$work/seed-$s.log" ) &
  pids+=($!)
done
wait "${pids[@]}"
echo "# tests and sanitizers done after $(( $(date +%s) - t0 )) s" | tee -a "$work/summary.txt"
{
  seed_report "$work" 5
  sanitizer_report "$work" memcheck racecheck racecheck-old
} | tee -a "$work/summary.txt"
if [ "${BENCH:-1}" = 1 ]; then
  t1=$(date +%s)
  OUT="$work" bash "$here/run-gpu.sh" --no-tests > "$work/bench.txt" 2>&1
  echo "# baseline + CudaBench after $(( $(date +%s) - t1 )) s" | tee -a "$work/summary.txt"
  for v in ${VARIANTS-S W T}; do
    case $v in
      S) opts=(-Dfastembedding.cuda.detWalkMode=1) ;;               # DET_WALK_SERIAL: the serial walk + rank sort
      W) opts=(-Dfastembedding.cuda.detRowLanes=32) ;;               # a warp per row
      T) opts=(-Dfastembedding.cuda.detLargeTileFrom=8192) ;;        # the 1024-row tile from batch 8192
      *) continue ;;
    esac
    "$java" "${opts[@]}" -cp "$cp" io.fastembedding.bench.cuda.CudaBench --no-stream --out "$work/fe-$v.csv" \
      > "$work/fe-$v.log" 2>&1
    echo "# variant $v (${opts[*]}): exit $?" | tee -a "$work/summary.txt"
  done
  csvs=("-=$work/fe.csv")
  for v in ${VARIANTS-S W T}; do
    csvs+=("$v=$work/fe-$v.csv")
  done
  { echo "# fe_cuda_det / fe_cuda, mode train (variant: knob of CudaBackend; '-' = defaults, the run with PyTorch)"
    det_ratios "${csvs[@]}"; } | tee -a "$work/summary.txt"
  cp "$work/fe.csv" "$work/torch.csv" "$work/ratios.txt" "$out/" 2>/dev/null
fi
cp "$work/summary.txt" "$out/"
tar czf "$out/logs.tgz" -C "$work" .
cat "$work/summary.txt"
[ -f "$work/ratios.txt" ] && sed -n '/other variants of ours/,$p' "$work/ratios.txt"
