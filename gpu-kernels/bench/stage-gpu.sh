#!/usr/bin/env bash
# Builds gpu-kernels here and stages what a GPU machine without Java or Maven needs to run the CUDA
# tests and benchmarks: a jlink'd JRE, our classes, JCuda, the JUnit console launcher, the PyTorch
# baseline and the scripts. Usage: stage-gpu.sh DEST (e.g. <checkout>/.devcarry/cuda, a git-ignored
# folder of the checkout that the device tool sends); then, on the GPU machine, from the checkout root:
#   bash .devcarry/cuda/run-gpu.sh [--quick] [--no-tests] [--no-bench]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
dest="${1:?usage: stage-gpu.sh DEST}"
m2="${M2_REPO:-$HOME/.m2/repository}"
baseline="${TORCH_BASELINE:-$root/../shared/bench/torch_baseline.py}"
(cd "$root" && mvn -o -q -pl gpu-kernels test-compile)
mkdir -p "$dest/lib"
if [ ! -x "$dest/jre/bin/java" ]; then
  jlink --add-modules java.base,java.logging,java.xml,jdk.unsupported,java.management --strip-debug \
    --no-header-files --no-man-pages --compress=2 --output "$dest/jre"
fi
rm -rf "$dest/classes" "$dest/test-classes"
cp -r "$root/gpu-kernels/target/classes" "$dest/classes"
cp -r "$root/gpu-kernels/target/test-classes" "$dest/test-classes"
cp "$m2/org/jcuda/jcuda/12.6.0/jcuda-12.6.0.jar" "$m2/org/jcuda/jcuda-natives/12.6.0/jcuda-natives-12.6.0-linux-x86_64.jar" "$dest/lib/"
# the device tool sends at most 64 MiB with the checkout: drop the natives our kernels never load (the PTX
# compiler library alone is 8 MB of the jar; the driver API JIT-compiles our PTX)
zip -q -d "$dest/lib/jcuda-natives-12.6.0-linux-x86_64.jar" 'lib/libJNvPTXCompiler-*' 'lib/libJNvrtc-*'
cp "$m2/org/junit/platform/junit-platform-console-standalone/1.14.1/junit-platform-console-standalone-1.14.1.jar" "$dest/junit-console.jar"
cp "$baseline" "$dest/torch_baseline.py"
# the runner scripts, the helper they source (lib.sh) and the summary scripts they call
cp "$here/lib.sh" "$here/ratios.py" "$here/det_ratios.py" "$here/det_goals.py" "$here"/run-*.sh "$here/final-check.sh" "$dest/"
# the same classes with PTX carrying line info, for compute-sanitizer reports that name source lines
rm -rf "$dest/classes-lineinfo"
cp -r "$dest/classes" "$dest/classes-lineinfo"
if command -v nvcc >/dev/null 2>&1; then
  for arch in 75 90; do
    nvcc -ptx -lineinfo -arch=compute_$arch -O3 -std=c++17 \
      -o "$dest/classes-lineinfo/io/fastembedding/backend/cuda/fastembedding_compute_$arch.ptx" \
      "$root/gpu-kernels/src/main/cuda/fastembedding.cu"
  done
fi
du -sh "$dest"
