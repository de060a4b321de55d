#!/usr/bin/env bash
# The flights fit (FlightsFitTiming: dim 8, 10 epochs, batch 1024, Adagrad 0.1, no validation
# rows, local[2], 3 GiB heap) with this build (AFTER) and with the last build before issue 10
# (BEFORE: commit e0d3422, the first parent of the merge of branch 'shard'), alternately, in one
# script; each JVM fits twice after an untimed warm-up fit.
#   BEFORE=<checkout of e0d3422, built> AFTER=<this checkout, built> flights-vs-pre10.sh
set -euo pipefail
cd "$(dirname "$0")/../../.."
source examples/spark-jvm-flags.sh
examples_classes="${EXAMPLES_CLASSES:-$PWD/examples/target/classes}"
cp_of() { echo "$examples_classes:$1/spark-module/target/spark-fast-embedding_2.13-0.1.0-SNAPSHOT.jar:$1/gpu-kernels/target/gpu-kernels-0.1.0-SNAPSHOT.jar:$(tr ':' '\n' < "$1/examples/target/classpath.txt" | grep '\.m2' | paste -sd:)"; }
for i in 1 2; do
  for who in BEFORE AFTER; do
    echo "== $who ($i) $(uptime)"
    java -Xmx3g "${flags[@]}" -Dlog4j2.configurationFile=examples/log4j2.properties \
      -cp "$(cp_of "${!who}")" io.fastembedding.examples.FlightsFitTiming \
      --input /work/main/examples/data/flights-3m.parquet --repeats 2 2>&1 \
      | grep -E "flights fit|Exception|Error" || true
  done
done
uptime
