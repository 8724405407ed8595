// The two inner loops the CPU reference's matrix products (linear, conv2d) are built from:
// y += a * x over a row, and the dot product of two rows. Each runs over contiguous memory.
//
// Why they look the way they do: the release build is -O2, where g++ 12's vectoriser uses its
// "very cheap" cost model. It only vectorises a loop whose trip count needs no scalar remainder
// and whose arrays provably do not overlap, so the rows are walked in fixed blocks of 8 (a loop
// it vectorises into SSE) with __restrict pointers, and the remainder runs as a plain loop. The
// arithmetic is the textbook one; only the order of the additions in `dot` (8 partial sums) is
// chosen, so results do not depend on whether the compiler vectorised.
#pragma once

#include <cstdint>

namespace kiln::cpu {

inline constexpr int kInnerBlock = 8;

// y[i] += a * x[i] for i < count; x and y must not overlap.
inline void add_scaled(std::int64_t count, float a, const float* __restrict x,
                       float* __restrict y) {
  std::int64_t i = 0;
  for (; i + kInnerBlock <= count; i += kInnerBlock) {
    for (int j = 0; j < kInnerBlock; ++j) y[i + j] += a * x[i + j];
  }
  for (; i < count; ++i) y[i] += a * x[i];
}

// sum of x[i] * y[i] for i < count, in float: 8 interleaved partial sums, then the remainder.
inline float dot(std::int64_t count, const float* __restrict x, const float* __restrict y) {
  float partial[kInnerBlock] = {};
  std::int64_t i = 0;
  for (; i + kInnerBlock <= count; i += kInnerBlock) {
    for (int j = 0; j < kInnerBlock; ++j) partial[j] += x[i + j] * y[i + j];
  }
  float sum = 0.0f;
  for (float p : partial) sum += p;
  for (; i < count; ++i) sum += x[i] * y[i];
  return sum;
}

}  // namespace kiln::cpu
