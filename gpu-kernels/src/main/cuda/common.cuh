// Shared definitions of the spark-fast-embedding kernels: the field metadata layout, losses, vector
// loads and atomics. The math every kernel implements is docs/model.md; the design is docs/gpu-kernels.md.
#pragma once

#include <stdint.h>

#include "kernel_constants.cuh"

// Field metadata: one int array of META_ENTRIES * n entries written by the host (DeviceState.buildMeta);
// entry e of field f at e * n + f (META_* in kernel_constants.cuh, generated from KernelConstants.java).
// Losses (LOSS_*), optimizers (OPT_*), forward modes (MODE_*) likewise.

__device__ __forceinline__ int meta_get(const int* __restrict__ meta, int n, int what, int field) {
  return __ldg(meta + what * n + field);
}

__device__ __forceinline__ float sigmoidf_stable(float y) {
  if (y >= 0.f) {
    return 1.f / (1.f + expf(-y));
  }
  float e = expf(y);
  return e / (1.f + e);
}

// l(y, t): log(1 + e^y) - t y computed stably, or (y - t)^2 / 2.
__device__ __forceinline__ float loss_value(int lossType, float y, float t) {
  if (lossType == LOSS_LOGISTIC) {
    return fmaxf(y, 0.f) - t * y + log1pf(expf(-fabsf(y)));
  }
  float d = y - t;
  return 0.5f * d * d;
}

// dl/dy.
__device__ __forceinline__ float loss_grad(int lossType, float y, float t) {
  return lossType == LOSS_LOGISTIC ? sigmoidf_stable(y) - t : y - t;
}

__device__ __forceinline__ float prediction(int lossType, float y) {
  return lossType == LOSS_LOGISTIC ? sigmoidf_stable(y) : y;
}

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    v += __shfl_xor_sync(0xffffffffu, v, o);
  }
  return v;
}

// Loads v (1, 2 or 4) consecutive floats; p must be aligned to v floats.
__device__ __forceinline__ void load_vec(const float* __restrict__ p, int v, float out[4]) {
  if (v == 4) {
    float4 q = __ldg(reinterpret_cast<const float4*>(p));
    out[0] = q.x; out[1] = q.y; out[2] = q.z; out[3] = q.w;
  } else if (v == 2) {
    float2 q = __ldg(reinterpret_cast<const float2*>(p));
    out[0] = q.x; out[1] = q.y;
  } else {
    out[0] = __ldg(p);
  }
}

// Plain (coherent) vector load, for memory that kernels of the same launch may write.
__device__ __forceinline__ void load_vec_coherent(const float* p, int v, float out[4]) {
  if (v == 4) {
    float4 q = *reinterpret_cast<const float4*>(p);
    out[0] = q.x; out[1] = q.y; out[2] = q.z; out[3] = q.w;
  } else if (v == 2) {
    float2 q = *reinterpret_cast<const float2*>(p);
    out[0] = q.x; out[1] = q.y;
  } else {
    out[0] = *p;
  }
}

// Adds v floats to p atomically without reading the result back. On Hopper (sm_90) one vector
// reduction carries 2 or 4 floats, which divides the atomic operations the L2 must serve by that
// much; older devices issue one scalar reduction per float.
__device__ __forceinline__ void red_add_f32(float* p, float a) {
  asm volatile("red.global.add.f32 [%0], %1;" ::"l"(p), "f"(a) : "memory");
}

__device__ __forceinline__ void red_add_vec(float* p, int v, const float a[4]) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  if (v == 4) {
    asm volatile("red.global.add.v4.f32 [%0], {%1, %2, %3, %4};" ::"l"(p), "f"(a[0]), "f"(a[1]), "f"(a[2]),
                 "f"(a[3])
                 : "memory");
  } else if (v == 2) {
    asm volatile("red.global.add.v2.f32 [%0], {%1, %2};" ::"l"(p), "f"(a[0]), "f"(a[1]) : "memory");
  } else {
    red_add_f32(p, a[0]);
  }
#else
#pragma unroll
  for (int j = 0; j < 4; j++) {
    if (j < v) {
      red_add_f32(p + j, a[j]);
    }
  }
#endif
}

// Number of bits needed to write x (x >= 0): 0 for 0, 1 for 1, 11 for 1024.
__device__ __forceinline__ int bits_for(unsigned x) {
  return 32 - __clz(x);
}

// The field of a row id in the scalar-per-row space: the last field whose rowBase <= row.
__device__ __forceinline__ int field_of_row(const int* __restrict__ meta, int n, int row) {
  int lo = 0, hi = n - 1;
  while (lo < hi) {
    int mid = (lo + hi + 1) >> 1;
    if (meta_get(meta, n, META_ROWBASE, mid) <= row) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return lo;
}
