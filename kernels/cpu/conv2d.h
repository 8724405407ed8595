// 2-D convolution, the CPU reference, with PyTorch's conv2d semantics: cross-correlation (the
// kernel is not flipped), NCHW activations, weight [out, in, kh, kw], zero padding, separate
// strides and paddings for height and width, no dilation, no groups:
//
//   y[n, o, p, q] = bias[o] + sum over c, i, j of
//                   weight[o, c, i, j] * x[n, c, p * stride_h - pad_h + i, q * stride_w - pad_w +
//                   j]
//
// with x read as 0 outside the image. The backward passes are the gradients of a loss L with
// respect to x, weight and bias given dy = dL/dy. Every op overwrites its output. The arguments
// are checked by Backend (kernels/backend.cpp), once for every engine; the passes here refuse only
// a workspace smaller than conv2d_workspace_bytes (std::invalid_argument), this engine's own need.
#pragma once

#include <cstddef>
#include <span>

#include "kernels/shapes.h"

namespace kiln::cpu {

// For each of min(batch, 16) batch slices that run in parallel, a column matrix (taps x output
// pixels floats) and a partial dweight. The three passes below take at least this much workspace
// and throw std::invalid_argument for less. The shape is checked here (std::invalid_argument
// naming the field): this query is not one of the ops Backend checks.
std::size_t conv2d_workspace_bytes(const Conv2dShape& shape);

// bias may be null (no bias).
void conv2d_forward(const Conv2dShape& shape, const float* x, const float* weight,
                    const float* bias, float* y, std::span<std::byte> workspace);

// dx[n, c, h, w] = sum of weight[o, c, i, j] * dy[n, o, p, q] over the (o, i, j, p, q) where
// input pixel (h, w) is tap (i, j) of output pixel (p, q).
void conv2d_backward_data(const Conv2dShape& shape, const float* dy, const float* weight, float* dx,
                          std::span<std::byte> workspace);

// dweight[o, c, i, j] = sum over n, p, q of dy[n, o, p, q] * x[n, c, p*sh - ph + i, q*sw - pw + j].
void conv2d_backward_filter(const Conv2dShape& shape, const float* x, const float* dy,
                            float* dweight, std::span<std::byte> workspace);

// dbias[o] = sum over n, p, q of dy[n, o, p, q], accumulated in double.
void conv2d_backward_bias(const Conv2dShape& shape, const float* dy, float* dbias);

}  // namespace kiln::cpu
