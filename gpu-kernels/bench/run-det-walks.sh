#!/usr/bin/env bash
# The walk modes of det_apply_rows (KernelConstants.DET_WALK_*) side by side, in one short device call, from
# the checkout root with the folder stage-gpu.sh filled:
#   1. at once, one JVM per mode: the deterministic tests of CudaBackendTest (the sub-list walk against
#      the serial walk bit for bit, both scatter tiles, every third deterministic case) under that mode;
#   2. then alone on the GPU: CudaBench on part of the grid (POINTS, a regex of CudaBench --points) per mode.
# Usage: [MODES="0 2 4 6 1"] [POINTS=...] bash DIR/run-det-walks.sh. Logs: $OUT/walks.tgz; table last.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-/tmp/fe-out}"
work=/tmp/fe-walks
rm -rf "$work"; mkdir -p "$work" "$out"
modes="${MODES:-0 2 4 6 1}"
points="${POINTS:-^single,(1000|1000000),(8|128),131072,(UNIFORM|POW_1_2_K|UNI_AND_20P_SAME_INDEX),|^single,1000000,32,(16384|131072),UNIFORM,|^multi,,(33|90),(16384|131072),(ALL_UNIFORM|ALL_MIXED),}"
java="$here/jre/bin/java"
cp="$here/classes:$here/test-classes:$(ls "$here"/lib/*.jar | tr '\n' ':')"
nvidia-smi --query-gpu=name,driver_version,clocks.sm --format=csv,noheader | tee "$work/summary.txt"
t0=$(date +%s)
pids=()
for m in $modes; do
  ( timeout 150 "$java" -Dfastembedding.cuda.detWalkMode="$m" -Dfastembedding.test.seed=$((4242 + m)) \
      -Dfastembedding.test.detOnly=true -Dfastembedding.test.caseStride=3 -jar "$here/junit-console.jar" execute \
      --disable-banner --disable-ansi-colors --class-path "$cp" --select-class io.fastembedding.backend.cuda.CudaBackendTest \
      --include-methodname '.*(trainsLikeTheReference|deterministic(SubListWalk|Walks)|bothScatterTiles|residentBatches).*' \
      --details=tree > "$work/tests-mode$m.log" 2>&1; echo "exit $?" >> "$work/tests-mode$m.log" ) &
  pids+=($!)
done
wait "${pids[@]}"
{
  echo "# tests after $(( $(date +%s) - t0 )) s"
  for m in $modes; do
    printf 'mode %s: %s | %s | %s\n' "$m" "$(grep -E '^\[ *[0-9]+ tests successful' "$work/tests-mode$m.log" | tr -s ' ')" \
      "$(grep -E '^\[ *[0-9]+ tests failed' "$work/tests-mode$m.log" | tr -s ' ')" "$(tail -1 "$work/tests-mode$m.log")"
    grep -A4 "✘" "$work/tests-mode$m.log" | head -12
  done
} | tee -a "$work/summary.txt"
for m in $modes; do
  "$java" -Dfastembedding.cuda.detWalkMode="$m" -cp "$cp" io.fastembedding.bench.cuda.CudaBench --no-stream \
    --points "$points" --out "$work/fe-mode$m.csv" > "$work/fe-mode$m.log" 2>&1
  echo "# CudaBench mode $m: exit $?" | tee -a "$work/summary.txt"
done
python3 - "$work" $modes <<'PY' | tee -a "$work/summary.txt"
import csv, os, statistics, sys
work, modes = sys.argv[1], sys.argv[2:]
data = {}
for m in modes:
    p = f"{work}/fe-mode{m}.csv"
    if not os.path.exists(p):
        continue
    for r in csv.DictReader(open(p)):
        if r["suite"] == "copy":
            continue
        k = (r["suite"], r["num_embeddings"] or r["config"], r["dim"], r["batch"], r["scenario"])
        data.setdefault(k, {}).setdefault(m, {})[r["impl"]] = float(r["ms_median"])
print("# fe_cuda_det / fe_cuda by walk mode (det ms in brackets)")
print("point".ljust(52) + "".join(f"mode {m}".rjust(18) for m in modes))
cols = {m: [] for m in modes}
for k in sorted(data):
    line = " ".join(k).ljust(52)
    for m in modes:
        x = data[k].get(m)
        if x and "fe_cuda_det" in x:
            r = x["fe_cuda_det"] / x["fe_cuda"]
            cols[m].append(r)
            line += f"{r:7.2f} ({x['fe_cuda_det']:.4f})".rjust(18)
        else:
            line += "-".rjust(18)
    print(line)
print("median".ljust(52) + "".join(f"{statistics.median(cols[m]):7.2f}".rjust(18) if cols[m] else "-".rjust(18) for m in modes))
print("max".ljust(52) + "".join(f"{max(cols[m]):7.2f}".rjust(18) if cols[m] else "-".rjust(18) for m in modes))
PY
cp "$work/summary.txt" "$out/"
tar czf "$out/walks.tgz" -C "$work" .
