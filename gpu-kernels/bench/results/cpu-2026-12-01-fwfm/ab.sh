#!/usr/bin/env bash
# A/B of the CPU training step, fwfm and fm on FLIGHTS, 1 thread, adagrad: old (4e251f7-era HEAD) and new, alternating
set -u
for round in 1 2; do
  for side in old new; do
    if [ $side = old ]; then root=/tmp/old; else root=/work/main; fi
    cp="$root/gpu-kernels/target/test-classes:$root/gpu-kernels/target/classes:$(cat $root/gpu-kernels/target/bench.classpath)"
    java -cp "$cp" org.openjdk.jmh.Main CpuTrainStepBenchmark -p config=FLIGHTS -p head=fwfm,fm -p threads=1 -p optimizer=adagrad 2>&1 \
      | grep "^CpuTrainStepBenchmark" | sed "s/^/$side r$round /"
  done
done
