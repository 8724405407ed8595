// Engines built from their names, without a GPU: the CPU backend by name (and by auto where no GPU
// is usable), working, with its run-header line; every bad name refused as the caller's usage
// error; and the GPU names refused with the app's own line when no GPU is usable.
// tests/kernels/gpu/engines_test.cpp builds the GPU engines.
#include "kernels/engines.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "kernels/cpu/parallel.h"
#include "kernels/cuda/device.h"
#include "tests/support/thread_count_guard.h"

namespace kiln {
namespace {

// The message of what `choice` throws from make_engine, which must be an E; "" when nothing.
template <typename E>
std::string error_of(const EngineChoice& choice) {
  try {
    make_engine(choice, nullptr);
  } catch (const E& error) {
    return error.what();
  }
  return "";
}

EngineChoice with_family(std::string backend, OpFamily family, std::string engine) {
  EngineChoice choice{.backend = std::move(backend)};
  choice.families[static_cast<std::size_t>(family)] = std::move(engine);
  return choice;
}

TEST(Engines, CpuByNameIsTheReferenceBackendWithItsThreads) {
  const testing::ThreadCountGuard guard;
  const Engine engine = make_engine({.backend = "cpu", .cpu_threads = 3}, nullptr);
  EXPECT_EQ(engine.backend().name(), "cpu");
  EXPECT_EQ(engine.backend().memory_space(), MemorySpace::host);
  EXPECT_EQ(cpu::thread_count(), 3);
  EXPECT_EQ(engine.description(), "cpu (the reference backend, 3 threads)");
  EXPECT_EQ(make_engine({.backend = "cpu", .cpu_threads = 1}, nullptr).description(),
            "cpu (the reference backend, 1 thread)");
  // 0 leaves the count as it was.
  EXPECT_EQ(make_engine({.backend = "cpu"}, nullptr).description(),
            "cpu (the reference backend, 1 thread)");
  EXPECT_EQ(engine_memory_space({.backend = "cpu"}), MemorySpace::host);

  // A working backend, not a name: ReLU on host memory.
  const std::vector<float> x = {-2.0f, -0.0f, 0.5f, 3.0f};
  std::vector<float> y(x.size(), 7.0f);
  engine.backend().relu_forward(static_cast<std::int64_t>(x.size()), x.data(), y.data());
  EXPECT_EQ(y, (std::vector<float>{0.0f, 0.0f, 0.5f, 3.0f}));
}

TEST(Engines, AutoIsTheGpuWhereOneIsUsableElseTheCpu) {
  const auto& device = cuda::device_status();
  const MemorySpace space = engine_memory_space({.backend = "auto"});
  if (device.available) {
    EXPECT_EQ(space, MemorySpace::device);
    return;  // building it needs a stream: tests/kernels/gpu/engines_test.cpp
  }
  EXPECT_EQ(space, MemorySpace::host);
  const Engine engine = make_engine({}, nullptr);
  EXPECT_EQ(engine.backend().name(), "cpu");
  EXPECT_TRUE(engine.description().starts_with("cpu (the reference backend, "))
      << engine.description();
}

TEST(Engines, UnknownNamesAreTheCallersUsageError) {
  EXPECT_EQ(error_of<EngineChoiceError>({.backend = "tpu"}),
            "--backend tpu: not one of auto, cuda, cudnn, cpu");
  EXPECT_EQ(error_of<EngineChoiceError>({.backend = ""}),
            "--backend : not one of auto, cuda, cudnn, cpu");
  EXPECT_EQ(error_of<EngineChoiceError>(with_family("cuda", OpFamily::pool, "fast")),
            "the pool engine fast: not one of custom, cudnn");
  EXPECT_THROW(engine_memory_space({.backend = "tpu"}), EngineChoiceError);
}

// As the command line refuses them (apps/command_line.cpp): a family's engine is chosen only
// among GPU engines, never silently ignored.
TEST(Engines, FamilyEnginesNeedAGpuBackend) {
  EXPECT_EQ(error_of<EngineChoiceError>(with_family("cpu", OpFamily::conv, "cudnn")),
            "the conv engine cudnn: engines are chosen on the GPU only (got --backend cpu)");
  EXPECT_EQ(error_of<EngineChoiceError>(with_family("auto", OpFamily::dropout, "custom")),
            "the dropout engine custom: engines are chosen on the GPU only (got --backend auto)");
}

// The line train_mnist_gpu prints (tests/apps/cli_errors_test.sh), an ordinary error (exit 1), not
// a usage error: the name is right, the machine lacks the GPU.
TEST(Engines, GpuNamesWithoutAGpuSayWhy) {
  const auto& device = cuda::device_status();
  if (device.available) GTEST_SKIP() << "this machine has a usable GPU";
  ASSERT_FALSE(device.reason.empty());
  for (const EngineChoice& choice :
       {EngineChoice{.backend = "cuda"}, EngineChoice{.backend = "cudnn"},
        with_family("cuda", OpFamily::conv, "cudnn"),
        with_family("cudnn", OpFamily::softmax, "custom")}) {
    const std::string expected =
        "--backend " + choice.backend + ": no usable GPU: " + device.reason;
    EXPECT_EQ(error_of<std::runtime_error>(choice), expected);
    try {
      engine_memory_space(choice);
      ADD_FAILURE() << choice.backend << ": engine_memory_space did not throw";
    } catch (const EngineChoiceError& error) {
      ADD_FAILURE() << choice.backend << ": a usage error: " << error.what();
    } catch (const std::runtime_error& error) {
      EXPECT_EQ(error.what(), expected);
    }
  }
}

}  // namespace
}  // namespace kiln
