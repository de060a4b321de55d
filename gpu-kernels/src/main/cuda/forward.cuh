// Forward pass: the gather of every field's embedding rows in one launch, and the fused forward of the
// linear and fm heads (gather + head + loss + the gradients the backward needs).
#pragma once

#include "common.cuh"

// A slot is one vector load of one field's row: x = field, y = position in the concatenated vector,
// z = float offset inside the row, w = vector width (4, 2 or 1). The host builds the slots so that a
// field of dim d is covered by d / w consecutive slots; a lane group then loads a row with vector loads
// sized to that field's dim, and every field of a row is fetched by one launch.

// Loads the slots of rows [r0, r0 + rows) into tile (row stride ld) and the numeric features after
// the embeddings (at column sumDims). Rows past the batch are never touched.
__device__ __forceinline__ void gather_tile(const float* __restrict__ tables, const int* __restrict__ meta,
                                            const int4* __restrict__ slots, int numSlots, int n, int sumDims,
                                            int k, const int* __restrict__ idx,
                                            const float* __restrict__ numeric, int r0, int rows, float* tile,
                                            int ld) {
  const int items = rows * numSlots;
  // four independent index -> row fetches per thread before any store, so that each thread keeps four
  // dependent load chains in flight instead of one
  for (int base = threadIdx.x; base < items; base += 4 * blockDim.x) {
    float v[4][4];
    int dst[4];
    int w[4];
#pragma unroll
    for (int u = 0; u < 4; u++) {
      int it = base + u * blockDim.x;
      w[u] = 0;
      dst[u] = 0;
      if (it < items) {
        int rr = it / numSlots;
        int s = it - rr * numSlots;
        int4 sd = __ldg(slots + s);
        int x = __ldg(idx + (size_t)(r0 + rr) * n + sd.x);
        const float* src = tables + (size_t)meta_get(meta, n, META_TABLEOFF, sd.x)
                           + (size_t)x * meta_get(meta, n, META_DIM, sd.x) + sd.z;
        load_vec(src, sd.w, v[u]);
        dst[u] = rr * ld + sd.y;
        w[u] = sd.w;
      }
    }
#pragma unroll
    for (int u = 0; u < 4; u++) {
#pragma unroll
      for (int j = 0; j < 4; j++) {
        if (j < w[u]) {
          tile[dst[u] + j] = v[u][j];
        }
      }
    }
  }
  int nitems = rows * k;
  for (int it = threadIdx.x; it < nitems; it += blockDim.x) {
    int rr = it / k;
    int j = it - rr * k;
    tile[(size_t)rr * ld + sumDims + j] = __ldg(numeric + (size_t)(r0 + rr) * k + j);
  }
}

// h_r = concat(e_r0, ..., e_r(n-1), z_r) for rows [0, B) into out (row stride sumDims + k): the input of
// the mlp head, and (with k = 0) the embed() output. One thread per slot of a row.
extern "C" __global__ void gather_concat(const float* __restrict__ tables, const int* __restrict__ meta,
                                         const int4* __restrict__ slots, int numSlots, int n, int sumDims,
                                         int k, const int* __restrict__ idx, const float* __restrict__ numeric,
                                         int B, float* __restrict__ out, int* touchedCount) {
  if (touchedCount != nullptr && blockIdx.x == 0 && threadIdx.x == 0) {
    touchedCount[0] = 0;  // touched rows
    touchedCount[1] = 0;  // deterministic mode: hot rows, listed by the scatter for det_apply_rows
  }
  int D = sumDims + k;
  size_t items = (size_t)B * numSlots;
  size_t stride = (size_t)gridDim.x * blockDim.x;
  for (size_t base = (size_t)blockIdx.x * blockDim.x + threadIdx.x; base < items; base += 4 * stride) {
    float v[4][4];
    size_t dst[4];
    int w[4];
#pragma unroll
    for (int u = 0; u < 4; u++) {
      size_t it = base + u * stride;
      w[u] = 0;
      dst[u] = 0;
      if (it < items) {
        int r = (int)(it / numSlots);
        int s = (int)(it - (size_t)r * numSlots);
        int4 sd = __ldg(slots + s);
        int x = __ldg(idx + (size_t)r * n + sd.x);
        const float* src = tables + (size_t)meta_get(meta, n, META_TABLEOFF, sd.x)
                           + (size_t)x * meta_get(meta, n, META_DIM, sd.x) + sd.z;
        load_vec(src, sd.w, v[u]);
        dst[u] = (size_t)r * D + sd.y;
        w[u] = sd.w;
      }
    }
#pragma unroll
    for (int u = 0; u < 4; u++) {
#pragma unroll
      for (int j = 0; j < 4; j++) {
        if (j < w[u]) {
          out[dst[u] + j] = v[u][j];
        }
      }
    }
  }
  size_t nitems = (size_t)B * k;
  for (size_t it = (size_t)blockIdx.x * blockDim.x + threadIdx.x; it < nitems; it += stride) {
    int r = (int)(it / k);
    int j = (int)(it - (size_t)r * k);
    out[(size_t)r * D + sumDims + j] = __ldg(numeric + it);
  }
}

// Per-block sums of the loss, combined over warps in warp order so that the result does not depend on
// timing. lossSum/wSum are valid in lane 0 of each warp.
__device__ __forceinline__ void write_loss_partial(double lossSum, double wSum, double* lossPartials) {
  __shared__ double sLoss[32];
  __shared__ double sW[32];
  int warp = threadIdx.x >> 5;
  if ((threadIdx.x & 31) == 0) {
    sLoss[warp] = lossSum;
    sW[warp] = wSum;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    double a = 0, b = 0;
    for (int w = 0; w < (int)(blockDim.x >> 5); w++) {
      a += sLoss[w];
      b += sW[w];
    }
    lossPartials[2 * blockIdx.x] = a;
    lossPartials[2 * blockIdx.x + 1] = b;
  }
}

// Head-gradient accumulation shared by the fused heads. Each of the HS head parameters gets the sum over
// the block's rows of gy_r * item(q, r), in a fixed order. With HS <= blockDim, thread t works on
// parameter q = t % HS for row group rg = t / HS; parameter q is covered by nrg = its number of row
// groups (ceil(blockDim / HS) or one less), group rg takes rows rr = rg (mod nrg), and the groups are
// combined in group order at the end. With larger heads each thread owns parameters q = tid,
// tid + blockDim, ... in shared memory.
struct HeadGradAcc {
  int HS;
  int nrg;  // row groups of this thread's parameter, 0 when HS > blockDim
  int q;
  int rg;
  float acc;
};

__device__ __forceinline__ void hga_init(HeadGradAcc& h, int HS, float* hg) {
  h.HS = HS;
  h.acc = 0.f;
  if (HS <= (int)blockDim.x) {
    int groups = ((int)blockDim.x + HS - 1) / HS;
    h.q = threadIdx.x % HS;
    h.rg = threadIdx.x / HS;
    h.nrg = h.q < (int)blockDim.x - (groups - 1) * HS ? groups : groups - 1;
  } else {
    h.nrg = 0;
    for (int q = threadIdx.x; q < HS; q += blockDim.x) {
      hg[q] = 0.f;
    }
  }
}

// Writes the block's partial head gradient to partials[blockIdx.x * HS + q].
__device__ __forceinline__ void hga_finish(HeadGradAcc& h, float* hg, float* partials) {
  float* out = partials + (size_t)blockIdx.x * h.HS;
  if (h.HS <= (int)blockDim.x) {
    hg[threadIdx.x] = h.acc;
    __syncthreads();
    int groups = ((int)blockDim.x + h.HS - 1) / h.HS;
    for (int q = threadIdx.x; q < h.HS; q += blockDim.x) {
      int nq = q < (int)blockDim.x - (groups - 1) * h.HS ? groups : groups - 1;
      float s = 0.f;
      for (int g = 0; g < nq; g++) {
        s += hg[g * h.HS + q];
      }
      out[q] = s;
    }
  } else {
    __syncthreads();
    for (int q = threadIdx.x; q < h.HS; q += blockDim.x) {
      out[q] = hg[q];
    }
  }
}

// Fused forward of the linear head y = a . h + b for a chunk of rows per block, tile by tile through
// shared memory: gather, y, loss, gy_r = w_r l'(y_r) / B, the head gradient partials, and (when the
// backward needs it) G_r = gy_r a + (l2 / B) e_r, the gradient of each embedding occurrence.
// mode 1 = predict only (writes predOut). Dynamic shared memory: tileRows * D + tileRows +
// max(blockDim, HS) floats.
extern "C" __global__ void linear_forward(
    const float* __restrict__ tables, const int* __restrict__ meta, const int4* __restrict__ slots, int numSlots,
    int n, int sumDims, int k, const int* __restrict__ idx, const float* __restrict__ numeric,
    const float* __restrict__ labels, const float* __restrict__ weights, const float* __restrict__ head, int B,
    int chunkRows, int tileRows, int mode, int lossType, float invB, float lambdaOverB, int writeG,
    float* __restrict__ gyOut, float* __restrict__ Gout, float* __restrict__ headPartials,
    double* __restrict__ lossPartials, float* __restrict__ predOut, int* touchedCount) {
  extern __shared__ float smem[];
  const int D = sumDims + k;
  const int HS = D + 1;
  float* tile = smem;
  float* gyS = tile + (size_t)tileRows * D;
  float* hg = gyS + tileRows;
  if (touchedCount != nullptr && blockIdx.x == 0 && threadIdx.x == 0) {
    touchedCount[0] = 0;  // touched rows
    touchedCount[1] = 0;  // deterministic mode: hot rows, listed by the scatter for det_apply_rows
  }
  const bool train = mode == MODE_TRAIN;
  const int rBegin = blockIdx.x * chunkRows;
  const int rEnd = min(B, rBegin + chunkRows);
  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  const int nw = blockDim.x >> 5;
  const float bias = __ldg(head + D);
  HeadGradAcc h;
  if (train) {
    hga_init(h, HS, hg);
  }
  double lossSum = 0, wSum = 0;
  for (int t0 = rBegin; t0 < rEnd; t0 += tileRows) {
    int rows = min(tileRows, rEnd - t0);
    gather_tile(tables, meta, slots, numSlots, n, sumDims, k, idx, numeric, t0, rows, tile, D);
    __syncthreads();
    for (int rr = warp; rr < rows; rr += nw) {
      float acc = 0.f;
      const float* hr = tile + (size_t)rr * D;
      for (int j = lane; j < D; j += 32) {
        acc = fmaf(__ldg(head + j), hr[j], acc);
      }
      float y = warp_sum(acc) + bias;
      if (lane == 0) {
        int r = t0 + rr;
        if (!train) {
          predOut[r] = prediction(lossType, y);
        } else {
          float t = labels[r];
          float w = weights != nullptr ? weights[r] : 1.f;
          float g = w * loss_grad(lossType, y, t) * invB;
          gyS[rr] = g;
          gyOut[r] = g;
          lossSum += (double)w * (double)loss_value(lossType, y, t);
          wSum += (double)w;
        }
      }
    }
    __syncthreads();
    if (train) {
      if (writeG) {
        int items = rows * sumDims;
        for (int it = threadIdx.x; it < items; it += blockDim.x) {
          int rr = it / sumDims;
          int j = it - rr * sumDims;
          Gout[(size_t)(t0 + rr) * sumDims + j] =
              fmaf(gyS[rr], __ldg(head + j), lambdaOverB * tile[(size_t)rr * D + j]);
        }
      }
      if (h.nrg > 0) {
        if (h.rg < h.nrg) {
          for (int rr = h.rg; rr < rows; rr += h.nrg) {
            float item = h.q < D ? tile[(size_t)rr * D + h.q] : 1.f;
            h.acc = fmaf(gyS[rr], item, h.acc);
          }
        }
      } else {
        for (int q = threadIdx.x; q < HS; q += blockDim.x) {
          float s = hg[q];
          for (int rr = 0; rr < rows; rr++) {
            float item = q < D ? tile[(size_t)rr * D + q] : 1.f;
            s = fmaf(gyS[rr], item, s);
          }
          hg[q] = s;
        }
      }
    }
    __syncthreads();
  }
  if (train) {
    hga_finish(h, hg, headPartials);
    write_loss_partial(lossSum, wSum, lossPartials);
  }
}

// The linear head's fused forward when a row's slots and numeric features fit a warp's lanes, at most
// SPL items per lane: a warp splits into 32 / P groups of P lanes (P a power of two, at least the row's
// items when SPL = 1; 32 when SPL = 2), each group takes a row, and lane s of a group holds items s and
// s + 32 (SPL = 2) with their head weights and head-gradient sums in registers for the whole chunk.
// linear_forward stages every row through a shared tile with three block barriers per tile; for the narrow
// rows of many small tables (the MT_*XS shapes, 12 to 26 slots) that made the forward latency-bound at
// several times its bandwidth floor. Groups keep the lanes busy on rows of a few slots (a single table of
// dim 8 has 2). Same outputs, same formulas (only the summation orders of y and of the head partials
// differ, both fixed). U rows per group at a time keep U * SPL independent index -> row chains in flight.
template <int SPL>
__device__ __forceinline__ void linear_forward_lanes_body(
    const float* __restrict__ tables, const int* __restrict__ meta, const int4* __restrict__ slots, int numSlots,
    int n, int sumDims, int k, const int* __restrict__ idx, const float* __restrict__ numeric,
    const float* __restrict__ labels, const float* __restrict__ weights, const float* __restrict__ head, int B,
    int chunkRows, int P, int mode, int lossType, float invB, float lambdaOverB, int writeG,
    float* __restrict__ gyOut, float* __restrict__ Gout, float* __restrict__ headPartials,
    double* __restrict__ lossPartials, float* __restrict__ predOut, float* smem) {
  constexpr int U = 4 / SPL;
  const int D = sumDims + k;
  const int HS = D + 1;
  const bool train = mode == MODE_TRAIN;
  const int rBegin = blockIdx.x * chunkRows;
  const int rEnd = min(B, rBegin + chunkRows);
  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  const int nw = blockDim.x >> 5;
  const int G = 32 / P;      // groups (rows at a time) per warp
  const int grp = lane / P;  // this lane's group
  const int sl = lane % P;   // its place in the group
  const float bias = __ldg(head + D);
  // this lane's items: a table slot (width 4, 2 or 1), a numeric feature (width -1) or nothing (0)
  const float* src[SPL];
  int field[SPL], col[SPL], width[SPL], dim[SPL];
  float hv[SPL][4], acc[SPL][4];
#pragma unroll
  for (int i = 0; i < SPL; i++) {
    int s = sl + 32 * i;
    width[i] = 0;
    field[i] = 0;
    col[i] = 0;
    dim[i] = 0;
    src[i] = tables;
    if (s < numSlots) {
      int4 sd = __ldg(slots + s);
      field[i] = sd.x;
      col[i] = sd.y;
      width[i] = sd.w;
      dim[i] = meta_get(meta, n, META_DIM, sd.x);
      src[i] = tables + (size_t)meta_get(meta, n, META_TABLEOFF, sd.x) + sd.z;
    } else if (s < numSlots + k) {
      field[i] = s - numSlots;
      col[i] = sumDims + field[i];
      width[i] = -1;
    }
    int w = abs(width[i]);
#pragma unroll
    for (int j = 0; j < 4; j++) {
      hv[i][j] = j < w ? __ldg(head + col[i] + j) : 0.f;
      acc[i][j] = 0.f;
    }
  }
  float accBias = 0.f;
  double lossSum = 0, wSum = 0;
  // rows r0 + u * G + grp, u < U, for this warp's turn
  for (int r0 = rBegin + warp * U * G; r0 < rEnd; r0 += nw * U * G) {
    int x[U][SPL];
#pragma unroll
    for (int u = 0; u < U; u++) {
      int r = r0 + u * G + grp;
#pragma unroll
      for (int i = 0; i < SPL; i++) {
        x[u][i] = r < rEnd && width[i] > 0 ? __ldg(idx + (size_t)r * n + field[i]) : 0;
      }
    }
    float v[U][SPL][4];
#pragma unroll
    for (int u = 0; u < U; u++) {
      int r = r0 + u * G + grp;
#pragma unroll
      for (int i = 0; i < SPL; i++) {
#pragma unroll
        for (int j = 0; j < 4; j++) {
          v[u][i][j] = 0.f;
        }
        if (r < rEnd) {
          if (width[i] > 0) {
            load_vec(src[i] + (size_t)x[u][i] * dim[i], width[i], v[u][i]);
          } else if (width[i] < 0) {
            v[u][i][0] = __ldg(numeric + (size_t)r * k + field[i]);
          }
        }
      }
    }
#pragma unroll
    for (int u = 0; u < U; u++) {
      if (r0 + u * G >= rEnd) {
        break;  // no group has a row: the same on every lane, so the warp leaves together
      }
      int r = r0 + u * G + grp;
      bool valid = r < rEnd;  // groups past the chunk's end sum zeros and write nothing
      float part = 0.f;
#pragma unroll
      for (int i = 0; i < SPL; i++) {
#pragma unroll
        for (int j = 0; j < 4; j++) {
          part = fmaf(hv[i][j], v[u][i][j], part);
        }
      }
      // the sum over the group's P lanes (xor offsets below P stay inside the group)
      for (int o = P >> 1; o > 0; o >>= 1) {
        part += __shfl_xor_sync(0xffffffffu, part, o);
      }
      float y = part + bias;
      if (!valid) {
        continue;
      }
      if (!train) {
        if (sl == 0) {
          predOut[r] = prediction(lossType, y);
        }
        continue;
      }
      float t = __ldg(labels + r);
      float wr = weights != nullptr ? __ldg(weights + r) : 1.f;
      float g = wr * loss_grad(lossType, y, t) * invB;
      if (sl == 0) {
        gyOut[r] = g;
        lossSum += (double)wr * (double)loss_value(lossType, y, t);
        wSum += (double)wr;
        accBias += g;
      }
#pragma unroll
      for (int i = 0; i < SPL; i++) {
#pragma unroll
        for (int j = 0; j < 4; j++) {
          acc[i][j] = fmaf(g, v[u][i][j], acc[i][j]);
        }
        if (writeG && width[i] > 0) {
          float* gr = Gout + (size_t)r * sumDims + col[i];
#pragma unroll
          for (int j = 0; j < 4; j++) {
            if (j < width[i]) {
              gr[j] = fmaf(g, hv[i][j], lambdaOverB * v[u][i][j]);
            }
          }
        }
      }
    }
  }
  // the groups' sums, combined across groups in a fixed order (xor offsets P, 2P, ...): every lane then
  // holds its place's sums over the warp's rows, and every lane the warp's loss sums
  for (int o = P; o < 32; o <<= 1) {
#pragma unroll
    for (int i = 0; i < SPL; i++) {
#pragma unroll
      for (int j = 0; j < 4; j++) {
        acc[i][j] += __shfl_xor_sync(0xffffffffu, acc[i][j], o);
      }
    }
    accBias += __shfl_xor_sync(0xffffffffu, accBias, o);
    lossSum += __shfl_xor_sync(0xffffffffu, lossSum, o);
    wSum += __shfl_xor_sync(0xffffffffu, wSum, o);
  }
  if (train) {
    // the block's head-gradient partial: each warp's sums, combined in warp order
    float* mine = smem + (size_t)warp * HS;
    if (grp == 0) {
#pragma unroll
      for (int i = 0; i < SPL; i++) {
        int w = abs(width[i]);
#pragma unroll
        for (int j = 0; j < 4; j++) {
          if (j < w) {
            mine[col[i] + j] = acc[i][j];
          }
        }
      }
    }
    if (lane == 0) {
      mine[D] = accBias;
    }
    __syncthreads();
    float* out = headPartials + (size_t)blockIdx.x * HS;
    for (int q = threadIdx.x; q < HS; q += blockDim.x) {
      float s = 0.f;
      for (int w = 0; w < nw; w++) {
        s += smem[(size_t)w * HS + q];
      }
      out[q] = s;
    }
    write_loss_partial(lossSum, wSum, lossPartials);
  }
}

// linear_forward for rows of at most 32 * slotsPerLane (1 or 2) slots and numeric features, in groups of
// P lanes per row (a power of two; 32 when slotsPerLane is 2). Dynamic shared memory: (blockDim / 32) *
// (D + 1) floats.
extern "C" __global__ void __launch_bounds__(KERNEL_THREADS, 3) linear_forward_lanes(
    const float* __restrict__ tables, const int* __restrict__ meta, const int4* __restrict__ slots, int numSlots,
    int n, int sumDims, int k, const int* __restrict__ idx, const float* __restrict__ numeric,
    const float* __restrict__ labels, const float* __restrict__ weights, const float* __restrict__ head, int B,
    int chunkRows, int slotsPerLane, int P, int mode, int lossType, float invB, float lambdaOverB, int writeG,
    float* __restrict__ gyOut, float* __restrict__ Gout, float* __restrict__ headPartials,
    double* __restrict__ lossPartials, float* __restrict__ predOut, int* touchedCount) {
  extern __shared__ float smem[];
  if (touchedCount != nullptr && blockIdx.x == 0 && threadIdx.x == 0) {
    touchedCount[0] = 0;  // touched rows
    touchedCount[1] = 0;  // deterministic mode: hot rows, listed by the scatter for det_apply_rows
  }
  if (slotsPerLane == 1) {
    linear_forward_lanes_body<1>(tables, meta, slots, numSlots, n, sumDims, k, idx, numeric, labels, weights, head,
                                 B, chunkRows, P, mode, lossType, invB, lambdaOverB, writeG, gyOut, Gout,
                                 headPartials, lossPartials, predOut, smem);
  } else {
    linear_forward_lanes_body<2>(tables, meta, slots, numSlots, n, sumDims, k, idx, numeric, labels, weights, head,
                                 B, chunkRows, 32, mode, lossType, invB, lambdaOverB, writeG, gyOut, Gout,
                                 headPartials, lossPartials, predOut, smem);
  }
}

// The fm and fwfm heads' latent vector a of a row, element f: field a's embedding (in the tile), or
// numeric feature a - n's latent vector scaled by its value.
__device__ __forceinline__ float fm_latent(const float* er, const float* zr, const float* v, int n, int d, int a,
                                           int f) {
  return a < n ? er[a * d + f] : zr[a - n] * __ldg(v + (a - n) * d + f);
}

// fwfm: the weight of latent pair (a, b), a != b, among K latent vectors (ModelSpec.fwfmPair: the
// row-major upper triangle).
__device__ __forceinline__ float fwfm_weight(const float* pw, int K, int a, int b) {
  int lo = min(a, b), hi = max(a, b);
  return __ldg(pw + lo * K - lo * (lo + 1) / 2 + (hi - lo - 1));
}

// fwfm: dy/d(latent a)[f] = sum over b != a of r_ab * latent b [f].
__device__ __forceinline__ float fwfm_latent_grad(const float* er, const float* zr, const float* v,
                                                  const float* pw, int n, int K, int d, int a, int f) {
  float g = 0.f;
  for (int b = 0; b < K; b++) {
    if (b != a) {
      g = fmaf(fwfm_weight(pw, K, a, b), fm_latent(er, zr, v, n, d, b, f), g);
    }
  }
  return g;
}

// dy/d(head parameter q) of one row for the fm and fwfm heads: q = 0 the bias, 1..k u_j, then v_j[f],
// then (fwfm) the pair weights in ModelSpec.fwfmPair's order. sSr is the row's S (fm only).
__device__ __forceinline__ float fm_head_item(int q, const float* er, const float* zr, const float* sSr,
                                              const float* v, const float* pw, int n, int k, int d) {
  if (q == 0) {
    return 1.f;
  }
  if (q <= k) {
    return zr[q - 1];
  }
  int lat = q - 1 - k;
  if (lat < k * d) {
    int jj = lat / d;
    int f = lat - jj * d;
    float z = zr[jj];
    return pw == nullptr ? z * (sSr[f] - z * __ldg(v + jj * d + f))
                         : z * fwfm_latent_grad(er, zr, v, pw, n, n + k, d, n + jj, f);
  }
  // fwfm pair p = (a, b): the dot product of the two latent vectors
  int p = lat - k * d;
  int K = n + k;
  int a = 0;
  while (p >= K - 1 - a) {
    p -= K - 1 - a;
    a++;
  }
  int b = a + 1 + p;
  float dot = 0.f;
  for (int f = 0; f < d; f++) {
    dot = fmaf(fm_latent(er, zr, v, n, d, a, f), fm_latent(er, zr, v, n, d, b, f), dot);
  }
  return dot;
}

// Fused forward of the fm head (docs/model.md): per row S_f, Q_f over the n field vectors and the k
// numeric latent vectors scaled by their values, y = b + sum first-order + sum u_j z_j
// + 1/2 sum_f (S_f^2 - Q_f). With pairOff > 0, the fwfm head: the pair weights r start at head + pairOff
// and the second-order part is sum over latent pairs a < b of r_ab <lat_a, lat_b> (each field
// occurrence's gradient then sum_{b != a} r_ab lat_b, computed per element, not from S). Writes gy, G
// (gradient of each field occurrence, l2 included) and G1 (the first-order weights' gradient), the head
// gradient partials and the loss partials. Dynamic shared memory: tileRows * (n d + k) + tileRows * d +
// tileRows * n + tileRows + max(blockDim, HS) floats.
extern "C" __global__ void fm_forward(
    const float* __restrict__ tables, const float* __restrict__ firstOrder, const int* __restrict__ meta,
    const int4* __restrict__ slots, int numSlots, int n, int d, int k, const int* __restrict__ idx,
    const float* __restrict__ numeric, const float* __restrict__ labels, const float* __restrict__ weights,
    const float* __restrict__ head, int pairOff, int B, int chunkRows, int tileRows, int mode, int lossType,
    float invB, float lambdaOverB, float* __restrict__ gyOut, float* __restrict__ Gout, float* __restrict__ G1out,
    float* __restrict__ headPartials, double* __restrict__ lossPartials, float* __restrict__ predOut,
    int* touchedCount) {
  extern __shared__ float smem[];
  const int sumDims = n * d;
  const int Dt = sumDims + k;
  const int K = n + k;
  const float* pw = pairOff > 0 ? head + pairOff : nullptr;
  const int HS = 1 + k + k * d + (pw != nullptr ? K * (K - 1) / 2 : 0);
  float* tile = smem;
  float* sS = tile + (size_t)tileRows * Dt;
  float* sW1 = sS + (size_t)tileRows * d;
  float* gyS = sW1 + (size_t)tileRows * n;
  float* hg = gyS + tileRows;
  if (touchedCount != nullptr && blockIdx.x == 0 && threadIdx.x == 0) {
    touchedCount[0] = 0;  // touched rows
    touchedCount[1] = 0;  // deterministic mode: hot rows, listed by the scatter for det_apply_rows
  }
  const bool train = mode == MODE_TRAIN;
  const int rBegin = blockIdx.x * chunkRows;
  const int rEnd = min(B, rBegin + chunkRows);
  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  const int nw = blockDim.x >> 5;
  const float bias = __ldg(head);
  const float* u = head + 1;
  const float* v = head + 1 + k;
  HeadGradAcc h;
  if (train) {
    hga_init(h, HS, hg);
  }
  double lossSum = 0, wSum = 0;
  for (int t0 = rBegin; t0 < rEnd; t0 += tileRows) {
    int rows = min(tileRows, rEnd - t0);
    gather_tile(tables, meta, slots, numSlots, n, sumDims, k, idx, numeric, t0, rows, tile, Dt);
    __syncthreads();
    for (int rr = warp; rr < rows; rr += nw) {
      const float* er = tile + (size_t)rr * Dt;
      const float* zr = er + sumDims;
      int r = t0 + rr;
      float part = 0.f;
      for (int f = lane; pw != nullptr && f < d; f += 32) {
        // fwfm: sum over pairs a < b of r_ab lat_a[f] lat_b[f]
        for (int a = 0; a < K; a++) {
          float la = fm_latent(er, zr, v, n, d, a, f);
          float q = 0.f;
          for (int b = a + 1; b < K; b++) {
            q = fmaf(fwfm_weight(pw, K, a, b), fm_latent(er, zr, v, n, d, b, f), q);
          }
          part = fmaf(la, q, part);
        }
      }
      for (int f = lane; pw == nullptr && f < d; f += 32) {
        float S = 0.f, Q = 0.f;
        for (int i = 0; i < n; i++) {
          float e = er[i * d + f];
          S += e;
          Q = fmaf(e, e, Q);
        }
        for (int j = 0; j < k; j++) {
          float zv = zr[j] * __ldg(v + j * d + f);
          S += zv;
          Q = fmaf(zv, zv, Q);
        }
        sS[(size_t)rr * d + f] = S;
        part += 0.5f * (S * S - Q);
      }
      for (int i = lane; i < n; i += 32) {
        int x = __ldg(idx + (size_t)r * n + i);
        float w1 = __ldg(firstOrder + meta_get(meta, n, META_ROWBASE, i) + x);
        sW1[(size_t)rr * n + i] = w1;
        part += w1;
      }
      for (int j = lane; j < k; j += 32) {
        part = fmaf(__ldg(u + j), zr[j], part);
      }
      float y = warp_sum(part) + bias;
      if (lane == 0) {
        if (!train) {
          predOut[r] = prediction(lossType, y);
        } else {
          float t = labels[r];
          float w = weights != nullptr ? weights[r] : 1.f;
          float g = w * loss_grad(lossType, y, t) * invB;
          gyS[rr] = g;
          gyOut[r] = g;
          lossSum += (double)w * (double)loss_value(lossType, y, t);
          wSum += (double)w;
        }
      }
    }
    __syncthreads();
    if (train) {
      int items = rows * sumDims;
      for (int it = threadIdx.x; it < items; it += blockDim.x) {
        int rr = it / sumDims;
        int c = it - rr * sumDims;
        int f = c % d;
        float e = tile[(size_t)rr * Dt + c];
        const float* er = tile + (size_t)rr * Dt;
        float dyde = pw == nullptr ? sS[(size_t)rr * d + f] - e
                                   : fwfm_latent_grad(er, er + sumDims, v, pw, n, K, d, c / d, f);
        Gout[(size_t)(t0 + rr) * sumDims + c] = fmaf(gyS[rr], dyde, lambdaOverB * e);
      }
      int items1 = rows * n;
      for (int it = threadIdx.x; it < items1; it += blockDim.x) {
        int rr = it / n;
        int i = it - rr * n;
        G1out[(size_t)(t0 + rr) * n + i] = fmaf(lambdaOverB, sW1[it], gyS[rr]);
      }
      // head parameter q: 0 = b, 1..k = u_j, then v_j[f]
      if (h.nrg > 0) {
        if (h.rg < h.nrg) {
          int q = h.q;
          for (int rr = h.rg; rr < rows; rr += h.nrg) {
            const float* er = tile + (size_t)rr * Dt;
            float item = fm_head_item(q, er, er + sumDims, sS + (size_t)rr * d, v, pw, n, k, d);
            h.acc = fmaf(gyS[rr], item, h.acc);
          }
        }
      } else {
        for (int q = threadIdx.x; q < HS; q += blockDim.x) {
          float s = hg[q];
          for (int rr = 0; rr < rows; rr++) {
            const float* er = tile + (size_t)rr * Dt;
            float item = fm_head_item(q, er, er + sumDims, sS + (size_t)rr * d, v, pw, n, k, d);
            s = fmaf(gyS[rr], item, s);
          }
          hg[q] = s;
        }
      }
    }
    __syncthreads();
  }
  if (train) {
    hga_finish(h, hg, headPartials);
    write_loss_partial(lossSum, wSum, lossPartials);
  }
}
