#include "runtime/step_runner.h"

#include "kernels/cuda/check.h"

namespace kiln {

CudaGraphStepRunner::~CudaGraphStepRunner() {
  for (const auto& [variant, graph] : graphs_) cudaGraphExecDestroy(graph);
}

void CudaGraphStepRunner::run(std::int64_t variant, const std::function<void()>& work) {
  auto found = graphs_.find(variant);
  if (found == graphs_.end() && ran_directly_.insert(variant).second) {
    work();
    return;
  }
  if (found == graphs_.end()) {
    KILN_CUDA_CHECK(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeGlobal));
    try {
      work();
    } catch (...) {
      // End the capture so that the stream can report the error and be used again.
      cudaGraph_t partial = nullptr;
      if (cudaStreamEndCapture(stream_, &partial) == cudaSuccess && partial != nullptr) {
        cudaGraphDestroy(partial);
      }
      cudaGetLastError();
      throw;
    }
    cudaGraph_t graph = nullptr;
    KILN_CUDA_CHECK(cudaStreamEndCapture(stream_, &graph));
    cudaGraphExec_t executable = nullptr;
    const cudaError_t instantiated = cudaGraphInstantiate(&executable, graph, 0);
    cudaGraphDestroy(graph);
    KILN_CUDA_CHECK(instantiated);
    found = graphs_.emplace(variant, executable).first;
  }
  KILN_CUDA_CHECK(cudaGraphLaunch(found->second, stream_));
}

}  // namespace kiln
