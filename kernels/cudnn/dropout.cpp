#include "kernels/cudnn/dropout.h"

#include <fmt/format.h>

#include <stdexcept>

namespace kiln::cudnn {

Dropout::Dropout(cudnnHandle_t handle, std::uint64_t seed) : seed_(seed) {
  KILN_CUDNN_CHECK(cudnnDropoutGetStatesSize(handle, &states_bytes_));
  KILN_CUDA_CHECK(cudaMalloc(&states_, states_bytes_));
  try {
    KILN_CUDNN_CHECK(
        cudnnSetDropoutDescriptor(dropout_.get(), handle, p_, states_, states_bytes_, seed_));
  } catch (...) {
    cudaFree(states_);  // the destructor does not run for a constructor that throws
    throw;
  }
}

Dropout::~Dropout() { cudaFree(states_); }

std::size_t Dropout::reserve_bytes(std::int64_t count) const {
  if (count == 0) return 0;
  TensorDescriptor tensor;
  set_flat(tensor, count, "dropout_reserve_bytes");
  std::size_t bytes = 0;
  KILN_CUDNN_CHECK(cudnnDropoutGetReserveSpaceSize(tensor.get(), &bytes));
  return bytes;
}

void Dropout::use_probability(cudnnHandle_t handle, float p) {
  if (p == p_) return;
  KILN_CUDNN_CHECK(
      cudnnRestoreDropoutDescriptor(dropout_.get(), handle, p, states_, states_bytes_, seed_));
  p_ = p;
}

void Dropout::check(std::int64_t count, std::span<std::byte> reserve, const char* op) {
  set_flat(tensor_, count, op);
  std::size_t needed = 0;
  KILN_CUDNN_CHECK(cudnnDropoutGetReserveSpaceSize(tensor_.get(), &needed));
  if (reserve.size() < needed) {
    throw std::invalid_argument(fmt::format(
        "{}: the reserve holds {} bytes, cuDNN needs {} for {} elements (dropout_reserve_bytes)",
        op, reserve.size(), needed, count));
  }
}

void Dropout::forward(cudnnHandle_t handle, std::int64_t count, float p, const float* x, float* y,
                      std::span<std::byte> reserve) {
  use_probability(handle, p);
  if (count == 0) return;
  check(count, reserve, "dropout_forward");
  KILN_CUDNN_CHECK(cudnnDropoutForward(handle, dropout_.get(), tensor_.get(), x, tensor_.get(), y,
                                       reserve.data(), reserve.size()));
}

void Dropout::backward(cudnnHandle_t handle, std::int64_t count, float p, const float* dy,
                       float* dx, std::span<std::byte> reserve) {
  use_probability(handle, p);
  if (count == 0) return;
  check(count, reserve, "dropout_backward");
  KILN_CUDNN_CHECK(cudnnDropoutBackward(handle, dropout_.get(), tensor_.get(), dy, tensor_.get(),
                                        dx, reserve.data(), reserve.size()));
}

}  // namespace kiln::cudnn
