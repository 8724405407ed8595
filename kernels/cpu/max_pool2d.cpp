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

// The shape and pointers are checked by Backend (kernels/backend.cpp). argmax is int32 (as the
// Backend interface says), so a channel plane must be indexable by it: this engine's own limit.
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

// take_if_better on four windows at once, lane by lane.
inline void take_if_better4(__m128 value, __m128i index, __m128& best_value, __m128i& best_index) {
  const __m128 better = _mm_or_ps(_mm_cmpgt_ps(value, best_value), _mm_cmpunord_ps(value, value));
  best_value = _mm_or_ps(_mm_and_ps(better, value), _mm_andnot_ps(better, best_value));
  const __m128i take = _mm_castps_si128(better);
  best_index = _mm_or_si128(_mm_and_si128(take, index), _mm_andnot_si128(take, best_index));
}

// Four neighbouring 2x2 windows of stride 2, all inside the plane, whose top left elements are
// row[0], row[2], row[4] and row[6] (row = x_plane + index): the scalar scan's result for each,
// with SSE2 (part of x86-64). Row-major scan order: top left, top right, bottom left, bottom right.
template <bool kFuseRelu>
void four_windows_2x2(const float* x_plane, std::int32_t index, int in_width, float* y,
                      std::int32_t* argmax) {
  const auto pairs = [&](std::int32_t at, __m128& left, __m128& right) {
    const __m128 low = _mm_loadu_ps(x_plane + at);
    const __m128 high = _mm_loadu_ps(x_plane + at + 4);
    left = _mm_shuffle_ps(low, high, _MM_SHUFFLE(2, 0, 2, 0));
    right = _mm_shuffle_ps(low, high, _MM_SHUFFLE(3, 1, 3, 1));
    if (kFuseRelu) {  // relu: x < 0 ? 0 : x, so NaN and -0 pass
      left = _mm_andnot_ps(_mm_cmplt_ps(left, _mm_setzero_ps()), left);
      right = _mm_andnot_ps(_mm_cmplt_ps(right, _mm_setzero_ps()), right);
    }
  };
  __m128 top_left, top_right, bottom_left, bottom_right;
  pairs(index, top_left, top_right);
  pairs(index + in_width, bottom_left, bottom_right);
  const __m128i top_left_index = _mm_add_epi32(_mm_set1_epi32(index), _mm_setr_epi32(0, 2, 4, 6));
  const __m128i bottom_left_index = _mm_add_epi32(top_left_index, _mm_set1_epi32(in_width));
  const __m128i one = _mm_set1_epi32(1);
  // The first candidate always wins against the scan's start (-inf, its own index).
  __m128 best_value = top_left;
  __m128i best_index = top_left_index;
  take_if_better4(top_right, _mm_add_epi32(top_left_index, one), best_value, best_index);
  take_if_better4(bottom_left, bottom_left_index, best_value, best_index);
  take_if_better4(bottom_right, _mm_add_epi32(bottom_left_index, one), best_value, best_index);
  _mm_storeu_ps(y, best_value);
  if (argmax != nullptr) _mm_storeu_si128(reinterpret_cast<__m128i*>(argmax), best_index);
}

// kFuseRelu scans relu(x) in place of x (relu_max_pool2d_forward).
template <bool kFuseRelu>
void pool_forward(const Pool2dShape& shape, const float* x, float* y, std::int32_t* argmax) {
  require_int32_plane(shape);
  const int out_height = shape.out_height();
  const int out_width = shape.out_width();
  const std::int64_t planes = std::int64_t{shape.batch} * shape.channels;
  const std::int64_t out_plane = std::int64_t{out_height} * out_width;
  const bool two_by_two = shape.kernel_height == 2 && shape.kernel_width == 2 &&
                          shape.stride_height == 2 && shape.stride_width == 2;
  parallel_ranges(planes, planes_per_range(shape), [&](std::int64_t first, std::int64_t last) {
    for (std::int64_t plane = first; plane < last; ++plane) {
      const float* x_plane = x + plane * plane_elements(shape);
      for (int oh = 0; oh < out_height; ++oh) {
        // The window clipped to the input: pads are -inf and could never be selected.
        const int h_origin = oh * shape.stride_height - shape.pad_height;
        const int h_begin = std::max(h_origin, 0);
        const int h_end = std::min(h_origin + shape.kernel_height, shape.in_height);
        const bool rows_inside = h_end - h_begin == shape.kernel_height;
        for (int ow = 0; ow < out_width; ++ow) {
          const int w_origin = ow * shape.stride_width - shape.pad_width;
          if (two_by_two && rows_inside && ow + 4 <= out_width && w_origin >= 0 &&
              w_origin + 8 <= shape.in_width) {
            const std::int64_t out = plane * out_plane + std::int64_t{oh} * out_width + ow;
            four_windows_2x2<kFuseRelu>(x_plane, h_begin * shape.in_width + w_origin,
                                        shape.in_width, y + out,
                                        argmax != nullptr ? argmax + out : nullptr);
            ow += 3;
            continue;
          }
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
  pool_backward<true>(shape, y, dy, argmax, dx);
}

}  // namespace kiln::cpu
