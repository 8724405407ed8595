// What every GPU engine's conv2d test shares: the shapes (awkward ones and the five layers of the
// reference models), the CPU reference run of all four passes, and the comparison rule.
//
// Tolerances. A GPU sums in a different order from the CPU (tiles, split K, cuDNN's algorithms),
// so forward, backward_data and backward_filter are compared in two ways: relative L2 error at
// most 1e-5 over the tensor (the rule of the PyTorch fixtures), and element-wise |gpu - cpu| <=
// atol + 1e-4 |cpu| with atol = 1e-5 * sqrt(K), K the length of the pass's sum. With inputs in
// [-1, 1] a sum of K products rounds to about 1e-8 * K in float either way (a random walk of
// 2^-24-sized errors over partial sums of size sqrt(K)), far inside atol for every K here, while
// one tap read from the wrong place or dropped changes an element by about 0.3, far outside it.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "kernels/cpu/conv2d.h"
#include "kernels/shapes.h"
#include "tests/support/random.h"
#include "tests/support/tolerance.h"

namespace kiln::testing {

inline Conv2dShape conv(int batch, int in_channels, int in_height, int in_width, int out_channels,
                        int kernel_height, int kernel_width, int stride_height, int stride_width,
                        int pad_height, int pad_width) {
  return {.batch = batch,
          .in_channels = in_channels,
          .in_height = in_height,
          .in_width = in_width,
          .out_channels = out_channels,
          .kernel_height = kernel_height,
          .kernel_width = kernel_width,
          .stride_height = stride_height,
          .stride_width = stride_width,
          .pad_height = pad_height,
          .pad_width = pad_width};
}

struct NamedShape {
  std::string name;
  Conv2dShape shape;
};

// Sizes that are no multiple of any tile, odd and non-square images, 1x1/3x3/5x5/3x5 kernels,
// strides 1, 2, 3 and 2x1 (stride 2 and 3 leave input pixels that no tap reads, whose gradient is
// 0), paddings 0, 1, 2 and padding wider than a 1x1 kernel.
inline const std::vector<NamedShape> kAwkwardConvShapes = {
    {"single everything, direct path", conv(1, 1, 5, 5, 1, 3, 3, 1, 1, 0, 0)},
    {"3x3 padding 1", conv(3, 3, 7, 9, 7, 3, 3, 1, 1, 1, 1)},
    {"5x5 stride 2 padding 2", conv(1, 7, 13, 11, 16, 5, 5, 2, 2, 2, 2)},
    {"1x1", conv(3, 16, 8, 6, 3, 1, 1, 1, 1, 0, 0)},
    {"3x5 stride 2x1 padding 1x2", conv(3, 3, 12, 10, 16, 3, 5, 2, 1, 1, 2)},
    {"stride 3", conv(1, 16, 9, 13, 7, 3, 3, 3, 3, 1, 1)},
    {"1x1 stride 2 (stride > kernel)", conv(3, 7, 6, 12, 5, 1, 1, 2, 2, 0, 0)},
    {"1x1 stride 3 padding 2 (taps in the padding only)", conv(1, 3, 13, 12, 4, 1, 1, 3, 3, 2, 2)},
    {"one input channel 3x3 stride 2, direct path", conv(3, 1, 11, 8, 7, 3, 3, 2, 2, 1, 1)},
    {"one input channel 5x5, 40 outputs, direct path in two channel groups",
     conv(3, 1, 10, 13, 40, 5, 5, 1, 1, 2, 2)},
    {"one input channel 3x5, general path", conv(1, 1, 9, 9, 5, 3, 5, 1, 1, 0, 0)},
    {"33 output channels", conv(3, 16, 13, 13, 33, 3, 3, 1, 1, 1, 1)},
    {"70 output channels, K = 360, stride 2 padding 2", conv(2, 40, 5, 7, 70, 3, 3, 2, 2, 2, 2)},
    {"kernel nearly the whole image", conv(1, 3, 6, 5, 2, 5, 5, 1, 1, 0, 0)},
};

// docs/recipes.md: mnist-cnn at batch 32, fashion-lenet at batch 20.
inline const std::vector<NamedShape> kModelConvShapes = {
    {"mnist-cnn layer1", conv(32, 1, 28, 28, 32, 3, 3, 1, 1, 1, 1)},
    {"mnist-cnn layer2", conv(32, 32, 14, 14, 64, 3, 3, 1, 1, 1, 1)},
    {"mnist-cnn layer3", conv(32, 64, 7, 7, 128, 3, 3, 1, 1, 1, 1)},
    {"fashion-lenet conv1", conv(20, 1, 28, 28, 6, 5, 5, 1, 1, 0, 0)},
    {"fashion-lenet conv2", conv(20, 6, 12, 12, 10, 5, 5, 1, 1, 0, 0)},
};

// The lengths of the sums behind one element of each pass's output.
inline std::int64_t forward_terms(const Conv2dShape& s) {
  return std::int64_t{s.in_channels} * s.kernel_height * s.kernel_width;
}
inline std::int64_t backward_data_terms(const Conv2dShape& s) {
  return std::int64_t{s.out_channels} * s.kernel_height * s.kernel_width;
}
inline std::int64_t backward_filter_terms(const Conv2dShape& s) {
  return std::int64_t{s.batch} * s.out_height() * s.out_width();
}

inline ::testing::AssertionResult conv_close_to_reference(std::span<const float> gpu,
                                                          std::span<const float> cpu,
                                                          std::int64_t terms) {
  const auto l2 = close_in_l2(gpu, cpu, 1e-5);
  if (!l2) return l2;
  const double atol = 1e-5 * std::sqrt(static_cast<double>(terms));
  return all_close(gpu, cpu, {.atol = atol, .rtol = 1e-4});
}

struct ConvInputs {
  std::vector<float> x;
  std::vector<float> weight;
  std::vector<float> bias;
  std::vector<float> dy;
};

// What the four passes produce; y_plain is the forward pass without bias.
struct ConvOutputs {
  std::vector<float> y;
  std::vector<float> y_plain;
  std::vector<float> dx;
  std::vector<float> dweight;
  std::vector<float> dbias;
};

inline std::size_t size_of(std::int64_t count) { return static_cast<std::size_t>(count); }

// Uniform in [-1, 1].
inline ConvInputs random_conv_inputs(const Conv2dShape& shape, std::mt19937_64& rng) {
  const auto uniform = [&](std::int64_t count) {
    return uniform_floats(size_of(count), -1.0f, 1.0f, rng);
  };
  return {.x = uniform(shape.input_elements()),
          .weight = uniform(shape.weight_elements()),
          .bias = uniform(shape.out_channels),
          .dy = uniform(shape.output_elements())};
}

inline ConvOutputs run_conv_reference(const Conv2dShape& shape, const ConvInputs& in) {
  ConvOutputs out{.y = std::vector<float>(size_of(shape.output_elements())),
                  .y_plain = std::vector<float>(size_of(shape.output_elements())),
                  .dx = std::vector<float>(size_of(shape.input_elements())),
                  .dweight = std::vector<float>(size_of(shape.weight_elements())),
                  .dbias = std::vector<float>(size_of(shape.out_channels))};
  std::vector<std::byte> workspace(cpu::conv2d_workspace_bytes(shape));
  cpu::conv2d_forward(shape, in.x.data(), in.weight.data(), in.bias.data(), out.y.data(),
                      workspace);
  cpu::conv2d_forward(shape, in.x.data(), in.weight.data(), nullptr, out.y_plain.data(), workspace);
  cpu::conv2d_backward_data(shape, in.dy.data(), in.weight.data(), out.dx.data(), workspace);
  cpu::conv2d_backward_filter(shape, in.x.data(), in.dy.data(), out.dweight.data(), workspace);
  cpu::conv2d_backward_bias(shape, in.dy.data(), out.dbias.data());
  return out;
}

inline ::testing::AssertionResult conv_outputs_bitwise_equal(const ConvOutputs& a,
                                                             const ConvOutputs& b) {
  for (const auto& [name, first, second] :
       {std::tuple{"forward with bias", &a.y, &b.y},
        std::tuple{"forward without bias", &a.y_plain, &b.y_plain},
        std::tuple{"backward_data", &a.dx, &b.dx},
        std::tuple{"backward_filter", &a.dweight, &b.dweight},
        std::tuple{"backward_bias", &a.dbias, &b.dbias}}) {
    auto equal = bitwise_equal(*first, *second);
    if (!equal) return equal << " (" << name << ")";
  }
  return ::testing::AssertionSuccess();
}

// All four passes; dbias with its own tolerance, as engines sum it in double or in float.
inline void expect_conv_matches_reference(const Conv2dShape& shape, const ConvOutputs& gpu,
                                          const ConvOutputs& cpu, Tolerance bias_tolerance) {
  EXPECT_TRUE(conv_close_to_reference(gpu.y, cpu.y, forward_terms(shape))) << "forward with bias";
  EXPECT_TRUE(conv_close_to_reference(gpu.y_plain, cpu.y_plain, forward_terms(shape)))
      << "forward without bias";
  EXPECT_TRUE(conv_close_to_reference(gpu.dx, cpu.dx, backward_data_terms(shape)))
      << "backward_data";
  EXPECT_TRUE(conv_close_to_reference(gpu.dweight, cpu.dweight, backward_filter_terms(shape)))
      << "backward_filter";
  EXPECT_TRUE(all_close(gpu.dbias, cpu.dbias, bias_tolerance)) << "backward_bias";
}

}  // namespace kiln::testing
