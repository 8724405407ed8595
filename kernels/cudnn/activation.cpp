#include "kernels/cudnn/activation.h"

namespace kiln::cudnn {

Activation::Activation(cudnnActivationMode_t mode, const char* forward_op, const char* backward_op)
    : forward_op_(forward_op), backward_op_(backward_op) {
  KILN_CUDNN_CHECK(
      cudnnSetActivationDescriptor(activation_.get(), mode, CUDNN_PROPAGATE_NAN, /*coef=*/0.0));
}

void Activation::forward(cudnnHandle_t handle, std::int64_t count, const float* x, float* y) {
  if (count == 0) return;
  set_flat(tensor_, count, forward_op_);
  KILN_CUDNN_CHECK(cudnnActivationForward(handle, activation_.get(), &kOne, tensor_.get(), x,
                                          &kZero, tensor_.get(), y));
}

void Activation::backward(cudnnHandle_t handle, std::int64_t count, const float* y, const float* dy,
                          float* dx) {
  if (count == 0) return;
  set_flat(tensor_, count, backward_op_);
  KILN_CUDNN_CHECK(cudnnActivationBackward(handle, activation_.get(), &kOne, tensor_.get(), y,
                                           tensor_.get(), dy, tensor_.get(), y, &kZero,
                                           tensor_.get(), dx));
}

}  // namespace kiln::cudnn
