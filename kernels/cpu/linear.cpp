// Linear as three GEMMs on OpenBLAS (kernels/cpu/blas.h), each cut into ranges of output columns
// that run in parallel: every output element belongs to exactly one range and is computed by one
// product, so it does not depend on the thread count. The ranges of forward and backward_weight
// are ranges of out_features, so each reads only its own rows of the weight (the mnist-cnn fc1
// weight, 625 x 2048, is 5 MB).
#include "kernels/cpu/linear.h"

#include <algorithm>
#include <cstdint>

#include "kernels/cpu/blas.h"
#include "kernels/cpu/parallel.h"

namespace kiln::cpu {
namespace {

// Output columns per range at the least: fewer would make packing the other operand dominate.
constexpr std::int64_t kMinColumns = 32;

}  // namespace

void linear_forward(const LinearShape& shape, const float* x, const float* weight,
                    const float* bias, float* y) {
  const int in = shape.in_features;
  const int out = shape.out_features;
  parallel_ranges(out, kMinColumns, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t b = 0; b < shape.batch; ++b) {
      float* row = y + b * out;
      for (std::int64_t o = begin; o < end; ++o) row[o] = bias != nullptr ? bias[o] : 0.0f;
    }
    // y[:, begin:end] = x weight[begin:end, :]^T + y[:, begin:end]
    matrix_product(Transpose::no, Transpose::yes, shape.batch, static_cast<int>(end - begin), in, x,
                   in, weight + begin * in, in, 1.0f, y + begin, out);
  });
}

void linear_backward_data(const LinearShape& shape, const float* dy, const float* weight,
                          float* dx) {
  const int in = shape.in_features;
  const int out = shape.out_features;
  parallel_ranges(in, kMinColumns, [&](std::int64_t begin, std::int64_t end) {
    // dx[:, begin:end] = dy weight[:, begin:end]
    matrix_product(Transpose::no, Transpose::no, shape.batch, static_cast<int>(end - begin), out,
                   dy, out, weight + begin, in, 0.0f, dx + begin, in);
  });
}

void linear_backward_weight(const LinearShape& shape, const float* x, const float* dy,
                            float* dweight) {
  const int in = shape.in_features;
  const int out = shape.out_features;
  parallel_ranges(out, kMinColumns, [&](std::int64_t begin, std::int64_t end) {
    // dweight[begin:end, :] = dy[:, begin:end]^T x
    matrix_product(Transpose::yes, Transpose::no, static_cast<int>(end - begin), in, shape.batch,
                   dy + begin, out, x, in, 0.0f, dweight + begin * in, in);
  });
}

void linear_backward_bias(const LinearShape& shape, const float* dy, float* dbias) {
  const std::int64_t out = shape.out_features;
  for (std::int64_t o = 0; o < out; ++o) {
    double sum = 0.0;
    for (std::int64_t b = 0; b < shape.batch; ++b) sum += dy[b * out + o];
    dbias[o] = static_cast<float>(sum);
  }
}

}  // namespace kiln::cpu
