// Move-only owners of cuDNN's descriptors and handle, and the helpers every cuDNN op shares, so
// that a failure between a create and its destroy leaks nothing. Destroy statuses are ignored:
// destructors cannot throw, and a failed destroy leaves nothing to act on.
#pragma once

#include <cudnn.h>

#include <cstdint>
#include <utility>

#include "kernels/arguments.h"
#include "kernels/cudnn/check.h"

namespace kiln::cudnn {

template <typename Handle, cudnnStatus_t (*Create)(Handle*), cudnnStatus_t (*Destroy)(Handle)>
class Owned {
 public:
  Owned() { KILN_CUDNN_CHECK(Create(&handle_)); }
  ~Owned() {
    if (handle_ != nullptr) Destroy(handle_);
  }
  Owned(Owned&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
  Owned& operator=(Owned&& other) noexcept {
    std::swap(handle_, other.handle_);
    return *this;
  }
  Owned(const Owned&) = delete;
  Owned& operator=(const Owned&) = delete;

  Handle get() const { return handle_; }

 private:
  Handle handle_ = nullptr;
};

using Handle = Owned<cudnnHandle_t, cudnnCreate, cudnnDestroy>;
using TensorDescriptor =
    Owned<cudnnTensorDescriptor_t, cudnnCreateTensorDescriptor, cudnnDestroyTensorDescriptor>;
using FilterDescriptor =
    Owned<cudnnFilterDescriptor_t, cudnnCreateFilterDescriptor, cudnnDestroyFilterDescriptor>;
using ConvolutionDescriptor = Owned<cudnnConvolutionDescriptor_t, cudnnCreateConvolutionDescriptor,
                                    cudnnDestroyConvolutionDescriptor>;
using PoolingDescriptor =
    Owned<cudnnPoolingDescriptor_t, cudnnCreatePoolingDescriptor, cudnnDestroyPoolingDescriptor>;
using ActivationDescriptor = Owned<cudnnActivationDescriptor_t, cudnnCreateActivationDescriptor,
                                   cudnnDestroyActivationDescriptor>;
using DropoutDescriptor =
    Owned<cudnnDropoutDescriptor_t, cudnnCreateDropoutDescriptor, cudnnDestroyDropoutDescriptor>;

// cuDNN's blend factors: out = alpha * result + beta * out, here alpha = 1 and beta = 0.
inline constexpr float kOne = 1.0f;
inline constexpr float kZero = 0.0f;

// NCHW float32, densely packed.
void set_nchw(const TensorDescriptor& descriptor, int n, int c, int h, int w);
// `count` floats as one [1, 1, 1, count] tensor, for the element-wise ops. cuDNN indexes with
// int: std::invalid_argument naming `op` for 2^31 floats or more.
void set_flat(const TensorDescriptor& descriptor, std::int64_t count, const char* op);

}  // namespace kiln::cudnn
