// Max pooling, the CPU reference, exactly as torch.nn.functional.max_pool2d with ceil_mode=False
// and dilation 1:
//   y[n, c, oh, ow] = max of x[n, c, h, w] over h in oh * stride_h - pad_h + [0, kernel_h) and
//                     w in ow * stride_w - pad_w + [0, kernel_w),
// the window clipped to the input, because the padding is -inf and never selected. Selection
// follows PyTorch's scan: the window in row-major order, starting from its first real element
// with -inf, taking a value when `value > best || isnan(value)`. So the first of equal maxima
// wins, a NaN beats any number (the last NaN of a window wins), and a window of nothing but -inf
// selects its first real element.
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

}  // namespace kiln::cpu
