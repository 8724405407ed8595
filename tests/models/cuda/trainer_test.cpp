// The trainer on the CUDA backend: a step allocates nothing and synchronises with nothing (it can
// be captured as a CUDA graph), replaying the captured step trains exactly as launching it does,
// two runs give bit-identical weights, and a few steps follow the CPU reference trainer.
#include "models/trainer.h"

#include <gtest/gtest.h>

#include "kernels/cpu/backend.h"
#include "kernels/cuda/backend.h"
#include "runtime/step_runner.h"
#include "tests/models/synthetic_data.h"
#include "tests/support/gpu.h"
#include "tests/support/heap_counter.h"
#include "tests/support/tolerance.h"

namespace kiln::models {
namespace {

class CudaTrainer : public testing::GpuStreamTest {
 protected:
  void SetUp() override {
    testing::GpuStreamTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    backend_ = std::make_unique<cuda::CudaBackend>(stream_);
    allocator_ = make_cuda_allocator(stream_);
  }
  void TearDown() override {
    allocator_.reset();
    backend_.reset();
    testing::GpuStreamTest::TearDown();  // after the backend and allocator that work on its stream
  }

  std::vector<checkpoint::NamedTensor> train(const std::string& model, TrainOptions options,
                                             Backend& backend, Allocator& allocator) {
    const Datasets datasets = synthetic_datasets(model);
    Trainer trainer(options, backend, allocator, datasets, nullptr);
    trainer.run();
    return trainer.weights();
  }

  std::unique_ptr<cuda::CudaBackend> backend_;
  std::unique_ptr<Allocator> allocator_;
};

TEST_F(CudaTrainer, AStepAllocatesNothingAndCanBeCapturedAsAGraph) {
  KILN_SKIP_CAPTURE_UNDER_SYNC_LAUNCHES();
  for (const std::string model : {"mnist-cnn", "fashion-lenet"}) {
    SCOPED_TRACE(model);
    const Datasets datasets = synthetic_datasets(model);
    Trainer trainer(quiet_options(model), *backend_, *allocator_, datasets, nullptr);
    trainer.train_step(0);
    KILN_CUDA_CHECK(cudaStreamSynchronize(stream_));
    const std::int64_t heap_before = testing::heap_allocations.load();
    const std::size_t blocks_before = allocator_->allocations();
    // Capture fails if the step synchronises, allocates device memory or copies to the host.
    KILN_CUDA_CHECK(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeGlobal));
    trainer.train_step(1);
    cudaGraph_t graph = nullptr;
    KILN_CUDA_CHECK(cudaStreamEndCapture(stream_, &graph));
    EXPECT_NE(graph, nullptr);
    std::size_t nodes = 0;
    KILN_CUDA_CHECK(cudaGraphGetNodes(graph, nullptr, &nodes));
    EXPECT_GT(nodes, 10u);
    KILN_CUDA_CHECK(cudaGraphDestroy(graph));
    EXPECT_EQ(testing::heap_allocations.load() - heap_before, 0);
    EXPECT_EQ(allocator_->allocations(), blocks_before);
  }
}

TEST_F(CudaTrainer, TwoRunsGiveBitIdenticalWeights) {
  for (const std::string model : {"mnist-cnn", "fashion-lenet"}) {
    SCOPED_TRACE(model);
    TrainOptions options = quiet_options(model);
    options.epochs = 1;
    options.optimizer = OptimizerKind::adam;
    const auto first = train(model, options, *backend_, *allocator_);
    const auto second = train(model, options, *backend_, *allocator_);
    for (std::size_t i = 0; i < first.size(); ++i) {
      EXPECT_TRUE(testing::bitwise_equal(first[i].values, second[i].values)) << first[i].name;
    }
  }
}

TEST_F(CudaTrainer, ReplayingTheCapturedStepEqualsLaunchingItDirectly) {
  KILN_SKIP_CAPTURE_UNDER_SYNC_LAUNCHES();
  // Two epochs of Adam with dropout (mnist-cnn: 6 full batches and a short one of 8, so two graphs)
  // and of SGD (fashion-lenet: 10 full batches, one graph): every replay must read the current
  // step for the dropout masks and Adam's bias correction, and the epoch's order.
  for (const auto& [model, graphs] : {std::pair{"mnist-cnn", 2u}, std::pair{"fashion-lenet", 1u}}) {
    SCOPED_TRACE(model);
    TrainOptions options = quiet_options(model);
    options.epochs = 2;
    const auto direct = train(model, options, *backend_, *allocator_);
    CudaGraphStepRunner runner(stream_);
    options.step_runner = &runner;
    const auto replayed = train(model, options, *backend_, *allocator_);
    EXPECT_EQ(runner.graphs(), graphs);
    for (std::size_t i = 0; i < direct.size(); ++i) {
      EXPECT_TRUE(testing::bitwise_equal(direct[i].values, replayed[i].values)) << direct[i].name;
    }
  }
}

TEST_F(CudaTrainer, AReplayedStepAllocatesNothing) {
  KILN_SKIP_CAPTURE_UNDER_SYNC_LAUNCHES();
  const Datasets datasets = synthetic_datasets("mnist-cnn");
  CudaGraphStepRunner runner(stream_);
  TrainOptions options = quiet_options("mnist-cnn");
  options.step_runner = &runner;
  Trainer trainer(options, *backend_, *allocator_, datasets, nullptr);
  trainer.train_step(0);  // runs directly
  trainer.train_step(1);  // captures
  KILN_CUDA_CHECK(cudaStreamSynchronize(stream_));
  const std::int64_t heap_before = testing::heap_allocations.load();
  const std::size_t blocks_before = allocator_->allocations();
  for (std::int64_t batch = 2; batch < 6; ++batch) trainer.train_step(batch);
  KILN_CUDA_CHECK(cudaStreamSynchronize(stream_));
  EXPECT_EQ(testing::heap_allocations.load() - heap_before, 0);
  EXPECT_EQ(allocator_->allocations(), blocks_before);
  EXPECT_EQ(runner.graphs(), 1u);
}

TEST_F(CudaTrainer, FollowsTheCpuReferenceTrainer) {
  // SGD moves each weight by lr * gradient, so the backends' rounding differences stay small;
  // Adam's sign-like steps would amplify them (its steps are checked in training_step_test).
  TrainOptions options = quiet_options("fashion-lenet");
  options.max_steps = 20;
  const auto gpu = train("fashion-lenet", options, *backend_, *allocator_);
  cpu::CpuBackend cpu_backend;
  const auto host = make_host_allocator();
  const auto cpu = train("fashion-lenet", options, cpu_backend, *host);
  for (std::size_t i = 0; i < gpu.size(); ++i) {
    EXPECT_TRUE(testing::close_in_l2(gpu[i].values, cpu[i].values, 1e-5)) << gpu[i].name;
  }
}

}  // namespace
}  // namespace kiln::models
