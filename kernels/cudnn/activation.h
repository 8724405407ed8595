// ReLU and sigmoid on cuDNN (cudnnActivationForward/Backward), NaN propagated. Backward takes the
// forward output y, as kernels/backend.h does, and hands it to cuDNN as x too: ReLU's derivative
// is 0 where y <= 0 exactly where it is 0 for x <= 0, and sigmoid's is y (1 - y).
#pragma once

#include <cudnn.h>

#include <cstdint>

#include "kernels/cudnn/descriptors.h"

namespace kiln::cudnn {

class Activation {
 public:
  // CUDNN_ACTIVATION_RELU or CUDNN_ACTIVATION_SIGMOID; the op names ("relu_forward") start the
  // error messages.
  Activation(cudnnActivationMode_t mode, const char* forward_op, const char* backward_op);

  // y may alias x and dx may alias dy (cuDNN works in place); count 0 launches nothing.
  void forward(cudnnHandle_t handle, std::int64_t count, const float* x, float* y);
  void backward(cudnnHandle_t handle, std::int64_t count, const float* y, const float* dy,
                float* dx);

 private:
  const char* forward_op_;
  const char* backward_op_;
  ActivationDescriptor activation_;
  TensorDescriptor tensor_;
};

}  // namespace kiln::cudnn
