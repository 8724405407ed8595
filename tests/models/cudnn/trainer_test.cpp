// The trainer on cuDNN with CUDA graphs on, as train_mnist_gpu runs it by default: each step
// variant runs directly once (cuDNN's lazy initialisation and the short last batch's new plan stay
// out of the capture), then is captured and replayed. Replays train exactly as direct launches,
// and cuDNN's dropout, whose generator state lives in device memory, draws a new mask each replay.
#include "models/trainer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "kernels/cudnn/backend.h"
#include "runtime/memory/allocator.h"
#include "runtime/step_runner.h"
#include "tests/models/synthetic_data.h"
#include "tests/support/gpu.h"
#include "tests/support/tolerance.h"

namespace kiln::models {
namespace {

class CudnnTrainer : public testing::GpuStreamTest {
 protected:
  void SetUp() override {
    testing::GpuStreamTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    KILN_SKIP_CAPTURE_UNDER_SYNC_LAUNCHES();  // every test here captures
    backend_ = std::make_unique<cudnn::CudnnBackend>(stream_);
    allocator_ = make_cuda_allocator(stream_);
  }
  void TearDown() override {
    allocator_.reset();
    backend_.reset();
    testing::GpuStreamTest::TearDown();
  }

  std::vector<checkpoint::NamedTensor> train(const std::string& model,
                                             const TrainOptions& options) {
    const Datasets datasets = synthetic_datasets(model);
    Trainer trainer(options, *backend_, *allocator_, datasets, nullptr);
    trainer.run();
    return trainer.weights();
  }

  std::unique_ptr<cudnn::CudnnBackend> backend_;
  std::unique_ptr<Allocator> allocator_;
};

// fashion-lenet has no dropout, so its run is deterministic on cuDNN's deterministic algorithms.
// Two epochs of 10 full batches: the first step direct, the rest from one graph.
TEST_F(CudnnTrainer, ReplayingTheCapturedStepEqualsLaunchingItDirectly) {
  TrainOptions options = quiet_options("fashion-lenet");
  options.epochs = 2;
  const auto direct = train("fashion-lenet", options);
  CudaGraphStepRunner runner(stream_);
  options.step_runner = &runner;
  const auto replayed = train("fashion-lenet", options);
  EXPECT_EQ(runner.graphs(), 1u);
  for (std::size_t i = 0; i < direct.size(); ++i) {
    EXPECT_TRUE(testing::bitwise_equal(direct[i].values, replayed[i].values)) << direct[i].name;
  }
}

// mnist-cnn with cuDNN's dropout: 6 full batches and a short one of 8 per epoch, so over two
// epochs both variants run directly once and are then captured. Training stays finite.
TEST_F(CudnnTrainer, MnistCnnTrainsWithGraphsOnBothBatchVariants) {
  TrainOptions options = quiet_options("mnist-cnn");
  options.epochs = 2;
  CudaGraphStepRunner runner(stream_);
  options.step_runner = &runner;
  const auto weights = train("mnist-cnn", options);
  EXPECT_EQ(runner.graphs(), 2u);
  for (const auto& tensor : weights) {
    for (const float v : tensor.values) ASSERT_TRUE(std::isfinite(v)) << tensor.name;
  }
}

// One dropout launch run through the graph runner three times (direct, captured, replayed): each
// run draws a new mask, because cuDNN advances its generator state in device memory.
TEST_F(CudnnTrainer, DropoutDrawsANewMaskOnEveryReplay) {
  constexpr std::int64_t kCount = 4096;
  testing::DeviceBuffer<float> x(std::vector<float>(kCount, 1.0f));
  testing::DeviceBuffer<float> y(kCount);
  testing::DeviceBuffer<std::byte> reserve(backend_->dropout_reserve_bytes(kCount));
  CudaGraphStepRunner runner(stream_);
  std::vector<std::vector<float>> outputs;
  for (int run = 0; run < 3; ++run) {
    runner.run(0, [&] {
      backend_->dropout_forward(kCount, 0.5f, 0, nullptr, x.data(), y.data(),
                                {reserve.data(), reserve.size()});
    });
    outputs.push_back(y.download());
  }
  EXPECT_EQ(runner.graphs(), 1u);
  EXPECT_NE(outputs[0], outputs[1]) << "the captured run repeated the direct run's mask";
  EXPECT_NE(outputs[1], outputs[2]) << "the replay repeated the captured run's mask";
}

}  // namespace
}  // namespace kiln::models
