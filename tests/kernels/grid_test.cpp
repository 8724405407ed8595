// Grid sizes on the host: counts near INT32_MAX, which shuffle_indices accepts, overflowed the
// int arithmetic it used before (n + 255 > INT32_MAX).
#include "kernels/cuda/grid.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>

namespace kiln {
namespace {

TEST(BlocksCovering, CoversEveryElementWithTheFewestBlocks) {
  EXPECT_EQ(cuda::blocks_covering(0, 256), 0u);
  EXPECT_EQ(cuda::blocks_covering(1, 256), 1u);
  EXPECT_EQ(cuda::blocks_covering(256, 256), 1u);
  EXPECT_EQ(cuda::blocks_covering(257, 256), 2u);
}

TEST(BlocksCovering, CountsNearInt32MaxDoNotOverflow) {
  EXPECT_EQ(cuda::blocks_covering(INT32_MAX, 256), 8388608u);
  EXPECT_EQ(cuda::blocks_covering(INT32_MAX - 100, 256), 8388608u);
  EXPECT_EQ(cuda::blocks_covering(std::int64_t{INT32_MAX} * 256, 256),
            static_cast<unsigned>(INT32_MAX));
}

TEST(BlocksCovering, RefusesGridsPastTheLimitAndNegativeCounts) {
  EXPECT_THROW(cuda::blocks_covering(std::int64_t{INT32_MAX} * 256 + 1, 256),
               std::invalid_argument);
  EXPECT_THROW(cuda::blocks_covering(-1, 256), std::invalid_argument);
}

}  // namespace
}  // namespace kiln
