#!/usr/bin/env bash
# Deterministic mode, fifth pass (issue 11): one device call from the checkout root, DIR filled by
# stage-gpu.sh. In order, each alone on the card:
#   seeds:  the four GPU test classes under 20 base seeds at once (run-suite-sanitizers.sh, SAN=0);
#   points: CudaBench on POINTS per variant of VARIANTS (name=options, comma-separated: -D... for the JVM,
#           ptx:SUBDIR for kernels compiled otherwise (DIR/SUBDIR/io/fastembedding/backend/cuda/*.ptx, found
#           first on the class path), others for CudaBench; default: the concurrent apply, the serial one,
#           and no GPU warm-up before the first point);
#   grid:   the full CudaBench grid per variant of GRID_VARIANTS (default: the defaults, fe.csv);
#   torch:  the PyTorch baseline (DIR/torch_baseline.py) right after it;
#   goals:  det_goals.py on each grid and the baseline.
# Files under $OUT: summary.txt, fe.csv, torch.csv, logs.tgz (the device tool returns few files).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"; . "$here/lib.sh"
out="${OUT:-/tmp/fe-out}"; mkdir -p "$out/logs"; sum="$out/summary.txt"
steps="${STEPS:-seeds points grid torch}"
points="${POINTS:-^multi,,(33|90),(16384|131072),(ALL_UNIFORM|ALL_MIXED),|^single,1000000,(8|128),131072,(UNIFORM|UNI_AND_BINOMIAL),|^single,1000,8,1024,}"
variants="${VARIANTS:-concurrent= serial=-Dfastembedding.cuda.detConcurrentApply=false nowarm=--warmup-ms,0}"
echo "# GPU: $(gpu_info)" | tee "$sum"
t0=$(date +%s)
if [[ " $steps " == *" seeds "* ]]; then
  SAN=0 SEEDS=${SEEDS:-20} OUT="$out/logs/seeds" bash "$here/run-suite-sanitizers.sh" > "$out/logs/seeds.txt" 2>&1
  tail -28 "$out/logs/seeds.txt" | tee -a "$sum"
  echo "# seeds after $(( $(date +%s) - t0 )) s" | tee -a "$sum"
fi
if [[ " $steps " == *" points "* ]]; then
  for v in $variants; do
    bench "$out/logs/points-${v%%=*}.csv" "${v%%=*}" "$(echo "${v#*=}" | tr ',' ' ')" --no-stream --points "$points"
  done
  det_ratios --table $(for v in $variants; do n="${v%%=*}"; echo "$n=$out/logs/points-$n.csv"; done) | tee -a "$sum"
fi
grids="${GRID_VARIANTS:-default=}"
grids_torch_goals "$grids"
(cd "$out" && tar czf logs.tgz logs && rm -rf logs)
