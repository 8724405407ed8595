// The seeded shuffles: permutations of every count, pure functions of (seed, stream, step), well
// mixed, pinned to an independent computation, and shuffle_indices applying them to a list.
#include "kernels/cpu/shuffle.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "tests/support/vectors.h"

namespace kiln::cpu {
namespace {

using testing::is_permutation_of_range;

constexpr std::uint32_t kStream = 0x20000;  // data::kShuffleStream

TEST(RandomPermutation, IsAPermutationOfEveryCountIncludingOddOnes) {
  for (const std::int64_t count : {0, 1, 2, 3, 7, 1000, 60001}) {
    SCOPED_TRACE(count);
    const auto permutation = random_permutation(count, 5, kStream, 0);
    EXPECT_EQ(permutation.size(), static_cast<std::size_t>(count));
    EXPECT_TRUE(is_permutation_of_range(permutation));
  }
  EXPECT_THROW(random_permutation(-1, 5, kStream, 0), std::invalid_argument);
}

TEST(RandomPermutation, IsAPureFunctionOfSeedStreamAndStep) {
  const auto first = random_permutation(1000, 7, kStream, 3);
  EXPECT_EQ(first, random_permutation(1000, 7, kStream, 3));
  EXPECT_NE(first, random_permutation(1000, 7, kStream, 4));
  EXPECT_NE(first, random_permutation(1000, 8, kStream, 3));
  EXPECT_NE(first, random_permutation(1000, 7, kStream + 1, 3));
}

TEST(RandomPermutation, MatchesAnIndependentComputation) {
  // numpy's lexsort of tests/golden/philox.py's keys (lanes 2(i%2), 2(i%2)+1 of group i/2):
  // resumed runs and recorded results depend on this order never changing.
  const auto small = random_permutation(1000, 7, kStream, 3);
  EXPECT_EQ(std::vector<std::int32_t>(small.begin(), small.begin() + 12),
            (std::vector<std::int32_t>{806, 73, 996, 572, 476, 855, 136, 785, 462, 314, 775, 61}));
  const auto mnist = random_permutation(60000, 0, kStream, 0);
  EXPECT_EQ(std::vector<std::int32_t>(mnist.begin(), mnist.begin() + 8),
            (std::vector<std::int32_t>{30209, 3566, 25414, 11002, 43916, 3092, 8771, 29684}));
}

TEST(RandomPermutation, MixesTheOrder) {
  // A shuffle of 10,000 leaves about one element in place; far more would mean no shuffle.
  const auto permutation = random_permutation(10000, 1, kStream, 0);
  int fixed = 0;
  for (std::size_t i = 0; i < permutation.size(); ++i)
    fixed += permutation[i] == static_cast<int>(i);
  EXPECT_LT(fixed, 10);
  // Each half of the positions should get about half of the first half's elements.
  const auto early = std::count_if(permutation.begin(), permutation.begin() + 5000,
                                   [](std::int32_t p) { return p < 5000; });
  EXPECT_NEAR(static_cast<double>(early), 2500, 5 * 35.4);  // 5 sigma of a hypergeometric
}

TEST(ShuffleIndices, AppliesThePermutationToTheSourceList) {
  std::vector<std::int32_t> source(777);
  for (std::size_t i = 0; i < source.size(); ++i) source[i] = static_cast<std::int32_t>(3 * i + 1);
  std::vector<std::int32_t> order(source.size(), -1);
  shuffle_indices(777, 11, kStream, 2, source.data(), order.data());
  const auto permutation = random_permutation(777, 11, kStream, 2);
  for (std::size_t i = 0; i < order.size(); ++i) {
    ASSERT_EQ(order[i], source[static_cast<std::size_t>(permutation[i])]) << i;
  }
}

}  // namespace
}  // namespace kiln::cpu
