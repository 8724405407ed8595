// The custom convolution's planning (kernels/cuda/conv2d_plan.h) on the host: the workspace a
// graph reserves at its batch size must hold what backward_filter needs at every shorter batch,
// since a dataset's last batch is usually short. Host code, so this runs where there is no GPU.
#include "kernels/cuda/conv2d_plan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/cuda/conv2d.h"
#include "tests/support/conv_cases.h"

namespace kiln {
namespace {

constexpr int kLargestBatch = 1024;

Conv2dShape at_batch(Conv2dShape shape, int batch) {
  shape.batch = batch;
  return shape;
}

// The bytes backward_filter's plan writes partial sums into at this shape.
std::size_t partial_sum_bytes(const Conv2dShape& shape) {
  const cuda::FilterPlan plan = cuda::plan_conv2d_backward_filter(shape);
  if (plan.splits == 1) return 0;
  return static_cast<std::size_t>(plan.splits) * static_cast<std::size_t>(shape.out_channels) *
         static_cast<std::size_t>(shape.in_channels) *
         static_cast<std::size_t>(shape.kernel_height * shape.kernel_width) * sizeof(float);
}

// Every planned batch 1..1024 against every tail 1..planned, for both models' layers: the need
// of the tails is accumulated as a running maximum, which is the same comparison as every pair.
TEST(Conv2dPlan, WorkspaceAtABatchHoldsEveryShorterBatch) {
  for (const auto& named : testing::kModelConvShapes) {
    SCOPED_TRACE(named.name);
    std::size_t most_needed_by_a_tail = 0;
    for (int batch = 1; batch <= kLargestBatch; ++batch) {
      const Conv2dShape shape = at_batch(named.shape, batch);
      const std::size_t needed = partial_sum_bytes(shape);
      const std::size_t reserved = cuda::conv2d_workspace_bytes(shape);
      ASSERT_LE(needed, reserved) << "batch " << batch;
      most_needed_by_a_tail = std::max(most_needed_by_a_tail, needed);
      ASSERT_LE(most_needed_by_a_tail, reserved)
          << "a graph planned at batch " << batch << " fails on a shorter last batch";
    }
  }
}

// The case the review found: fashion-lenet's conv2 planned at --batch-size 136 reserved 26 splits
// (156,000 bytes), and its last training batch of 128 rows asked for 27 (162,000 bytes).
TEST(Conv2dPlan, FashionLenetAtBatch136ServesItsLastBatchOf128) {
  const Conv2dShape conv2 = testing::kModelConvShapes[4].shape;
  ASSERT_EQ(conv2.in_channels, 6);
  EXPECT_LE(partial_sum_bytes(at_batch(conv2, 128)),
            cuda::conv2d_workspace_bytes(at_batch(conv2, 136)));
}

// The plan covers K exactly: pieces of whole K steps, none empty, the last one possibly shorter.
TEST(Conv2dPlan, BackwardFilterPiecesCoverK) {
  for (const auto& named : testing::kModelConvShapes) {
    SCOPED_TRACE(named.name);
    for (int batch = 1; batch <= kLargestBatch; ++batch) {
      const Conv2dShape shape = at_batch(named.shape, batch);
      const std::int64_t k = testing::backward_filter_terms(shape);
      const cuda::FilterPlan plan = cuda::plan_conv2d_backward_filter(shape);
      ASSERT_GE(plan.splits, 1);
      ASSERT_LE(plan.splits, cuda::conv2d_backward_filter_split_bound(shape));
      ASSERT_EQ(plan.k_per_split % cuda::kConvTileK, 0);
      ASSERT_LT(std::int64_t{plan.splits - 1} * plan.k_per_split, k) << "an empty piece";
      ASSERT_GE(std::int64_t{plan.splits} * plan.k_per_split, k) << "K not covered";
    }
  }
}

// Shapes the kernels' 32-bit indexing cannot cover are refused, naming the call.
TEST(Conv2dPlan, OversizedShapesAreRefused) {
  const Conv2dShape huge = testing::conv(1 << 13, 64, 64, 64, 8, 3, 3, 1, 1, 1, 1);
  EXPECT_THROW(cuda::check_conv2d_shape(huge, "conv2d_forward"), std::invalid_argument);
  EXPECT_THROW(cuda::conv2d_workspace_bytes(huge), std::invalid_argument);
  EXPECT_NO_THROW(cuda::check_conv2d_shape(testing::kModelConvShapes[0].shape, "conv2d_forward"));
}

}  // namespace
}  // namespace kiln
