#!/usr/bin/env bash
# Deterministic-backward variants side by side in one device call (CudaBench, atomic and det, no
# streaming), from the checkout root with the folder stage-gpu.sh filled:
#   A: defaults; B: large tile from batch 8192, lanes fit to the row; C: large tile from 8192, a warp per row.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-/tmp/fe-out}"; mkdir -p "$out"
java="$here/jre/bin/java"
cp="$here/classes:$here/test-classes:$(ls "$here"/lib/*.jar | tr '\n' ':')"
nvidia-smi --query-gpu=name,driver_version,clocks.sm --format=csv,noheader
run() {  # name, java options
  local name=$1; shift
  "$java" "$@" -cp "$cp" io.fastembedding.bench.cuda.CudaBench --no-stream --out "$out/fe-$name.csv" > "$out/fe-$name.log" 2>&1
  echo "# variant $name ($*): exit $?"
}
variants="${VARIANTS:-A B C}"
for v in $variants; do
  case $v in
    A) run A ;;
    B) run B -Dfastembedding.cuda.detLargeTileFrom=8192 ;;
    C) run C -Dfastembedding.cuda.detLargeTileFrom=8192 -Dfastembedding.cuda.detRowLanes=32 ;;
  esac
done
python3 - "$out" "$variants" <<'PY'
import csv, statistics, sys
out = sys.argv[1]
def load(p):
    d = {}
    for r in csv.DictReader(open(p)):
        if r["suite"] == "copy" or r["mode"] != "train":
            continue
        k = (r["suite"], r["num_embeddings"], r["dim"], r["batch"], r["scenario"], r["config"])
        d.setdefault(k, {})[r["impl"]] = float(r["ms_median"])
    return d
for v in sys.argv[2].split():
    d = load(f"{out}/fe-{v}.csv")
    rs = [x["fe_cuda_det"] / x["fe_cuda"] for x in d.values() if "fe_cuda_det" in x]
    by = {}
    for k, x in d.items():
        if "fe_cuda_det" in x:
            by.setdefault(k[3], []).append(x["fe_cuda_det"] / x["fe_cuda"])
    print(f"{v}: det/atomic median {statistics.median(rs):.2f} max {max(rs):.2f} n={len(rs)}  " +
          "  ".join(f"b{b}: med {statistics.median(v2):.2f} max {max(v2):.2f}" for b, v2 in sorted(by.items(), key=lambda t: int(t[0]))))
PY
