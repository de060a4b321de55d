#!/usr/bin/env bash
# The flights fit on a multi-executor Spark (local-cluster: a standalone master and worker in
# separate JVMs) whose executors each own one GPU, found by the project's discovery script; then the
# same fit on CPU executors of the same cluster, in the same run (docs/benchmarks.md, issue 6).
#
#   examples/flights-gpu-cluster.sh [FlightsDevices args...]
#
# Environment:
#   CP          classpath of the job (default: the examples module's, after `mvn package`)
#   JAVA_HOME   the JVM for driver and executors (default: the java on the PATH)
#   GPUS        GPUs the worker offers (default: as many as nvidia-smi lists)
#   EXEC_CORES  cores per executor (default 4); EXEC_MEM executor heap (default 12g)
set -euo pipefail
cd "$(dirname "$0")/.."
java_bin="${JAVA_HOME:+$JAVA_HOME/bin/}java"
cp="${CP:-examples/target/classes:$(cat examples/target/classpath.txt 2>/dev/null)}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$java_bin" -cp "$cp" io.fastembedding.spark.discovery.GpuDiscoveryScript "$work" >/dev/null
script="$work/getGpusResources.sh"
gpus="${GPUS:-$("$script" | grep -o '"[0-9]*"' | wc -l)}"
cores="${EXEC_CORES:-4}"
# local-cluster runs executors from jars, without a Spark install, given these (docs/spark.md)
export SPARK_HOME="$work" SPARK_SCALA_VERSION=2.13 SPARK_TESTING=1
source examples/spark-jvm-flags.sh
echo "local-cluster: one worker offering $gpus GPU(s) from $script, executors of $cores cores and one GPU each"
# one worker, two executors: the worker hands each executor its own GPU address; no task amount
# is set, so the training stage's ResourceProfile gives each training task one GPU
exec "$java_bin" -Xmx8g "${flags[@]}" -Dlog4j2.configurationFile=examples/log4j2.properties \
  -Dspark.master="local-cluster[1,$((cores * gpus)),$((32768 * gpus))]" \
  -Dspark.driver.host=127.0.0.1 -Dspark.ui.enabled=false \
  -Dspark.executor.cores="$cores" -Dspark.executor.memory="${EXEC_MEM:-12g}" \
  -Dspark.worker.resource.gpu.amount="$gpus" \
  -Dspark.worker.resource.gpu.discoveryScript="$script" \
  -Dspark.executor.resource.gpu.amount=1 \
  -Dspark.executor.extraClassPath="$cp" \
  -Dspark.executor.extraJavaOptions="${flags[*]}" \
  -cp "$cp" io.fastembedding.examples.FlightsDevices "$@"
