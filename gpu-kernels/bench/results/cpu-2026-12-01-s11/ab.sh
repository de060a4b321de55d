#!/usr/bin/env bash
# A/B of the CPU training step, fwfm (HEADS=fwfm,fm: and fm) on FLIGHTS, 1 thread, adagrad, two forks each: old (13209cf, before the
# fused fwfm pair loops) and new, alternating
set -u
for round in 1 2; do
  for side in old new; do
    if [ $side = old ]; then root=/tmp/old; else root=/work/main; fi
    cp="$root/gpu-kernels/target/test-classes:$root/gpu-kernels/target/classes:$(cat $root/gpu-kernels/target/bench.classpath)"
    java -cp "$cp" org.openjdk.jmh.Main CpuTrainStepBenchmark -p config=FLIGHTS -p head=${HEADS:-fwfm} -p threads=1 -p optimizer=adagrad -f 2 2>&1 \
      | grep "^CpuTrainStepBenchmark" | sed "s/^/$side r$round /"
  done
done
