// The conv2d kernels against the CPU reference (kiln::cpu::conv2d_*) on fresh random inputs, over
// awkward shapes, shapes that force each tile size and the five layers of the reference models,
// with the tolerances of tests/support/conv_cases.h. backward_bias sums in double on both sides,
// so the two differ only where rounding the double sums to float does: atol = rtol = 1e-6.
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
#include "kernels/cuda/backend.h"
#include "tests/support/conv_cases.h"
#include "tests/support/gpu.h"
#include "tests/support/random.h"
#include "tests/support/tolerance.h"

namespace kiln {
namespace {

using testing::ConvInputs;
using testing::ConvOutputs;
using testing::DeviceBuffer;
using testing::kAwkwardConvShapes;
using testing::kModelConvShapes;
using testing::NamedShape;
using testing::size_of;

// With the launcher's heuristic (a grid of at least 132 blocks), each of these picks a tile size
// that the shapes above leave unused, so every pass runs with every tile at least once: forward
// 64x64 and 32x64, backward_data 64x64, 64x32 and 32x64, backward_filter 64x64, 64x32 and 32x64
// (the model layers add forward 64x32; the small shapes 32x32 everywhere).
const std::vector<NamedShape> kTileShapes = {
    {"forward 64x64 tiles", testing::conv(3, 5, 40, 40, 70, 3, 3, 1, 1, 1, 1)},
    {"forward and backward_data 32x64 tiles", testing::conv(3, 2, 50, 60, 24, 3, 3, 1, 1, 1, 1)},
    {"backward_data 64x64 tiles", testing::conv(3, 70, 40, 40, 5, 3, 3, 1, 1, 1, 1)},
    {"backward_data 64x32 tiles", testing::conv(3, 40, 40, 40, 6, 3, 3, 1, 1, 1, 1)},
    {"backward_filter 64x64 tiles", testing::conv(1, 470, 5, 6, 70, 3, 3, 1, 1, 1, 1)},
    {"backward_filter 64x32 tiles", testing::conv(1, 300, 5, 5, 70, 3, 3, 1, 1, 1, 1)},
    {"backward_filter 32x64 tiles", testing::conv(1, 940, 5, 5, 20, 3, 3, 1, 1, 1, 1)},
};

// Device copies of the inputs and poisoned outputs for one shape. `offset` floats are skipped at
// the start of every tensor, so a nonzero offset moves each pointer off any 16-byte boundary.
class DeviceConv {
 public:
  DeviceConv(const Conv2dShape& shape, const ConvInputs& in, std::size_t offset = 0)
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
  ConvOutputs run(cudaStream_t stream) {
    poison_outputs();
    // The poison (on the legacy default stream) must land before kernels on `stream` write.
    KILN_CUDA_CHECK(cudaDeviceSynchronize());
    cuda::conv2d_forward(shape_, in(x_), in(weight_), in(bias_), out(y_), stream);
    cuda::conv2d_forward(shape_, in(x_), in(weight_), nullptr, out(y_plain_), stream);
    cuda::conv2d_backward_data(shape_, in(dy_), in(weight_), out(dx_), stream);
    cuda::conv2d_backward_filter(shape_, in(x_), in(dy_), out(dweight_), workspace(), stream);
    cuda::conv2d_backward_bias(shape_, in(dy_), out(dbias_), stream);
    return download();
  }

  ConvOutputs download() const {
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

// backward_bias sums in double, as the reference does.
void expect_matches_reference(const Conv2dShape& shape, const ConvOutputs& gpu,
                              const ConvOutputs& cpu) {
  testing::expect_conv_matches_reference(shape, gpu, cpu, {.atol = 1e-6, .rtol = 1e-6});
}

class CudaConv2d : public testing::SeededGpuStreamTest {
 protected:
  ConvInputs random_inputs(const Conv2dShape& shape) {
    return testing::random_conv_inputs(shape, rng_);
  }

  void check_shapes(const std::vector<NamedShape>& shapes) {
    SCOPED_TRACE(testing::seed_trace(seed_));
    for (const auto& [name, shape] : shapes) {
      SCOPED_TRACE(name + ": " + shape.to_string());
      const ConvInputs in = random_inputs(shape);
      DeviceConv device(shape, in);
      expect_matches_reference(shape, device.run(nullptr), testing::run_conv_reference(shape, in));
    }
  }
};

TEST_F(CudaConv2d, AwkwardShapesMatchReference) { check_shapes(kAwkwardConvShapes); }

TEST_F(CudaConv2d, EveryTileSizeMatchesReference) { check_shapes(kTileShapes); }

TEST_F(CudaConv2d, ModelLayersMatchReference) { check_shapes(kModelConvShapes); }

// Pointers one float past a 16-byte boundary: the kernels must not assume vector alignment.
TEST_F(CudaConv2d, UnalignedPointersMatchReference) {
  SCOPED_TRACE(testing::seed_trace(seed_));
  for (const auto& [name, shape] :
       {kAwkwardConvShapes[1], kAwkwardConvShapes[8], kModelConvShapes[2], kModelConvShapes[3]}) {
    SCOPED_TRACE(name + ": " + shape.to_string());
    const ConvInputs in = random_inputs(shape);
    DeviceConv device(shape, in, /*offset=*/1);
    expect_matches_reference(shape, device.run(nullptr), testing::run_conv_reference(shape, in));
  }
}

// Everything on a created stream (not the legacy default one), then the same bits as on the
// default stream.
TEST_F(CudaConv2d, RunsOnNonDefaultStream) {
  SCOPED_TRACE(testing::seed_trace(seed_));
  cudaStream_t stream = nullptr;
  KILN_CUDA_CHECK(cudaStreamCreate(&stream));
  for (const auto& [name, shape] :
       {kAwkwardConvShapes[4], kModelConvShapes[0], kModelConvShapes[1]}) {
    SCOPED_TRACE(name + ": " + shape.to_string());
    const ConvInputs in = random_inputs(shape);
    DeviceConv device(shape, in);
    const ConvOutputs on_stream = device.run(stream);
    expect_matches_reference(shape, on_stream, testing::run_conv_reference(shape, in));
    EXPECT_TRUE(testing::conv_outputs_bitwise_equal(on_stream, device.run(nullptr)));
  }
  KILN_CUDA_CHECK(cudaStreamDestroy(stream));
}

// No atomics, fixed reduction orders: a second run gives the same bits, split K included.
TEST_F(CudaConv2d, RunsAreBitwiseDeterministic) {
  SCOPED_TRACE(testing::seed_trace(seed_));
  for (const auto& [name, shape] :
       {kAwkwardConvShapes[2], kAwkwardConvShapes[11], kModelConvShapes[0], kModelConvShapes[1],
        kModelConvShapes[2], kModelConvShapes[3]}) {
    SCOPED_TRACE(name + ": " + shape.to_string());
    DeviceConv device(shape, random_inputs(shape));
    const ConvOutputs first = device.run(nullptr);
    EXPECT_TRUE(testing::conv_outputs_bitwise_equal(first, device.run(nullptr)));
  }
}

// The workspace is what backward_filter's split K needs: some shapes need none, the model layers
// with long K do, and the size depends on the shape alone.
TEST_F(CudaConv2d, WorkspaceSizeIsAFunctionOfTheShape) {
  EXPECT_EQ(cuda::conv2d_workspace_bytes(kAwkwardConvShapes[0].shape), 0u);
  for (const auto& named : kModelConvShapes) {
    SCOPED_TRACE(named.name);
    const std::size_t bytes = cuda::conv2d_workspace_bytes(named.shape);
    EXPECT_GT(bytes, 0u);
    EXPECT_EQ(bytes % sizeof(float), 0u);
    EXPECT_EQ(cuda::conv2d_workspace_bytes(named.shape), bytes);
  }
}

// A workspace one byte short, or misaligned for floats, is refused before backward_filter launches
// anything: the poisoned output stays poisoned.
TEST_F(CudaConv2d, ShortOrMisalignedWorkspaceIsRejectedBeforeLaunch) {
  SCOPED_TRACE(testing::seed_trace(seed_));
  const Conv2dShape shape = kModelConvShapes[1].shape;
  const ConvInputs in = random_inputs(shape);
  DeviceConv device(shape, in);
  const std::span<std::byte> workspace = device.workspace();
  ASSERT_GT(workspace.size(), 0u);
  device.poison_outputs();
  for (const std::span<std::byte> bad :
       {workspace.first(workspace.size() - 1), std::span<std::byte>{},
        std::span<std::byte>(workspace.data() + 1, workspace.size())}) {
    EXPECT_THROW(cuda::conv2d_backward_filter(shape, device.in(device.x()), device.in(device.dy()),
                                              device.out(device.dweight()), bad, nullptr),
                 std::invalid_argument);
  }
  for (const float v : device.download().dweight) ASSERT_TRUE(std::isnan(v));
}

// Invalid shapes (here an empty batch, and a kernel larger than the padded input) are refused
// before every launcher, as by the CPU reference: by Backend (kernels/backend.cpp), once for every
// engine, and by the workspace size.
TEST_F(CudaConv2d, InvalidShapesAreRejected) {
  DeviceBuffer<float> buffer(1024);
  float* p = buffer.data();
  cuda::CudaBackend backend(stream_);
  for (const Conv2dShape& shape : {testing::conv(0, 1, 5, 5, 1, 3, 3, 1, 1, 0, 0),
                                   testing::conv(1, 1, 2, 5, 1, 3, 3, 1, 1, 0, 0)}) {
    SCOPED_TRACE(shape.to_string());
    EXPECT_THROW(cuda::conv2d_workspace_bytes(shape), std::invalid_argument);
    EXPECT_THROW(backend.conv2d_forward(shape, p, p, p, p, {}), std::invalid_argument);
    EXPECT_THROW(backend.conv2d_backward_data(shape, p, p, p, {}), std::invalid_argument);
    EXPECT_THROW(backend.conv2d_backward_filter(shape, p, p, p, {}), std::invalid_argument);
    EXPECT_THROW(backend.conv2d_backward_bias(shape, p, p), std::invalid_argument);
  }
}

}  // namespace
}  // namespace kiln
