// Backward pass and optimizer: the atomic scatter with collision combining, the update of the rows
// Adagrad touched, the head update, and the deterministic (sorted, segmented) scatter.
#pragma once

#include <cub/block/block_radix_sort.cuh>
#include <cub/block/block_scan.cuh>

#include "common.cuh"
#include "optim.cuh"

// Vector chunks a lane keeps per pass of the scatter: a lane group of L lanes covers 4 * L chunks of
// V floats per pass, and wider rows take more passes.
#define SCATTER_MAXM 4

// Deterministic mode: each row has DET_SUBLISTS record lists; sub-list k holds the records of the tiles
// [k C, (k + 1) C) of its field, C = det_tiles_per_sublist(tiles per field), so that the lanes of the row's
// group walk them at once (a row has at most one record per tile).
__device__ __forceinline__ int det_tiles_per_sublist(int tilesPerField) {
  return (tilesPerField + DET_SUBLISTS - 1) / DET_SUBLISTS;
}

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
  // Deterministic (record) mode: instead of adding a run's sum to dst, the tile writes it as a record
  // (id = field * B + position of the run's first occurrence in the batch) and pushes the record onto
  // its row's list; det_apply_rows then sums each row's records in id (= tile) order.
  int recordMode;
  int* listHead;       // per row id: the last record pushed, -1 when none (kept at -1 between steps)
  int* recNext;        // per record: the record pushed before it on the same row, or -1
  float* recS;         // per record: the run's sum of gy (implicit mode)
  float* recG;         // B x gStride: the run's gradient row, at its first occurrence's batch position
  float* recS1;        // per record: the run's first-order gradient sum; the scatter sums G1 only when
                       // dst1 is set (the first-order weights exist)
  int* hotList;        // record mode with det_apply_cold: the rows whose record count passes DET_COLD_RECORDS,
  int* hotCount;       // listed when their (DET_COLD_RECORDS + 1)-th record is pushed; null: not listed
};

__device__ __forceinline__ void scatter_flush(const ScatterArgs& a, int key, int dim, int dimOff, int rowBase,
                                              int tableOff, int V, int cTotal, int cBase, int L, int lane,
                                              bool implicitMode, float s, const float (&acc)[SCATTER_MAXM][4],
                                              float acc1, int cnt, bool firstPass, int field, int pos,
                                              int* sNew, int* sNewCount) {
  if (a.recordMode) {
    const int rec = field * a.B + pos;
    if (!implicitMode) {
      float* recRow = a.recG + (size_t)pos * a.gStride + dimOff;
#pragma unroll
      for (int m = 0; m < SCATTER_MAXM; m++) {
        int c = cBase + lane + m * L;
        if (c < cTotal) {
          int f = c * V;
#pragma unroll
          for (int j = 0; j < 4; j++) {
            if (j < V) {
              recRow[f + j] = acc[m][j];
            }
          }
        }
      }
    }
    if (firstPass && lane == 0) {
      int row = rowBase + key;
      atomicAdd(a.counts + row, cnt);  // integers: exact in any order
      if (implicitMode) {
        a.recS[rec] = s;
      }
      if (a.recS1 != nullptr) {
        a.recS1[rec] = acc1;
      }
      // det_push_runs links the record to its row once the tile's runs are summed
    }
    return;
  }
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
        sNew[atomicAdd(sNewCount, 1)] = row;  // appended to the touched list once per tile
      }
    }
  }
}

// Record mode, after a tile's runs are summed: pushes each run's record onto its row's sub-list (the one
// of this tile's range of tiles) and lists the rows the step touches first. Every thread takes run starts
// of the sorted tile at once: pushed from the run's summing lane instead, each push (an atomic whose
// result the next store needs) waited in turn in that group's walk of its stretch, up to 32 per group.
// A row passing DET_COLD_RECORDS records is listed as hot here, once (by the push of its record number
// DET_COLD_RECORDS + 1), so that det_apply_rows can apply the hot rows while det_apply_cold applies the
// others. Hot rows fill sNew from its end: a row is new or hot in a tile, never both (a hot row had
// DET_COLD_RECORDS records from other tiles), and has one run per tile, so both lists fit in TILE slots.
template <int BLOCK, int ITEMS>
__device__ __forceinline__ void det_push_runs(const ScatterArgs& a, const unsigned* sKey, int valid, int field,
                                              int tile, int r0, int rowBase, int* sNew, int* sNewCount,
                                              int* sHotCount) {
  const int sub = tile / det_tiles_per_sublist(a.tilesPerField);
  // a thread's run starts q = threadIdx.x + j BLOCK: all their atomics are issued before any result is
  // used (in a loop, each push waited for the one before it)
  bool start[ITEMS];
  int row[ITEMS], prev[ITEMS], recs[ITEMS];
#pragma unroll
  for (int j = 0; j < ITEMS; j++) {
    const int q = threadIdx.x + j * BLOCK;
    const unsigned key = q < valid ? sKey[q] : 0u;
    start[j] = q < valid && (q == 0 || sKey[q - 1] != key);
    row[j] = rowBase + (int)key;
  }
#pragma unroll
  for (int j = 0; j < ITEMS; j++) {
    if (start[j]) {
      const int rec = field * a.B + r0 + threadIdx.x + j * BLOCK;  // the run's first position: its record
      prev[j] = atomicExch(a.listHead + (size_t)row[j] * DET_SUBLISTS + sub, rec);
    }
  }
  // the row's record count in the step (touchedFlag, cleared by the apply): its first increment lists
  // the row as touched
#pragma unroll
  for (int j = 0; j < ITEMS; j++) {
    if (start[j]) {
      recs[j] = atomicAdd(a.touchedFlag + row[j], 1);
    }
  }
#pragma unroll
  for (int j = 0; j < ITEMS; j++) {
    if (start[j]) {
      a.recNext[field * a.B + r0 + threadIdx.x + j * BLOCK] = prev[j];
      if (recs[j] == 0) {
        sNew[atomicAdd(sNewCount, 1)] = row[j];  // appended to the touched list once per tile
      } else if (recs[j] == DET_COLD_RECORDS && a.hotList != nullptr) {
        sNew[BLOCK * ITEMS - 1 - atomicAdd(sHotCount, 1)] = row[j];  // appended to the hot list once per tile
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
  // Rows this tile touched first in the step: one global atomic per tile appends them all to the
  // touched list (a global atomic per row serialised on the one counter: about 0.2 ms per step at
  // 123K rows on the H200).
  __shared__ int sNew[TILE];
  __shared__ int sNewCount;
  __shared__ int sNewBase;
  __shared__ int sHotCount;  // record mode: hot rows, at the end of sNew (det_push_runs)
  __shared__ int sHotBase;

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
  if (threadIdx.x == 0) {
    sNewCount = 0;
    sHotCount = 0;
  }

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
    int curStart = p0;
    bool firstRun = true;
    for (int p = p0; p < p1; p++) {
      int key = (int)sKey[p];
      if (key != curKey) {
        if (curKey >= 0) {
          if (!(firstRun && contFirst)) {
            scatter_flush(a, curKey, dim, dimOff, rowBase, tableOff, V, cTotal, cBase, L, lane, implicitMode, s,
                          acc, acc1, cnt, firstPass, field, r0 + curStart, sNew, &sNewCount);
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
        curStart = p;
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
                      acc1, cnt, firstPass, field, r0 + curStart, sNew,
                      &sNewCount);
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
                    acc1, cnt, firstPass, field, r0 + curStart, sNew,
                      &sNewCount);
    }
    __syncthreads();  // the continuation buffer is reused by the next pass
  }
  if (a.recordMode) {
    det_push_runs<BLOCK, ITEMS>(a, sKey, valid, field, tile, r0, rowBase, sNew, &sNewCount, &sHotCount);
    __syncthreads();
    if (sHotCount > 0) {
      if (threadIdx.x == 0) {
        sHotBase = atomicAdd(a.hotCount, sHotCount);
      }
      __syncthreads();
      for (int i = threadIdx.x; i < sHotCount; i += BLOCK) {
        a.hotList[sHotBase + i] = sNew[TILE - 1 - i];
      }
    }
  }
  if (sNewCount > 0) {  // set in the first pass (or the pushes), visible after the closing barrier
    if (threadIdx.x == 0) {
      sNewBase = atomicAdd(a.touchedCount, sNewCount);
    }
    __syncthreads();
    for (int i = threadIdx.x; i < sNewCount; i += BLOCK) {
      a.touchedList[sNewBase + i] = sNew[i];
    }
  }
}

#define SCATTER_PARAMS                                                                                       \
  float *dst, float *dst1, float scale, const int *meta, int n, int B, int tilesPerField, const int *idx,    \
      int gradMode, const float *gy, const float *head, const float *G, int gStride, const float *G1,        \
      int *counts, int markTouched, int *touchedFlag, int *touchedList, int *touchedCount, int recordMode,    \
      int *listHead, int *recNext, float *recS, float *recG, float *recS1, int *hotList, int *hotCount
#define SCATTER_ARGS                                                                                         \
  ScatterArgs a{dst,     dst1,  scale, meta,   n,          B,      tilesPerField, idx,         gradMode,     \
                gy,      head,  G,     gStride, G1,        counts, markTouched,   touchedFlag, touchedList,  \
                touchedCount, recordMode, listHead, recNext, recS, recG, recS1, hotList, hotCount}

// Launch bounds (256, 3): three blocks per SM, as the 80 registers of the atomic path alone gave; the
// record-mode pushes took the kernel to 96 registers (two blocks) without them, and 74 with them, no spills.
extern "C" __global__ void __launch_bounds__(KERNEL_THREADS, 3) scatter_atomic_256(SCATTER_PARAMS) {
  SCATTER_ARGS;
  scatter_tile<KERNEL_THREADS, SCATTER_TILE_SMALL / KERNEL_THREADS>(a);
}

extern "C" __global__ void __launch_bounds__(KERNEL_THREADS, 3) scatter_atomic_1024(SCATTER_PARAMS) {
  SCATTER_ARGS;
  scatter_tile<KERNEL_THREADS, SCATTER_TILE_LARGE / KERNEL_THREADS>(a);
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
        with_rule(opt, [&](auto rule) { decltype(rule)::scalar(head + j, headAccum + j, g, lr, eps); });
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
    with_rule(opt, [&](auto rule) {
      using R = decltype(rule);
      float* st = R::state(tableAccum, base, row, dim);
      float sq = 0.f;
      if constexpr (R::kRowStat) {
        for (int f = lane; f < dim; f += 32) {
          float g = gradScratch[base + f];
          sq = fmaf(g, g, sq);
        }
        sq = warp_sum(sq);
      }
      const RowScalars r = R::begin(st, dim, sq, lr, eps);
      for (int f = lane; f < dim; f += 32) {
        float g = gradScratch[base + f];
        gradScratch[base + f] = 0.f;
        float pv = tables[base + f];
        float sv = R::kElementState ? st[f] : 0.f;
        R::element(pv, sv, g, r, lr, eps);
        tables[base + f] = pv;
        if constexpr (R::kElementState) {
          st[f] = sv;
        }
      }
      if constexpr (R::kRowStat) {
        __syncwarp();
        if (lane == 0) {
          R::end(st, dim, sq, r);
        }
      }
      if (lane == 0 && firstOrder != nullptr) {
        float g = foScratch[row];
        foScratch[row] = 0.f;
        R::scalar(firstOrder + row, foAccum + row, g, lr, eps);
      }
    });
    if (lane == 0) {
      touchedFlag[row] = 0;
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Deterministic mode. The scatter (record mode) sorts each tile's indices in shared memory exactly as
// the atomic mode does and sums each run of equal indices in a fixed order; instead of an atomic add it
// writes the run's sum as a record and pushes the record onto its row's list. Here one warp per touched
// row collects the row's records, orders them by record id (= the tile's position in the batch), sums
// them in that order and applies the optimizer with plain loads and stores: one warp owns the row, so
// nothing races, and every sum has an order fixed by the batch alone.

// Floats of a row a lane updates per pass of the deterministic apply (loaded together, then stored): 4
// keeps det_apply_rows and det_apply_cold within their launch bounds' registers (8 spilled 260 bytes).
#define DET_MAXF 4

// Sum over a group of G lanes (G a power of two <= 32, groups aligned within the warp), fixed tree.
__device__ __forceinline__ float group_sum(float v, int G, unsigned mask) {
  for (int o = G >> 1; o > 0; o >>= 1) {
    v += __shfl_xor_sync(mask, v, o);
  }
  return v;
}

// The row's gradient elements f0 + gl + G m (explicit mode) summed over its ordered records, the
// implicit sum of gy (s) and the first-order sum (s1); s and s1 are the same in every lane.
template <int MAXF>
__device__ __forceinline__ void det_row_sum(const int* ord, int ordStride, int len, int fieldBase, int dim, int dimOff,
                                            bool implicitMode, bool inlineValues, const float* __restrict__ recS,
                                            const float* __restrict__ recG, int gStride,
                                            const float* __restrict__ recS1, int f0, int G, int gl,
                                            float (&acc)[MAXF], float& s, float& s1) {
#pragma unroll
  for (int m = 0; m < MAXF; m++) {
    acc[m] = 0.f;
  }
  s = 0.f;
  s1 = 0.f;
  if (implicitMode) {
    // the loads are independent, the sum in order: unrolled, they are in flight together
    if (inlineValues) {  // ord holds the records' values (the walk loaded them)
      for (int i = 0; i < len; i++) {
        s += __int_as_float(ord[i * ordStride]);
      }
      return;
    }
#pragma unroll 4
    for (int i = 0; i < len; i++) {
      const int rec = ord[i * ordStride];
      s += __ldg(recS + rec);
      if (recS1 != nullptr) {
        s1 += __ldg(recS1 + rec);
      }
    }
    return;
  }
  for (int i = 0; i < len; i++) {
    int rec = ord[i * ordStride];
    {
      const float* gr = recG + (size_t)(rec - fieldBase) * gStride + dimOff;
#pragma unroll
      for (int m = 0; m < MAXF; m++) {
        int f = f0 + gl + G * m;
        if (f < dim) {
          acc[m] += __ldg(gr + f);
        }
      }
    }
    if (recS1 != nullptr) {
      s1 += __ldg(recS1 + rec);
    }
  }
}

// A lane's elements f = f1 + G m (m < DET_MAXF, f < dim) of a row and of its element state (st, null when
// the rule has none), all loaded before any is updated and stored after: through the rule's pointers each
// element's load waited for the store before it (a compiler cannot tell the floats apart).
template <int MAXF>
__device__ __forceinline__ void det_load_elements(const float* p, const float* st, int f1, int G, int dim,
                                                  float (&pv)[MAXF], float (&sv)[MAXF]) {
#pragma unroll
  for (int m = 0; m < MAXF; m++) {
    const int f = f1 + G * m;
    pv[m] = f < dim ? p[f] : 0.f;
    sv[m] = st != nullptr && f < dim ? st[f] : 0.f;
  }
}

template <int MAXF>
__device__ __forceinline__ void det_store_elements(float* p, float* st, int f1, int G, int dim,
                                                   const float (&pv)[MAXF], const float (&sv)[MAXF]) {
#pragma unroll
  for (int m = 0; m < MAXF; m++) {
    const int f = f1 + G * m;
    if (f < dim) {
      p[f] = pv[m];
      if (st != nullptr) {
        st[f] = sv[m];
      }
    }
  }
}

// Sums a touched row's records, given in record-id order (ord[i * ordStride], i < len: ids, or with
// inlineValues the implicit values themselves), in that order and applies the optimizer to the row, with
// the G lanes (mask) of the group that owns the row; det_apply_rows and det_apply_cold share it, so the
// two walks give the same bits.
template <unsigned kRules, int MAXF = DET_MAXF>
__device__ __forceinline__ void det_update_row(const int* ord, int ordStride, int len, bool inlineValues, int row,
                                               int field, int fieldBase, int G, int gl, unsigned mask,
                                               const float* __restrict__ recS, const float* __restrict__ recG,
                                               int gStride, const float* __restrict__ recS1,
                                               const int* __restrict__ meta, int n, bool implicitMode,
                                               const float* __restrict__ head, float* __restrict__ tables,
                                               float* __restrict__ tableAccum, float* __restrict__ firstOrder,
                                               float* __restrict__ foAccum, int opt, float lr, float eps) {
  const int perPass = G * MAXF;
  const int dim = meta_get(meta, n, META_DIM, field);
  const int dimOff = meta_get(meta, n, META_DIMOFF, field);
  const int rowBase = meta_get(meta, n, META_ROWBASE, field);
  const size_t base = (size_t)meta_get(meta, n, META_TABLEOFF, field) + (size_t)(row - rowBase) * dim;
  // A copy of the loops per rule, each with its element state only where the rule has one; a lane's
  // DET_MAXF elements of a pass are loaded together, updated in registers and stored (with 8 per pass,
  // or the rule chosen per element, the kernels spilled 120 to 260 bytes under their launch bounds).
  float acc[MAXF];
  float s, s1;
  // The update passes, with the row's scalars r (rules with a row statistic) and the element state st
  // (null where the rule has none): sum the records of a pass's elements, then update them.
  auto update = [&](auto rule, float* st, const RowScalars& r) {
    using R = decltype(rule);
    for (int f0 = 0; f0 < dim; f0 += perPass) {
      det_row_sum<MAXF>(ord, ordStride, len, fieldBase, dim, dimOff, implicitMode, inlineValues, recS, recG, gStride,
                        recS1, f0, G, gl, acc, s, s1);
      float pv[MAXF], sv[MAXF];
      det_load_elements(tables + base, st, f0 + gl, G, dim, pv, sv);
#pragma unroll
      for (int m = 0; m < MAXF; m++) {
        int f = f0 + gl + G * m;
        if (f < dim) {
          float g = implicitMode ? s * __ldg(head + dimOff + f) : acc[m];
          R::element(pv[m], sv[m], g, r, lr, eps);
        }
      }
      det_store_elements(tables + base, st, f0 + gl, G, dim, pv, sv);
    }
  };
  if (rule_row_stat<kRules>(opt)) {
    with_rule<kRules>(opt, [&](auto rule) {
      using R = decltype(rule);
      if constexpr (R::kRowStat) {  // only these rules reach here: one copy of the loops each
        float* st = R::state(tableAccum, base, row, dim);
        float sq = 0.f;
        for (int f0 = 0; f0 < dim; f0 += perPass) {
          det_row_sum<MAXF>(ord, ordStride, len, fieldBase, dim, dimOff, implicitMode, inlineValues, recS, recG,
                            gStride, recS1, f0, G, gl, acc, s, s1);
#pragma unroll
          for (int m = 0; m < MAXF; m++) {
            int f = f0 + gl + G * m;
            if (f < dim) {
              float g = implicitMode ? s * __ldg(head + dimOff + f) : acc[m];
              sq = fmaf(g, g, sq);
            }
          }
        }
        sq = group_sum(sq, G, mask);
        const RowScalars r = R::begin(st, dim, sq, lr, eps);
        update(rule, R::kElementState ? st : nullptr, r);
        __syncwarp(mask);  // every lane of the group has read the row's state in begin
        if (gl == 0) {
          R::end(st, dim, sq, r);
        }
      }
    });
  } else {
    with_rule<kRules>(opt, [&](auto rule) {
      using R = decltype(rule);
      if constexpr (!R::kRowStat) {  // a copy of the loops per rule: the element state only where it exists
        update(rule, R::kElementState ? R::state(tableAccum, base, row, dim) : nullptr, RowScalars{0.f, 0.f});
      }
    });
  }
  if (gl == 0 && firstOrder != nullptr) {
    with_rule<kRules>(opt, [&](auto rule) { decltype(rule)::scalar(firstOrder + row, foAccum + row, s1, lr, eps); });
  }
}

// Launch bounds (on the entries below): this kernel is bound by the latency of its dependent loads (list
// walk, records, row), so it wants the warps; without bounds the compiler took 67 registers (3 blocks of
// 256 per SM).
// kRules: the optimizers (bits 1 << OPT_*) this entry compiles; with_rule traps on any other.
// A group of G lanes per touched row (grid-stride over the touched list; G fits the widest row, at least
// DET_SUBLISTS lanes, so narrow tables put several rows in a warp). The group collects the row's records
// in record-id (= tile) order, sums them in that order and applies the optimizer.
//   Parallel walk (G >= DET_SUBLISTS and C <= 64): lane k walks sub-list k (at most C records, pushed in
//   no particular order), drops each record id into the slot of its tile in buf[k C, (k + 1) C) and marks
//   the slot in a 64-bit mask; a scan of the lanes' counts then writes the ids in tile order to sorted.
//   So a hot row's list of up to B / tile records costs C dependent loads, not B / tile, and no sort.
//   With implicit gradients (one float per record, no first-order sums) the lane loads the record's
//   value with its link and keeps the value instead of the id: the sum then reads only shared memory.
//   Serial walk (otherwise, or walkMode has DET_WALK_SERIAL): one list after the other into buf, then a
//   rank sort. walkMode's other bits are benchmark variants of the parallel walk (kernel_constants.cuh).
// Both give the same order, hence the same sums bit for bit. Dynamic shared memory per group:
// DET_SUBLISTS C + maxList + DET_SUBLISTS ints (slots, ordered records, sub-list counts), maxList = the
// most records a row can have (its field's tiles per step); CudaBackend.detGroupBytes.
template <unsigned kRules>
__device__ __forceinline__ void det_apply_rows_body(const int* __restrict__ touchedList, const int* __restrict__ touchedCount,
                                          int* __restrict__ touchedFlag, int* __restrict__ listHead,
                                          const int* __restrict__ recNext,
                                          const float* __restrict__ recS, const float* __restrict__ recG,
                                          const float* __restrict__ recS1, int B, int gStride, int maxList,
                                          int G, int tileRows, int walkMode, int clearFlags,
                                          const int* __restrict__ meta, int n,
                                          int gradMode, const float* __restrict__ head, float* __restrict__ tables,
                                          float* __restrict__ tableAccum, float* __restrict__ firstOrder,
                                          float* __restrict__ foAccum, int opt, float lr, float eps) {
  extern __shared__ int detShared[];
  const int lane = threadIdx.x & 31;
  const int gl = lane & (G - 1);
  const unsigned mask = G == 32 ? 0xffffffffu : (((1u << G) - 1u) << (lane & ~(G - 1)));
  const int groupInBlock = threadIdx.x / G;
  const int groupsPerBlock = blockDim.x / G;
  const int nGroups = gridDim.x * groupsPerBlock;
  const int C = det_tiles_per_sublist(maxList);
  int* buf = detShared + groupInBlock * (DET_SUBLISTS * C + maxList + DET_SUBLISTS);
  int* sorted = buf + DET_SUBLISTS * C;
  const int tileShift = __ffs(tileRows) - 1;  // tileRows: a power of two
  const bool implicitMode = gradMode == 0;
  const int count = *touchedCount;
  // By default the parallel walk only while the step touched fewer than DET_PARALLEL_WALK_MAX_ROWS rows:
  // on the H200 it cost more per row than the serial walk on steps of many rows with short lists (single
  // tables of 1M rows at batch 131072, 20 narrow tables) and far less on rows of long lists. The count is
  // a function of the batch, and both walks give the same bits.
  const bool parallelWalk = (walkMode & DET_WALK_SERIAL) == 0 && G >= DET_SUBLISTS && C <= 64 &&
                            ((walkMode & DET_WALK_PARALLEL) != 0 || count < DET_PARALLEL_WALK_MAX_ROWS);
  for (int t = blockIdx.x * groupsPerBlock + groupInBlock; t < count; t += nGroups) {
    const int row = touchedList[t];
    const int field = field_of_row(meta, n, row);
    const int fieldBase = field * B;
    int* heads = listHead + (size_t)row * DET_SUBLISTS;
    int len;
    bool inlineValues = false;
    if (parallelWalk) {
      inlineValues = implicitMode && recS1 == nullptr && (walkMode & DET_WALK_NO_INLINE) == 0;
      unsigned long long slots = 0ull;
      int* mine = buf + gl * C;
      int id = -1;
      if (gl < DET_SUBLISTS) {
        id = heads[gl];
        heads[gl] = -1;  // reset for the next step (only this lane reads it)
      }
      // one record of this lane's sub-list: its slot is its tile within the sub-list's range
      auto take = [&](int rec) {
        const int s = ((rec - fieldBase) >> tileShift) - gl * C;
        if ((unsigned)s >= (unsigned)C || ((slots >> s) & 1ull)) {
          __trap();  // a record outside its sub-list's tiles, or two in one tile: a broken list
        }
        // implicit gradients: the record's value instead of its id (loaded beside the next link)
        mine[s] = inlineValues ? __float_as_int(__ldg(recS + rec)) : rec;
        slots |= 1ull << s;
      };
      if (walkMode & DET_WALK_UNIFORM) {
        // the group steps together until its longest sub-list ends
        while (__any_sync(mask, id >= 0)) {
          if (id >= 0) {
            const int next = recNext[id];
            take(id);
            id = next;
          }
        }
      } else {
        while (id >= 0) {
          const int next = recNext[id];
          take(id);
          id = next;
        }
      }
      // exclusive scan of the lanes' counts (lanes >= DET_SUBLISTS have none), in lane = tile order
      const int c = __popcll(slots);
      int j;
      if (walkMode & DET_WALK_SMEM_SCAN) {  // through shared memory, no shuffles
        int* counts = sorted + maxList;
        if (gl < DET_SUBLISTS) {
          counts[gl] = c;
        }
        __syncwarp(mask);
        j = 0;
        len = 0;
#pragma unroll
        for (int k = 0; k < DET_SUBLISTS; k++) {
          const int v = counts[k];
          j += k < gl ? v : 0;
          len += v;
        }
      } else {
        int incl = c;
        for (int o = 1; o < G; o <<= 1) {
          const int y = __shfl_up_sync(mask, incl, o, G);
          if (gl >= o) {
            incl += y;
          }
        }
        len = __shfl_sync(mask, incl, G - 1, G);
        j = incl - c;
      }
      while (slots != 0ull) {  // this lane's own slots: no other lane wrote them
        const int s = __ffsll((long long)slots) - 1;
        slots &= slots - 1ull;
        sorted[j++] = mine[s];
      }
    } else {
      len = 0;
      for (int k = 0; k < DET_SUBLISTS; k++) {
        for (int id = heads[k]; id >= 0; id = recNext[id]) {
          if (len == maxList) {
            __trap();  // more records than tiles: a broken list (never seen); fail loudly, never corrupt
          }
          if (gl == (len & (G - 1))) {
            buf[len] = id;
          }
          len++;
        }
      }
      __syncwarp(mask);  // every lane has read the heads
      if (gl < DET_SUBLISTS) {
        for (int k = gl; k < DET_SUBLISTS; k += G) {
          heads[k] = -1;
        }
      }
      // rank sort: record ids are distinct
      for (int i = gl; i < len; i += G) {
        int key = buf[i];
        int rank = 0;
        for (int j = 0; j < len; j++) {
          rank += buf[j] < key ? 1 : 0;
        }
        sorted[rank] = key;
      }
    }
    __syncwarp(mask);  // sorted is complete
    det_update_row<kRules>(sorted, 1, len, inlineValues, row, field, fieldBase, G, gl, mask, recS, recG, gStride,
                           recS1, meta, n, implicitMode, head, tables, tableAccum, firstOrder, foAccum, opt, lr,
                           eps);
    if (gl == 0 && clearFlags) {  // else det_apply_cold, running beside this kernel, clears it
      touchedFlag[row] = 0;
    }
    __syncwarp(mask);  // buf and sorted are reused by this group's next row
  }
}

#define DET_APPLY_PARAMS                                                                                     \
  const int *__restrict__ touchedList, const int *__restrict__ touchedCount, int *__restrict__ touchedFlag,     \
      int *__restrict__ listHead, const int *__restrict__ recNext, const float *__restrict__ recS,              \
      const float *__restrict__ recG, const float *__restrict__ recS1, int B, int gStride, int maxList, int G,   \
      int tileRows, int walkMode, int clearFlags, const int *__restrict__ meta, int n, int gradMode,            \
      const float *__restrict__ head, float *__restrict__ tables, float *__restrict__ tableAccum,               \
      float *__restrict__ firstOrder, float *__restrict__ foAccum, int opt, float lr, float eps
#define DET_APPLY_ARGS                                                                                       \
  touchedList, touchedCount, touchedFlag, listHead, recNext, recS, recG, recS1, B, gStride, maxList, G,        \
      tileRows, walkMode, clearFlags, meta, n, gradMode, head, tables, tableAccum, firstOrder, foAccum, opt, lr, eps

// SGD, Adagrad and row-wise Adagrad. With the sub-list walk it needs more registers than (256, 5) gives
// (48: about 300 bytes of spill stores, ptxas -v, sm_90, nvcc 13.0); (256, 4) gives 64 and 8 bytes.
extern "C" __global__ void __launch_bounds__(KERNEL_THREADS, 4) det_apply_rows(DET_APPLY_PARAMS) {
  det_apply_rows_body<RULES_ALL & ~(1u << OPT_ROWWISE_ADAM)>(DET_APPLY_ARGS);
}

// Row-wise Adam, in its own kernel: compiled into det_apply_rows it made the whole kernel spill (every
// optimizer paying for it); alone, with the sub-list walk, it spills 52 bytes under (256, 4) and 12 under
// (256, 3) (80 registers).
extern "C" __global__ void __launch_bounds__(KERNEL_THREADS, 3) det_apply_rows_adam(DET_APPLY_PARAMS) {
  det_apply_rows_body<(1u << OPT_ROWWISE_ADAM)>(DET_APPLY_ARGS);
}

// ---------------------------------------------------------------------------------------------------
// Deterministic mode, rows of few records (det_apply_cold). Most touched rows of a large step have a few
// records (2 to 13 at 40,000 to 310,000 touched rows on the benchmark grid), and det_apply_rows' groups of
// at least DET_SUBLISTS lanes, each with its shared record buffers, hold too few of them in flight to hide
// the walk's dependent loads. Here a warp takes 32 touched rows, one per lane:
//   walk: the lane reads the row's record count (the push's counter in touchedFlag); a row of more than
//     DET_COLD_RECORDS records is hot: the scatter listed it for det_apply_rows, which runs beside this
//     kernel (another stream of the step), and this kernel only clears its count. Otherwise the lane loads the row's 8 sub-list heads (one 32-byte sector), advances all 8 sub-lists a
//     record at a time (8 independent loads per step: a step per record of the longest sub-list), inserts
//     the ids into a sorted array in registers, and (implicit gradients) loads their values at once; then
//     it clears the heads and the count. The ids, or values, go to shared memory, column per lane.
//   apply: groups of G lanes take the warp's rows in turn and apply them with det_update_row, the code
//     det_apply_rows uses, on the same record order: the same bits (for the rules with a row statistic,
//     whose sum of squares is a tree over the group's lanes, the host gives both kernels the same G).
//   A warp takes R <= 32 rows at a time (lanes >= R do not walk): wide rows (large G) would otherwise
//   leave each group 32 / (32 / G) rows to apply one after the other.
// Shared memory: per warp 32 x (DET_COLD_RECORDS + 2) ints (static).
__device__ __forceinline__ void det_sorted_insert(int (&a)[DET_COLD_RECORDS], int x) {
  // a is ascending, padded with 0x7fffffff; constant indices only, so that a stays in registers
#pragma unroll
  for (int i = DET_COLD_RECORDS - 1; i > 0; i--) {
    a[i] = a[i - 1] > x ? a[i - 1] : (a[i] > x ? x : a[i]);
  }
  a[0] = a[0] > x ? x : a[0];
}

template <unsigned kRules>
__device__ __forceinline__ void det_apply_cold_body(const int* __restrict__ touchedList,
                                                    const int* __restrict__ touchedCount, int* __restrict__ touchedFlag,
                                                    int* __restrict__ listHead, const int* __restrict__ recNext,
                                                    const float* __restrict__ recS, const float* __restrict__ recG,
                                                    const float* __restrict__ recS1, int B, int gStride, int G, int R,
                                                    const int* __restrict__ meta, int n, int gradMode,
                                                    const float* __restrict__ head, float* __restrict__ tables,
                                                    float* __restrict__ tableAccum, float* __restrict__ firstOrder,
                                                    float* __restrict__ foAccum, int opt, float lr, float eps) {
  constexpr int K = DET_COLD_RECORDS;
  __shared__ int coldShared[KERNEL_THREADS / 32][(K + 2) * 32];
  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  int* ordW = coldShared[warp];  // record i of the warp's row j at ordW[i * 32 + j]
  int* lenW = ordW + K * 32;     // records of row j; -1: no row or a hot row
  int* rowW = lenW + 32;
  const int gl = lane & (G - 1);
  const unsigned mask = G == 32 ? 0xffffffffu : (((1u << G) - 1u) << (lane & ~(G - 1)));
  const int count = *touchedCount;
  const bool implicitMode = gradMode == 0;
  const bool inlineValues = implicitMode && recS1 == nullptr;
  const int warpsTotal = gridDim.x * (blockDim.x >> 5);
  for (int t0 = (blockIdx.x * (blockDim.x >> 5) + warp) * R; t0 < count; t0 += warpsTotal * R) {
    int len = -1;
    int row = -1;
    if (lane < R && t0 + lane < count) {
      row = touchedList[t0 + lane];
      // the heads with the count, before it is known whether the row is cold: one dependent load less (a
      // hot row's heads, which det_apply_rows may be resetting meanwhile, are not used)
      int4* hp = reinterpret_cast<int4*>(listHead + (size_t)row * DET_SUBLISTS);
      const int recs = touchedFlag[row];
      const int4 h0 = hp[0];
      const int4 h1 = hp[1];
      if (recs > K) {
        touchedFlag[row] = 0;  // a hot row, listed by the scatter for det_apply_rows, which leaves this to us
      } else {
        int id[DET_SUBLISTS] = {h0.x, h0.y, h0.z, h0.w, h1.x, h1.y, h1.z, h1.w};
        int a[K];
#pragma unroll
        for (int i = 0; i < K; i++) {
          a[i] = 0x7fffffff;
        }
        len = 0;
        for (;;) {
          int all = -1;
#pragma unroll
          for (int k = 0; k < DET_SUBLISTS; k++) {
            all &= id[k];
          }
          if (all < 0) {  // every sub-list ended
            break;
          }
          int nx[DET_SUBLISTS];
#pragma unroll
          for (int k = 0; k < DET_SUBLISTS; k++) {
            nx[k] = id[k] >= 0 ? __ldg(recNext + id[k]) : -1;
          }
#pragma unroll
          for (int k = 0; k < DET_SUBLISTS; k++) {
            if (id[k] >= 0) {
              if (len == K) {
                __trap();  // more records than the row's count: a broken list (never seen)
              }
              det_sorted_insert(a, id[k]);
              len++;
            }
            id[k] = nx[k];
          }
        }
        if (len != recs) {
          __trap();  // fewer records than the row's count: a broken list
        }
        if (inlineValues) {  // the values, not the ids: independent loads, all in flight
#pragma unroll
          for (int i = 0; i < K; i++) {
            if (i < len) {
              a[i] = __float_as_int(__ldg(recS + a[i]));
            }
          }
        }
#pragma unroll
        for (int i = 0; i < K; i++) {
          if (i < len) {
            ordW[i * 32 + lane] = a[i];
          }
        }
        const int4 none = make_int4(-1, -1, -1, -1);
        hp[0] = none;  // reset for the next step (only this lane reads them)
        hp[1] = none;
        touchedFlag[row] = 0;
      }
    }
    lenW[lane] = len;
    rowW[lane] = row;
    __syncwarp();  // the warp's records are in shared memory
    for (int j = lane / G; j < R; j += 32 / G) {
      const int lenJ = lenW[j];
      if (lenJ >= 0) {  // the same for the group's lanes
        const int rowJ = rowW[j];
        const int field = field_of_row(meta, n, rowJ);
        det_update_row<kRules>(ordW + j, 32, lenJ, inlineValues, rowJ, field, field * B, G, gl, mask, recS, recG,
                               gStride, recS1, meta, n, implicitMode, head, tables, tableAccum, firstOrder, foAccum,
                               opt, lr, eps);
      }
    }
    __syncwarp();  // shared memory is reused by the warp's next rows
  }
}

#define DET_COLD_PARAMS                                                                                      \
  const int *__restrict__ touchedList, const int *__restrict__ touchedCount, int *__restrict__ touchedFlag,     \
      int *__restrict__ listHead, const int *__restrict__ recNext, const float *__restrict__ recS,              \
      const float *__restrict__ recG, const float *__restrict__ recS1, int B, int gStride, int G, int R,        \
      const int *__restrict__ meta, int n, int gradMode, const float *__restrict__ head,                        \
      float *__restrict__ tables, float *__restrict__ tableAccum, float *__restrict__ firstOrder,               \
      float *__restrict__ foAccum, int opt, float lr, float eps
#define DET_COLD_ARGS                                                                                        \
  touchedList, touchedCount, touchedFlag, listHead, recNext, recS, recG, recS1, B, gStride, G, R, meta, n,     \
      gradMode, head, tables, tableAccum, firstOrder, foAccum, opt, lr, eps

extern "C" __global__ void __launch_bounds__(KERNEL_THREADS, 4) det_apply_cold(DET_COLD_PARAMS) {
  det_apply_cold_body<RULES_ALL & ~(1u << OPT_ROWWISE_ADAM)>(DET_COLD_ARGS);
}

extern "C" __global__ void __launch_bounds__(KERNEL_THREADS, 3) det_apply_cold_adam(DET_COLD_PARAMS) {
  det_apply_cold_body<(1u << OPT_ROWWISE_ADAM)>(DET_COLD_ARGS);
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
