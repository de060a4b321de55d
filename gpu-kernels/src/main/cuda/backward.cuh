// Backward pass and optimizer: the atomic scatter with collision combining, the update of the rows
// Adagrad touched, the head update, and the deterministic (sorted, segmented) scatter.
#pragma once

#include <cub/block/block_radix_sort.cuh>
#include <cub/block/block_scan.cuh>

#include "common.cuh"

// Vector chunks a lane keeps per pass of the scatter: a lane group of L lanes covers 4 * L chunks of
// V floats per pass, and wider rows take more passes.
#define SCATTER_MAXM 4

struct ScatterArgs {
  float* dst;          // tables (SGD) or the gradient scratch (Adagrad)
  float* dst1;         // first-order weights (SGD) or their scratch; null without first-order weights
  float scale;         // -lr (SGD) or 1 (accumulate into scratch)
  const int* meta;
  int n;
  int B;
  int tilesPerField;
  const int* idx;
  int gradMode;        // 0: implicit linear gradient gy_r * a (l2 = 0); 1: explicit rows of G
  const float* gy;
  const float* head;   // a, for the implicit mode
  const float* G;      // B x gStride
  int gStride;
  const float* G1;     // B x n, first-order gradient
  int* counts;         // touch counts per row id
  int markTouched;     // Adagrad: record rows in the touched list
  int* touchedFlag;
  int* touchedList;
  int* touchedCount;
};

__device__ __forceinline__ void scatter_flush(const ScatterArgs& a, int key, int dim, int dimOff, int rowBase,
                                              int tableOff, int V, int cTotal, int cBase, int L, int lane,
                                              bool implicitMode, float s, const float (&acc)[SCATTER_MAXM][4],
                                              float acc1, int cnt, bool firstPass) {
  float* rowDst = a.dst + (size_t)tableOff + (size_t)key * dim;
#pragma unroll
  for (int m = 0; m < SCATTER_MAXM; m++) {
    int c = cBase + lane + m * L;
    if (c < cTotal) {
      int f = c * V;
      float vals[4];
#pragma unroll
      for (int j = 0; j < 4; j++) {
        float g = 0.f;
        if (j < V) {
          g = implicitMode ? s * __ldg(a.head + dimOff + f + j) : acc[m][j];
        }
        vals[j] = a.scale * g;
      }
      red_add_vec(rowDst + f, V, vals);
    }
  }
  if (firstPass && lane == 0) {
    int row = rowBase + key;
    atomicAdd(a.counts + row, cnt);
    if (a.dst1 != nullptr) {
      red_add_f32(a.dst1 + row, a.scale * acc1);
    }
    if (a.markTouched) {
      if (a.touchedFlag[row] == 0 && atomicExch(a.touchedFlag + row, 1) == 0) {
        a.touchedList[atomicAdd(a.touchedCount, 1)] = row;
      }
    }
  }
}

// Atomic-mode backward of one tile of TILE = BLOCK * ITEMS batch rows of one field. The tile's indices
// are sorted in shared memory, so equal indices become runs; lane groups sized to the field's dim walk
// contiguous stretches of the sorted tile, summing each run in registers, and a run that spans several
// groups is summed through shared memory by the group where it starts. So a row gets one atomic update
// per tile however often the tile repeats it (the "same index" and "0.5^k" cases), and a uniform tile
// costs one vector atomic per occurrence.
template <int BLOCK, int ITEMS>
__device__ __forceinline__ void scatter_tile(const ScatterArgs& a) {
  constexpr int TILE = BLOCK * ITEMS;
  typedef cub::BlockRadixSort<unsigned, BLOCK, ITEMS, int> Sort;
  __shared__ union {
    typename Sort::TempStorage sort;
    float cont[BLOCK * SCATTER_MAXM * 4];
  } u;
  __shared__ unsigned sKey[TILE];
  __shared__ int sRow[TILE];
  __shared__ float sGy[TILE];
  __shared__ float contS[BLOCK];
  __shared__ float contA1[BLOCK];
  __shared__ int contCnt[BLOCK];

  const int n = a.n;
  const int field = blockIdx.x / a.tilesPerField;
  const int tile = blockIdx.x - field * a.tilesPerField;
  const int r0 = tile * TILE;
  const int valid = min(TILE, a.B - r0);
  const int dim = meta_get(a.meta, n, META_DIM, field);
  const int dimOff = meta_get(a.meta, n, META_DIMOFF, field);
  const int rowBase = meta_get(a.meta, n, META_ROWBASE, field);
  const int size = meta_get(a.meta, n, META_SIZE, field);
  const int V = meta_get(a.meta, n, META_VEC, field);
  const int GV = meta_get(a.meta, n, META_GVEC, field);
  const int tableOff = meta_get(a.meta, n, META_TABLEOFF, field);
  const bool implicitMode = a.gradMode == 0;

  unsigned keys[ITEMS];
  int vals[ITEMS];
#pragma unroll
  for (int j = 0; j < ITEMS; j++) {
    int q = threadIdx.x * ITEMS + j;
    keys[j] = q < valid ? (unsigned)__ldg(a.idx + (size_t)(r0 + q) * n + field) : (unsigned)size;
    vals[j] = r0 + q;
  }
  Sort(u.sort).Sort(keys, vals, 0, bits_for((unsigned)size));
#pragma unroll
  for (int j = 0; j < ITEMS; j++) {
    int q = threadIdx.x * ITEMS + j;
    sKey[q] = keys[j];
    sRow[q] = vals[j];
    if (implicitMode) {
      sGy[q] = q < valid ? __ldg(a.gy + vals[j]) : 0.f;
    }
  }
  __syncthreads();  // sorted tile visible; the sort's storage is free for the continuation sums

  const int cTotal = dim / V;
  int L = 1;
  while (L < cTotal && L < 32) {
    L <<= 1;
  }
  const int nG = BLOCK / L;
  const int g = threadIdx.x / L;
  const int lane = threadIdx.x - g * L;
  const int chunk = (valid + nG - 1) / nG;
  const int p0 = min(valid, g * chunk);
  const int p1 = min(valid, p0 + chunk);
  const int perPass = SCATTER_MAXM * L;
  const int passes = (cTotal + perPass - 1) / perPass;
  // Whether this group's first run began in an earlier group, and its last run goes on in a later one.
  const bool contFirst = p0 < p1 && p0 > 0 && sKey[p0 - 1] == sKey[p0];
  const bool openTail = p0 < p1 && p1 < valid && sKey[p1] == sKey[p1 - 1];

  for (int pass = 0; pass < passes; pass++) {
    const int cBase = pass * perPass;
    const bool firstPass = pass == 0;
    float acc[SCATTER_MAXM][4];
    float s = 0.f, acc1 = 0.f;
    int cnt = 0;
    int curKey = -1;
    bool firstRun = true;
    for (int p = p0; p < p1; p++) {
      int key = (int)sKey[p];
      if (key != curKey) {
        if (curKey >= 0) {
          if (!(firstRun && contFirst)) {
            scatter_flush(a, curKey, dim, dimOff, rowBase, tableOff, V, cTotal, cBase, L, lane, implicitMode, s,
                          acc, acc1, cnt, firstPass);
          } else {
            // the start of this group is the tail of a run owned by an earlier group
#pragma unroll
            for (int m = 0; m < SCATTER_MAXM; m++) {
#pragma unroll
              for (int j = 0; j < 4; j++) {
                u.cont[(threadIdx.x * SCATTER_MAXM + m) * 4 + j] = acc[m][j];
              }
            }
            if (lane == 0) {
              contS[g] = s;
              contA1[g] = acc1;
              contCnt[g] = cnt;
            }
          }
          firstRun = false;
        }
        curKey = key;
        s = 0.f;
        acc1 = 0.f;
        cnt = 0;
#pragma unroll
        for (int m = 0; m < SCATTER_MAXM; m++) {
#pragma unroll
          for (int j = 0; j < 4; j++) {
            acc[m][j] = 0.f;
          }
        }
      }
      int r = sRow[p];
      cnt++;
      if (implicitMode) {
        s += sGy[p];
      } else {
        const float* gr = a.G + (size_t)r * a.gStride + dimOff;
#pragma unroll
        for (int m = 0; m < SCATTER_MAXM; m++) {
          int c = cBase + lane + m * L;
          if (c < cTotal) {
            int f = c * V;
            float v[4] = {0.f, 0.f, 0.f, 0.f};
            if (GV == V) {
              load_vec(gr + f, V, v);
            } else {
#pragma unroll
              for (int j = 0; j < 4; j++) {
                if (j < V) {
                  v[j] = __ldg(gr + f + j);
                }
              }
            }
#pragma unroll
            for (int j = 0; j < 4; j++) {
              acc[m][j] += v[j];
            }
          }
        }
      }
      if (firstPass && a.dst1 != nullptr) {
        acc1 += __ldg(a.G1 + (size_t)r * n + field);
      }
    }
    // the last run of the stretch
    bool deferred = false;
    if (curKey >= 0) {
      if (firstRun && contFirst) {
#pragma unroll
        for (int m = 0; m < SCATTER_MAXM; m++) {
#pragma unroll
          for (int j = 0; j < 4; j++) {
            u.cont[(threadIdx.x * SCATTER_MAXM + m) * 4 + j] = acc[m][j];
          }
        }
        if (lane == 0) {
          contS[g] = s;
          contA1[g] = acc1;
          contCnt[g] = cnt;
        }
      } else if (openTail) {
        deferred = true;
      } else {
        scatter_flush(a, curKey, dim, dimOff, rowBase, tableOff, V, cTotal, cBase, L, lane, implicitMode, s, acc,
                      acc1, cnt, firstPass);
      }
    }
    __syncthreads();
    if (deferred) {
      // add the pieces of the following groups, in group order, while the run goes on
      for (int gg = g + 1; gg < nG; gg++) {
        int q0 = min(valid, gg * chunk);
        int q1 = min(valid, q0 + chunk);
        if (q0 >= q1 || (int)sKey[q0] != curKey) {
          break;
        }
        int t = gg * L + lane;
#pragma unroll
        for (int m = 0; m < SCATTER_MAXM; m++) {
#pragma unroll
          for (int j = 0; j < 4; j++) {
            acc[m][j] += u.cont[(t * SCATTER_MAXM + m) * 4 + j];
          }
        }
        s += contS[gg];
        acc1 += contA1[gg];
        cnt += contCnt[gg];
        if ((int)sKey[q1 - 1] != curKey) {
          break;
        }
      }
      scatter_flush(a, curKey, dim, dimOff, rowBase, tableOff, V, cTotal, cBase, L, lane, implicitMode, s, acc,
                    acc1, cnt, firstPass);
    }
    __syncthreads();  // the continuation buffer is reused by the next pass
  }
}

#define SCATTER_PARAMS                                                                                       \
  float *dst, float *dst1, float scale, const int *meta, int n, int B, int tilesPerField, const int *idx,    \
      int gradMode, const float *gy, const float *head, const float *G, int gStride, const float *G1,        \
      int *counts, int markTouched, int *touchedFlag, int *touchedList, int *touchedCount
#define SCATTER_ARGS                                                                                         \
  ScatterArgs a{dst,     dst1,  scale, meta,   n,          B,      tilesPerField, idx,         gradMode,     \
                gy,      head,  G,     gStride, G1,        counts, markTouched,   touchedFlag, touchedList,  \
                touchedCount}

extern "C" __global__ void __launch_bounds__(256) scatter_atomic_256(SCATTER_PARAMS) {
  SCATTER_ARGS;
  scatter_tile<256, 1>(a);
}

extern "C" __global__ void __launch_bounds__(256) scatter_atomic_1024(SCATTER_PARAMS) {
  SCATTER_ARGS;
  scatter_tile<256, 4>(a);
}

// The end of a step. Blocks [0, headBlocks) sum the head gradient partials (a warp per parameter, in a
// fixed order) and update the head; block headBlocks adds the loss partials to the running sums; the
// blocks after it update, with a warp per row, the rows the Adagrad scatter recorded in the touched
// list, and clear their scratch and flag.
extern "C" __global__ void finish_step(float* __restrict__ head, float* __restrict__ headAccum,
                                       const float* __restrict__ headPartials, int P, int HS,
                                       const double* __restrict__ lossPartials, int lossParts,
                                       double* __restrict__ lossAcc, int opt, float lr, float eps, int headBlocks,
                                       float* __restrict__ tables, float* __restrict__ tableAccum,
                                       float* __restrict__ gradScratch, float* __restrict__ firstOrder,
                                       float* __restrict__ foAccum, float* __restrict__ foScratch,
                                       int* __restrict__ touchedFlag, const int* __restrict__ touchedList,
                                       const int* __restrict__ touchedCount, const int* __restrict__ meta, int n) {
  if ((int)blockIdx.x < headBlocks) {
    // a warp per head parameter: lane l sums chunks l, l + 32, ... in order, then a fixed shuffle tree
    int j = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    int lane = threadIdx.x & 31;
    if (j < HS) {
      float g = 0.f;
      for (int p = lane; p < P; p += 32) {
        g += headPartials[(size_t)p * HS + j];
      }
      g = warp_sum(g);
      if (lane == 0) {
        if (opt == OPT_SGD) {
          head[j] -= lr * g;
        } else {
          float G = headAccum[j] + g * g;
          headAccum[j] = G;
          head[j] -= lr * g / (sqrtf(G) + eps);
        }
      }
    }
    return;
  }
  if ((int)blockIdx.x == headBlocks) {
    // the loss partials: one warp, lanes striding over the chunks, then a fixed shuffle tree
    if (threadIdx.x < 32 && lossAcc != nullptr) {
      double l = 0, w = 0;
      for (int p = threadIdx.x; p < lossParts; p += 32) {
        l += lossPartials[2 * p];
        w += lossPartials[2 * p + 1];
      }
#pragma unroll
      for (int o = 16; o > 0; o >>= 1) {
        l += __shfl_xor_sync(0xffffffffu, l, o);
        w += __shfl_xor_sync(0xffffffffu, w, o);
      }
      if (threadIdx.x == 0) {
        lossAcc[0] += l;
        lossAcc[1] += w;
      }
    }
    return;
  }
  if (touchedCount == nullptr) {
    return;
  }
  const int count = *touchedCount;
  const int lane = threadIdx.x & 31;
  const int warpsPerBlock = blockDim.x >> 5;
  const int rowBlock0 = headBlocks + 1;
  const int nWarps = (gridDim.x - rowBlock0) * warpsPerBlock;
  for (int t = (blockIdx.x - rowBlock0) * warpsPerBlock + (threadIdx.x >> 5); t < count; t += nWarps) {
    int row = touchedList[t];
    int field = field_of_row(meta, n, row);
    int dim = meta_get(meta, n, META_DIM, field);
    size_t base = (size_t)meta_get(meta, n, META_TABLEOFF, field)
                  + (size_t)(row - meta_get(meta, n, META_ROWBASE, field)) * dim;
    if (opt == OPT_ROWWISE) {
      float sq = 0.f;
      for (int f = lane; f < dim; f += 32) {
        float g = gradScratch[base + f];
        sq = fmaf(g, g, sq);
      }
      sq = warp_sum(sq);
      float G = tableAccum[row] + sq / dim;
      float denom = sqrtf(G) + eps;
      for (int f = lane; f < dim; f += 32) {
        float g = gradScratch[base + f];
        gradScratch[base + f] = 0.f;
        tables[base + f] -= lr * g / denom;
      }
      __syncwarp();
      if (lane == 0) {
        tableAccum[row] = G;
      }
    } else {
      for (int f = lane; f < dim; f += 32) {
        float g = gradScratch[base + f];
        gradScratch[base + f] = 0.f;
        float G = tableAccum[base + f] + g * g;
        tableAccum[base + f] = G;
        tables[base + f] -= lr * g / (sqrtf(G) + eps);
      }
    }
    if (lane == 0) {
      if (firstOrder != nullptr) {
        float g = foScratch[row];
        foScratch[row] = 0.f;
        float G = foAccum[row] + g * g;
        foAccum[row] = G;
        firstOrder[row] -= lr * g / (sqrtf(G) + eps);
      }
      touchedFlag[row] = 0;
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Deterministic mode: a stable radix sort of every occurrence by its row id, then each row's
// occurrences are summed in batch order by one warp and the optimizer is applied with plain stores.

#define SORT_BLOCK 256
#define SORT_ITEMS 8
#define SORT_TILE (SORT_BLOCK * SORT_ITEMS)

// keys[o] = rowBase_i + idx[o] and vals[o] = o for the N = B n occurrences o = r n + i.
extern "C" __global__ void det_keys(const int* __restrict__ idx, const int* __restrict__ meta, int n, int N,
                                    unsigned* __restrict__ keys, int* __restrict__ vals) {
  for (int o = blockIdx.x * blockDim.x + threadIdx.x; o < N; o += gridDim.x * blockDim.x) {
    int i = o % n;
    keys[o] = (unsigned)(meta_get(meta, n, META_ROWBASE, i) + __ldg(idx + o));
    vals[o] = o;
  }
}

// Digit counts of each tile: hist[digit * numTiles + tile].
extern "C" __global__ void __launch_bounds__(SORT_BLOCK) radix_hist(const unsigned* __restrict__ keys, int N,
                                                                    int shift, int* __restrict__ hist,
                                                                    int numTiles) {
  __shared__ int cnt[256];
  cnt[threadIdx.x] = 0;
  __syncthreads();
  int base = blockIdx.x * SORT_TILE;
  for (int j = threadIdx.x; j < SORT_TILE; j += SORT_BLOCK) {
    int p = base + j;
    if (p < N) {
      atomicAdd(&cnt[(keys[p] >> shift) & 255], 1);
    }
  }
  __syncthreads();
  hist[threadIdx.x * numTiles + blockIdx.x] = cnt[threadIdx.x];
}

// In-place exclusive prefix sum of len ints, by one block of 1024 threads.
extern "C" __global__ void __launch_bounds__(1024) scan_exclusive(int* __restrict__ data, int len) {
  typedef cub::BlockScan<int, 1024> Scan;
  __shared__ typename Scan::TempStorage temp;
  int per = (len + 1023) / 1024;
  int begin = min(len, (int)threadIdx.x * per);
  int end = min(len, begin + per);
  int sum = 0;
  for (int p = begin; p < end; p++) {
    sum += data[p];
  }
  int prefix;
  Scan(temp).ExclusiveSum(sum, prefix);
  for (int p = begin; p < end; p++) {
    int v = data[p];
    data[p] = prefix;
    prefix += v;
  }
}

// One stable pass of the LSD radix sort: each tile sorts itself by the digit (stably) and writes each
// item at its digit's global start (the scanned histogram) plus its rank among the tile's items of that
// digit.
extern "C" __global__ void __launch_bounds__(SORT_BLOCK) radix_scatter(
    const unsigned* __restrict__ keysIn, const int* __restrict__ valsIn, unsigned* __restrict__ keysOut,
    int* __restrict__ valsOut, int N, int shift, const int* __restrict__ histScanned, int numTiles) {
  typedef cub::BlockRadixSort<unsigned, SORT_BLOCK, SORT_ITEMS, int> Sort;
  typedef cub::BlockScan<int, SORT_BLOCK> Scan;
  __shared__ union {
    typename Sort::TempStorage sort;
    typename Scan::TempStorage scan;
  } temp;
  __shared__ int cnt[256];
  __shared__ int tileStart[256];
  __shared__ int globalStart[256];
  cnt[threadIdx.x] = 0;
  __syncthreads();
  const int base = blockIdx.x * SORT_TILE;
  unsigned keys[SORT_ITEMS];
  int vals[SORT_ITEMS];
#pragma unroll
  for (int j = 0; j < SORT_ITEMS; j++) {
    int p = base + threadIdx.x * SORT_ITEMS + j;
    if (p < N) {
      keys[j] = keysIn[p];
      vals[j] = valsIn[p];
      atomicAdd(&cnt[(keys[j] >> shift) & 255], 1);
    } else {
      keys[j] = 0xffffffffu;
      vals[j] = -1;
    }
  }
  __syncthreads();
  int c = cnt[threadIdx.x];
  int start;
  Scan(temp.scan).ExclusiveSum(c, start);
  tileStart[threadIdx.x] = start;
  globalStart[threadIdx.x] = histScanned[threadIdx.x * numTiles + blockIdx.x];
  __syncthreads();
  Sort(temp.sort).Sort(keys, vals, shift, min(32, shift + 8));
#pragma unroll
  for (int j = 0; j < SORT_ITEMS; j++) {
    if (vals[j] >= 0) {
      int q = threadIdx.x * SORT_ITEMS + j;
      int dg = (keys[j] >> shift) & 255;
      int dest = globalStart[dg] + (q - tileStart[dg]);
      keysOut[dest] = keys[j];
      valsOut[dest] = vals[j];
    }
  }
}

#define DET_MAXF 8

// Sum over one segment's occurrences, in batch order, of the gradient elements f = f0 + lane + 32 m
// (explicit mode), or of gy (implicit mode, returned in s, the same in every lane). The implicit sum is
// split over lanes by position and combined by a fixed shuffle tree, so it too is a fixed function of
// the batch.
__device__ __forceinline__ void det_segment_sum(const unsigned* __restrict__ keys, const int* __restrict__ vals,
                                                int start, int len, int n, int field, int dim, int dimOff,
                                                bool implicitMode, const float* __restrict__ gy,
                                                const float* __restrict__ G, int gStride,
                                                const float* __restrict__ G1, int f0, float (&acc)[DET_MAXF],
                                                float& s, float& s1, int lane) {
#pragma unroll
  for (int m = 0; m < DET_MAXF; m++) {
    acc[m] = 0.f;
  }
  float ls = 0.f, ls1 = 0.f;
#pragma unroll 4
  for (int w0 = 0; w0 < len; w0 += 32) {
    int myPos = w0 + lane;
    int myR = myPos < len ? vals[start + myPos] / n : 0;
    if (myPos < len) {
      if (implicitMode) {
        ls += __ldg(gy + myR);
      }
      if (G1 != nullptr) {
        ls1 += __ldg(G1 + (size_t)myR * n + field);
      }
    }
    if (!implicitMode) {
      int inWindow = min(32, len - w0);
      for (int j = 0; j < inWindow; j++) {
        int r = __shfl_sync(0xffffffffu, myR, j);
        const float* gr = G + (size_t)r * gStride + dimOff;
#pragma unroll
        for (int m = 0; m < DET_MAXF; m++) {
          int f = f0 + lane + 32 * m;
          if (f < dim) {
            acc[m] += __ldg(gr + f);
          }
        }
      }
    }
  }
  s = warp_sum(ls);
  s1 = warp_sum(ls1);
}

// One warp per window of 32 sorted positions; the warp processes each segment (row) that starts in its
// window, walking it to its end, and applies the optimizer to that row with plain loads and stores:
// one warp owns a row, so there are no atomics and no races.
extern "C" __global__ void det_apply(const unsigned* __restrict__ keys, const int* __restrict__ vals, int N,
                                     const int* __restrict__ meta, int n, int gradMode,
                                     const float* __restrict__ gy, const float* __restrict__ head,
                                     const float* __restrict__ G, int gStride, const float* __restrict__ G1,
                                     float* __restrict__ tables, float* __restrict__ tableAccum,
                                     float* __restrict__ firstOrder, float* __restrict__ foAccum,
                                     int* __restrict__ counts, int opt, float lr, float eps) {
  const int lane = threadIdx.x & 31;
  const int warpsPerBlock = blockDim.x >> 5;
  const int nWarps = gridDim.x * warpsPerBlock;
  const bool implicitMode = gradMode == 0;
  for (int w = blockIdx.x * warpsPerBlock + (threadIdx.x >> 5); w * 32 < N; w += nWarps) {
    int p = w * 32 + lane;
    bool isHead = p < N && (p == 0 || keys[p] != keys[p - 1]);
    unsigned heads = __ballot_sync(0xffffffffu, isHead);
    while (heads != 0) {
      int b = __ffs(heads) - 1;
      heads &= heads - 1;
      int start = w * 32 + b;
      unsigned key = keys[start];
      // segment length: sorted keys, so the segment is a prefix of what follows
      // segment end: the first position after start whose key is larger (keys are sorted), found by
      // a binary search, so a segment of the whole batch costs ~log2(N) loads, not N / 32
      int lo = start + 1, hi = N;
      while (lo < hi) {
        int mid = lo + ((hi - lo) >> 1);
        if (keys[mid] == key) {
          lo = mid + 1;
        } else {
          hi = mid;
        }
      }
      int len = lo - start;
      int row = (int)key;
      int field = vals[start] % n;
      int dim = meta_get(meta, n, META_DIM, field);
      int dimOff = meta_get(meta, n, META_DIMOFF, field);
      int rowBase = meta_get(meta, n, META_ROWBASE, field);
      size_t base = (size_t)meta_get(meta, n, META_TABLEOFF, field) + (size_t)(row - rowBase) * dim;
      float acc[DET_MAXF];
      float s, s1;
      if (opt == OPT_ROWWISE) {
        float sq = 0.f;
        for (int f0 = 0; f0 < dim; f0 += 32 * DET_MAXF) {
          det_segment_sum(keys, vals, start, len, n, field, dim, dimOff, implicitMode, gy, G, gStride, G1, f0, acc,
                          s, s1, lane);
#pragma unroll
          for (int m = 0; m < DET_MAXF; m++) {
            int f = f0 + lane + 32 * m;
            if (f < dim) {
              float g = implicitMode ? s * __ldg(head + dimOff + f) : acc[m];
              sq = fmaf(g, g, sq);
            }
          }
        }
        sq = warp_sum(sq);
        float Gr = tableAccum[row] + sq / dim;
        float denom = sqrtf(Gr) + eps;
        for (int f0 = 0; f0 < dim; f0 += 32 * DET_MAXF) {
          det_segment_sum(keys, vals, start, len, n, field, dim, dimOff, implicitMode, gy, G, gStride, G1, f0, acc,
                          s, s1, lane);
#pragma unroll
          for (int m = 0; m < DET_MAXF; m++) {
            int f = f0 + lane + 32 * m;
            if (f < dim) {
              float g = implicitMode ? s * __ldg(head + dimOff + f) : acc[m];
              tables[base + f] -= lr * g / denom;
            }
          }
        }
        if (lane == 0) {
          tableAccum[row] = Gr;
        }
      } else {
        for (int f0 = 0; f0 < dim; f0 += 32 * DET_MAXF) {
          det_segment_sum(keys, vals, start, len, n, field, dim, dimOff, implicitMode, gy, G, gStride, G1, f0, acc,
                          s, s1, lane);
#pragma unroll
          for (int m = 0; m < DET_MAXF; m++) {
            int f = f0 + lane + 32 * m;
            if (f < dim) {
              float g = implicitMode ? s * __ldg(head + dimOff + f) : acc[m];
              if (opt == OPT_SGD) {
                tables[base + f] -= lr * g;
              } else {
                float Ga = tableAccum[base + f] + g * g;
                tableAccum[base + f] = Ga;
                tables[base + f] -= lr * g / (sqrtf(Ga) + eps);
              }
            }
          }
        }
      }
      if (lane == 0) {
        counts[row] += len;
        if (firstOrder != nullptr) {
          if (opt == OPT_SGD) {
            firstOrder[row] -= lr * s1;
          } else {
            float Ga = foAccum[row] + s1 * s1;
            foAccum[row] = Ga;
            firstOrder[row] -= lr * s1 / (sqrtf(Ga) + eps);
          }
        }
      }
    }
  }
}

// Copies width floats of each listed row: dst[q * width + j] = src[srcOff + rows[q] * width + j].
extern "C" __global__ void gather_listed_rows(const float* __restrict__ src, long long srcOff, int width,
                                              const int* __restrict__ rows, int m, float* __restrict__ dst) {
  size_t total = (size_t)m * width;
  for (size_t it = (size_t)blockIdx.x * blockDim.x + threadIdx.x; it < total;
       it += (size_t)gridDim.x * blockDim.x) {
    size_t q = it / width;
    int j = (int)(it - q * width);
    dst[it] = src[(size_t)srcOff + (size_t)rows[q] * width + j];
  }
}
