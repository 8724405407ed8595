// Softmax cross-entropy reference (see softmax_cross_entropy.h).
#include "kernels/cpu/softmax_cross_entropy.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace kiln::cpu {
namespace {

// The shape and pointers are checked by Backend (kernels/backend.cpp); the labels are data, read
// here on the host before anything is written.
void check_labels(int batch, int classes, const std::int32_t* labels) {
  for (int row = 0; row < batch; ++row) {
    if (labels[row] < 0 || labels[row] >= classes) {
      throw std::invalid_argument(
          fmt::format("softmax_cross_entropy: row {} has label {}, outside [0, {})", row,
                      labels[row], classes));
    }
  }
}

}  // namespace

void softmax_cross_entropy(int batch, int classes, const float* logits, const std::int32_t* labels,
                           float* loss, float* dlogits) {
  check_labels(batch, classes, labels);
  double total = 0.0;
  for (int row = 0; row < batch; ++row) {
    const float* z = logits + std::int64_t{row} * classes;
    const int label = labels[row];
    // Shifted by the maximum, every exp is at most 1: no overflow for any logits.
    double z_max = z[0];
    for (int j = 1; j < classes; ++j) z_max = std::max(z_max, static_cast<double>(z[j]));
    double sum = 0.0;
    for (int j = 0; j < classes; ++j) sum += std::exp(z[j] - z_max);
    // logsumexp - z[label], grouped so a confident row's small loss keeps its digits.
    total += std::log(sum) + (z_max - z[label]);
    if (dlogits != nullptr) {
      float* dz = dlogits + std::int64_t{row} * classes;
      for (int j = 0; j < classes; ++j) {
        const double softmax = std::exp(z[j] - z_max) / sum;
        dz[j] = static_cast<float>((softmax - (j == label ? 1.0 : 0.0)) / batch);
      }
    }
  }
  loss[0] = static_cast<float>(total / batch);
}

}  // namespace kiln::cpu
