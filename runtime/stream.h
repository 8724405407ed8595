// Owning handles for a CUDA stream and event. Each CUDA run has one stream: the backend launches
// on it, the allocator copies on it, and events on it time what ran between them without
// stopping the host.
#pragma once

#include <cuda_runtime_api.h>

namespace kiln {

class CudaStream {
 public:
  CudaStream();  // non-blocking with respect to the legacy default stream
  ~CudaStream();
  CudaStream(const CudaStream&) = delete;
  CudaStream& operator=(const CudaStream&) = delete;

  cudaStream_t get() const { return stream_; }
  void synchronize() const;

 private:
  cudaStream_t stream_ = nullptr;
};

class CudaEvent {
 public:
  CudaEvent();
  ~CudaEvent();
  CudaEvent(const CudaEvent&) = delete;
  CudaEvent& operator=(const CudaEvent&) = delete;

  void record(const CudaStream& stream);
  // Milliseconds from `start` to this event; waits for this event to complete.
  float milliseconds_since(const CudaEvent& start) const;

 private:
  cudaEvent_t event_ = nullptr;
};

}  // namespace kiln
