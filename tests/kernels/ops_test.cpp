// The op list (kernels/ops.h): each op once, named as its Backend method, in a family; the five
// families a second engine can take keep the names and order the CLI shows.
#include "kernels/ops.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "kernels/cudnn/ops.h"

namespace kiln {
namespace {

TEST(Ops, EachOpHasItsOwnNameAndAFamily) {
  std::set<std::string_view> names;
  for (const Op op : kOps) {
    EXPECT_TRUE(names.insert(op_name(op)).second) << op_name(op) << " twice";
    EXPECT_NE(op_family_name(op_family(op)), "?") << op_name(op);
  }
  EXPECT_EQ(names.size(), 25u);
  EXPECT_EQ(op_name(Op::conv2d_forward), "conv2d_forward");
  EXPECT_EQ(op_name(Op::count_correct), "count_correct");
}

TEST(Ops, FamiliesAreThoseOfTheOps) {
  EXPECT_EQ(op_family(Op::conv2d_backward_bias), OpFamily::conv);
  // The fused op goes where pooling's backward goes.
  EXPECT_EQ(op_family(Op::relu_max_pool2d_forward), OpFamily::pool);
  EXPECT_EQ(op_family(Op::sigmoid_backward), OpFamily::activation);
  EXPECT_EQ(op_family(Op::dropout_backward), OpFamily::dropout);
  EXPECT_EQ(op_family(Op::softmax_cross_entropy), OpFamily::softmax);
  EXPECT_EQ(op_family(Op::linear_backward_weight), OpFamily::linear);
  EXPECT_EQ(op_family(Op::advance_step), OpFamily::optimizer);
  EXPECT_EQ(op_family(Op::gather_batch), OpFamily::data);
}

TEST(Ops, TheFamiliesASecondEngineTakesKeepTheirNamesAndOrder) {
  std::string names;
  for (const OpFamily family : kOpFamilies) names += std::string(op_family_name(family)) + " ";
  EXPECT_EQ(names, "conv pool activation dropout softmax ");
}

// What the benchmark measures on cuDNN and what the cuDNN engine answers to implements(): its five
// families, fifteen ops; linear, the optimizers and the data ops run on kiln's kernels.
TEST(Ops, CudnnRunsTheOpsOfItsFiveFamilies) {
  int on_cudnn = 0;
  for (const Op op : kOps) {
    const bool expected = op_family(op) != OpFamily::linear &&
                          op_family(op) != OpFamily::optimizer && op_family(op) != OpFamily::data;
    EXPECT_EQ(cudnn::runs_on_cudnn(op), expected) << op_name(op);
    on_cudnn += cudnn::runs_on_cudnn(op) ? 1 : 0;
  }
  EXPECT_EQ(on_cudnn, 15);
}

}  // namespace
}  // namespace kiln
