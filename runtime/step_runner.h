// How the trainer runs the part of a training step that is the same every time: forward, loss,
// backward and the optimizer update, the same kernels on the same memory, with the step number
// and dropout key read from device memory (kernels/backend.h). Either directly, or captured once
// as a CUDA graph and replayed: one launch instead of about fifty, so the host no longer limits a
// step of small kernels.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <functional>
#include <map>
#include <set>

namespace kiln {

class StepRunner {
 public:
  virtual ~StepRunner() = default;
  // Runs `work`. Calls with the same `variant` (the trainer passes the batch's row count) must
  // enqueue the same work on the same memory.
  virtual void run(std::int64_t variant, const std::function<void()>& work) = 0;
  virtual const char* describe() const = 0;
};

class DirectStepRunner final : public StepRunner {
 public:
  void run(std::int64_t /*variant*/, const std::function<void()>& work) override { work(); }
  const char* describe() const override { return "direct launches"; }
};

// Runs each variant's first step directly, captures `work` on `stream` the second time, then
// replays the graph. The direct first run keeps one-off work out of the capture: cuBLAS's and
// cuDNN's lazy initialisation, and the cuDNN plan a short last batch makes. Capture is in global
// mode, so a step that synchronises, allocates or copies to the host fails loudly when captured
// instead of replaying something else.
class CudaGraphStepRunner final : public StepRunner {
 public:
  explicit CudaGraphStepRunner(cudaStream_t stream) : stream_(stream) {}
  ~CudaGraphStepRunner() override;
  CudaGraphStepRunner(const CudaGraphStepRunner&) = delete;
  CudaGraphStepRunner& operator=(const CudaGraphStepRunner&) = delete;

  void run(std::int64_t variant, const std::function<void()>& work) override;
  const char* describe() const override { return "CUDA graph, captured once and replayed"; }
  // How many graphs have been captured (one per variant run at least twice).
  std::size_t graphs() const { return graphs_.size(); }

 private:
  cudaStream_t stream_;
  std::set<std::int64_t> ran_directly_;
  std::map<std::int64_t, cudaGraphExec_t> graphs_;
};

}  // namespace kiln
