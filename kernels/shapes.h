// The shapes the ops take, in PyTorch's layouts: NCHW activations, conv weight [out, in, kh, kw],
// linear weight [out, in], all row-major float32. Each shape derives its output size the way
// PyTorch does and validates itself, so a bad layer configuration fails before any memory is
// touched, with a message that names the offending field.
#pragma once

#include <cstdint>
#include <string>

namespace kiln {

struct Conv2dShape {
  int batch = 0;
  int in_channels = 0;
  int in_height = 0;
  int in_width = 0;
  int out_channels = 0;
  int kernel_height = 0;
  int kernel_width = 0;
  int stride_height = 1;
  int stride_width = 1;
  int pad_height = 0;
  int pad_width = 0;

  // floor((in + 2 * pad - kernel) / stride) + 1
  int out_height() const;
  int out_width() const;
  std::int64_t input_elements() const;
  std::int64_t weight_elements() const;
  std::int64_t output_elements() const;
  // Throws std::invalid_argument naming the first bad field; no output pixel is also an error.
  void validate() const;
  std::string to_string() const;
};

// Max pooling with PyTorch's defaults for ceil_mode (false) and dilation (1). Padding is -inf:
// a pad is never selected. PyTorch requires pad <= kernel / 2, and so does validate().
struct Pool2dShape {
  int batch = 0;
  int channels = 0;
  int in_height = 0;
  int in_width = 0;
  int kernel_height = 0;
  int kernel_width = 0;
  int stride_height = 0;
  int stride_width = 0;
  int pad_height = 0;
  int pad_width = 0;

  int out_height() const;
  int out_width() const;
  std::int64_t input_elements() const;
  std::int64_t output_elements() const;
  void validate() const;
  std::string to_string() const;
};

// y[batch, out_features] = x[batch, in_features] * W^T + b, W being [out_features, in_features].
struct LinearShape {
  int batch = 0;
  int in_features = 0;
  int out_features = 0;

  void validate() const;
  std::string to_string() const;
};

}  // namespace kiln
