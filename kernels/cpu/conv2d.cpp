// conv2d as matrix products over the column matrix of one image (im2col):
//
//   columns[(c, i, j), (p, q)] = x[c, p * stride_h - pad_h + i, q * stride_w - pad_w + j]  (0 in
//   the padding), a [K x P] matrix with K = in_channels * kh * kw taps and P = out_h * out_w
//   output pixels. Then, per image, with W the weight seen as [out_channels x K]:
//     forward          y         = W * columns (+ bias)
//     backward_data    dcolumns  = W^T * dy, then scattered back onto dx (the adjoint of im2col)
//     backward_filter  dW       += dy * columns^T, summed over the batch
//
// Why this way: the direct seven-deep loop has rows only out_w long (7 or 14 pixels in mnist-cnn);
// over the column matrix every inner loop runs over a whole contiguous row of P output pixels,
// which g++ vectorises (kernels/cpu/inner_loops.h). It costs one scratch matrix of K * P floats,
// the caller's workspace (at most 576 x 49 or 288 x 196 floats, 220 KB, in the reference models).
#include "kernels/cpu/conv2d.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>

#include "kernels/cpu/inner_loops.h"

namespace kiln::cpu {
namespace {

std::int64_t taps(const Conv2dShape& s) {
  return std::int64_t{s.in_channels} * s.kernel_height * s.kernel_width;
}
std::int64_t output_pixels(const Conv2dShape& s) {
  return std::int64_t{s.out_height()} * s.out_width();
}

// The workspace as the column matrix, once it is known to be large enough and aligned.
float* column_matrix(const Conv2dShape& s, std::span<std::byte> workspace, const char* op) {
  const std::size_t needed = conv2d_workspace_bytes(s);
  if (workspace.size() < needed ||
      reinterpret_cast<std::uintptr_t>(workspace.data()) % alignof(float) != 0) {
    throw std::invalid_argument(fmt::format("{}: workspace of {} bytes, need {} aligned to {}", op,
                                            workspace.size(), needed, alignof(float)));
  }
  return reinterpret_cast<float*>(workspace.data());
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
        for (int p = 0; p < out_h; ++p) {
          const int h = p * s.stride_height - s.pad_height + i;
          const bool row_inside = h >= 0 && h < s.in_height;
          for (int q = 0; q < out_w; ++q) {
            const int w = q * s.stride_width - s.pad_width + j;
            const bool inside = row_inside && w >= 0 && w < s.in_width;
            *column++ = inside ? plane[std::int64_t{h} * s.in_width + w] : 0.0f;
          }
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
        for (int p = 0; p < out_h; ++p) {
          const int h = p * s.stride_height - s.pad_height + i;
          const bool row_inside = h >= 0 && h < s.in_height;
          for (int q = 0; q < out_w; ++q) {
            const int w = q * s.stride_width - s.pad_width + j;
            const float value = *column++;
            if (row_inside && w >= 0 && w < s.in_width) {
              plane[std::int64_t{h} * s.in_width + w] += value;
            }
          }
        }
      }
    }
  }
}

}  // namespace

std::size_t conv2d_workspace_bytes(const Conv2dShape& shape) {
  shape.validate();
  return static_cast<std::size_t>(taps(shape) * output_pixels(shape)) * sizeof(float);
}

void conv2d_forward(const Conv2dShape& shape, const float* x, const float* weight,
                    const float* bias, float* y, std::span<std::byte> workspace) {
  shape.validate();
  float* const columns = column_matrix(shape, workspace, "conv2d_forward");
  const std::int64_t k_count = taps(shape);
  const std::int64_t p_count = output_pixels(shape);
  const std::int64_t image_size =
      std::int64_t{shape.in_channels} * shape.in_height * shape.in_width;
  for (int n = 0; n < shape.batch; ++n) {
    image_to_columns(shape, x + n * image_size, columns);
    for (int o = 0; o < shape.out_channels; ++o) {
      float* out = y + (std::int64_t{n} * shape.out_channels + o) * p_count;
      std::fill(out, out + p_count, bias != nullptr ? bias[o] : 0.0f);
      const float* filter = weight + o * k_count;
      for (std::int64_t k = 0; k < k_count; ++k) {
        add_scaled(p_count, filter[k], columns + k * p_count, out);
      }
    }
  }
}

void conv2d_backward_data(const Conv2dShape& shape, const float* dy, const float* weight, float* dx,
                          std::span<std::byte> workspace) {
  shape.validate();
  float* const dcolumns = column_matrix(shape, workspace, "conv2d_backward_data");
  const std::int64_t k_count = taps(shape);
  const std::int64_t p_count = output_pixels(shape);
  const std::int64_t image_size =
      std::int64_t{shape.in_channels} * shape.in_height * shape.in_width;
  for (int n = 0; n < shape.batch; ++n) {
    const float* dy_image = dy + std::int64_t{n} * shape.out_channels * p_count;
    // Row k of dcolumns = sum over o of weight[o, k] * dy[o, :]; the row stays in cache.
    for (std::int64_t k = 0; k < k_count; ++k) {
      float* dcolumn = dcolumns + k * p_count;
      std::fill(dcolumn, dcolumn + p_count, 0.0f);
      for (int o = 0; o < shape.out_channels; ++o) {
        add_scaled(p_count, weight[o * k_count + k], dy_image + o * p_count, dcolumn);
      }
    }
    columns_to_image(shape, dcolumns, dx + n * image_size);
  }
}

void conv2d_backward_filter(const Conv2dShape& shape, const float* x, const float* dy,
                            float* dweight, std::span<std::byte> workspace) {
  shape.validate();
  float* const columns = column_matrix(shape, workspace, "conv2d_backward_filter");
  const std::int64_t k_count = taps(shape);
  const std::int64_t p_count = output_pixels(shape);
  const std::int64_t image_size =
      std::int64_t{shape.in_channels} * shape.in_height * shape.in_width;
  std::fill(dweight, dweight + shape.weight_elements(), 0.0f);
  for (int n = 0; n < shape.batch; ++n) {
    image_to_columns(shape, x + n * image_size, columns);
    const float* dy_image = dy + std::int64_t{n} * shape.out_channels * p_count;
    for (int o = 0; o < shape.out_channels; ++o) {
      float* dfilter = dweight + o * k_count;
      for (std::int64_t k = 0; k < k_count; ++k) {
        dfilter[k] += dot(p_count, dy_image + o * p_count, columns + k * p_count);
      }
    }
  }
}

void conv2d_backward_bias(const Conv2dShape& shape, const float* dy, float* dbias) {
  shape.validate();
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
