// Operands for kernel benchmarks that the cache cannot flatter: many sets of an op's operands,
// adding up to more than the L2 cache holds, so that a benchmark launching on one set after the
// other always reads from DRAM, as a training step does.
#pragma once

#include <cuda_runtime_api.h>
#include <curand.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "kernels/cuda/check.h"

namespace kiln::bench {

inline constexpr std::size_t kOperandAlignment = 128;  // an L2 line: no two sets share one

// How an operand starts: random floats (normal, or uniform in (0, 1] where a negative value would
// be wrong, as Adam's second moment), random bits (pixels), whole numbers below `modulus` (labels,
// indices), or whatever the row's setup writes into it.
enum class Fill { normal, positive, bits, below_modulus, by_setup };

struct Operand {
  std::size_t bytes = 0;
  Fill fill = Fill::normal;
  int modulus = 0;
};

inline Operand floats(std::int64_t count, Fill fill = Fill::normal) {
  return {static_cast<std::size_t>(count) * sizeof(float), fill};
}
inline Operand int32s(std::int64_t count, int modulus) {
  return {static_cast<std::size_t>(count) * sizeof(std::int32_t), Fill::below_modulus, modulus};
}

// Sets of an op's operands, operand by operand in one allocation each, enough sets to add up to
// `rotation_bytes` (at least two), so that launches taking one set after the other find none
// in the cache.
class RotatingOperands {
 public:
  // Fills the operands from `generator` (and the host, for whole numbers) on its stream.
  RotatingOperands(const std::vector<Operand>& operands, std::size_t rotation_bytes,
                   curandGenerator_t generator)
      : generator_(generator) {
    std::size_t set_bytes = 0;
    for (const Operand& operand : operands) set_bytes += padded(operand.bytes);
    sets_ = static_cast<int>(std::clamp<std::size_t>(
        rotation_bytes / std::max<std::size_t>(set_bytes, 1) + 1, 2, std::size_t{1} << 20));
    for (const Operand& operand : operands) {
      const std::size_t stride = padded(operand.bytes);
      void* base = nullptr;
      KILN_CUDA_CHECK(cudaMalloc(&base, std::max<std::size_t>(stride * sets_, 1)));
      bases_.push_back(static_cast<std::byte*>(base));
      strides_.push_back(stride);
      fill(operand, base, stride * sets_);
    }
  }
  ~RotatingOperands() {
    for (std::byte* base : bases_) cudaFree(base);
  }
  RotatingOperands(const RotatingOperands&) = delete;
  RotatingOperands& operator=(const RotatingOperands&) = delete;

  int sets() const { return sets_; }
  template <typename T>
  T* get(int set, std::size_t operand) const {
    return reinterpret_cast<T*>(bases_[operand] + strides_[operand] * set);
  }
  std::span<std::byte> bytes(int set, std::size_t operand, std::size_t size) const {
    return {get<std::byte>(set, operand), size};
  }

 private:
  static std::size_t padded(std::size_t bytes) {
    return (bytes + kOperandAlignment - 1) / kOperandAlignment * kOperandAlignment;
  }

  void fill(const Operand& operand, void* base, std::size_t bytes) const {
    const std::size_t words = bytes / sizeof(float);  // even: strides are whole L2 lines
    if (words == 0) return;
    switch (operand.fill) {
      case Fill::normal:
        KILN_CURAND_CHECK(curandGenerateNormal(generator_, static_cast<float*>(base), words, 0, 1));
        break;
      case Fill::positive:
        KILN_CURAND_CHECK(curandGenerateUniform(generator_, static_cast<float*>(base), words));
        break;
      case Fill::bits:
        KILN_CURAND_CHECK(curandGenerate(generator_, static_cast<unsigned*>(base), words));
        break;
      case Fill::below_modulus: {
        // A scrambled order, so that gathers do not read their images in sequence.
        std::vector<std::int32_t> values(words);
        for (std::size_t i = 0; i < words; ++i) {
          values[i] =
              static_cast<std::int32_t>((i * 7919) % static_cast<std::size_t>(operand.modulus));
        }
        KILN_CUDA_CHECK(cudaMemcpy(base, values.data(), bytes, cudaMemcpyHostToDevice));
        break;
      }
      case Fill::by_setup:
        break;
    }
  }

  curandGenerator_t generator_;
  std::vector<std::byte*> bases_;
  std::vector<std::size_t> strides_;
  int sets_ = 0;
};

// Device memory owned by a row's launch function: the convolution workspace, shared by all sets
// (scratch, not an operand the cache could flatter).
class DeviceBuffer {
 public:
  explicit DeviceBuffer(std::size_t bytes) : bytes_(bytes) {
    KILN_CUDA_CHECK(cudaMalloc(&data_, std::max<std::size_t>(bytes, 1)));
  }
  ~DeviceBuffer() { cudaFree(data_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  std::span<std::byte> span() const { return {static_cast<std::byte*>(data_), bytes_}; }

 private:
  void* data_ = nullptr;
  std::size_t bytes_;
};

}  // namespace kiln::bench
