// The seeded train/validation split: disjoint sorted sets, reproducible, different per seed.
// (The permutation behind it is tested with kernels/cpu/shuffle.)
#include "runtime/data/sampling.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>

#include "tests/support/vectors.h"

namespace kiln::data {
namespace {

using testing::is_permutation_of_range;

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
