// Inverted dropout on cuDNN (cudnnDropoutForward/Backward) with cuDNN's own generator: its masks
// are not kiln's Philox masks (kernels/dropout_mask.h), so a run on it is not bit for bit the
// custom backend's, nor resumable bit for bit. Forward stores the mask in the caller's reserve;
// backward applies that same mask. The generator's states (a few MiB) are allocated once, here,
// and advance with every forward, so each step draws a new mask, in a CUDA graph replay too.
#pragma once

#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <cstddef>
#include <cstdint>
#include <span>

#include "kernels/cudnn/descriptors.h"

namespace kiln::cudnn {

class Dropout {
 public:
  // Initialises the generator's states from `seed` on the handle's stream.
  Dropout(cudnnHandle_t handle, std::uint64_t seed);
  ~Dropout();
  Dropout(const Dropout&) = delete;
  Dropout& operator=(const Dropout&) = delete;

  // What forward must be able to keep for `count` floats (cudnnDropoutGetReserveSpaceSize).
  std::size_t reserve_bytes(std::int64_t count) const;
  // p in [0, 1), reserve at least reserve_bytes(count) (std::invalid_argument otherwise, before
  // any launch); count 0 launches nothing. backward must follow forward with the same count and
  // p and the reserve untouched in between.
  void forward(cudnnHandle_t handle, std::int64_t count, float p, const float* x, float* y,
               std::span<std::byte> reserve);
  void backward(cudnnHandle_t handle, std::int64_t count, float p, const float* dy, float* dx,
                std::span<std::byte> reserve);

 private:
  // Sets the descriptor's probability when it changes, without drawing the states again; p has
  // been checked by Backend::dropout_*.
  void use_probability(cudnnHandle_t handle, float p);
  // The count cuDNN can describe and the reserve it needs for it.
  void check(std::int64_t count, std::span<std::byte> reserve, const char* op);

  std::uint64_t seed_;
  DropoutDescriptor dropout_;
  TensorDescriptor tensor_;
  void* states_ = nullptr;
  std::size_t states_bytes_ = 0;
  float p_ = 0.0f;
};

}  // namespace kiln::cudnn
