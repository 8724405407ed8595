// 2-D convolution on the GPU: the same semantics as kiln::cpu::conv2d_* (PyTorch's conv2d:
// cross-correlation, NCHW, weight [out, in, kh, kw], zero padding, separate strides and paddings,
// no dilation, no groups), launched on a stream with no allocation and no synchronisation.
// Pointers are device pointers; every output is overwritten. The kernels index with 32-bit
// integers, so each tensor (and the workspace) must hold fewer than 2^31 floats; larger shapes
// are rejected with std::invalid_argument, as are short workspaces, before anything is launched;
// invalid shapes are Backend's check (kernels/backend.cpp), and conv2d_workspace_bytes's. Results
// are deterministic: the same call gives the same bits every time.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <span>

#include "kernels/shapes.h"

namespace kiln::cuda {

// The scratch backward_filter takes for its per-split partial sums when it splits its long
// reduction across blocks (0 when it does not); forward and backward_data take none. A pure
// function of the shape, and never smaller for a larger batch: a workspace sized at a graph's
// batch serves its shorter last batch (conv2d_plan.h).
std::size_t conv2d_workspace_bytes(const Conv2dShape& shape);

// y = conv(x, weight) + bias; bias may be null.
void conv2d_forward(const Conv2dShape& shape, const float* x, const float* weight,
                    const float* bias, float* y, cudaStream_t stream);

// dx = the gradient with respect to x given dy.
void conv2d_backward_data(const Conv2dShape& shape, const float* dy, const float* weight, float* dx,
                          cudaStream_t stream);

// dweight = the gradient with respect to weight given x and dy.
void conv2d_backward_filter(const Conv2dShape& shape, const float* x, const float* dy,
                            float* dweight, std::span<std::byte> workspace, cudaStream_t stream);

// dbias[o] = sum of dy over the batch and the pixels of channel o, accumulated in double.
void conv2d_backward_bias(const Conv2dShape& shape, const float* dy, float* dbias,
                          cudaStream_t stream);

}  // namespace kiln::cuda
