// Linear (fully connected) layer, the CPU reference, with PyTorch's F.linear semantics:
//
//   y[b, o] = bias[o] + sum over i of x[b, i] * weight[o, i]      (y = x W^T + b)
//
// x [batch, in_features], weight [out_features, in_features], y [batch, out_features], all
// row-major. The backward passes are the gradients of a loss L given dy = dL/dy. Every op
// overwrites its output. The arguments are checked by Backend (kernels/backend.cpp).
#pragma once

#include "kernels/shapes.h"

namespace kiln::cpu {

// bias may be null (no bias).
void linear_forward(const LinearShape& shape, const float* x, const float* weight,
                    const float* bias, float* y);

// dx = dy W: dx[b, i] = sum over o of dy[b, o] * weight[o, i].
void linear_backward_data(const LinearShape& shape, const float* dy, const float* weight,
                          float* dx);

// dweight = dy^T x: dweight[o, i] = sum over b of dy[b, o] * x[b, i].
void linear_backward_weight(const LinearShape& shape, const float* x, const float* dy,
                            float* dweight);

// dbias[o] = sum over b of dy[b, o], accumulated in double.
void linear_backward_bias(const LinearShape& shape, const float* dy, float* dbias);

}  // namespace kiln::cpu
