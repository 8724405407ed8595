// Max pooling, the CPU reference, exactly as torch.nn.functional.max_pool2d with ceil_mode=False
// and dilation 1:
//   y[n, c, oh, ow] = max of x[n, c, h, w] over h in oh * stride_h - pad_h + [0, kernel_h) and
//                     w in ow * stride_w - pad_w + [0, kernel_w),
// the window clipped to the input, because the padding is -inf and never selected. Selection
// follows PyTorch's scan: the window in row-major order, starting from its first real element
// with -inf, taking a value when `value > best || isnan(value)`. So the first of equal maxima
// wins, a NaN beats any number (the last NaN of a window wins), and a window of nothing but -inf
// selects its first real element.
//
// The arguments are checked by Backend (kernels/backend.cpp), once for every engine; the functions
// here refuse only what is this engine's own limit (a plane an int32 argmax cannot index) or bad
// data (an argmax outside its plane).
#pragma once

#include <cstdint>

#include "kernels/shapes.h"

namespace kiln::cpu {

// argmax (may be null) receives, per output, the index h * in_width + w of the selected input
// within its channel plane, as max_pool2d(..., return_indices=True) does.
void max_pool2d_forward(const Pool2dShape& shape, const float* x, float* y, std::int32_t* argmax);

// dx is zeroed, then dx[argmax] += dy for every output, so overlapping windows add up. The CPU
// reference takes the selection from argmax alone: x and y are not read (they exist for backends
// that recompute the selection, such as cuDNN) and may be null.
void max_pool2d_backward(const Pool2dShape& shape, const float* x, const float* y, const float* dy,
                         const std::int32_t* argmax, float* dx);

// ReLU fused into the pooling that follows it: max_pool2d_forward of relu(x), in one pass over x.
// Each window's scan compares relu(x) computed on the fly, not x, so y and argmax are bitwise the
// unfused pair's: a window of nothing positive selects its first element (all its relu values are
// zeros; a scan of x would pick its maximum instead), and its y is that element's relu (+0, or
// -0 for a -0 input, which relu keeps). NaN propagates: relu(NaN) is NaN and the pool selects it.
void relu_max_pool2d_forward(const Pool2dShape& shape, const float* x, float* y,
                             std::int32_t* argmax);

// dx is zeroed, then dx[argmax] += dy for every output whose y is not <= 0 (relu_backward's mask:
// a NaN passes). Every output selecting one input holds that input's relu, so masking by y is
// masking by the ReLU's output: bitwise max_pool2d_backward then relu_backward. y and argmax must
// not be null.
void relu_max_pool2d_backward(const Pool2dShape& shape, const float* y, const float* dy,
                              const std::int32_t* argmax, float* dx);

}  // namespace kiln::cpu
