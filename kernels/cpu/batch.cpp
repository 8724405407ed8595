#include "kernels/cpu/batch.h"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>

namespace kiln::cpu {

void gather_batch(const std::uint8_t* images, const std::uint8_t* labels,
                  std::int64_t image_elements, const std::int32_t* indices, int batch, float* x,
                  std::int32_t* y) {
  for (int b = 0; b < batch; ++b) {
    const std::int32_t index = indices[b];
    if (index < 0) {
      throw std::invalid_argument(
          fmt::format("gather_batch: indices[{}] is negative ({})", b, index));
    }
    const std::uint8_t* image = images + index * image_elements;
    float* row = x + b * image_elements;
    for (std::int64_t e = 0; e < image_elements; ++e) {
      row[e] = static_cast<float>(image[e]) / 255.0f;
    }
    y[b] = labels[index];
  }
}

void count_correct(int batch, int classes, const float* logits, const std::int32_t* labels,
                   std::int64_t* correct) {
  std::int64_t matches = 0;
  for (int b = 0; b < batch; ++b) {
    const float* row = logits + static_cast<std::int64_t>(b) * classes;
    int best = 0;
    for (int c = 1; c < classes; ++c) {
      // Strictly greater, so a tie keeps the first; NaN beats any number but not an earlier NaN.
      if (row[c] > row[best] || (std::isnan(row[c]) && !std::isnan(row[best]))) best = c;
    }
    if (best == labels[b]) ++matches;
  }
  *correct += matches;
}

}  // namespace kiln::cpu
