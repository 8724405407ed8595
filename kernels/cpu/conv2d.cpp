// conv2d as matrix products over the column matrix of one image (im2col):
//
//   columns[(c, i, j), (p, q)] = x[c, p * stride_h - pad_h + i, q * stride_w - pad_w + j]  (0 in
//   the padding), a [K x P] matrix with K = in_channels * kh * kw taps and P = out_h * out_w
//   output pixels. Then, per image, with W the weight seen as [out_channels x K]:
//     forward          y         = W * columns (+ bias)
//     backward_data    dcolumns  = W^T * dy, then scattered back onto dx (the adjoint of im2col)
//     backward_filter  dW       += dy * columns^T, summed over the batch
//
// Why this way: every product is a GEMM for OpenBLAS (kernels/cpu/blas.h), whose kernels use the
// machine's vector units. The batch is cut into a fixed number of slices (kBatchSlices, fewer for
// a smaller batch), each with its own column matrix and, for backward_filter, its own partial dW
// in the workspace; the slices run in parallel and the partial dWs are added in slice order. The
// slices depend on the batch only, so the results do not depend on the thread count.
#include "kernels/cpu/conv2d.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <utility>

#include "kernels/cpu/blas.h"
#include "kernels/cpu/parallel.h"

namespace kiln::cpu {
namespace {

// Slices of the batch run in parallel; more than a machine's cores costs only workspace.
constexpr int kBatchSlices = 16;

std::int64_t taps(const Conv2dShape& s) {
  return std::int64_t{s.in_channels} * s.kernel_height * s.kernel_width;
}
std::int64_t output_pixels(const Conv2dShape& s) {
  return std::int64_t{s.out_height()} * s.out_width();
}
int batch_slices(const Conv2dShape& s) { return std::clamp(s.batch, 1, kBatchSlices); }

// One slice's share of the workspace: its column matrix, then its partial dW.
std::int64_t slice_floats(const Conv2dShape& s) {
  return taps(s) * output_pixels(s) + s.weight_elements();
}

// conv2d_workspace_bytes without the shape check, which Backend has already made for the passes.
std::size_t workspace_bytes(const Conv2dShape& s) {
  return static_cast<std::size_t>(batch_slices(s) * slice_floats(s)) * sizeof(float);
}

// The images [first, last) of slice `slice`.
std::pair<int, int> slice_images(const Conv2dShape& s, std::int64_t slice) {
  const int slices = batch_slices(s);
  return {static_cast<int>(slice * s.batch / slices),
          static_cast<int>((slice + 1) * s.batch / slices)};
}

// What every pass needs: the workspace as floats, once it is known to be large enough and
// aligned (this engine's own need, so checked here), and the matrix sizes.
struct Pass {
  float* slices;
  int k_count;  // taps
  int p_count;  // output pixels
  std::int64_t image_size;
};

Pass begin_pass(const Conv2dShape& s, std::span<std::byte> workspace, const char* op) {
  const std::size_t needed = workspace_bytes(s);
  if (workspace.size() < needed ||
      reinterpret_cast<std::uintptr_t>(workspace.data()) % alignof(float) != 0) {
    throw std::invalid_argument(fmt::format("{}: workspace of {} bytes, need {} aligned to {}", op,
                                            workspace.size(), needed, alignof(float)));
  }
  return {.slices = reinterpret_cast<float*>(workspace.data()),
          .k_count = static_cast<int>(taps(s)),
          .p_count = static_cast<int>(output_pixels(s)),
          .image_size = s.input_elements() / s.batch};
}

// The output columns q whose input column q * stride - pad + j lies inside the image: [first,
// last), so that the loops over a row need no per-element test.
std::pair<int, int> inside_columns(const Conv2dShape& s, int j) {
  const int out_w = s.out_width();
  // The smallest q with q * stride >= pad - j, and the smallest with q * stride >= in_w + pad - j.
  const auto first_at_least = [&](int bound) {
    return std::clamp(bound <= 0 ? 0 : (bound + s.stride_width - 1) / s.stride_width, 0, out_w);
  };
  const int first = first_at_least(s.pad_width - j);
  return {first, std::max(first, first_at_least(s.in_width + s.pad_width - j))};
}

// The column matrix of one image [in_channels, in_h, in_w] (see the top of this file).
void image_to_columns(const Conv2dShape& s, const float* image, float* columns) {
  const int out_h = s.out_height();
  const int out_w = s.out_width();
  float* column = columns;
  for (int c = 0; c < s.in_channels; ++c) {
    const float* plane = image + std::int64_t{c} * s.in_height * s.in_width;
    for (int i = 0; i < s.kernel_height; ++i) {
      for (int j = 0; j < s.kernel_width; ++j) {
        const auto [first, last] = inside_columns(s, j);
        for (int p = 0; p < out_h; ++p, column += out_w) {
          const int h = p * s.stride_height - s.pad_height + i;
          if (h < 0 || h >= s.in_height) {
            std::fill(column, column + out_w, 0.0f);
            continue;
          }
          // Column q reads plane[row + q * stride], inside the plane for q in [first, last).
          const std::int64_t row = std::int64_t{h} * s.in_width - s.pad_width + j;
          std::fill(column, column + first, 0.0f);
          if (s.stride_width == 1) {
            std::copy(plane + row + first, plane + row + last, column + first);
          } else {
            for (int q = first; q < last; ++q) column[q] = plane[row + q * s.stride_width];
          }
          std::fill(column + last, column + out_w, 0.0f);
        }
      }
    }
  }
}

// The adjoint of image_to_columns: overwrites the image with the sum, over every column entry,
// of the entry at the pixel it was read from; entries read from the padding are dropped.
void columns_to_image(const Conv2dShape& s, const float* columns, float* image) {
  const int out_h = s.out_height();
  const int out_w = s.out_width();
  std::fill(image, image + std::int64_t{s.in_channels} * s.in_height * s.in_width, 0.0f);
  const float* column = columns;
  for (int c = 0; c < s.in_channels; ++c) {
    float* plane = image + std::int64_t{c} * s.in_height * s.in_width;
    for (int i = 0; i < s.kernel_height; ++i) {
      for (int j = 0; j < s.kernel_width; ++j) {
        const auto [first, last] = inside_columns(s, j);
        for (int p = 0; p < out_h; ++p, column += out_w) {
          const int h = p * s.stride_height - s.pad_height + i;
          if (h < 0 || h >= s.in_height) continue;
          const std::int64_t row = std::int64_t{h} * s.in_width - s.pad_width + j;
          for (int q = first; q < last; ++q) plane[row + q * s.stride_width] += column[q];
        }
      }
    }
  }
}

}  // namespace

std::size_t conv2d_workspace_bytes(const Conv2dShape& shape) {
  shape.validate();
  return workspace_bytes(shape);
}

void conv2d_forward(const Conv2dShape& shape, const float* x, const float* weight,
                    const float* bias, float* y, std::span<std::byte> workspace) {
  const auto [slices, k_count, p_count, image_size] =
      begin_pass(shape, workspace, "conv2d_forward");
  parallel_for(batch_slices(shape), [&](std::int64_t slice) {
    float* const columns = slices + slice * slice_floats(shape);
    const auto [first, last] = slice_images(shape, slice);
    for (int n = first; n < last; ++n) {
      image_to_columns(shape, x + n * image_size, columns);
      float* const out = y + std::int64_t{n} * shape.out_channels * p_count;
      for (int o = 0; o < shape.out_channels; ++o) {
        std::fill(out + std::int64_t{o} * p_count, out + std::int64_t{o + 1} * p_count,
                  bias != nullptr ? bias[o] : 0.0f);
      }
      matrix_product(Transpose::no, Transpose::no, shape.out_channels, p_count, k_count, weight,
                     k_count, columns, p_count, 1.0f, out, p_count);
    }
  });
}

void conv2d_backward_data(const Conv2dShape& shape, const float* dy, const float* weight, float* dx,
                          std::span<std::byte> workspace) {
  const auto [slices, k_count, p_count, image_size] =
      begin_pass(shape, workspace, "conv2d_backward_data");
  parallel_for(batch_slices(shape), [&](std::int64_t slice) {
    float* const dcolumns = slices + slice * slice_floats(shape);
    const auto [first, last] = slice_images(shape, slice);
    for (int n = first; n < last; ++n) {
      const float* dy_image = dy + std::int64_t{n} * shape.out_channels * p_count;
      matrix_product(Transpose::yes, Transpose::no, k_count, p_count, shape.out_channels, weight,
                     k_count, dy_image, p_count, 0.0f, dcolumns, p_count);
      columns_to_image(shape, dcolumns, dx + n * image_size);
    }
  });
}

void conv2d_backward_filter(const Conv2dShape& shape, const float* x, const float* dy,
                            float* dweight, std::span<std::byte> workspace) {
  const auto [slices, k_count, p_count, image_size] =
      begin_pass(shape, workspace, "conv2d_backward_filter");
  const std::int64_t column_floats = std::int64_t{k_count} * p_count;
  const auto partial_dweight = [&](std::int64_t slice) {
    return slices + slice * slice_floats(shape) + column_floats;
  };
  parallel_for(batch_slices(shape), [&](std::int64_t slice) {
    float* const columns = slices + slice * slice_floats(shape);
    float* const partial = partial_dweight(slice);
    std::fill(partial, partial + shape.weight_elements(), 0.0f);
    const auto [first, last] = slice_images(shape, slice);
    for (int n = first; n < last; ++n) {
      image_to_columns(shape, x + n * image_size, columns);
      const float* dy_image = dy + std::int64_t{n} * shape.out_channels * p_count;
      matrix_product(Transpose::no, Transpose::yes, shape.out_channels, k_count, p_count, dy_image,
                     p_count, columns, p_count, 1.0f, partial, k_count);
    }
  });
  // The partial sums in slice order, whatever thread computed them.
  parallel_ranges(shape.weight_elements(), 1024, [&](std::int64_t begin, std::int64_t end) {
    std::copy(partial_dweight(0) + begin, partial_dweight(0) + end, dweight + begin);
    for (int slice = 1; slice < batch_slices(shape); ++slice) {
      const float* partial = partial_dweight(slice);
      for (std::int64_t i = begin; i < end; ++i) dweight[i] += partial[i];
    }
  });
}

void conv2d_backward_bias(const Conv2dShape& shape, const float* dy, float* dbias) {
  const std::int64_t p_count = output_pixels(shape);
  for (int o = 0; o < shape.out_channels; ++o) {
    double sum = 0.0;
    for (int n = 0; n < shape.batch; ++n) {
      const float* plane = dy + (std::int64_t{n} * shape.out_channels + o) * p_count;
      for (std::int64_t i = 0; i < p_count; ++i) sum += plane[i];
    }
    dbias[o] = static_cast<float>(sum);
  }
}

}  // namespace kiln::cpu
