// Softmax cross-entropy fused with its gradient on the GPU: the same definition and the same
// double-precision arithmetic as kiln::cpu::softmax_cross_entropy, launched on a stream with no
// allocation and no synchronisation. The loss is deterministic: one block reduces the rows' terms
// in row order, as the reference does.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace kiln::cuda {

// loss (device, one float) = mean over the batch of logsumexp(logits[r]) - logits[r][labels[r]];
// dlogits (null in evaluation) = (softmax - one_hot) / batch. batch and classes must be positive
// and logits, labels and loss non-null: Backend checks that (kernels/backend.cpp).
//
// Agreement with the reference: every output is a double computation rounded once to float, with
// the reference's operations in its order; only exp and log differ in their last double bit
// (glibc's against CUDA's). The loss and dlogits therefore agree to within one float ulp, plus an
// absolute 1e-15 for a dlogits entry that is a difference of nearly equal softmax and one.
//
// Labels: the reference checks every label and throws; a kernel cannot. A label outside
// [0, classes) makes the loss NaN and that row's dlogits NaN (never an out-of-bounds read), so a
// bad label cannot pass unnoticed. The trainer validates the labels once, when it uploads them.
void softmax_cross_entropy(int batch, int classes, const float* logits, const std::int32_t* labels,
                           float* loss, float* dlogits, cudaStream_t stream);

}  // namespace kiln::cuda
