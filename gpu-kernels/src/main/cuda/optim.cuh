// The optimizers' update rules: one struct per optimizer, the one home of each rule in CUDA (the Java
// home is io.fastembedding.optim; the math is docs/model.md). finish_step (atomic mode, the gradient
// summed in a scratch) and det_apply_rows (deterministic mode, the gradient summed from the records)
// apply an embedding row through begin / element / end below, and the head and first-order weights
// through Rule::scalar; with_rule turns the run-time optimizer code into the rule. The atomic scatter only sums a step's gradient: for SGD the host points it at the
// tables with scale -lr, which is SgdRule's step p -= lr g added atomically.
//
// A rule provides:
//   kRowStat             whether the row update needs sum_f g[f]^2 over the row before any element moves
//   state(acc, base, row, dim)   where the row's table state starts (base: the row's first table float,
//                        row: its id in the scalar-per-row space)
//   RowScalars begin(st, dim, sq, lr, eps)   the per-row part of the update, from the state before the
//                        step (one type for every rule, so that a kernel can hold it across a run-time
//                        choice of rule)
//   kElementState        whether element reads and writes a state float per element (st[f])
//   element(p, s, g, r, lr, eps)  one element of the row, on values the caller loaded: p the table float,
//                        s its state float st[f] (untouched by rules without kElementState), g its batch
//                        gradient; the caller stores both back. So a caller loads all its elements of a
//                        row before it updates any (through a pointer, each element's load waited for the
//                        store before it: a compiler cannot tell the floats apart)
//   end(st, dim, sq, r)  writes the per-row state (after the elements; one lane)
//   scalar(p, acc, g, lr, eps)  a first-order weight or head parameter with its own accumulator
#pragma once

#include "common.cuh"

// The per-row values a rule's begin computes for its elements and its end; each rule names its use.
struct RowScalars {
  float a, b;
};

// p -= lr g.
struct SgdRule {
  static constexpr bool kRowStat = false;
  static constexpr bool kElementState = false;
  __device__ static __forceinline__ float* state(float* acc, size_t base, int row, int dim) { return acc; }
  __device__ static __forceinline__ RowScalars begin(const float* st, int dim, float sq, float lr, float eps) { return {0.f, 0.f}; }
  __device__ static __forceinline__ void element(float& p, float& s, float g, const RowScalars& r, float lr,
                                                 float eps) {
    p -= lr * g;
  }
  __device__ static __forceinline__ void end(float* st, int dim, float sq, const RowScalars& r) {}
  __device__ static __forceinline__ void scalar(float* p, float* acc, float g, float lr, float eps) { *p -= lr * g; }
};

// Per element: a += g^2; p -= lr g / (sqrt(a) + eps).
struct AdagradRule {
  static constexpr bool kRowStat = false;
  static constexpr bool kElementState = true;
  __device__ static __forceinline__ float* state(float* acc, size_t base, int row, int dim) { return acc + base; }
  __device__ static __forceinline__ RowScalars begin(const float* st, int dim, float sq, float lr, float eps) { return {0.f, 0.f}; }
  __device__ static __forceinline__ void element(float& p, float& s, float g, const RowScalars& r, float lr,
                                                 float eps) {
    float G = s + g * g;
    s = G;
    p -= lr * g / (sqrtf(G) + eps);
  }
  __device__ static __forceinline__ void end(float* st, int dim, float sq, const RowScalars& r) {}
  __device__ static __forceinline__ void scalar(float* p, float* acc, float g, float lr, float eps) {
    float G = *acc + g * g;
    *acc = G;
    *p -= lr * g / (sqrtf(G) + eps);
  }
};

// One accumulator per row: a += mean_f g[f]^2; p[f] -= lr g[f] / (sqrt(a) + eps). Scalars: Adagrad.
struct RowwiseAdagradRule {
  static constexpr bool kRowStat = true;
  static constexpr bool kElementState = false;
  // RowScalars: a = the new accumulator, b = sqrt(a) + eps
  __device__ static __forceinline__ float* state(float* acc, size_t base, int row, int dim) { return acc + row; }
  __device__ static __forceinline__ RowScalars begin(const float* st, int dim, float sq, float lr, float eps) {
    float G = st[0] + sq / dim;
    return {G, sqrtf(G) + eps};
  }
  __device__ static __forceinline__ void element(float& p, float& s, float g, const RowScalars& r, float lr,
                                                 float eps) {
    p -= lr * g / r.b;
  }
  __device__ static __forceinline__ void end(float* st, int dim, float sq, const RowScalars& r) { st[0] = r.a; }
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
  static constexpr bool kElementState = true;  // m[f]
  // RowScalars: a = 1 - b1^t, b = sqrt(v / (1 - b2^t)) + eps. Two per-row floats, like row-wise
  // Adagrad's, and end recomputes v and t from the state and sq: det_apply_rows keeps these live across
  // its element loop, and four of them cost it about 200 bytes of spills under its launch bounds.
  __device__ static __forceinline__ float* state(float* acc, size_t base, int row, int dim) {
    return acc + base + 2 * (size_t)row;
  }
  __device__ static __forceinline__ float next_t(const float* st, int dim) { return st[dim + 1] + 1.f; }
  __device__ static __forceinline__ float next_v(const float* st, int dim, float sq) {
    return ADAM_BETA2 * st[dim] + (1.f - ADAM_BETA2) * (sq / dim);
  }
  __device__ static __forceinline__ RowScalars begin(const float* st, int dim, float sq, float lr, float eps) {
    float t = next_t(st, dim);
    float v = next_v(st, dim, sq);
    float c1 = 1.f - powf(ADAM_BETA1, t);
    float c2 = 1.f - powf(ADAM_BETA2, t);
    return {c1, sqrtf(v / c2) + eps};
  }
  __device__ static __forceinline__ void element(float& p, float& s, float g, const RowScalars& r, float lr,
                                                 float eps) {
    float m = ADAM_BETA1 * s + (1.f - ADAM_BETA1) * g;
    s = m;
    p -= lr * (m / r.a) / r.b;
  }
  // after every lane has read st[dim] in begin (the callers synchronise the row's lanes first)
  __device__ static __forceinline__ void end(float* st, int dim, float sq, const RowScalars& r) {
    float v = next_v(st, dim, sq);
    float t = next_t(st, dim);
    st[dim] = v;
    st[dim + 1] = t;
  }
  __device__ static __forceinline__ void scalar(float* p, float* acc, float g, float lr, float eps) {
    AdagradRule::scalar(p, acc, g, lr, eps);
  }
};

// Rule sets: bit (1 << OPT_x) for each optimizer code.
#define RULES_ALL ((1u << OPT_SGD) | (1u << OPT_ADAGRAD) | (1u << OPT_ROWWISE) | (1u << OPT_ROWWISE_ADAM))
template <unsigned kRules = RULES_ALL, class Body>
__device__ __forceinline__ void with_rule(int opt, Body body) {
  switch (opt) {
    case OPT_SGD:
      if constexpr ((kRules >> OPT_SGD) & 1u) { body(SgdRule{}); return; }
      break;
    case OPT_ADAGRAD:
      if constexpr ((kRules >> OPT_ADAGRAD) & 1u) { body(AdagradRule{}); return; }
      break;
    case OPT_ROWWISE:
      if constexpr ((kRules >> OPT_ROWWISE) & 1u) { body(RowwiseAdagradRule{}); return; }
      break;
    case OPT_ROWWISE_ADAM:
      if constexpr ((kRules >> OPT_ROWWISE_ADAM) & 1u) { body(RowwiseAdamRule{}); return; }
      break;
  }
  __trap();
}

// Whether the rule of opt needs the row's sum of squares before its elements (Rule::kRowStat).
template <unsigned kRules = RULES_ALL>
__device__ __forceinline__ bool rule_row_stat(int opt) {
  bool r = false;
  with_rule<kRules>(opt, [&](auto rule) { r = decltype(rule)::kRowStat; });
  return r;
}
