// The FLOP and byte floors of kernels/op_costs.h on the reference models' own shapes
// (docs/recipes.md), each expected value worked out by hand in the comment above it, not by
// the formula under test.
#include "kernels/op_costs.h"

#include <gtest/gtest.h>

namespace kiln {
namespace {

// mnist-cnn layer1.0 at its recipe batch: [32, 1, 28, 28] -> [32, 32, 28, 28], 3x3, pad 1.
constexpr Conv2dShape kLayer1{.batch = 32,
                              .in_channels = 1,
                              .in_height = 28,
                              .in_width = 28,
                              .out_channels = 32,
                              .kernel_height = 3,
                              .kernel_width = 3,
                              .pad_height = 1,
                              .pad_width = 1};

// mnist-cnn layer2.0: [32, 32, 14, 14] -> [32, 64, 14, 14], 3x3, pad 1.
constexpr Conv2dShape kLayer2{.batch = 32,
                              .in_channels = 32,
                              .in_height = 14,
                              .in_width = 14,
                              .out_channels = 64,
                              .kernel_height = 3,
                              .kernel_width = 3,
                              .pad_height = 1,
                              .pad_width = 1};

// fashion-lenet conv1 at batch 20: [20, 1, 28, 28] -> [20, 6, 24, 24], 5x5, no pad.
constexpr Conv2dShape kConv1{.batch = 20,
                             .in_channels = 1,
                             .in_height = 28,
                             .in_width = 28,
                             .out_channels = 6,
                             .kernel_height = 5,
                             .kernel_width = 5};

TEST(OpCosts, Conv2dForwardOfMnistLayer1) {
  // outputs 32*32*28*28 = 802,816; products 802,816 * 1*3*3 = 7,225,344;
  // flop 2 * 7,225,344 + 802,816 (bias) = 15,253,504.
  // bytes 4 * (x 25,088 + W 288 + b 32 + y 802,816 = 828,224) = 3,312,896.
  const OpCost cost = conv2d_forward_cost(kLayer1);
  EXPECT_DOUBLE_EQ(cost.flop, 15'253'504);
  EXPECT_DOUBLE_EQ(cost.bytes, 3'312'896);
}

TEST(OpCosts, Conv2dBackwardDataOfMnistLayer2) {
  // outputs 32*64*14*14 = 401,408; products 401,408 * 32*9 = 115,605,504; flop 231,211,008.
  // bytes 4 * (dy 401,408 + W 64*32*9 = 18,432 + dx 32*32*196 = 200,704) = 4 * 620,544.
  const OpCost cost = conv2d_backward_data_cost(kLayer2);
  EXPECT_DOUBLE_EQ(cost.flop, 231'211'008);
  EXPECT_DOUBLE_EQ(cost.bytes, 2'482'176);
}

TEST(OpCosts, Conv2dBackwardFilterOfLenetConv1) {
  // outputs 20*6*24*24 = 69,120; products 69,120 * 1*5*5 = 1,728,000; flop 3,456,000.
  // bytes 4 * (x 20*784 = 15,680 + dy 69,120 + dW 6*25 = 150) = 4 * 84,950.
  const OpCost cost = conv2d_backward_filter_cost(kConv1);
  EXPECT_DOUBLE_EQ(cost.flop, 3'456'000);
  EXPECT_DOUBLE_EQ(cost.bytes, 339'800);
}

TEST(OpCosts, Conv2dBackwardBiasOfMnistLayer1) {
  // One add per element of dy (802,816); bytes 4 * (802,816 + 32).
  const OpCost cost = conv2d_backward_bias_cost(kLayer1);
  EXPECT_DOUBLE_EQ(cost.flop, 802'816);
  EXPECT_DOUBLE_EQ(cost.bytes, 3'211'392);
}

TEST(OpCosts, ReluFusedIntoMnistLayer1Pooling) {
  // [32, 32, 28, 28], 2x2, stride 2 -> 14x14: inputs 802,816, outputs 200,704.
  const Pool2dShape pool{.batch = 32,
                         .channels = 32,
                         .in_height = 28,
                         .in_width = 28,
                         .kernel_height = 2,
                         .kernel_width = 2,
                         .stride_height = 2,
                         .stride_width = 2};
  // Forward: 3 comparisons per output (602,112) + a ReLU per input (802,816) = 1,404,928 flop;
  // x 4 * 802,816 = 3,211,264 bytes plus y and argmax 8 * 200,704 = 1,605,632: 4,816,896, the
  // pooling's own bytes (the ReLU's output is never written).
  const OpCost forward = relu_max_pool2d_forward_cost(pool);
  EXPECT_DOUBLE_EQ(forward.flop, 1'404'928);
  EXPECT_DOUBLE_EQ(forward.bytes, 4'816'896);
  // Backward: an add and a mask comparison per output = 401,408 flop; dy, argmax and y
  // 12 * 200,704 = 2,408,448 plus dx 3,211,264: 5,619,712 bytes.
  const OpCost backward = relu_max_pool2d_backward_cost(pool);
  EXPECT_DOUBLE_EQ(backward.flop, 401'408);
  EXPECT_DOUBLE_EQ(backward.bytes, 5'619'712);
}

TEST(OpCosts, MaxPoolOfMnistLayer3WithItsPadding) {
  // [32, 128, 7, 7], 2x2, stride 2, pad 1 -> 4x4: outputs 32*128*16 = 65,536, inputs 200,704.
  const Pool2dShape pool{.batch = 32,
                         .channels = 128,
                         .in_height = 7,
                         .in_width = 7,
                         .kernel_height = 2,
                         .kernel_width = 2,
                         .stride_height = 2,
                         .stride_width = 2,
                         .pad_height = 1,
                         .pad_width = 1};
  // Forward: 3 comparisons per output = 196,608 flop; x 4 * 200,704 = 802,816 bytes plus y and
  // argmax 8 * 65,536 = 524,288: 1,327,104.
  const OpCost forward = max_pool2d_forward_cost(pool);
  EXPECT_DOUBLE_EQ(forward.flop, 196'608);
  EXPECT_DOUBLE_EQ(forward.bytes, 1'327'104);
  // Backward: one add per output; dy and argmax 524,288 plus dx 802,816: 1,327,104.
  const OpCost backward = max_pool2d_backward_cost(pool);
  EXPECT_DOUBLE_EQ(backward.flop, 65'536);
  EXPECT_DOUBLE_EQ(backward.bytes, 1'327'104);
}

TEST(OpCosts, ElementwiseOps) {
  // layer1.1 ReLU at batch 32: 802,816 elements; 8 bytes each forward, 12 backward.
  EXPECT_DOUBLE_EQ(relu_forward_cost(802'816).flop, 802'816);
  EXPECT_DOUBLE_EQ(relu_forward_cost(802'816).bytes, 6'422'528);
  EXPECT_DOUBLE_EQ(relu_backward_cost(802'816).bytes, 9'633'792);
  // fashion-lenet's sigmoid head at batch 20: 200 elements, 3 flop each way.
  EXPECT_DOUBLE_EQ(sigmoid_forward_cost(200).flop, 600);
  EXPECT_DOUBLE_EQ(sigmoid_forward_cost(200).bytes, 1'600);
  EXPECT_DOUBLE_EQ(sigmoid_backward_cost(200).flop, 600);
  EXPECT_DOUBLE_EQ(sigmoid_backward_cost(200).bytes, 2'400);
  // layer4.2 dropout at batch 32: 32 * 625 = 20,000 elements.
  EXPECT_DOUBLE_EQ(dropout_forward_cost(20'000).flop, 20'000);
  EXPECT_DOUBLE_EQ(dropout_forward_cost(20'000).bytes, 160'000);
  EXPECT_DOUBLE_EQ(dropout_backward_cost(20'000).bytes, 160'000);
}

TEST(OpCosts, SoftmaxCrossEntropyOfTenClasses) {
  // 32 * 10 = 320 logits: 6 * 320 + 2 * 32 = 1,984 flop.
  // bytes: logits and dlogits 4 * 640 = 2,560, the loss 4, labels 4 * 32 = 128: 2,692.
  const OpCost cost = softmax_cross_entropy_cost(32, 10);
  EXPECT_DOUBLE_EQ(cost.flop, 1'984);
  EXPECT_DOUBLE_EQ(cost.bytes, 2'692);
}

TEST(OpCosts, LinearOfMnistFc1) {
  // fc1 at batch 32: 2048 -> 625. Products 32 * 2048 * 625 = 40,960,000.
  const LinearShape fc1{.batch = 32, .in_features = 2048, .out_features = 625};
  // Forward: 81,920,000 + 20,000 bias adds; x 65,536 + W 1,280,000 + b 625 + y 20,000 floats.
  EXPECT_DOUBLE_EQ(linear_forward_cost(fc1).flop, 81'940'000);
  EXPECT_DOUBLE_EQ(linear_forward_cost(fc1).bytes, 5'464'644);
  // Backward data and weight: 81,920,000 flop; three tensors of 20,000 + 1,280,000 + 65,536.
  EXPECT_DOUBLE_EQ(linear_backward_data_cost(fc1).flop, 81'920'000);
  EXPECT_DOUBLE_EQ(linear_backward_data_cost(fc1).bytes, 5'462'144);
  EXPECT_DOUBLE_EQ(linear_backward_weight_cost(fc1).flop, 81'920'000);
  EXPECT_DOUBLE_EQ(linear_backward_weight_cost(fc1).bytes, 5'462'144);
  // Bias: 20,000 adds; dy 20,000 + db 625 floats.
  EXPECT_DOUBLE_EQ(linear_backward_bias_cost(fc1).flop, 20'000);
  EXPECT_DOUBLE_EQ(linear_backward_bias_cost(fc1).bytes, 82'500);
}

TEST(OpCosts, OptimizersOverWholeModels) {
  // fashion-lenet: 11,252 parameters (its summary's total); SGD reads p, g and writes p.
  EXPECT_DOUBLE_EQ(sgd_step_cost(11'252).flop, 22'504);
  EXPECT_DOUBLE_EQ(sgd_step_cost(11'252).bytes, 135'024);
  // mnist-cnn: 320 + 18,496 + 73,856 + 1,280,625 + 6,260 = 1,379,557 parameters; Adam 13 flop and
  // 7 floats (p, g, m, v read; p, m, v written) each.
  EXPECT_DOUBLE_EQ(adam_step_cost(1'379'557).flop, 17'934'241);
  EXPECT_DOUBLE_EQ(adam_step_cost(1'379'557).bytes, 38'627'596);
}

TEST(OpCosts, GatherBatchOfMnistImages) {
  // 32 images of 784 pixels = 25,088: one scale each; 1 byte read + 4 written per pixel, and
  // per image a uint8 label and an int32 index read and an int32 label written: 125,440 + 288.
  const OpCost cost = gather_batch_cost(32, 784);
  EXPECT_DOUBLE_EQ(cost.flop, 25'088);
  EXPECT_DOUBLE_EQ(cost.bytes, 125'728);
}

}  // namespace
}  // namespace kiln
