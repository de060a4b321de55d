// The optimizers' update rules: one struct per optimizer, the one home of each rule in CUDA (the Java
// home is io.fastembedding.optim; the math is docs/model.md). finish_step (atomic mode, the gradient
// summed in a scratch) and det_apply_rows (deterministic mode, the gradient summed from the records)
// apply an embedding row through row_update below, and the head and first-order weights through
// Rule::scalar. The atomic scatter only sums a step's gradient: for SGD the host points it at the
// tables with scale -lr, which is SgdRule's step p -= lr g added atomically.
//
// A rule provides:
//   kRowStat             whether the row update needs sum_f g[f]^2 over the row before any element moves
//   state(acc, base, row, dim)   where the row's table state starts (base: the row's first table float,
//                        row: its id in the scalar-per-row space)
//   Row begin(st, dim, sq, lr, eps)   the per-row part of the update, from the state before the step
//   element(p, st, f, g, r, lr, eps)  element f of the row (p: the table float, g: its batch gradient)
//   end(st, dim, r)      writes the per-row state (after the elements; one lane)
//   scalar(p, acc, g, lr, eps)  a first-order weight or head parameter with its own accumulator
#pragma once

#include "common.cuh"

// p -= lr g.
struct SgdRule {
  static constexpr bool kRowStat = false;
  struct Row {};
  __device__ static __forceinline__ float* state(float* acc, size_t base, int row, int dim) { return acc; }
  __device__ static __forceinline__ Row begin(const float* st, int dim, float sq, float lr, float eps) { return {}; }
  __device__ static __forceinline__ void element(float* p, float* st, int f, float g, const Row& r, float lr,
                                                 float eps) {
    *p -= lr * g;
  }
  __device__ static __forceinline__ void end(float* st, int dim, const Row& r) {}
  __device__ static __forceinline__ void scalar(float* p, float* acc, float g, float lr, float eps) { *p -= lr * g; }
};

// Per element: a += g^2; p -= lr g / (sqrt(a) + eps).
struct AdagradRule {
  static constexpr bool kRowStat = false;
  struct Row {};
  __device__ static __forceinline__ float* state(float* acc, size_t base, int row, int dim) { return acc + base; }
  __device__ static __forceinline__ Row begin(const float* st, int dim, float sq, float lr, float eps) { return {}; }
  __device__ static __forceinline__ void element(float* p, float* st, int f, float g, const Row& r, float lr,
                                                 float eps) {
    float G = st[f] + g * g;
    st[f] = G;
    *p -= lr * g / (sqrtf(G) + eps);
  }
  __device__ static __forceinline__ void end(float* st, int dim, const Row& r) {}
  __device__ static __forceinline__ void scalar(float* p, float* acc, float g, float lr, float eps) {
    float G = *acc + g * g;
    *acc = G;
    *p -= lr * g / (sqrtf(G) + eps);
  }
};

// One accumulator per row: a += mean_f g[f]^2; p[f] -= lr g[f] / (sqrt(a) + eps). Scalars: Adagrad.
struct RowwiseAdagradRule {
  static constexpr bool kRowStat = true;
  struct Row {
    float G;
    float denom;
  };
  __device__ static __forceinline__ float* state(float* acc, size_t base, int row, int dim) { return acc + row; }
  __device__ static __forceinline__ Row begin(const float* st, int dim, float sq, float lr, float eps) {
    float G = st[0] + sq / dim;
    return {G, sqrtf(G) + eps};
  }
  __device__ static __forceinline__ void element(float* p, float* st, int f, float g, const Row& r, float lr,
                                                 float eps) {
    *p -= lr * g / r.denom;
  }
  __device__ static __forceinline__ void end(float* st, int dim, const Row& r) { st[0] = r.G; }
  __device__ static __forceinline__ void scalar(float* p, float* acc, float g, float lr, float eps) {
    AdagradRule::scalar(p, acc, g, lr, eps);
  }
};

// Calls body(Rule{}) with the rule of the optimizer code opt (OPT_* in kernel_constants.cuh): the one
// place a run-time optimizer code becomes a rule.
template <class Body>
__device__ __forceinline__ void with_rule(int opt, Body body) {
  switch (opt) {
    case OPT_SGD:
      body(SgdRule{});
      break;
    case OPT_ADAGRAD:
      body(AdagradRule{});
      break;
    case OPT_ROWWISE:
      body(RowwiseAdagradRule{});
      break;
    default:
      __trap();  // a code the host never sends: fail loudly rather than skip the update
  }
}
