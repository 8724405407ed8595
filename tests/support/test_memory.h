// Memory for a test's tensors in a backend's memory space, so one test body can drive the CPU
// backend (host memory) and the CUDA backend (device memory) alike. Owns what it hands out.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstring>
#include <memory>
#include <vector>

#include "kernels/backend.h"
#include "kernels/cuda/check.h"

namespace kiln::testing {

class TestMemory {
 public:
  virtual ~TestMemory() = default;

  // `count` zeroed elements.
  template <typename T>
  T* make(std::size_t count) {
    return static_cast<T*>(allocate(count * sizeof(T)));
  }
  template <typename T>
  T* upload(const std::vector<T>& host) {
    T* data = make<T>(host.size());
    copy_in(data, host.data(), host.size() * sizeof(T));
    return data;
  }
  template <typename T>
  std::vector<T> download(const T* data, std::size_t count) {
    std::vector<T> host(count);
    copy_out(host.data(), data, count * sizeof(T));
    return host;
  }

 protected:
  virtual void* allocate(std::size_t bytes) = 0;
  virtual void copy_in(void* destination, const void* source, std::size_t bytes) = 0;
  virtual void copy_out(void* destination, const void* source, std::size_t bytes) = 0;
};

class HostMemory final : public TestMemory {
 protected:
  void* allocate(std::size_t bytes) override {
    blocks_.push_back(std::make_unique<std::byte[]>(bytes));
    return blocks_.back().get();
  }
  void copy_in(void* destination, const void* source, std::size_t bytes) override {
    if (bytes > 0) std::memcpy(destination, source, bytes);
  }
  void copy_out(void* destination, const void* source, std::size_t bytes) override {
    if (bytes > 0) std::memcpy(destination, source, bytes);
  }

 private:
  std::vector<std::unique_ptr<std::byte[]>> blocks_;
};

// Copies synchronise the device, so results read back are complete.
class DeviceMemory final : public TestMemory {
 public:
  DeviceMemory() = default;
  DeviceMemory(const DeviceMemory&) = delete;
  DeviceMemory& operator=(const DeviceMemory&) = delete;
  ~DeviceMemory() override {
    for (void* block : blocks_) cudaFree(block);
  }

 protected:
  void* allocate(std::size_t bytes) override {
    void* block = nullptr;
    KILN_CUDA_CHECK(cudaMalloc(&block, bytes > 0 ? bytes : 1));
    blocks_.push_back(block);
    KILN_CUDA_CHECK(cudaMemset(block, 0, bytes));
    return block;
  }
  void copy_in(void* destination, const void* source, std::size_t bytes) override {
    KILN_CUDA_CHECK(cudaDeviceSynchronize());
    KILN_CUDA_CHECK(cudaMemcpy(destination, source, bytes, cudaMemcpyHostToDevice));
  }
  void copy_out(void* destination, const void* source, std::size_t bytes) override {
    KILN_CUDA_CHECK(cudaDeviceSynchronize());
    KILN_CUDA_CHECK(cudaMemcpy(destination, source, bytes, cudaMemcpyDeviceToHost));
  }

 private:
  std::vector<void*> blocks_;
};

}  // namespace kiln::testing
