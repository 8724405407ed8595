#include "runtime/stream.h"

#include "kernels/cuda/check.h"

namespace kiln {

CudaStream::CudaStream() {
  KILN_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
}

CudaStream::~CudaStream() { cudaStreamDestroy(stream_); }

void CudaStream::synchronize() const { KILN_CUDA_CHECK(cudaStreamSynchronize(stream_)); }

CudaEvent::CudaEvent() { KILN_CUDA_CHECK(cudaEventCreate(&event_)); }

CudaEvent::~CudaEvent() { cudaEventDestroy(event_); }

void CudaEvent::record(const CudaStream& stream) {
  KILN_CUDA_CHECK(cudaEventRecord(event_, stream.get()));
}

float CudaEvent::milliseconds_since(const CudaEvent& start) const {
  KILN_CUDA_CHECK(cudaEventSynchronize(event_));
  float milliseconds = 0;
  KILN_CUDA_CHECK(cudaEventElapsedTime(&milliseconds, start.event_, event_));
  return milliseconds;
}

}  // namespace kiln
