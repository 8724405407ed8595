// Raw memory of one space: the host, for the CPU backend, or the current CUDA device. The arena
// takes its single block from here before training starts; the trainer copies the dataset in once
// and reads results back when it logs. Nothing else allocates.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <memory>

#include "kernels/backend.h"

namespace kiln {

class Allocator {
 public:
  virtual ~Allocator() = default;
  virtual MemorySpace space() const = 0;
  // `bytes` zeroed bytes, aligned to at least 256; throws when the space has not that much.
  virtual void* allocate(std::size_t bytes) = 0;
  virtual void release(void* block) noexcept = 0;
  // Host memory in, host memory out. copy_to_host returns once the bytes are there, after all
  // work queued before it.
  virtual void copy_from_host(void* destination, const void* host_source, std::size_t bytes) = 0;
  virtual void copy_to_host(void* host_destination, const void* source, std::size_t bytes) = 0;
  // Within the space, ordered after all work queued before it; on a device it returns at once, so
  // a training step may use it.
  virtual void copy(void* destination, const void* source, std::size_t bytes) = 0;
  // How many blocks allocate() has handed out so far: tests count them around a training step.
  virtual std::size_t allocations() const = 0;
};

std::unique_ptr<Allocator> make_host_allocator();
// Device memory of the current device; copies are ordered on `stream`.
std::unique_ptr<Allocator> make_cuda_allocator(cudaStream_t stream);

}  // namespace kiln
