#!/usr/bin/env bash
# Builds the project (tests skipped) and runs an example job on an embedded local Spark.
#   examples/run.sh                       the feature job on UCI Bank Marketing (the default)
#   examples/run.sh bank --dim 16         the same with options (--help lists them)
#   examples/run.sh flights               the flights benchmark (fetch the data first:
#                                         examples/fetch-flights.sh)
#   examples/run.sh quality               the quality benchmark of docs/quality.md: Bank Marketing
#                                         and flights, every pipeline side by side (about 80 min
#                                         on 2 cores; JOB_HEAP=12g)
# MVN_FLAGS adds Maven flags (e.g. MVN_FLAGS=-o to build offline; split at spaces, nothing else
# is expanded). JOB_HEAP sets the job's heap (default 6g).
set -euo pipefail
cd "$(dirname "$0")/.."
heap="${JOB_HEAP:-6g}"
if [[ ! "$heap" =~ ^[1-9][0-9]*[kKmMgGtT]?$ ]]; then
  echo "$0: JOB_HEAP must be a JVM heap size such as 6g, got '$heap'" >&2
  exit 2
fi
read -r -a mvn_flags <<< "${MVN_FLAGS:-}"
job=BankFeatureJob
if [ $# -gt 0 ] && [[ "$1" != --* ]]; then
  case "$1" in
    bank) job=BankFeatureJob ;;
    flights) job=FlightsBenchmark ;;
    devices) job=FlightsDevices ;;
    quality) job=QualityBenchmark ;;
    grid) job=QualityGrid ;;
    *) echo "unknown job '$1': bank, flights, devices, quality or grid" >&2; exit 2 ;;
  esac
  shift
fi
mvn -q ${mvn_flags[@]+"${mvn_flags[@]}"} -pl examples -am package -DskipTests
# Spark's own JVM flags (its launcher adds them to every JVM it starts)
source examples/spark-jvm-flags.sh
cp="examples/target/classes:$(cat examples/target/classpath.txt)"
exec java "-Xmx$heap" "${flags[@]}" -Dlog4j2.configurationFile=examples/log4j2.properties \
  -cp "$cp" "io.fastembedding.examples.$job" "$@"
