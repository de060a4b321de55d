#!/usr/bin/env bash
# JMH benchmark of the CPU training step (docs/benchmarks.md). Extra arguments go to JMH, e.g.
#   gpu-kernels/bench/cpu-bench.sh -p config=MT_10XS -p threads=1,2
# The default runs the documented grid and writes JMH's CSV to gpu-kernels/target/cpu-bench.csv.
set -euo pipefail
cd "$(dirname "$0")/../.."
mvn -q -B -pl gpu-kernels test-compile
mvn -q -B -pl gpu-kernels dependency:build-classpath -Dmdep.includeScope=test \
  -Dmdep.outputFile=target/bench.classpath
cp="gpu-kernels/target/test-classes:gpu-kernels/target/classes:$(cat gpu-kernels/target/bench.classpath)"
if [ $# -eq 0 ]; then
  java -cp "$cp" org.openjdk.jmh.Main CpuTrainStepBenchmark -p head=linear \
    -rf csv -rff gpu-kernels/target/cpu-bench-linear.csv
  java -cp "$cp" org.openjdk.jmh.Main CpuTrainStepBenchmark -p head=fm -p config=FM_10 \
    -rf csv -rff gpu-kernels/target/cpu-bench-fm.csv
else
  java -cp "$cp" org.openjdk.jmh.Main CpuTrainStepBenchmark "$@"
fi
