// The CUDA runtime of kiln_kernels_host: device memory is host memory, and work queued on a
// stream runs, in order, when the host waits for it (a synchronize, a synchronous copy, or work
// queued on another stream that must follow it), as a GPU runs it some time after the launch. A
// kernel fault is then a sticky error, as on a GPU: every later call returns it until
// cudaDeviceReset.
#pragma once

#include <cuda_runtime_api.h>

#include <functional>
#include <string>

namespace kiln::cuda::host {

// Queues `work` on `stream` (or records it into the stream's graph while capturing).
void enqueue(cudaStream_t stream, std::function<void()> work);

// The text of the last kernel fault (empty when there was none since cudaDeviceReset).
std::string last_fault();

}  // namespace kiln::cuda::host
