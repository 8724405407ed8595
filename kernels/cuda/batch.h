// Batch assembly and accuracy counting on the GPU: the same semantics as kiln::cpu::gather_batch
// and count_correct, launched on a stream with no allocation and no synchronisation.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace kiln::cuda {

// x[b] = images[indices[b]] / 255 (a float32 division, as the reference and torchvision's ToTensor
// do: bitwise the reference) and y[b] = labels[indices[b]]. images, labels and indices are device
// pointers. Backend (kernels/backend.cpp) rejects a negative batch or image_elements and a null
// pointer the kernel would read, as the reference does. The reference also throws for a negative
// index; a kernel cannot, so a row with a negative index gets NaN pixels and the label -1 (which
// makes softmax_cross_entropy's loss NaN and never counts as correct). As in the reference, an
// index past the end of the dataset cannot be detected: the caller draws indices from the dataset's
// size.
void gather_batch(const std::uint8_t* images, const std::uint8_t* labels,
                  std::int64_t image_elements, const std::int32_t* indices, int batch, float* x,
                  std::int32_t* y, cudaStream_t stream);

// correct[0] (device) += how many rows' argmax equals their label, the argmax as the reference
// picks it (the first maximum; NaN beats any number, the first NaN wins). A label outside
// [0, classes) never matches; Backend rejects classes <= 0 and null pointers. Integer atomics, so
// the count is exact and deterministic.
void count_correct(int batch, int classes, const float* logits, const std::int32_t* labels,
                   std::int64_t* correct, cudaStream_t stream);

}  // namespace kiln::cuda
