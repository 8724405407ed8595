// The seeded split and shuffles: permutations, reproducible, different per epoch and seed.
#include "runtime/data/sampling.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <stdexcept>

namespace kiln::data {
namespace {

bool is_permutation_of_range(std::vector<std::int32_t> values) {
  std::sort(values.begin(), values.end());
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (values[i] != static_cast<std::int32_t>(i)) return false;
  }
  return true;
}

TEST(RandomPermutation, IsAPermutationOfEveryCountIncludingOddOnes) {
  for (const std::int64_t count : {0, 1, 2, 3, 7, 1000, 60001}) {
    SCOPED_TRACE(count);
    const auto permutation = random_permutation(count, 5, kShuffleStream, 0);
    EXPECT_EQ(permutation.size(), static_cast<std::size_t>(count));
    EXPECT_TRUE(is_permutation_of_range(permutation));
  }
}

TEST(RandomPermutation, IsAPureFunctionOfSeedStreamAndStep) {
  const auto first = random_permutation(1000, 7, kShuffleStream, 3);
  EXPECT_EQ(first, random_permutation(1000, 7, kShuffleStream, 3));
  EXPECT_NE(first, random_permutation(1000, 7, kShuffleStream, 4));
  EXPECT_NE(first, random_permutation(1000, 8, kShuffleStream, 3));
  EXPECT_NE(first, random_permutation(1000, 7, kSplitStream, 3));
}

TEST(RandomPermutation, MixesTheOrder) {
  // A shuffle of 10,000 leaves about one element in place; far more would mean no shuffle.
  const auto permutation = random_permutation(10000, 1, kShuffleStream, 0);
  int fixed = 0;
  for (std::size_t i = 0; i < permutation.size(); ++i)
    fixed += permutation[i] == static_cast<int>(i);
  EXPECT_LT(fixed, 10);
  // Each half of the positions should get about half of the first half's elements.
  const auto early = std::count_if(permutation.begin(), permutation.begin() + 5000,
                                   [](std::int32_t p) { return p < 5000; });
  EXPECT_NEAR(static_cast<double>(early), 2500, 5 * 35.4);  // 5 sigma of a hypergeometric
}

TEST(SplitTrainValidation, PartitionsTheImagesIntoSortedDisjointSets) {
  const auto split = split_train_validation(60000, 12000, 0);
  EXPECT_EQ(split.train.size(), 48000u);
  EXPECT_EQ(split.validation.size(), 12000u);
  EXPECT_TRUE(std::is_sorted(split.train.begin(), split.train.end()));
  EXPECT_TRUE(std::is_sorted(split.validation.begin(), split.validation.end()));
  std::vector<std::int32_t> all = split.train;
  all.insert(all.end(), split.validation.begin(), split.validation.end());
  EXPECT_TRUE(is_permutation_of_range(all));
  // Random, not the last 12,000.
  EXPECT_LT(split.validation.front(), 100);
  EXPECT_EQ(split.validation, split_train_validation(60000, 12000, 0).validation);
  EXPECT_NE(split.validation, split_train_validation(60000, 12000, 1).validation);
}

TEST(SplitTrainValidation, RefusesImpossibleSizes) {
  EXPECT_THROW(split_train_validation(10, 10, 0), std::invalid_argument);
  EXPECT_THROW(split_train_validation(10, -1, 0), std::invalid_argument);
  EXPECT_NO_THROW(split_train_validation(10, 0, 0));
}

}  // namespace
}  // namespace kiln::data
