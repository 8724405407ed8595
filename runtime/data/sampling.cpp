#include "runtime/data/sampling.h"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "kernels/philox.h"

namespace kiln::data {

std::vector<std::int32_t> random_permutation(std::int64_t count, std::uint64_t seed,
                                             std::uint32_t stream, std::uint64_t step) {
  if (count < 0 || count > INT32_MAX) {
    throw std::invalid_argument(fmt::format("cannot permute {} elements", count));
  }
  struct Keyed {
    std::uint64_t key;
    std::int32_t position;
  };
  std::vector<Keyed> keyed(static_cast<std::size_t>(count));
  for (std::int64_t i = 0; i < count; i += 2) {
    const auto bits = philox_bits(seed, step, stream, static_cast<std::uint64_t>(i / 2));
    for (std::int64_t lane = 0; lane < 2 && i + lane < count; ++lane) {
      const std::uint64_t key = std::uint64_t{bits[2 * lane]} << 32 | bits[2 * lane + 1];
      keyed[static_cast<std::size_t>(i + lane)] = {key, static_cast<std::int32_t>(i + lane)};
    }
  }
  std::sort(keyed.begin(), keyed.end(), [](const Keyed& a, const Keyed& b) {
    return a.key != b.key ? a.key < b.key : a.position < b.position;
  });
  std::vector<std::int32_t> permutation(keyed.size());
  std::transform(keyed.begin(), keyed.end(), permutation.begin(),
                 [](const Keyed& k) { return k.position; });
  return permutation;
}

TrainValidationSplit split_train_validation(std::int64_t count, std::int64_t validation,
                                            std::uint64_t seed) {
  if (validation < 0 || validation >= count) {
    throw std::invalid_argument(
        fmt::format("cannot hold out {} of {} images for validation", validation, count));
  }
  const auto order = random_permutation(count, seed, kSplitStream, 0);
  const auto cut = order.begin() + (count - validation);
  TrainValidationSplit split{{order.begin(), cut}, {cut, order.end()}};
  std::sort(split.train.begin(), split.train.end());
  std::sort(split.validation.begin(), split.validation.end());
  return split;
}

}  // namespace kiln::data
