#include "runtime/data/sampling.h"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "kernels/cpu/shuffle.h"

namespace kiln::data {

TrainValidationSplit split_train_validation(std::int64_t count, std::int64_t validation,
                                            std::uint64_t seed) {
  if (validation < 0 || validation >= count) {
    throw std::invalid_argument(
        fmt::format("cannot hold out {} of {} images for validation", validation, count));
  }
  const auto order = cpu::random_permutation(count, seed, kSplitStream, 0);
  const auto cut = order.begin() + (count - validation);
  TrainValidationSplit split{{order.begin(), cut}, {cut, order.end()}};
  std::sort(split.train.begin(), split.train.end());
  std::sort(split.validation.begin(), split.validation.end());
  return split;
}

}  // namespace kiln::data
