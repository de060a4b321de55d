#!/usr/bin/env bash
# Deterministic-backward variants side by side in one device call (CudaBench, atomic and det, no
# streaming), from the checkout root with the folder stage-gpu.sh filled:
#   A: defaults; B: large tile from batch 8192, lanes fit to the row; C: large tile from 8192, a warp per row.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"; . "$here/lib.sh"
out="${OUT:-/tmp/fe-out}"; mkdir -p "$out"
gpu_info
run() {  # name, java options
  local name=$1; shift
  "$java" "$@" -cp "$cp" io.fastembedding.bench.cuda.CudaBench --no-stream --out "$out/fe-$name.csv" > "$out/fe-$name.log" 2>&1
  echo "# variant $name ($*): exit $?"
}
variants="${VARIANTS:-A B C}"
csvs=()
for v in $variants; do
  case $v in
    A) run A ;;
    B) run B -Dfastembedding.cuda.detLargeTileFrom=8192 ;;
    C) run C -Dfastembedding.cuda.detLargeTileFrom=8192 -Dfastembedding.cuda.detRowLanes=32 ;;
  esac
  csvs+=("$v=$out/fe-$v.csv")
done
det_ratios "${csvs[@]}"
