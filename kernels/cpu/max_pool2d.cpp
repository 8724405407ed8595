// Max pooling reference: one plain scan per window (see max_pool2d.h for the definition), alone
// or with the ReLU before it fused in; one template serves both so they cannot drift apart.
#include "kernels/cpu/max_pool2d.h"

#include <fmt/format.h>
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "kernels/cpu/parallel.h"
#include "kernels/cpu/relu.h"

namespace kiln::cpu {
namespace {

std::int64_t plane_elements(const Pool2dShape& shape) {
  return std::int64_t{shape.in_height} * shape.in_width;
}

// Planes per parallel range: about kElementwiseRange input elements.
std::int64_t planes_per_range(const Pool2dShape& shape) {
  return std::max<std::int64_t>(kElementwiseRange / plane_elements(shape), 1);
}

// argmax is int32 (as the Backend interface says), so a channel plane must be indexable by it.
void require_int32_plane(const Pool2dShape& shape) {
  if (plane_elements(shape) > std::numeric_limits<std::int32_t>::max()) {
    throw std::invalid_argument(fmt::format(
        "max_pool2d {}: an input plane of {} elements cannot be indexed by an int32 argmax",
        shape.to_string(), plane_elements(shape)));
  }
}

// One step of PyTorch's scan: takes (value, index) when value > best_value or value is NaN, so
// that ties, NaN and all -inf windows select what PyTorch selects. Written with SSE2 masks (part
// of x86-64) so that it compiles without a branch: which way it goes depends on the data, and a
// branch would be mispredicted about half the time.
inline void take_if_better(float value, std::int32_t index, float& best_value,
                           std::int32_t& best_index) {
  const __m128 candidate = _mm_set_ss(value);
  const __m128 best = _mm_set_ss(best_value);
  const __m128 better =
      _mm_or_ps(_mm_cmpgt_ss(candidate, best), _mm_cmpunord_ss(candidate, candidate));
  best_value = _mm_cvtss_f32(_mm_or_ps(_mm_and_ps(better, candidate), _mm_andnot_ps(better, best)));
  const std::int32_t take = -(_mm_movemask_ps(better) & 1);  // all ones or zero
  best_index ^= (index ^ best_index) & take;
}

// kFuseRelu scans relu(x) in place of x (relu_max_pool2d_forward).
template <bool kFuseRelu>
void pool_forward(const Pool2dShape& shape, const float* x, float* y, std::int32_t* argmax) {
  shape.validate();
  require_int32_plane(shape);
  const int out_height = shape.out_height();
  const int out_width = shape.out_width();
  const std::int64_t planes = std::int64_t{shape.batch} * shape.channels;
  const std::int64_t out_plane = std::int64_t{out_height} * out_width;
  parallel_ranges(planes, planes_per_range(shape), [&](std::int64_t first, std::int64_t last) {
    for (std::int64_t plane = first; plane < last; ++plane) {
      const float* x_plane = x + plane * plane_elements(shape);
      for (int oh = 0; oh < out_height; ++oh) {
        // The window clipped to the input: pads are -inf and could never be selected.
        const int h_origin = oh * shape.stride_height - shape.pad_height;
        const int h_begin = std::max(h_origin, 0);
        const int h_end = std::min(h_origin + shape.kernel_height, shape.in_height);
        for (int ow = 0; ow < out_width; ++ow) {
          const int w_origin = ow * shape.stride_width - shape.pad_width;
          const int w_begin = std::max(w_origin, 0);
          const int w_end = std::min(w_origin + shape.kernel_width, shape.in_width);
          std::int32_t best_index = h_begin * shape.in_width + w_begin;
          float best_value = -std::numeric_limits<float>::infinity();
          for (int h = h_begin; h < h_end; ++h) {
            for (int w = w_begin; w < w_end; ++w) {
              const std::int32_t index = h * shape.in_width + w;
              const float value = kFuseRelu ? relu(x_plane[index]) : x_plane[index];
              take_if_better(value, index, best_value, best_index);
            }
          }
          const std::int64_t out = plane * out_plane + std::int64_t{oh} * out_width + ow;
          y[out] = best_value;
          if (argmax != nullptr) argmax[out] = best_index;
        }
      }
    }
  });
}

// kFuseRelu masks each output by its y as relu_backward does (relu_max_pool2d_backward).
template <bool kFuseRelu>
void pool_backward(const Pool2dShape& shape, const float* y, const float* dy,
                   const std::int32_t* argmax, float* dx) {
  shape.validate();
  require_int32_plane(shape);
  const std::int64_t planes = std::int64_t{shape.batch} * shape.channels;
  const std::int64_t in_plane = plane_elements(shape);
  const std::int64_t out_plane = std::int64_t{shape.out_height()} * shape.out_width();
  parallel_ranges(planes, planes_per_range(shape), [&](std::int64_t first, std::int64_t last) {
    std::fill(dx + first * in_plane, dx + last * in_plane, 0.0f);
    for (std::int64_t plane = first; plane < last; ++plane) {
      float* dx_plane = dx + plane * in_plane;
      for (std::int64_t o = plane * out_plane; o < (plane + 1) * out_plane; ++o) {
        // A stray index would write outside the plane; the reference refuses it instead.
        if (argmax[o] < 0 || argmax[o] >= in_plane) {
          throw std::invalid_argument(fmt::format(
              "max_pool2d_backward {}: argmax[{}] = {} is outside the input plane [0, {})",
              shape.to_string(), o, argmax[o], in_plane));
        }
        if (kFuseRelu && y[o] <= 0.0f) continue;
        dx_plane[argmax[o]] += dy[o];
      }
    }
  });
}

}  // namespace

void max_pool2d_forward(const Pool2dShape& shape, const float* x, float* y, std::int32_t* argmax) {
  pool_forward<false>(shape, x, y, argmax);
}

void max_pool2d_backward(const Pool2dShape& shape, const float* /*x*/, const float* /*y*/,
                         const float* dy, const std::int32_t* argmax, float* dx) {
  pool_backward<false>(shape, nullptr, dy, argmax, dx);
}

void relu_max_pool2d_forward(const Pool2dShape& shape, const float* x, float* y,
                             std::int32_t* argmax) {
  pool_forward<true>(shape, x, y, argmax);
}

void relu_max_pool2d_backward(const Pool2dShape& shape, const float* y, const float* dy,
                              const std::int32_t* argmax, float* dx) {
  if (y == nullptr || argmax == nullptr) {
    throw std::invalid_argument("relu_max_pool2d_backward: y and argmax must not be null");
  }
  pool_backward<true>(shape, y, dy, argmax, dx);
}

}  // namespace kiln::cpu
