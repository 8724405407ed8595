// Max pooling on cuDNN: CUDNN_POOLING_MAX_DETERMINISTIC, NaN propagated. cuDNN's backward finds
// the selected inputs again from x and y, so it ignores argmax (kernels/backend.h allows it);
// where a window holds several equal maxima, or NaNs, which of them receives the gradient is
// cuDNN's choice, not necessarily PyTorch's first maximum.
#pragma once

#include <cudnn.h>

#include "kernels/cudnn/descriptors.h"
#include "kernels/shapes.h"

namespace kiln::cudnn {

// The descriptors of one call, set from the shape each time (host-side only, no allocation).
class MaxPool2d {
 public:
  void forward(cudnnHandle_t handle, const Pool2dShape& shape, const float* x, float* y);
  void backward(cudnnHandle_t handle, const Pool2dShape& shape, const float* x, const float* y,
                const float* dy, float* dx);

 private:
  void describe(const Pool2dShape& shape);

  PoolingDescriptor pooling_;
  TensorDescriptor x_;
  TensorDescriptor y_;
};

}  // namespace kiln::cudnn
