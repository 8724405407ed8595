// ReLU kernel microbenchmarks: achieved bandwidth against the byte floor (8 bytes per element
// forward, 12 backward). Timed by CUDA events around many launches, rotating over enough buffers
// that the 50 MB L2 of an H100 cannot hold them, so small shapes are not flattered by the cache.
#include <benchmark/benchmark.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "kernels/cuda/check.h"
#include "kernels/cuda/device.h"
#include "kernels/cuda/relu.h"

namespace kiln {
namespace {

constexpr std::size_t kRotationBytes = std::size_t{256} << 20;
constexpr int kMaxBuffers = 64;

// `arrays` float arrays of `count` elements, repeated until the set exceeds kRotationBytes.
class RotatingBuffers {
 public:
  RotatingBuffers(std::int64_t count, int arrays) {
    const std::size_t set_bytes = static_cast<std::size_t>(count) * sizeof(float) * arrays;
    sets_ =
        static_cast<int>(std::clamp<std::size_t>(kRotationBytes / set_bytes + 1, 2, kMaxBuffers));
    KILN_CUDA_CHECK(cudaMalloc(&base_, set_bytes * sets_));
    // Random-looking but deterministic contents; timing never runs on zeros.
    std::vector<float> host(static_cast<std::size_t>(count) * arrays * sets_);
    std::uint32_t state = 12345;
    for (float& v : host) {
      state = state * 1664525u + 1013904223u;
      v = static_cast<float>(static_cast<std::int32_t>(state)) * 0x1p-31f;
    }
    KILN_CUDA_CHECK(cudaMemcpy(base_, host.data(), set_bytes * sets_, cudaMemcpyHostToDevice));
    count_ = count;
    arrays_ = arrays;
  }
  ~RotatingBuffers() { cudaFree(base_); }
  RotatingBuffers(const RotatingBuffers&) = delete;
  RotatingBuffers& operator=(const RotatingBuffers&) = delete;

  int sets() const { return sets_; }
  float* array(int set, int index) const {
    return base_ + (static_cast<std::int64_t>(set) * arrays_ + index) * count_;
  }

 private:
  float* base_ = nullptr;
  std::int64_t count_ = 0;
  int arrays_ = 0;
  int sets_ = 0;
};

// Runs `launch(set)` once per buffer set between one pair of events per benchmark iteration.
template <typename Launch>
void time_launches(benchmark::State& state, const RotatingBuffers& buffers, double bytes_per_launch,
                   Launch launch) {
  cudaEvent_t start{}, stop{};
  KILN_CUDA_CHECK(cudaEventCreate(&start));
  KILN_CUDA_CHECK(cudaEventCreate(&stop));
  for (int set = 0; set < buffers.sets(); ++set) launch(set);  // warm-up
  for (auto _ : state) {
    KILN_CUDA_CHECK(cudaEventRecord(start));
    for (int set = 0; set < buffers.sets(); ++set) launch(set);
    KILN_CUDA_CHECK(cudaEventRecord(stop));
    KILN_CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0.0f;
    KILN_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    state.SetIterationTime(ms * 1e-3 / buffers.sets());
  }
  state.counters["GB/s"] =
      benchmark::Counter(bytes_per_launch * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  KILN_CUDA_CHECK(cudaEventDestroy(start));
  KILN_CUDA_CHECK(cudaEventDestroy(stop));
}

bool skip_without_gpu(benchmark::State& state) {
  const auto& status = cuda::device_status();
  if (!status.available) {
    state.SkipWithError(("no GPU: " + status.reason).c_str());
    return true;
  }
  return false;
}

void BM_ReluForward(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  const std::int64_t count = state.range(0);
  const RotatingBuffers buffers(count, 2);
  time_launches(state, buffers, 8.0 * count, [&](int set) {
    cuda::relu_forward(count, buffers.array(set, 0), buffers.array(set, 1), nullptr);
  });
}

void BM_ReluBackward(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  const std::int64_t count = state.range(0);
  const RotatingBuffers buffers(count, 3);
  time_launches(state, buffers, 12.0 * count, [&](int set) {
    cuda::relu_backward(count, buffers.array(set, 0), buffers.array(set, 1), buffers.array(set, 2),
                        nullptr);
  });
}

// mnist-cnn's ReLU outputs at batch 32 (layer1..3, fc1) and layer1 at batch 256.
void relu_shapes(benchmark::internal::Benchmark* bench) {
  for (const std::int64_t count :
       {32 * 32 * 28 * 28, 32 * 64 * 14 * 14, 32 * 128 * 7 * 7, 32 * 625, 256 * 32 * 28 * 28}) {
    bench->Arg(count);
  }
  bench->UseManualTime()->Unit(benchmark::kMicrosecond)->Repetitions(5)->ReportAggregatesOnly();
}

BENCHMARK(BM_ReluForward)->Apply(relu_shapes);
BENCHMARK(BM_ReluBackward)->Apply(relu_shapes);

}  // namespace
}  // namespace kiln

BENCHMARK_MAIN();
