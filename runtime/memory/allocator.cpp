#include "runtime/memory/allocator.h"

#include <fmt/format.h>

#include <cstdlib>
#include <cstring>
#include <new>

#include "kernels/cuda/check.h"

namespace kiln {
namespace {

constexpr std::size_t kAlignment = 256;

class HostAllocator final : public Allocator {
 public:
  MemorySpace space() const override { return MemorySpace::host; }
  void* allocate(std::size_t bytes) override {
    const std::size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
    void* block = std::aligned_alloc(kAlignment, rounded > 0 ? rounded : kAlignment);
    if (block == nullptr) {
      throw std::runtime_error(fmt::format("out of host memory: {:.1f} MiB requested",
                                           static_cast<double>(bytes) / (1 << 20)));
    }
    std::memset(block, 0, rounded);
    ++allocations_;
    return block;
  }
  void release(void* block) noexcept override { std::free(block); }
  void copy_from_host(void* destination, const void* host_source, std::size_t bytes) override {
    if (bytes > 0) std::memcpy(destination, host_source, bytes);
  }
  void copy_to_host(void* host_destination, const void* source, std::size_t bytes) override {
    if (bytes > 0) std::memcpy(host_destination, source, bytes);
  }
  void copy(void* destination, const void* source, std::size_t bytes) override {
    if (bytes > 0) std::memmove(destination, source, bytes);
  }
  std::size_t allocations() const override { return allocations_; }

 private:
  std::size_t allocations_ = 0;
};

class CudaAllocator final : public Allocator {
 public:
  explicit CudaAllocator(cudaStream_t stream) : stream_(stream) {}
  MemorySpace space() const override { return MemorySpace::device; }
  void* allocate(std::size_t bytes) override {
    void* block = nullptr;
    const cudaError_t status = cudaMalloc(&block, bytes > 0 ? bytes : 1);
    if (status == cudaErrorMemoryAllocation) {
      cudaGetLastError();  // clear the sticky-free error so the process can report and exit
      std::size_t free_bytes = 0;
      std::size_t total_bytes = 0;
      cudaMemGetInfo(&free_bytes, &total_bytes);
      throw cuda::Error(fmt::format("device out of memory: {:.1f} MiB requested, {:.1f} MiB free",
                                    static_cast<double>(bytes) / (1 << 20),
                                    static_cast<double>(free_bytes) / (1 << 20)));
    }
    KILN_CUDA_CHECK(status);
    KILN_CUDA_CHECK(cudaMemsetAsync(block, 0, bytes, stream_));
    ++allocations_;
    return block;
  }
  void release(void* block) noexcept override { cudaFree(block); }
  void copy_from_host(void* destination, const void* host_source, std::size_t bytes) override {
    if (bytes == 0) return;
    KILN_CUDA_CHECK(
        cudaMemcpyAsync(destination, host_source, bytes, cudaMemcpyHostToDevice, stream_));
    // The source is the caller's pageable memory, which may be gone once we return.
    KILN_CUDA_CHECK(cudaStreamSynchronize(stream_));
  }
  void copy_to_host(void* host_destination, const void* source, std::size_t bytes) override {
    if (bytes == 0) return;
    KILN_CUDA_CHECK(
        cudaMemcpyAsync(host_destination, source, bytes, cudaMemcpyDeviceToHost, stream_));
    KILN_CUDA_CHECK(cudaStreamSynchronize(stream_));
  }
  void copy(void* destination, const void* source, std::size_t bytes) override {
    if (bytes == 0) return;
    KILN_CUDA_CHECK(cudaMemcpyAsync(destination, source, bytes, cudaMemcpyDeviceToDevice, stream_));
  }
  std::size_t allocations() const override { return allocations_; }

 private:
  cudaStream_t stream_;
  std::size_t allocations_ = 0;
};

}  // namespace

std::unique_ptr<Allocator> make_host_allocator() { return std::make_unique<HostAllocator>(); }

std::unique_ptr<Allocator> make_cuda_allocator(cudaStream_t stream) {
  return std::make_unique<CudaAllocator>(stream);
}

}  // namespace kiln
