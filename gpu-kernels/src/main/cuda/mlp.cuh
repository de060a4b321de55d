// The mlp head: simple tiled matrix products for the hidden layers (forward, input gradient and weight
// gradient) and a kernel for the output unit and the loss. Every reduction runs in a fixed order, so
// the head is deterministic in both modes.
#pragma once

#include "common.cuh"

// Tile sizes GEMM_BM, GEMM_BN, GEMM_BK and the epilogues of gemm_tiled (kernel_constants.cuh):
//   EPI_BIAS_RELU    C = relu(v + bias[n])                 (forward hidden layer)
//   EPI_RELU_MASK    C = v * (aux[m][n] > 0)                (input gradient of a hidden layer)
//   EPI_EMB_GRAD     C = v + lambdaOverB * aux[m][n]        (gradient of each embedding element)
//   EPI_WEIGHT_PART  partials[z][woff + m * (N - 1) + n] = v, column N - 1 -> [coff + m]

// C = op(A) op(B) for an M x N result, with K the shared dimension, over 64 x 64 tiles of 256 threads
// (4 x 4 results each). A(m, kk) = ta ? A[kk * lda + m] : A[m * lda + kk], and likewise for B(kk, n);
// onesCol makes column N - 1 of B all ones (the bias gradient rides along the weight gradient). For
// EPI_WEIGHT_PART, blockIdx.z takes rows [z * kChunk, (z + 1) * kChunk) of the batch, so the result is
// one partial per fixed chunk of rows, summed later in chunk order.
extern "C" __global__ void __launch_bounds__(KERNEL_THREADS) gemm_tiled(
    int M, int N, int K, const float* __restrict__ A, int lda, int ta, const float* __restrict__ Bm, int ldb,
    int tb, int onesCol, int epi, const float* __restrict__ bias, float* __restrict__ C, int ldc,
    const float* __restrict__ aux, int auxLd, float lambdaOverB, int kChunk, long long partialStride, int woff,
    int coff) {
  __shared__ float As[GEMM_BK][GEMM_BM + 4];
  __shared__ float Bs[GEMM_BK][GEMM_BN + 4];
  const int tx = threadIdx.x & 15;
  const int ty = threadIdx.x >> 4;
  const int m0 = blockIdx.y * GEMM_BM;
  const int n0 = blockIdx.x * GEMM_BN;
  int kBegin = 0, kEnd = K;
  if (epi == EPI_WEIGHT_PART) {
    kBegin = blockIdx.z * kChunk;
    kEnd = min(K, kBegin + kChunk);
  }
  float acc[4][4];
#pragma unroll
  for (int i = 0; i < 4; i++) {
#pragma unroll
    for (int j = 0; j < 4; j++) {
      acc[i][j] = 0.f;
    }
  }
  for (int k0 = kBegin; k0 < kEnd; k0 += GEMM_BK) {
#pragma unroll
    for (int l = 0; l < 4; l++) {
      int e = threadIdx.x + 256 * l;
      int m, kk;
      if (ta) {
        m = e & 63;
        kk = e >> 6;
      } else {
        kk = e & 15;
        m = e >> 4;
      }
      int gm = m0 + m, gk = k0 + kk;
      float a = 0.f;
      if (gm < M && gk < kEnd) {
        a = ta ? A[(size_t)gk * lda + gm] : A[(size_t)gm * lda + gk];
      }
      As[kk][m] = a;
      int nn;
      if (tb) {
        kk = e & 15;
        nn = e >> 4;
      } else {
        nn = e & 63;
        kk = e >> 6;
      }
      int gn = n0 + nn;
      gk = k0 + kk;
      float b = 0.f;
      if (gn < N && gk < kEnd) {
        if (onesCol && gn == N - 1) {
          b = 1.f;
        } else {
          b = tb ? Bm[(size_t)gn * ldb + gk] : Bm[(size_t)gk * ldb + gn];
        }
      }
      Bs[kk][nn] = b;
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < GEMM_BK; kk++) {
      float av[4], bv[4];
#pragma unroll
      for (int i = 0; i < 4; i++) {
        av[i] = As[kk][ty + 16 * i];
        bv[i] = Bs[kk][tx + 16 * i];
      }
#pragma unroll
      for (int i = 0; i < 4; i++) {
#pragma unroll
        for (int j = 0; j < 4; j++) {
          acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
        }
      }
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < 4; i++) {
    int m = m0 + ty + 16 * i;
    if (m >= M) {
      continue;
    }
#pragma unroll
    for (int j = 0; j < 4; j++) {
      int nn = n0 + tx + 16 * j;
      if (nn >= N) {
        continue;
      }
      float v = acc[i][j];
      switch (epi) {
        case EPI_BIAS_RELU:
          C[(size_t)m * ldc + nn] = fmaxf(v + bias[nn], 0.f);
          break;
        case EPI_RELU_MASK:
          C[(size_t)m * ldc + nn] = aux[(size_t)m * auxLd + nn] > 0.f ? v : 0.f;
          break;
        case EPI_EMB_GRAD:
          C[(size_t)m * ldc + nn] = fmaf(lambdaOverB, aux[(size_t)m * auxLd + nn], v);
          break;
        default: {
          float* out = C + (size_t)blockIdx.z * partialStride;
          if (onesCol && nn == N - 1) {
            out[coff + m] = v;
          } else {
            out[woff + (size_t)m * (onesCol ? N - 1 : N) + nn] = v;
          }
        }
      }
    }
  }
}

// Output unit of the mlp head for a chunk of rows per block: y = w_out . g_L + b_out, the loss, gy, the
// gradient of g_L's pre-activation dZ = gy w_out relu'(.), and the partial gradients of w_out and b_out
// (head parameters woff .. woff + HL). gL has row stride HL.
extern "C" __global__ void mlp_output(const float* __restrict__ gL, int HL, const float* __restrict__ head,
                                      int woff, const float* __restrict__ labels,
                                      const float* __restrict__ weights, int B, int chunkRows, int mode,
                                      int lossType, float invB, float* __restrict__ gy, float* __restrict__ dZ,
                                      float* __restrict__ headPartials, int HS, double* __restrict__ lossPartials,
                                      float* __restrict__ predOut) {
  const int rBegin = blockIdx.x * chunkRows;
  const int rEnd = min(B, rBegin + chunkRows);
  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  const int nw = blockDim.x >> 5;
  const bool train = mode == MODE_TRAIN;
  const float* wout = head + woff;
  const float bout = __ldg(head + woff + HL);
  double lossSum = 0, wSum = 0;
  for (int r = rBegin + warp; r < rEnd; r += nw) {
    const float* g = gL + (size_t)r * HL;
    float acc = 0.f;
    for (int h = lane; h < HL; h += 32) {
      acc = fmaf(__ldg(wout + h), g[h], acc);
    }
    float y = warp_sum(acc) + bout;
    if (lane == 0) {
      if (!train) {
        predOut[r] = prediction(lossType, y);
      } else {
        float t = labels[r];
        float w = weights != nullptr ? weights[r] : 1.f;
        gy[r] = w * loss_grad(lossType, y, t) * invB;
        lossSum += (double)w * (double)loss_value(lossType, y, t);
        wSum += (double)w;
      }
    }
  }
  if (!train) {
    return;
  }
  __syncthreads();
  float* part = headPartials + (size_t)blockIdx.x * HS + woff;
  for (int h = threadIdx.x; h < HL; h += blockDim.x) {
    float wh = __ldg(wout + h);
    float s = 0.f;
    for (int r = rBegin; r < rEnd; r++) {
      float gr = gy[r];
      float a = gL[(size_t)r * HL + h];
      s = fmaf(gr, a, s);
      dZ[(size_t)r * HL + h] = a > 0.f ? gr * wh : 0.f;
    }
    part[h] = s;
  }
  if (threadIdx.x == 0) {
    float s = 0.f;
    for (int r = rBegin; r < rEnd; r++) {
      s += gy[r];
    }
    part[HL] = s;
  }
  write_loss_partial(lossSum, wSum, lossPartials);
}
