// Engines built from their names on a GPU: kiln's kernels (by cuda and by auto), cuDNN, and a mix
// of the two per op family, each named as the run header says and each running an op on the
// caller's stream; and cuDNN refused as a usage error where the build lacks it. Skipped without a
// GPU (tests/kernels/engines_test.cpp covers what needs none).
#include "kernels/engines.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "kernels/cuda/device.h"
#include "tests/support/gpu.h"

namespace kiln {
namespace {

class GpuEngines : public testing::GpuStreamTest {
 protected:
  // ReLU through `engine` on this test's stream: the engine is a working one, not only a name.
  void expect_relu_runs(const Engine& engine) {
    const std::vector<float> x = {-2.0f, -0.5f, 0.5f, 3.0f};
    testing::DeviceBuffer<float> input(x);
    testing::DeviceBuffer<float> output(x.size());
    output.poison();
    KILN_CUDA_CHECK(cudaDeviceSynchronize());
    engine.backend().relu_forward(static_cast<std::int64_t>(x.size()), input.data(), output.data());
    KILN_CUDA_CHECK(cudaStreamSynchronize(stream_));
    EXPECT_EQ(output.download(), (std::vector<float>{0.0f, 0.0f, 0.5f, 3.0f}))
        << engine.description();
  }
  // "<name>: <device>", the start of every GPU engine's run-header line.
  static std::string header(std::string_view name) {
    return std::string(name) + ": " + cuda::describe(cuda::device_status());
  }
};

EngineChoice with_families(std::string backend, std::vector<std::pair<OpFamily, std::string>> set) {
  EngineChoice choice{.backend = std::move(backend)};
  for (auto& [family, engine] : set) {
    choice.families[static_cast<std::size_t>(family)] = std::move(engine);
  }
  return choice;
}

EngineChoice every_family(std::string backend, const std::string& engine) {
  EngineChoice choice{.backend = std::move(backend)};
  choice.families.fill(engine);
  return choice;
}

TEST_F(GpuEngines, CudaAndAutoAreKilnsKernels) {
  for (const std::string backend : {"cuda", "auto"}) {
    EXPECT_EQ(engine_memory_space({.backend = backend}), MemorySpace::device) << backend;
    const Engine engine = make_engine({.backend = backend}, stream_);
    EXPECT_EQ(engine.backend().name(), "cuda") << backend;
    EXPECT_EQ(engine.backend().memory_space(), MemorySpace::device) << backend;
    EXPECT_EQ(engine.description(), header("cuda")) << backend;
    expect_relu_runs(engine);
  }
}

TEST_F(GpuEngines, CudnnByNameIsCudnnOrAUsageErrorWhereNotBuilt) {
  if (!cudnn_engine_built()) {
    try {
      make_engine({.backend = "cudnn"}, stream_);
      ADD_FAILURE() << "built without cuDNN, yet --backend cudnn was built";
    } catch (const EngineChoiceError& error) {
      EXPECT_STREQ(error.what(),
                   "the cuDNN engine is not built (configured with KILN_WITH_CUDNN=OFF); use "
                   "--backend cuda");
    }
    return;
  }
  const Engine engine = make_engine({.backend = "cudnn"}, stream_);
  EXPECT_EQ(engine.backend().name(), "cudnn");
  EXPECT_TRUE(engine.description().starts_with(header("cudnn") + "; cuDNN "))
      << engine.description();
  expect_relu_runs(engine);
}

// Each family flag routes its family; all of them one way is that engine itself, not a mix.
TEST_F(GpuEngines, FamilyEnginesMixTheTwo) {
  if (!cudnn_engine_built()) GTEST_SKIP() << "built without cuDNN (KILN_WITH_CUDNN=OFF)";
  const std::vector<std::pair<EngineChoice, std::string>> cases = {
      {with_families("cuda", {{OpFamily::conv, "cudnn"}}), "cuda (conv: cudnn)"},
      {with_families("cuda", {{OpFamily::activation, "cudnn"}, {OpFamily::pool, "cudnn"}}),
       "cuda (pool, activation: cudnn)"},
      {with_families("cudnn", {{OpFamily::conv, "custom"}}),
       "cuda (pool, activation, dropout, softmax: cudnn)"},
      {every_family("cudnn", "custom"), "cuda"},
      {every_family("cuda", "cudnn"), "cudnn"}};
  for (const auto& [choice, name] : cases) {
    const Engine engine = make_engine(choice, stream_);
    EXPECT_EQ(engine.backend().name(), name);
    EXPECT_TRUE(engine.description().starts_with(header(name))) << engine.description();
    expect_relu_runs(engine);
  }
}

}  // namespace
}  // namespace kiln
