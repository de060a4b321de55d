#!/usr/bin/env bash
# On the GPU machine, from the checkout root, after stage.sh's folders were carried:
#
#   bash DEST/app/run.sh STEP...      STEP: bench | tests | flights | criteo | smoke
#
#   bench    EpochBench --only-epoch: trainEpoch on a bare JVM (1.2 M flights-like rows, batch 1024
#            and 8192), the reference rate of docs/benchmarks.md
#   tests    the GPU tests named in GPU_TESTS (JUnit console; default ResidentEpochTest and
#            CudaTrainEpochTest), base seed TEST_SEED (default 1)
#   flights  examples/flights-gpu-cluster.sh: one application, the fits of FLIGHTS_DEVICES (default
#            gpu:2:1024,cpu:32:1024,gpu:2:8192,cpu:32:8192), 10 epochs
#   criteo   the same cluster, CriteoBenchmark with CRITEO_ARGS (default --rows 5000000 --placement sharded
#            --test-rows 0 --epochs 2 --devices gpu:2,cpu:32)
#   flights-host  the GPU fits of flights as before this change: blocks shuffled on the host and
#            uploaded every epoch (-Dfastembedding.cuda.residentBlocks=false in the executors)
#   smoke    a 2-epoch flights fit on gpu:2 only (checks the staging end to end)
#
# Logs go to $OUT (the device tool's folder; default a mktemp folder). Environment: EXEC_CORES
# (default: half the host's cores), EXEC_MEM (default 48g).
set -uo pipefail
app="$(cd "$(dirname "$0")" && pwd)"
d="$(dirname "$app")"
out="${OUT:-$(mktemp -d)}"; mkdir -p "$out"
export JAVA_HOME="$d/jre"
java="$JAVA_HOME/bin/java"
deps="$(for x in "$d"/d[0-9]; do printf '%s/*:' "$x"; done)"
export CP="$app/jars/*:$app/classes:${deps%:}"
cores="$(nproc)"
export EXEC_CORES="${EXEC_CORES:-$((cores / 2))}" EXEC_MEM="${EXEC_MEM:-48g}"
{ date -u; uname -a; echo "cores $cores"; uptime; free -g | head -2
  nvidia-smi --query-gpu=index,name,memory.total,driver_version --format=csv; } > "$out/machine.txt" 2>&1
cat "$out/machine.txt"
for step in "$@"; do
  echo "# step $step, $(date -u +%T)"
  t0=$SECONDS
  case "$step" in
    bench)
      "$java" -cp "$app/jars/*:$app/gk-test-classes:${deps%:}" io.fastembedding.bench.cuda.EpochBench \
        --only-epoch --epochs 7 2>&1 | tee "$out/epoch-bench.txt" ;;
    tests)
      "$java" -Dfastembedding.test.seed="${TEST_SEED:-1}" -jar "$app/junit-console.jar" execute \
        --class-path "$app/jars/gpu-kernels-0.1.0-SNAPSHOT.jar:$app/gk-test-classes:$(ls "$d"/d[0-9]/*.jar | tr '\n' ':')" \
        $(for t in ${GPU_TESTS:-io.fastembedding.backend.cuda.ResidentEpochTest io.fastembedding.backend.cuda.CudaTrainEpochTest}; do printf -- '--select-class %s ' "$t"; done) \
        --details=tree --disable-banner --disable-ansi-colors > "$out/gpu-tests.txt" 2>&1
      echo "exit $?"; grep -E 'base seed|✘|tests (successful|failed|aborted|found)' "$out/gpu-tests.txt" | head -40 ;;
    flights)
      (cd "$app" && examples/flights-gpu-cluster.sh --input examples/data/flights-3m.parquet --epochs 10 \
        --devices "${FLIGHTS_DEVICES:-gpu:2:1024,cpu:32:1024,gpu:2:8192,cpu:32:8192}") > "$out/flights-gpu-cluster.log" 2>&1
      echo "exit $?"; grep 'device \|per-task\|failed' "$out/flights-gpu-cluster.log" ;;
    flights-host)
      (cd "$app" && EXEC_JAVA_OPTS=-Dfastembedding.cuda.residentBlocks=false examples/flights-gpu-cluster.sh \
        --input examples/data/flights-3m.parquet --epochs 10 --devices gpu:2:1024,gpu:2:8192) \
        > "$out/flights-host-shuffle.log" 2>&1
      echo "exit $?"; grep 'device gpu\|per-task' "$out/flights-host-shuffle.log" ;;
    criteo)
      (cd "$app" && MAIN=io.fastembedding.examples.CriteoBenchmark examples/flights-gpu-cluster.sh \
        ${CRITEO_ARGS:---rows 5000000 --test-rows 0 --epochs 2 --placement sharded --devices gpu:2,cpu:32}) > "$out/criteo-gpu-cluster.log" 2>&1
      echo "exit $?"; grep -v ' INFO \| WARN ' "$out/criteo-gpu-cluster.log" | tail -40 ;;
    smoke)
      (cd "$app" && examples/flights-gpu-cluster.sh --input examples/data/flights-3m.parquet --epochs 2 \
        --devices gpu:2) > "$out/smoke.log" 2>&1
      echo "exit $?"; tail -25 "$out/smoke.log" ;;
    *) echo "unknown step $step" ;;
  esac
  echo "# step $step took $((SECONDS - t0)) s"
done
