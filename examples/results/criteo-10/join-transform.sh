#!/usr/bin/env bash
# Join transform before/after (docs/benchmarks.md): one sharded model (Criteo-shaped, scale 0.1,
# dim 16) saved once, then loaded as shards and transformed on the same 50 000 test rows by the
# previous build (one join per field) and the new one (one lookup for all fields), alternately.
#   BEFORE=<dir with the old jars + examples-classes> AFTER=<dir ...> join-transform.sh
set -euo pipefail
cd "$(dirname "$0")/../../.."
source examples/spark-jvm-flags.sh
model="$(mktemp -d)/model"
deps="$(tr ':' '\n' < examples/target/classpath.txt | grep '\.m2' | paste -sd:)"
cp_of() { echo "$1/examples-classes:$1/spark-fast-embedding_2.13-0.1.0-SNAPSHOT.jar:$1/gpu-kernels-0.1.0-SNAPSHOT.jar:$deps"; }
run() { java -Xmx2500m "${flags[@]}" -Dlog4j2.configurationFile=examples/log4j2.properties \
  -cp "$(cp_of "$1")" io.fastembedding.examples.JoinTransformBenchmark "${@:2}"; }
uptime
run "$AFTER" --mode fit --path "$model" --scale 0.1 --rows 300000
for i in 1 2; do
  for who in BEFORE AFTER; do
    echo "== $who (round $i) $(uptime)"
    run "${!who}" --mode transform --path "$model" --scale 0.1 --test-rows 50000 --repeats 1 \
      2>&1 | grep -E "join transform|Exception|Error" || true
  done
done
uptime
