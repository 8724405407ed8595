// Batch assembly and accuracy counting, CPU reference.
//
// gather_batch: x[b] = images[indices[b]] / 255 and y[b] = labels[indices[b]], the pixels scaled
// as torchvision's ToTensor does (uint8 -> float32, then a float32 division by 255, which is not
// always the same float as a multiplication by 1/255).
// count_correct: correct += the number of rows whose argmax equals the label, argmax as
// torch.argmax picks it: the first maximum, NaN counting as a maximum (the first NaN wins).
#pragma once

#include <cstdint>

namespace kiln::cpu {

// The arguments are checked by Backend (kernels/backend.cpp). images holds image_elements uint8
// pixels per image, labels one uint8 per image. Every index must name an image of the dataset:
// the size is not passed, so only negative indices can be caught (std::invalid_argument).
void gather_batch(const std::uint8_t* images, const std::uint8_t* labels,
                  std::int64_t image_elements, const std::int32_t* indices, int batch, float* x,
                  std::int32_t* y);

// The arguments are checked by Backend (kernels/backend.cpp). Adds to correct[0] (never
// overwrites it). logits is [batch, classes]; a label outside [0, classes) never matches, as in
// PyTorch's (argmax == label).sum().
void count_correct(int batch, int classes, const float* logits, const std::int32_t* labels,
                   std::int64_t* correct);

}  // namespace kiln::cpu
