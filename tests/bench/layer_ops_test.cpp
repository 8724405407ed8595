// The op list the benchmarks take from the models: a training step of each reference model run
// against the recording backend must list the calls docs/recipes.md's shapes imply, under the
// graph's layer names, each distinct call once.
#include "bench/layer_ops.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <iterator>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace kiln::bench {
namespace {

std::vector<OpCall> calls_of(const std::vector<OpCall>& calls, Op op) {
  std::vector<OpCall> found;
  std::copy_if(calls.begin(), calls.end(), std::back_inserter(found),
               [op](const OpCall& call) { return call.op == op; });
  return found;
}

TEST(LayerOps, MnistCnnConvolutionsHaveTheRecipeShapes) {
  const auto calls = record_training_step("mnist-cnn", 32);
  const auto forward = calls_of(calls, Op::conv2d_forward);
  ASSERT_EQ(forward.size(), 3u);
  // docs/recipes.md: layer1 1->32 on 28x28, layer2 32->64 on 14x14, layer3 64->128 on 7x7; all 3x3,
  // stride 1, pad 1.
  const std::vector<std::pair<std::string, std::vector<int>>> expected = {
      {"layer1.0", {1, 28, 32}}, {"layer2.0", {32, 14, 64}}, {"layer3.0", {64, 7, 128}}};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const Conv2dShape& shape = forward[i].conv;
    EXPECT_EQ(forward[i].layer, expected[i].first);
    EXPECT_EQ(shape.batch, 32);
    EXPECT_EQ(shape.in_channels, expected[i].second[0]);
    EXPECT_EQ(shape.in_height, expected[i].second[1]);
    EXPECT_EQ(shape.in_width, expected[i].second[1]);
    EXPECT_EQ(shape.out_channels, expected[i].second[2]);
    EXPECT_EQ(shape.kernel_height, 3);
    EXPECT_EQ(shape.stride_height, 1);
    EXPECT_EQ(shape.pad_height, 1);
  }
  // The first layer's input needs no gradient: backward_data only for layer2 and layer3.
  const auto backward_data = calls_of(calls, Op::conv2d_backward_data);
  ASSERT_EQ(backward_data.size(), 2u);
  EXPECT_EQ(backward_data[0].layer, "layer3.0");
  EXPECT_EQ(backward_data[1].layer, "layer2.0");
  EXPECT_EQ(calls_of(calls, Op::conv2d_backward_filter).size(), 3u);
  EXPECT_EQ(calls_of(calls, Op::conv2d_backward_bias).size(), 3u);
}

TEST(LayerOps, MnistCnnStepInCallOrder) {
  const auto calls = record_training_step("mnist-cnn", 32);
  ASSERT_FALSE(calls.empty());
  EXPECT_EQ(calls.front().op, Op::gather_batch);
  EXPECT_EQ(calls.front().layer, "data");
  EXPECT_EQ(calls.front().batch, 32);
  EXPECT_EQ(calls.front().count, 28 * 28);
  EXPECT_EQ(calls.back().op, Op::adam_step);  // the recipe's optimizer, last
  EXPECT_EQ(calls.back().layer, "optimizer");
  // Weight and bias of the five layers with parameters: three convolutions, fc1, fc2.
  EXPECT_EQ(calls.back().parameter_counts,
            (std::vector<std::int64_t>{288, 32, 18432, 64, 73728, 128, 1280000, 625, 6250, 10}));

  const auto loss = calls_of(calls, Op::softmax_cross_entropy);
  ASSERT_EQ(loss.size(), 1u);
  EXPECT_EQ(loss[0].layer, "loss");
  EXPECT_EQ(loss[0].batch, 32);
  EXPECT_EQ(loss[0].classes, 10);

  // layer3's pooling pads 7x7 to 4x4 (docs/recipes.md).
  const auto pooling = calls_of(calls, Op::max_pool2d_forward);
  ASSERT_EQ(pooling.size(), 3u);
  EXPECT_EQ(pooling[2].layer, "layer3.2");
  EXPECT_EQ(pooling[2].pool.pad_height, 1);
  EXPECT_EQ(pooling[2].pool.out_height(), 4);

  // fc1: 2048 -> 625, and the dropout after it on 32 * 625 elements at p = 0.3.
  const auto fc = calls_of(calls, Op::linear_forward);
  ASSERT_EQ(fc.size(), 2u);
  EXPECT_EQ(fc[0].layer, "fc1");
  EXPECT_EQ(fc[0].linear.in_features, 2048);
  EXPECT_EQ(fc[0].linear.out_features, 625);
  const auto dropout = calls_of(calls, Op::dropout_forward);
  ASSERT_EQ(dropout.size(), 4u);
  EXPECT_EQ(dropout[3].layer, "layer4.2");
  EXPECT_EQ(dropout[3].count, 32 * 625);
  EXPECT_FLOAT_EQ(dropout[3].dropout_probability, 0.3f);
}

TEST(LayerOps, EachReluFeedingAPoolingAlsoGivesTheFusedCall) {
  const auto calls = record_training_step("mnist-cnn", 32);
  const auto pooling = calls_of(calls, Op::max_pool2d_forward);
  const auto fused = calls_of(calls, Op::relu_max_pool2d_forward);
  const auto fused_backward = calls_of(calls, Op::relu_max_pool2d_backward);
  ASSERT_EQ(fused.size(), 3u);
  ASSERT_EQ(fused_backward.size(), 3u);
  for (std::size_t i = 0; i < fused.size(); ++i) {
    EXPECT_EQ(fused[i].layer, pooling[i].layer);
    EXPECT_EQ(fused[i].arguments(), pooling[i].arguments());
  }
  // Right after the pooling it fuses into, forward; right after the ReLU's backward, backward.
  const auto first_fused = std::find_if(calls.begin(), calls.end(), [](const OpCall& call) {
    return call.op == Op::relu_max_pool2d_forward;
  });
  ASSERT_NE(first_fused, calls.begin());
  EXPECT_EQ(std::prev(first_fused)->op, Op::max_pool2d_forward);
  const auto first_fused_backward = std::find_if(calls.begin(), calls.end(), [](const OpCall& c) {
    return c.op == Op::relu_max_pool2d_backward;
  });
  EXPECT_EQ(std::prev(first_fused_backward)->op, Op::relu_backward);
  EXPECT_EQ(first_fused_backward->layer, "layer3.2");  // backward runs the blocks in reverse
  // fashion-lenet pools convolutions directly: nothing to fuse.
  const auto lenet = record_training_step("fashion-lenet", 20);
  EXPECT_TRUE(calls_of(lenet, Op::relu_max_pool2d_forward).empty());
  EXPECT_TRUE(calls_of(lenet, Op::relu_max_pool2d_backward).empty());
}

TEST(LayerOps, FashionLenetUsesSgdAndTheSigmoidHead) {
  const auto calls = record_training_step("fashion-lenet", 20);
  const auto conv = calls_of(calls, Op::conv2d_forward);
  ASSERT_EQ(conv.size(), 2u);
  EXPECT_EQ(conv[1].layer, "conv2");
  EXPECT_EQ(conv[1].conv.in_channels, 6);
  EXPECT_EQ(conv[1].conv.in_height, 12);
  EXPECT_EQ(conv[1].conv.out_height(), 8);
  const auto sigmoid = calls_of(calls, Op::sigmoid_backward);
  ASSERT_EQ(sigmoid.size(), 1u);
  EXPECT_EQ(sigmoid[0].layer, "ff2_sigmoid");
  EXPECT_EQ(sigmoid[0].count, 20 * 10);
  EXPECT_EQ(calls_of(calls, Op::sgd_step).size(), 1u);
  EXPECT_TRUE(calls_of(calls, Op::adam_step).empty());
  EXPECT_TRUE(calls_of(calls, Op::dropout_forward).empty());
}

TEST(LayerOps, EachDistinctCallOnce) {
  for (const char* model : {"mnist-cnn", "fashion-lenet"}) {
    const auto calls = record_training_step(model, 1);
    std::set<std::pair<Op, std::string>> seen;
    for (const OpCall& call : calls) {
      EXPECT_TRUE(seen.emplace(call.op, call.arguments()).second)
          << model << ": " << op_name(call.op) << " " << call.arguments() << " twice";
      EXPECT_GT(call.cost().bytes, 0) << op_name(call.op);
    }
  }
}

TEST(LayerOps, UnknownModelIsRefused) {
  EXPECT_THROW(record_training_step("resnet", 1), std::invalid_argument);
}

}  // namespace
}  // namespace kiln::bench
