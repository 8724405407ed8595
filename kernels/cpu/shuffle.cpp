#include "kernels/cpu/shuffle.h"

#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <stdexcept>

#include "kernels/permutation_key.h"

namespace kiln::cpu {

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
  for (std::int64_t i = 0; i < count; ++i) {
    keyed[static_cast<std::size_t>(i)] = {
        permutation_key(seed, stream, step, static_cast<std::uint64_t>(i)),
        static_cast<std::int32_t>(i)};
  }
  std::sort(keyed.begin(), keyed.end(), [](const Keyed& a, const Keyed& b) {
    return a.key != b.key ? a.key < b.key : a.position < b.position;
  });
  std::vector<std::int32_t> permutation(keyed.size());
  std::transform(keyed.begin(), keyed.end(), permutation.begin(),
                 [](const Keyed& k) { return k.position; });
  return permutation;
}

void shuffle_indices(std::int64_t count, std::uint64_t seed, std::uint32_t stream,
                     std::uint64_t step, const std::int32_t* source, std::int32_t* order) {
  const auto permutation = random_permutation(count, seed, stream, step);
  for (std::size_t i = 0; i < permutation.size(); ++i) {
    order[i] = source[static_cast<std::size_t>(permutation[i])];
  }
}

}  // namespace kiln::cpu
