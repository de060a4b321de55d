#!/usr/bin/env bash
# Final check of main on one H200: every GPU test class with two base seeds, then CudaBench --quick
# (mode train) and the det/atomic ratios of the committed walk rule, measured as one run.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"; out="${OUT:-/tmp/out}"; mkdir -p "$out"
java="$here/jre/bin/java"; cp="$here/classes:$here/test-classes:$(ls "$here"/lib/*.jar | tr '\n' ':')"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
for seed in 20261201 31337; do
  timeout 95 "$java" -Dfastembedding.test.seed=$seed -jar "$here/junit-console.jar" execute --class-path "$cp" \
    --select-class io.fastembedding.backend.cuda.CudaBackendTest \
    --select-class io.fastembedding.backend.cuda.CudaDevicesTest \
    --select-class io.fastembedding.backend.cuda.CudaTrainEpochTest \
    --select-class io.fastembedding.backend.cuda.ResidentEpochTest \
    --details=tree --disable-banner --disable-ansi-colors > "$out/gpu-tests-seed$seed.log" 2>&1
  echo "# seed $seed exit $?"; grep -E "tests (successful|failed|aborted)" "$out/gpu-tests-seed$seed.log"
  grep -B2 -A8 -E "✘" "$out/gpu-tests-seed$seed.log" | head -40
done
timeout 75 "$java" -cp "$cp" io.fastembedding.bench.cuda.CudaBench --quick --out "$out/fe.csv" > "$out/fe.log" 2>&1
echo "# CudaBench exit $?"
python3 - "$out/fe.csv" <<'PY' | tee "$out/det-ratios.txt"
import csv, sys, statistics
rows = list(csv.DictReader(open(sys.argv[1])))
key = lambda r: (r['suite'], r['mode'], r['num_embeddings'], r['dim'], r['batch'], r['scenario'], r['config'])
at = {key(r): float(r['ms_median']) for r in rows if r['impl'] == 'fe_cuda' and r['mode'] == 'train'}
de = {key(r): float(r['ms_median']) for r in rows if r['impl'] == 'fe_cuda_det' and r['mode'] == 'train'}
rs = sorted(((de[k] / at[k], k) for k in de if k in at), reverse=True)
v = [r for r, _ in rs]
print(f"points {len(v)}  det/atomic median {statistics.median(v):.2f}  worst {v[0]:.2f}  above 2: {sum(x > 2 for x in v)}")
for r, k in rs[:8]: print(f"  {r:.2f} {k}")
PY
