// The conv2d kernels against the CPU reference (kiln::cpu::conv2d_*) on fresh random inputs, over
// awkward shapes, shapes that force each tile size and the five layers of the reference models.
//
// Tolerances. The GPU sums in a different order from the CPU (tiles, split K), so forward,
// backward_data and backward_filter are compared in two ways: relative L2 error at most 1e-5 over
// the tensor (the rule of the PyTorch fixtures), and element-wise |gpu - cpu| <= atol + 1e-4 |cpu|
// with atol = 1e-5 * sqrt(K), K the length of the pass's sum. With inputs in [-1, 1] a sum of K
// products rounds to about 1e-8 * K in float either way (a random walk of 2^-24-sized errors over
// partial sums of size sqrt(K)), far inside atol for every K here, while one tap read from the
// wrong place or dropped changes an element by about 0.3, far outside it. backward_bias sums in
// double on both sides, so the two differ only where rounding the double sums to float does: atol =
// rtol = 1e-6.
#include "kernels/cuda/conv2d.h"

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/cpu/conv2d.h"
#include "tests/support/gpu.h"
#include "tests/support/random.h"
#include "tests/support/tolerance.h"

namespace kiln {
namespace {

using testing::DeviceBuffer;

Conv2dShape conv(int batch, int in_channels, int in_height, int in_width, int out_channels,
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
const std::vector<NamedShape> kAwkwardShapes = {
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

// With the launcher's heuristic (a grid of at least 132 blocks), each of these picks a tile size
// that the shapes above leave unused, so every pass runs with every tile at least once: forward
// 64x64 and 32x64, backward_data 64x64, 64x32 and 32x64, backward_filter 64x64, 64x32 and 32x64
// (the model layers add forward 64x32; the small shapes 32x32 everywhere).
const std::vector<NamedShape> kTileShapes = {
    {"forward 64x64 tiles", conv(3, 5, 40, 40, 70, 3, 3, 1, 1, 1, 1)},
    {"forward and backward_data 32x64 tiles", conv(3, 2, 50, 60, 24, 3, 3, 1, 1, 1, 1)},
    {"backward_data 64x64 tiles", conv(3, 70, 40, 40, 5, 3, 3, 1, 1, 1, 1)},
    {"backward_data 64x32 tiles", conv(3, 40, 40, 40, 6, 3, 3, 1, 1, 1, 1)},
    {"backward_filter 64x64 tiles", conv(1, 470, 5, 6, 70, 3, 3, 1, 1, 1, 1)},
    {"backward_filter 64x32 tiles", conv(1, 300, 5, 5, 70, 3, 3, 1, 1, 1, 1)},
    {"backward_filter 32x64 tiles", conv(1, 940, 5, 5, 20, 3, 3, 1, 1, 1, 1)},
};

// RECIPES.md: mnist-cnn at batch 32, fashion-lenet at batch 20.
const std::vector<NamedShape> kModelShapes = {
    {"mnist-cnn layer1", conv(32, 1, 28, 28, 32, 3, 3, 1, 1, 1, 1)},
    {"mnist-cnn layer2", conv(32, 32, 14, 14, 64, 3, 3, 1, 1, 1, 1)},
    {"mnist-cnn layer3", conv(32, 64, 7, 7, 128, 3, 3, 1, 1, 1, 1)},
    {"fashion-lenet conv1", conv(20, 1, 28, 28, 6, 5, 5, 1, 1, 0, 0)},
    {"fashion-lenet conv2", conv(20, 6, 12, 12, 10, 5, 5, 1, 1, 0, 0)},
};

// The lengths of the sums behind one element of each pass's output.
std::int64_t forward_terms(const Conv2dShape& s) {
  return std::int64_t{s.in_channels} * s.kernel_height * s.kernel_width;
}
std::int64_t backward_data_terms(const Conv2dShape& s) {
  return std::int64_t{s.out_channels} * s.kernel_height * s.kernel_width;
}
std::int64_t backward_filter_terms(const Conv2dShape& s) {
  return std::int64_t{s.batch} * s.out_height() * s.out_width();
}

::testing::AssertionResult close_to_reference(std::span<const float> gpu,
                                              std::span<const float> cpu, std::int64_t terms) {
  const auto l2 = testing::close_in_l2(gpu, cpu, 1e-5);
  if (!l2) return l2;
  const double atol = 1e-5 * std::sqrt(static_cast<double>(terms));
  return testing::all_close(gpu, cpu, {.atol = atol, .rtol = 1e-4});
}

struct Inputs {
  std::vector<float> x;
  std::vector<float> weight;
  std::vector<float> bias;
  std::vector<float> dy;
};

// What the four passes produce; y_plain is the forward pass without bias.
struct Outputs {
  std::vector<float> y;
  std::vector<float> y_plain;
  std::vector<float> dx;
  std::vector<float> dweight;
  std::vector<float> dbias;
};

std::size_t size_of(std::int64_t count) { return static_cast<std::size_t>(count); }

Outputs run_cpu(const Conv2dShape& shape, const Inputs& in) {
  Outputs out{.y = std::vector<float>(size_of(shape.output_elements())),
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

// Device copies of the inputs and poisoned outputs for one shape. `offset` floats are skipped at
// the start of every tensor, so a nonzero offset moves each pointer off any 16-byte boundary.
class DeviceConv {
 public:
  DeviceConv(const Conv2dShape& shape, const Inputs& in, std::size_t offset = 0)
      : shape_(shape),
        offset_(offset),
        x_(padded(in.x)),
        weight_(padded(in.weight)),
        bias_(padded(in.bias)),
        dy_(padded(in.dy)),
        y_(offset + size_of(shape.output_elements())),
        y_plain_(offset + size_of(shape.output_elements())),
        dx_(offset + size_of(shape.input_elements())),
        dweight_(offset + size_of(shape.weight_elements())),
        dbias_(offset + size_of(shape.out_channels)),
        workspace_bytes_(cuda::conv2d_workspace_bytes(shape)),
        workspace_(workspace_bytes_ + 1) {}

  std::span<std::byte> workspace() { return {workspace_.data(), workspace_bytes_}; }

  void poison_outputs() {
    y_.poison();
    y_plain_.poison();
    dx_.poison();
    dweight_.poison();
    dbias_.poison();
  }

  // All four passes (forward with and without bias) on `stream`, outputs poisoned first.
  Outputs run(cudaStream_t stream) {
    poison_outputs();
    // The poison (on the legacy default stream) must land before kernels on `stream` write.
    KILN_CUDA_CHECK(cudaDeviceSynchronize());
    cuda::conv2d_forward(shape_, in(x_), in(weight_), in(bias_), out(y_), workspace(), stream);
    cuda::conv2d_forward(shape_, in(x_), in(weight_), nullptr, out(y_plain_), workspace(), stream);
    cuda::conv2d_backward_data(shape_, in(dy_), in(weight_), out(dx_), workspace(), stream);
    cuda::conv2d_backward_filter(shape_, in(x_), in(dy_), out(dweight_), workspace(), stream);
    cuda::conv2d_backward_bias(shape_, in(dy_), out(dbias_), stream);
    return download();
  }

  Outputs download() const {
    return {.y = unpadded(y_),
            .y_plain = unpadded(y_plain_),
            .dx = unpadded(dx_),
            .dweight = unpadded(dweight_),
            .dbias = unpadded(dbias_)};
  }

  const float* in(const DeviceBuffer<float>& buffer) const { return buffer.data() + offset_; }
  float* out(DeviceBuffer<float>& buffer) { return buffer.data() + offset_; }
  DeviceBuffer<float>& x() { return x_; }
  DeviceBuffer<float>& weight() { return weight_; }
  DeviceBuffer<float>& dy() { return dy_; }
  DeviceBuffer<float>& y() { return y_; }
  DeviceBuffer<float>& dx() { return dx_; }
  DeviceBuffer<float>& dweight() { return dweight_; }

 private:
  std::vector<float> padded(const std::vector<float>& values) const {
    std::vector<float> result(offset_, 0.0f);
    result.insert(result.end(), values.begin(), values.end());
    return result;
  }
  std::vector<float> unpadded(const DeviceBuffer<float>& buffer) const {
    const auto all = buffer.download();
    return {all.begin() + static_cast<std::ptrdiff_t>(offset_), all.end()};
  }

  Conv2dShape shape_;
  std::size_t offset_;
  DeviceBuffer<float> x_;
  DeviceBuffer<float> weight_;
  DeviceBuffer<float> bias_;
  DeviceBuffer<float> dy_;
  DeviceBuffer<float> y_;
  DeviceBuffer<float> y_plain_;
  DeviceBuffer<float> dx_;
  DeviceBuffer<float> dweight_;
  DeviceBuffer<float> dbias_;
  std::size_t workspace_bytes_;
  DeviceBuffer<std::byte> workspace_;  // one byte more, so it is never a zero-byte allocation
};

void expect_matches_reference(const Conv2dShape& shape, const Outputs& gpu, const Outputs& cpu) {
  EXPECT_TRUE(close_to_reference(gpu.y, cpu.y, forward_terms(shape))) << "forward with bias";
  EXPECT_TRUE(close_to_reference(gpu.y_plain, cpu.y_plain, forward_terms(shape)))
      << "forward without bias";
  EXPECT_TRUE(close_to_reference(gpu.dx, cpu.dx, backward_data_terms(shape))) << "backward_data";
  EXPECT_TRUE(close_to_reference(gpu.dweight, cpu.dweight, backward_filter_terms(shape)))
      << "backward_filter";
  EXPECT_TRUE(testing::all_close(gpu.dbias, cpu.dbias, {.atol = 1e-6, .rtol = 1e-6}))
      << "backward_bias";
}

void expect_bitwise_equal(const Outputs& a, const Outputs& b) {
  EXPECT_TRUE(testing::bitwise_equal(a.y, b.y)) << "forward with bias";
  EXPECT_TRUE(testing::bitwise_equal(a.y_plain, b.y_plain)) << "forward without bias";
  EXPECT_TRUE(testing::bitwise_equal(a.dx, b.dx)) << "backward_data";
  EXPECT_TRUE(testing::bitwise_equal(a.dweight, b.dweight)) << "backward_filter";
  EXPECT_TRUE(testing::bitwise_equal(a.dbias, b.dbias)) << "backward_bias";
}

class CudaConv2d : public testing::GpuTest {
 protected:
  void SetUp() override {
    testing::GpuTest::SetUp();
    seed_ = testing::fresh_seed();
    rng_.seed(seed_);
  }

  Inputs random_inputs(const Conv2dShape& shape) {
    const auto uniform = [&](std::int64_t count) {
      return testing::uniform_floats(size_of(count), -1.0f, 1.0f, rng_);
    };
    return {.x = uniform(shape.input_elements()),
            .weight = uniform(shape.weight_elements()),
            .bias = uniform(shape.out_channels),
            .dy = uniform(shape.output_elements())};
  }

  void check_shapes(const std::vector<NamedShape>& shapes) {
    SCOPED_TRACE(testing::seed_trace(seed_));
    for (const auto& [name, shape] : shapes) {
      SCOPED_TRACE(name + ": " + shape.to_string());
      const Inputs in = random_inputs(shape);
      DeviceConv device(shape, in);
      expect_matches_reference(shape, device.run(nullptr), run_cpu(shape, in));
    }
  }

  std::uint64_t seed_ = 0;
  std::mt19937_64 rng_;
};

TEST_F(CudaConv2d, AwkwardShapesMatchReference) { check_shapes(kAwkwardShapes); }

TEST_F(CudaConv2d, EveryTileSizeMatchesReference) { check_shapes(kTileShapes); }

TEST_F(CudaConv2d, ModelLayersMatchReference) { check_shapes(kModelShapes); }

// Pointers one float past a 16-byte boundary: the kernels must not assume vector alignment.
TEST_F(CudaConv2d, UnalignedPointersMatchReference) {
  SCOPED_TRACE(testing::seed_trace(seed_));
  for (const auto& [name, shape] :
       {kAwkwardShapes[1], kAwkwardShapes[8], kModelShapes[2], kModelShapes[3]}) {
    SCOPED_TRACE(name + ": " + shape.to_string());
    const Inputs in = random_inputs(shape);
    DeviceConv device(shape, in, /*offset=*/1);
    expect_matches_reference(shape, device.run(nullptr), run_cpu(shape, in));
  }
}

// Everything on a created stream (not the legacy default one), then the same bits as on the
// default stream.
TEST_F(CudaConv2d, RunsOnNonDefaultStream) {
  SCOPED_TRACE(testing::seed_trace(seed_));
  cudaStream_t stream = nullptr;
  KILN_CUDA_CHECK(cudaStreamCreate(&stream));
  for (const auto& [name, shape] : {kAwkwardShapes[4], kModelShapes[0], kModelShapes[1]}) {
    SCOPED_TRACE(name + ": " + shape.to_string());
    const Inputs in = random_inputs(shape);
    DeviceConv device(shape, in);
    const Outputs on_stream = device.run(stream);
    expect_matches_reference(shape, on_stream, run_cpu(shape, in));
    expect_bitwise_equal(on_stream, device.run(nullptr));
  }
  KILN_CUDA_CHECK(cudaStreamDestroy(stream));
}

// No atomics, fixed reduction orders: a second run gives the same bits, split K included.
TEST_F(CudaConv2d, RunsAreBitwiseDeterministic) {
  SCOPED_TRACE(testing::seed_trace(seed_));
  for (const auto& [name, shape] : {kAwkwardShapes[2], kAwkwardShapes[11], kModelShapes[0],
                                    kModelShapes[1], kModelShapes[2], kModelShapes[3]}) {
    SCOPED_TRACE(name + ": " + shape.to_string());
    DeviceConv device(shape, random_inputs(shape));
    const Outputs first = device.run(nullptr);
    expect_bitwise_equal(first, device.run(nullptr));
  }
}

// The workspace is what backward_filter's split K needs: some shapes need none, the model layers
// with long K do, and the size depends on the shape alone.
TEST_F(CudaConv2d, WorkspaceSizeIsAFunctionOfTheShape) {
  EXPECT_EQ(cuda::conv2d_workspace_bytes(kAwkwardShapes[0].shape), 0u);
  for (const auto& named : kModelShapes) {
    SCOPED_TRACE(named.name);
    const std::size_t bytes = cuda::conv2d_workspace_bytes(named.shape);
    EXPECT_GT(bytes, 0u);
    EXPECT_EQ(bytes % sizeof(float), 0u);
    EXPECT_EQ(cuda::conv2d_workspace_bytes(named.shape), bytes);
  }
}

// A workspace one byte short, or misaligned for floats, is refused before anything is launched:
// the poisoned outputs stay poisoned.
TEST_F(CudaConv2d, ShortOrMisalignedWorkspaceIsRejectedBeforeLaunch) {
  SCOPED_TRACE(testing::seed_trace(seed_));
  const Conv2dShape shape = kModelShapes[1].shape;
  const Inputs in = random_inputs(shape);
  DeviceConv device(shape, in);
  const std::span<std::byte> workspace = device.workspace();
  ASSERT_GT(workspace.size(), 0u);
  device.poison_outputs();
  for (const std::span<std::byte> bad :
       {workspace.first(workspace.size() - 1), std::span<std::byte>{},
        std::span<std::byte>(workspace.data() + 1, workspace.size())}) {
    EXPECT_THROW(cuda::conv2d_forward(shape, device.in(device.x()), device.in(device.weight()),
                                      nullptr, device.out(device.y()), bad, nullptr),
                 std::invalid_argument);
    EXPECT_THROW(
        cuda::conv2d_backward_data(shape, device.in(device.dy()), device.in(device.weight()),
                                   device.out(device.dx()), bad, nullptr),
        std::invalid_argument);
    EXPECT_THROW(cuda::conv2d_backward_filter(shape, device.in(device.x()), device.in(device.dy()),
                                              device.out(device.dweight()), bad, nullptr),
                 std::invalid_argument);
  }
  const Outputs untouched = device.download();
  for (const auto* output : {&untouched.y, &untouched.dx, &untouched.dweight}) {
    for (const float v : *output) ASSERT_TRUE(std::isnan(v));
  }
}

// Invalid shapes (here an empty batch, and a kernel larger than the padded input) are refused by
// every launcher, as by the CPU reference.
TEST_F(CudaConv2d, InvalidShapesAreRejected) {
  DeviceBuffer<float> buffer(1024);
  float* p = buffer.data();
  for (const Conv2dShape& shape :
       {conv(0, 1, 5, 5, 1, 3, 3, 1, 1, 0, 0), conv(1, 1, 2, 5, 1, 3, 3, 1, 1, 0, 0)}) {
    SCOPED_TRACE(shape.to_string());
    EXPECT_THROW(cuda::conv2d_workspace_bytes(shape), std::invalid_argument);
    EXPECT_THROW(cuda::conv2d_forward(shape, p, p, p, p, {}, nullptr), std::invalid_argument);
    EXPECT_THROW(cuda::conv2d_backward_data(shape, p, p, p, {}, nullptr), std::invalid_argument);
    EXPECT_THROW(cuda::conv2d_backward_filter(shape, p, p, p, {}, nullptr), std::invalid_argument);
    EXPECT_THROW(cuda::conv2d_backward_bias(shape, p, p, nullptr), std::invalid_argument);
  }
}

}  // namespace
}  // namespace kiln
