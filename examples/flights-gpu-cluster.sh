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
#   DRIVER_MEM  the driver's heap (default 8g)
#   EXEC_JAVA_OPTS  extra JVM options of the executors, e.g. -Dfastembedding.cuda.residentBlocks=false
#   MAIN        the job's main class (default io.fastembedding.examples.FlightsDevices; e.g.
#               io.fastembedding.examples.CriteoBenchmark with --devices gpu:2,cpu:32)
set -euo pipefail
cd "$(dirname "$0")/.."
# numbers from the environment are checked as text before any arithmetic: bash evaluates a
# variable's value inside $(( )), so GPUS='x[$(cmd)]' would run cmd
whole_number() { # NAME VALUE
  if [[ ! "$2" =~ ^[1-9][0-9]{0,5}$ ]]; then
    echo "$0: $1 must be a whole number above 0, got '$2'" >&2
    exit 2
  fi
}
heap_size() { # NAME VALUE
  if [[ ! "$2" =~ ^[1-9][0-9]*[kKmMgGtT]?$ ]]; then
    echo "$0: $1 must be a JVM heap size such as 12g, got '$2'" >&2
    exit 2
  fi
}
cores="${EXEC_CORES:-4}"
whole_number EXEC_CORES "$cores"
exec_mem="${EXEC_MEM:-12g}"
heap_size EXEC_MEM "$exec_mem"
driver_mem="${DRIVER_MEM:-8g}"
heap_size DRIVER_MEM "$driver_mem"
main="${MAIN:-io.fastembedding.examples.FlightsDevices}"
if [[ ! "$main" =~ ^[A-Za-z_][A-Za-z0-9_.]*$ ]]; then
  echo "$0: MAIN must be a class name, got '$main'" >&2
  exit 2
fi
if [[ -n "${GPUS+set}" ]]; then
  whole_number GPUS "$GPUS"
fi
java_bin="${JAVA_HOME:+$JAVA_HOME/bin/}java"
cp="${CP:-examples/target/classes:$(cat examples/target/classpath.txt 2>/dev/null)}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$java_bin" -cp "$cp" io.fastembedding.spark.discovery.GpuDiscoveryScript "$work" >/dev/null
script="$work/getGpusResources.sh"
if [[ -z "${GPUS+set}" ]]; then
  found="$("$script")"
  gpus="$({ grep -o '"[0-9][0-9]*"' <<< "$found" || true; } | wc -l)"
  gpus="${gpus//[[:space:]]/}"
  if [[ "$gpus" == 0 ]]; then
    echo "$0: the discovery script found no GPU (it printed: $found); set GPUS to run anyway" >&2
    exit 1
  fi
else
  gpus="$GPUS"
fi
# the worker offers each executor its heap, at least 32 GiB
worker_mb=$(( $(numfmt --from=iec "${exec_mem^^}") >> 20 ))
worker_mb=$(( worker_mb > 32768 ? worker_mb : 32768 ))
# local-cluster runs executors from jars, without a Spark install, given these (docs/spark.md)
export SPARK_HOME="$work" SPARK_SCALA_VERSION=2.13 SPARK_TESTING=1
source examples/spark-jvm-flags.sh
echo "local-cluster: one worker offering $gpus GPU(s) from $script, executors of $cores cores and one GPU each"
# one worker, two executors: the worker hands each executor its own GPU address; no task amount
# is set, so the training stage's ResourceProfile gives each training task one GPU.
# Not exec: the EXIT trap must still remove the folder afterwards.
status=0
"$java_bin" -Xmx"$driver_mem" "${flags[@]}" -Dlog4j2.configurationFile=examples/log4j2.properties \
  -Dspark.master="local-cluster[1,$((cores * gpus)),$((worker_mb * gpus))]" \
  -Dspark.driver.host=127.0.0.1 -Dspark.ui.enabled=false \
  -Dspark.executor.cores="$cores" -Dspark.executor.memory="$exec_mem" \
  -Dspark.worker.resource.gpu.amount="$gpus" \
  -Dspark.worker.resource.gpu.discoveryScript="$script" \
  -Dspark.executor.resource.gpu.amount=1 \
  -Dspark.executor.extraClassPath="$cp" \
  -Dspark.executor.extraJavaOptions="${flags[*]}${EXEC_JAVA_OPTS:+ $EXEC_JAVA_OPTS}" \
  -Dspark.local.dir="$work" \
  -cp "$cp" "$main" "$@" || status=$?
exit "$status"
