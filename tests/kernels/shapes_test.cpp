// Shapes: output sizes by PyTorch's formula floor((in + 2 * pad - kernel) / stride) + 1 (the
// expected values below are what torch.nn.functional.conv2d / max_pool2d return), element counts,
// and validate() naming the bad field.
#include "kernels/shapes.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "tests/support/conv_cases.h"
#include "tests/support/pool_cases.h"

namespace kiln {
namespace {

// Batch 2 and 3 channels (5 out of a convolution): the cases vary the plane and the window.
Conv2dShape conv(int height, int width, int kernel, int stride, int pad) {
  return testing::conv(2, 3, height, width, 5, kernel, kernel, stride, stride, pad, pad);
}

Pool2dShape pool(int height, int width, int kernel, int stride, int pad) {
  return testing::pool(2, 3, height, width, kernel, stride, pad);
}

struct OutputCase {
  int height, width, kernel, stride, pad;
  int out_height, out_width;
};

TEST(Shapes, Conv2dOutputSizeFollowsPyTorch) {
  const std::vector<OutputCase> cases = {
      {28, 28, 3, 1, 1, 28, 28},  // mnist-cnn layers (same padding)
      {28, 28, 5, 1, 0, 24, 24},  // fashion-lenet conv1
      {12, 12, 5, 1, 0, 8, 8},    // fashion-lenet conv2
      {7, 9, 3, 2, 0, 3, 4},     {5, 5, 3, 2, 2, 4, 4},
      {1, 1, 1, 1, 0, 1, 1},     {8, 8, 3, 3, 0, 2, 2},  // the floor: 5 / 3 = 1
      {3, 3, 5, 1, 1, 1, 1},                             // kernel exactly the padded input
  };
  for (const OutputCase& c : cases) {
    const Conv2dShape shape = conv(c.height, c.width, c.kernel, c.stride, c.pad);
    SCOPED_TRACE(shape.to_string());
    EXPECT_NO_THROW(shape.validate());
    EXPECT_EQ(shape.out_height(), c.out_height);
    EXPECT_EQ(shape.out_width(), c.out_width);
    EXPECT_EQ(shape.input_elements(), 2 * 3 * c.height * c.width);
    EXPECT_EQ(shape.weight_elements(), 5 * 3 * c.kernel * c.kernel);
    EXPECT_EQ(shape.output_elements(), 2 * 5 * c.out_height * c.out_width);
  }
}

TEST(Shapes, Pool2dOutputSizeFollowsPyTorch) {
  const std::vector<OutputCase> cases = {
      {28, 28, 2, 2, 0, 14, 14}, {14, 14, 2, 2, 0, 7, 7},
      {7, 7, 2, 2, 1, 4, 4},  // mnist-cnn layer3: padding 1 turns 7x7 into 4x4
      {24, 24, 2, 2, 0, 12, 12}, {5, 5, 3, 2, 1, 3, 3},
      {6, 7, 3, 3, 0, 2, 2},     {1, 1, 3, 1, 1, 1, 1},
      {8, 8, 2, 2, 1, 5, 5},
  };
  for (const OutputCase& c : cases) {
    const Pool2dShape shape = pool(c.height, c.width, c.kernel, c.stride, c.pad);
    SCOPED_TRACE(shape.to_string());
    EXPECT_NO_THROW(shape.validate());
    EXPECT_EQ(shape.out_height(), c.out_height);
    EXPECT_EQ(shape.out_width(), c.out_width);
    EXPECT_EQ(shape.input_elements(), 2 * 3 * c.height * c.width);
    EXPECT_EQ(shape.output_elements(), 2 * 3 * c.out_height * c.out_width);
  }
}

TEST(Shapes, RectangularKernelsStridesAndPadsUseTheirOwnAxis) {
  Conv2dShape shape = conv(9, 11, 3, 1, 0);
  shape.kernel_width = 5;
  shape.stride_height = 2;
  shape.pad_width = 2;
  EXPECT_EQ(shape.out_height(), 4);  // (9 - 3) / 2 + 1
  EXPECT_EQ(shape.out_width(), 11);  // (11 + 4 - 5) / 1 + 1
}

// validate() must throw std::invalid_argument whose message names `field`.
template <typename Shape>
void expect_invalid(const Shape& shape, const std::string& field) {
  try {
    shape.validate();
    ADD_FAILURE() << shape.to_string() << " passed; expected an error naming " << field;
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find(field), std::string::npos) << error.what();
  }
}

template <typename Shape>
struct Field {
  const char* name;
  int Shape::*member;
};

TEST(Shapes, Conv2dValidateNamesEachBadField) {
  const std::vector<Field<Conv2dShape>> positive = {
      {"batch", &Conv2dShape::batch},
      {"in_channels", &Conv2dShape::in_channels},
      {"in_height", &Conv2dShape::in_height},
      {"in_width", &Conv2dShape::in_width},
      {"out_channels", &Conv2dShape::out_channels},
      {"kernel_height", &Conv2dShape::kernel_height},
      {"kernel_width", &Conv2dShape::kernel_width},
      {"stride_height", &Conv2dShape::stride_height},
      {"stride_width", &Conv2dShape::stride_width},
  };
  for (const auto& [name, member] : positive) {
    for (const int bad : {0, -1}) {
      Conv2dShape shape = conv(8, 8, 3, 1, 1);
      shape.*member = bad;
      expect_invalid(shape, std::string(name) + " must be positive, got " + std::to_string(bad));
    }
  }
  for (const auto& [name, member] : std::vector<Field<Conv2dShape>>{
           {"pad_height", &Conv2dShape::pad_height}, {"pad_width", &Conv2dShape::pad_width}}) {
    Conv2dShape shape = conv(8, 8, 3, 1, 1);
    shape.*member = -1;
    expect_invalid(shape, std::string(name) + " must not be negative, got -1");
    shape.*member = 0;
    EXPECT_NO_THROW(shape.validate());
  }
  expect_invalid(conv(3, 3, 5, 1, 0), "the kernel is larger than the padded input");
  Conv2dShape wide_kernel = conv(8, 3, 3, 1, 0);
  wide_kernel.kernel_width = 4;
  expect_invalid(wide_kernel, "the kernel is larger than the padded input");
  expect_invalid(conv(3, 3, 5, 1, 0), "conv2d [2x3x3x3]");  // the message shows the shape
}

TEST(Shapes, Pool2dValidateNamesEachBadField) {
  const std::vector<Field<Pool2dShape>> positive = {
      {"batch", &Pool2dShape::batch},
      {"channels", &Pool2dShape::channels},
      {"in_height", &Pool2dShape::in_height},
      {"in_width", &Pool2dShape::in_width},
      {"kernel_height", &Pool2dShape::kernel_height},
      {"kernel_width", &Pool2dShape::kernel_width},
      {"stride_height", &Pool2dShape::stride_height},
      {"stride_width", &Pool2dShape::stride_width},
  };
  for (const auto& [name, member] : positive) {
    for (const int bad : {0, -3}) {
      Pool2dShape shape = pool(7, 7, 2, 2, 1);
      shape.*member = bad;
      expect_invalid(shape, std::string(name) + " must be positive, got " + std::to_string(bad));
    }
  }
  for (const auto& [name, member] : std::vector<Field<Pool2dShape>>{
           {"pad_height", &Pool2dShape::pad_height}, {"pad_width", &Pool2dShape::pad_width}}) {
    Pool2dShape shape = pool(7, 7, 2, 2, 1);
    shape.*member = -1;
    expect_invalid(shape, std::string(name) + " must not be negative, got -1");
  }
  // PyTorch: "pad should be at most half of effective kernel size".
  expect_invalid(pool(7, 7, 2, 2, 2), "padding must be at most half the kernel size");
  expect_invalid(pool(7, 7, 3, 1, 2), "padding must be at most half the kernel size");
  Pool2dShape wide_pad = pool(7, 7, 3, 1, 1);
  wide_pad.pad_width = 2;
  expect_invalid(wide_pad, "padding must be at most half the kernel size");
  EXPECT_NO_THROW(pool(7, 7, 3, 1, 1).validate());
  expect_invalid(pool(1, 1, 3, 1, 0), "the kernel is larger than the padded input");
  expect_invalid(pool(7, 7, 2, 2, 2), "max_pool2d [2x3x7x7]");
}

TEST(Shapes, LinearValidateNamesEachBadField) {
  const LinearShape good{.batch = 32, .in_features = 2048, .out_features = 625};
  EXPECT_NO_THROW(good.validate());
  for (const auto& [name, member] :
       std::vector<Field<LinearShape>>{{"batch", &LinearShape::batch},
                                       {"in_features", &LinearShape::in_features},
                                       {"out_features", &LinearShape::out_features}}) {
    for (const int bad : {0, -2}) {
      LinearShape shape = good;
      shape.*member = bad;
      expect_invalid(shape, std::string(name) + " must be positive, got " + std::to_string(bad));
    }
  }
  expect_invalid(LinearShape{.batch = 0, .in_features = 1, .out_features = 1}, "linear [0x1]");
}

}  // namespace
}  // namespace kiln
