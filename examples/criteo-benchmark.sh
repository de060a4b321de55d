#!/usr/bin/env bash
# The Criteo-shaped benchmark (docs/benchmarks.md, issue 10) on a multi-executor Spark
# (local-cluster: executors in their own JVMs, started from the Maven jars, no Spark install).
#
#   examples/criteo-benchmark.sh [CriteoBenchmark args...]     e.g. --rows 10000000 --epochs 3
#
# Environment:
#   EXECUTORS    executor JVMs (default 2); EXEC_MEM their heap (default 6g); EXEC_CORES cores each
#                (default 1); DRIVER_MEM the driver's heap (default 1g)
#   CP           classpath (default: the examples module's, after `mvn -pl examples -am package`)
set -euo pipefail
cd "$(dirname "$0")/.."
cp="${CP:-$PWD/examples/target/classes:$(cat examples/target/classpath.txt 2>/dev/null)}"
if [ -z "${CP:-}" ] && [ ! -f examples/target/classpath.txt ]; then
  mvn -q ${MVN_FLAGS:-} -pl examples -am package -DskipTests
  cp="$PWD/examples/target/classes:$(cat examples/target/classpath.txt)"
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
executors="${EXECUTORS:-2}"
cores="${EXEC_CORES:-1}"
mem="${EXEC_MEM:-6g}"
mem_mb=$(( $(numfmt --from=iec "${mem^^}") >> 20 ))
# local-cluster runs executors from jars, without a Spark install, given these (docs/spark.md)
export SPARK_HOME="$work" SPARK_SCALA_VERSION=2.13 SPARK_TESTING=1
source examples/spark-jvm-flags.sh
exec java -Xmx"${DRIVER_MEM:-1g}" "${flags[@]}" -Dlog4j2.configurationFile=examples/log4j2.properties \
  -Dspark.master="local-cluster[$executors,$cores,$mem_mb]" \
  -Dspark.driver.host=127.0.0.1 -Dspark.ui.enabled=false \
  -Dspark.executor.memory="$mem" -Dspark.local.dir="$work" \
  -Dspark.executor.metrics.pollingInterval=500ms -Dspark.executor.heartbeatInterval=2s \
  -Dspark.executor.extraClassPath="$cp" \
  -Dspark.executor.extraJavaOptions="${flags[*]}" \
  -cp "$cp" io.fastembedding.examples.CriteoBenchmark "$@"
