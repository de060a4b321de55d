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
here="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-/tmp/fe-out}"
work=/tmp/fe-det11
rm -rf "$work"; mkdir -p "$work" "$out"
seeds="${SEEDS:-4}"
java="$here/jre/bin/java"
libs="$(ls "$here"/lib/*.jar | tr '\n' ':')"
cp="$here/classes:$here/test-classes:$libs"
cpline="$here/classes-lineinfo:$here/test-classes:$libs"
cpold="$here/old/classes:$here/old/test-classes:$libs"
info="$(nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.sm --format=csv,noheader)"
echo "# GPU: $info" | tee "$work/summary.txt"
san="$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -1)"
junit=(-jar "$here/junit-console.jar" execute --disable-banner --disable-ansi-colors)
all=(--select-class io.fastembedding.backend.cuda.CudaBackendTest --select-class io.fastembedding.backend.cuda.CudaTrainEpochTest
     --select-class io.fastembedding.backend.cuda.CudaDevicesTest)
t0=$(date +%s)
pids=()
if [ -n "$san" ]; then
  ( timeout 230 "$san" --tool memcheck --report-api-errors no --error-exitcode 9 --print-limit 50 \
      "$java" -Dfastembedding.test.seed=1000 "${junit[@]}" --class-path "$cpline" "${all[@]}" --details=summary \
      > "$work/sanitizer-memcheck.log" 2>&1; echo "exit $?" >> "$work/sanitizer-memcheck.log" ) &
  pids+=($!)
  ( timeout 230 "$san" --tool racecheck --racecheck-report all --error-exitcode 9 --print-limit 100 \
      "$java" -Dfastembedding.test.seed=2000 -Dfastembedding.test.detOnly=true -Dfastembedding.test.caseStride=3 \
      "${junit[@]}" --class-path "$cpline" --select-class io.fastembedding.backend.cuda.CudaBackendTest \
      --include-methodname '.*(trainsLikeTheReference|deterministic(SubListWalk|Walks)|bothScatterTiles|residentBatches).*' \
      --details=summary > "$work/sanitizer-racecheck.log" 2>&1; echo "exit $?" >> "$work/sanitizer-racecheck.log" ) &
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
      --class-path "$cp" "${all[@]}" --details=tree > "$work/seed-$s.log" 2>&1; echo "exit $?" >> "$work/seed-$s.log" ) &
  pids+=($!)
done
wait "${pids[@]}"
echo "# tests and sanitizers done after $(( $(date +%s) - t0 )) s" | tee -a "$work/summary.txt"
{
  for f in "$work"/seed-*.log; do
    printf '%s: %s | %s | %s\n' "$(basename "$f" .log)" "$(grep -E '^\[ *[0-9]+ tests successful' "$f" | tr -s ' ')" \
      "$(grep -E '^\[ *[0-9]+ tests failed' "$f" | tr -s ' ')" "$(tail -1 "$f")"
  done
  echo "# failures"
  grep -h -A4 "✘" "$work"/seed-*.log | grep -v "^--" | head -60
  echo "# agreement ratios (GPU error / CPU error; limit 8), worst 5 of $(cat "$work"/seed-*.log | grep -c '^AGREEMENT')"
  grep -h '^AGREEMENT' "$work"/seed-*.log | awk '{print $NF, $0}' | sort -g -r | head -5 | cut -c1-200
  for tool in memcheck racecheck racecheck-old; do
    [ -f "$work/sanitizer-$tool.log" ] || continue
    echo "# sanitizer $tool:"
    grep -E "ERROR SUMMARY|RACECHECK SUMMARY|tests (successful|failed)|^exit" "$work/sanitizer-$tool.log" | tr -s ' '
    grep -E -A3 "(Race|Hazard) reported|Invalid|Error:|Warning:" "$work/sanitizer-$tool.log" | head -40
  done
} | tee -a "$work/summary.txt"
if [ "${BENCH:-1}" = 1 ]; then
  t1=$(date +%s)
  OUT="$work" bash "$here/run-gpu.sh" --no-tests > "$work/bench.txt" 2>&1
  echo "# baseline + CudaBench after $(( $(date +%s) - t1 )) s" | tee -a "$work/summary.txt"
  for v in ${VARIANTS-S W T}; do
    case $v in
      S) opts=(-Dfastembedding.cuda.detSerialWalk=true) ;;          # the serial walk + rank sort
      W) opts=(-Dfastembedding.cuda.detRowLanes=32) ;;               # a warp per row
      T) opts=(-Dfastembedding.cuda.detLargeTileFrom=8192) ;;        # the 1024-row tile from batch 8192
      *) continue ;;
    esac
    "$java" "${opts[@]}" -cp "$cp" io.fastembedding.bench.cuda.CudaBench --no-stream --out "$work/fe-$v.csv" \
      > "$work/fe-$v.log" 2>&1
    echo "# variant $v (${opts[*]}): exit $?" | tee -a "$work/summary.txt"
  done
  python3 - "$work" ${VARIANTS-S W T} <<'PY' | tee -a "$work/summary.txt"
import csv, os, statistics, sys
work = sys.argv[1]
def load(p):
    d = {}
    for r in csv.DictReader(open(p)):
        if r["suite"] == "copy" or r["mode"] != "train":
            continue
        k = (r["suite"], r["num_embeddings"], r["dim"], r["batch"], r["scenario"], r["config"])
        d.setdefault(k, {})[r["impl"]] = float(r["ms_median"])
    return d
print("# fe_cuda_det / fe_cuda, mode train (variant: knob of CudaBackend; '-' = defaults, the run with PyTorch)")
for v in ["-"] + sys.argv[2:]:
    p = f"{work}/fe.csv" if v == "-" else f"{work}/fe-{v}.csv"
    if not os.path.exists(p):
        continue
    d = load(p)
    rs = {k: x["fe_cuda_det"] / x["fe_cuda"] for k, x in d.items() if "fe_cuda_det" in x and "fe_cuda" in x}
    if not rs:
        continue
    by = {}
    for k, r in rs.items():
        by.setdefault(k[3], []).append(r)
    worst = max(rs, key=rs.get)
    print(f"{v}: median {statistics.median(rs.values()):.2f} max {max(rs.values()):.2f} above2 {sum(r > 2 for r in rs.values())}"
          f" n={len(rs)}  " + "  ".join(f"b{b}: {statistics.median(x):.2f}/{max(x):.2f}" for b, x in sorted(by.items(), key=lambda t: int(t[0])))
          + f"  worst {worst}")
PY
  cp "$work/fe.csv" "$work/torch.csv" "$work/ratios.txt" "$out/" 2>/dev/null
fi
cp "$work/summary.txt" "$out/"
tar czf "$out/logs.tgz" -C "$work" .
cat "$work/summary.txt"
[ -f "$work/ratios.txt" ] && sed -n '/other variants of ours/,$p' "$work/ratios.txt"
