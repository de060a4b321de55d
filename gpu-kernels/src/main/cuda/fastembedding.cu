// The one translation unit of the spark-fast-embedding kernels: nvcc compiles it to the PTX that
// gpu-kernels ships as a resource (see build-ptx.sh and docs/gpu-kernels.md).
#include "common.cuh"
#include "forward.cuh"
#include "mlp.cuh"
#include "backward.cuh"
#include "shuffle.cuh"
