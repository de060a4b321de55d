#!/usr/bin/env bash
# Regenerates the committed PTX of the kernels from the CUDA sources in this folder.
#
# The Maven build runs this in generate-resources. With nvcc on the PATH it compiles
# fastembedding.cu for two virtual architectures and rewrites the PTX under src/main/resources when
# it changed; without nvcc it does nothing, and the committed PTX is packaged as it is (users and CI
# need no CUDA toolkit). Each PTX starts with the SHA-256 of the sources it was built from, which
# PtxUpToDateTest checks against the sources. kernel_constants.cuh is generated here from
# KernelConstants.java (with or without nvcc).
#
#   compute_75: every device from Turing on; atomics of one float.
#   compute_90: Hopper and newer; vector atomics (red.global.add.v4.f32), chosen at run time.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/../resources/io/fastembedding/backend/cuda"
# The constants shared with the host are written once, in KernelConstants.java (the optimizer codes in
# the optim package, which it reads); generate their header first, compiling KernelConstants and what it
# reads from the sources (needs only the JDK that runs Maven). KernelConstantsTest checks the committed
# header, PtxUpToDateTest the PTX built from it.
if command -v javac >/dev/null 2>&1 && command -v java >/dev/null 2>&1; then
  gen="$(mktemp -d)"
  trap 'rm -rf "$gen"' EXIT
  javac -nowarn -d "$gen" -sourcepath "$here/../java" "$here/../java/io/fastembedding/backend/cuda/KernelConstants.java"
  java -cp "$gen" io.fastembedding.backend.cuda.KernelConstants "$here/kernel_constants.cuh"
else
  echo "[build-ptx] javac is not on the PATH: kernel_constants.cuh left as committed"
fi
if ! command -v nvcc >/dev/null 2>&1; then
  echo "[build-ptx] nvcc is not on the PATH: packaging the committed PTX"
  exit 0
fi
mkdir -p "$out"
hash="$(cd "$here" && for f in $(ls -- *.cu *.cuh | LC_ALL=C sort); do printf '%s\n' "$f"; cat -- "$f"; done \
  | sha256sum | cut -d' ' -f1)"
tools="$(nvcc --version | grep -o 'Cuda compilation tools.*' || true)"
for arch in 75 90; do
  target="$out/fastembedding_compute_$arch.ptx"
  # up to date when built from these sources by this nvcc: skip the few seconds of compiling
  if [ -f "$target" ] && head -1 "$target" | grep -q "$hash" && head -8 "$target" | grep -qF "$tools"; then
    continue
  fi
  tmp="$(mktemp)"
  nvcc -ptx -arch=compute_$arch -O3 -std=c++17 -o "$tmp" "$here/fastembedding.cu"
  { echo "// fastembedding-sources-sha256: $hash"; cat "$tmp"; } > "$tmp.ptx"
  rm -f "$tmp"
  if [ -f "$target" ] && cmp -s "$tmp.ptx" "$target"; then
    rm -f "$tmp.ptx"
  else
    mv "$tmp.ptx" "$target"
    echo "[build-ptx] wrote $target"
  fi
done
