#include "kernels/cudnn/max_pool2d.h"

namespace kiln::cudnn {

// The shape was validated by Backend (kernels/backend.cpp) before CudnnBackend's op called here.
void MaxPool2d::describe(const Pool2dShape& shape) {
  KILN_CUDNN_CHECK(cudnnSetPooling2dDescriptor(
      pooling_.get(), CUDNN_POOLING_MAX_DETERMINISTIC, CUDNN_PROPAGATE_NAN, shape.kernel_height,
      shape.kernel_width, shape.pad_height, shape.pad_width, shape.stride_height,
      shape.stride_width));
  set_nchw(x_, shape.batch, shape.channels, shape.in_height, shape.in_width);
  set_nchw(y_, shape.batch, shape.channels, shape.out_height(), shape.out_width());
}

void MaxPool2d::forward(cudnnHandle_t handle, const Pool2dShape& shape, const float* x, float* y) {
  describe(shape);
  KILN_CUDNN_CHECK(
      cudnnPoolingForward(handle, pooling_.get(), &kOne, x_.get(), x, &kZero, y_.get(), y));
}

void MaxPool2d::backward(cudnnHandle_t handle, const Pool2dShape& shape, const float* x,
                         const float* y, const float* dy, float* dx) {
  require_non_null(x, "max_pool2d_backward", "x");
  require_non_null(y, "max_pool2d_backward", "y");
  describe(shape);
  KILN_CUDNN_CHECK(cudnnPoolingBackward(handle, pooling_.get(), &kOne, y_.get(), y, y_.get(), dy,
                                        x_.get(), x, &kZero, x_.get(), dx));
}

}  // namespace kiln::cudnn
