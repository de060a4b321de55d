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

// Row-wise Adam (FBGEMM's ROWWISE_ADAM; io.fastembedding.optim.RowwiseAdam): the row's state is dim + 2
// floats [m_0 .. m_{dim-1}, v, t] at base + 2 row (rows packed in row-id order, dim + 2 floats each).
//   t += 1;  v = b2 v + (1 - b2) mean_f g[f]^2;  m[f] = b1 m[f] + (1 - b1) g[f];
//   p[f] -= lr (m[f] / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).
// The bias correction counts the row's own steps (a row first touched late is not under-corrected).
// Scalars: Adagrad.
struct RowwiseAdamRule {
  static constexpr bool kRowStat = true;
  struct Row {
    float v;
    float t;
    float c1;     // 1 - b1^t
    float denom;  // sqrt(v / (1 - b2^t)) + eps
  };
  __device__ static __forceinline__ float* state(float* acc, size_t base, int row, int dim) {
    return acc + base + 2 * (size_t)row;
  }
  __device__ static __forceinline__ Row begin(const float* st, int dim, float sq, float lr, float eps) {
    float t = st[dim + 1] + 1.f;
    float v = ADAM_BETA2 * st[dim] + (1.f - ADAM_BETA2) * (sq / dim);
    float c1 = 1.f - powf(ADAM_BETA1, t);
    float c2 = 1.f - powf(ADAM_BETA2, t);
    return {v, t, c1, sqrtf(v / c2) + eps};
  }
  __device__ static __forceinline__ void element(float* p, float* st, int f, float g, const Row& r, float lr,
                                                 float eps) {
    float m = ADAM_BETA1 * st[f] + (1.f - ADAM_BETA1) * g;
    st[f] = m;
    *p -= lr * (m / r.c1) / r.denom;
  }
  // after every lane has read st[dim] in begin (the callers synchronise the row's lanes first)
  __device__ static __forceinline__ void end(float* st, int dim, const Row& r) {
    st[dim] = r.v;
    st[dim + 1] = r.t;
  }
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
    case OPT_ROWWISE_ADAM:
      body(RowwiseAdamRule{});
      break;
    default:
      __trap();  // a code the host never sends: fail loudly rather than skip the update
  }
}
