// Softmax cross-entropy with cuDNN's log-softmax (cudnnSoftmaxForward, CUDNN_SOFTMAX_LOG, one
// instance per row), then one kernel of kiln's (softmax_nll.cu) for what cuDNN has no op for: the
// batch's mean negative log-likelihood and dlogits = (softmax - one_hot) / batch, with the
// semantics of kernels/backend.h and kernels/cuda/softmax_cross_entropy.h (a label outside
// [0, classes) makes the loss and its row's dlogits NaN). cuDNN's log-softmax is float, not the
// reference's double, so its results are the reference's within float rounding, not within an ulp.
#pragma once

#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <cstdint>

#include "kernels/cudnn/descriptors.h"

namespace kiln::cudnn {

class SoftmaxCrossEntropy {
 public:
  // The log-probabilities need a buffer: one of kMaxLogits floats, allocated here, once.
  static constexpr std::int64_t kMaxLogits = std::int64_t{1} << 22;

  SoftmaxCrossEntropy();
  ~SoftmaxCrossEntropy();
  SoftmaxCrossEntropy(const SoftmaxCrossEntropy&) = delete;
  SoftmaxCrossEntropy& operator=(const SoftmaxCrossEntropy&) = delete;

  // As kernels/backend.h; batch * classes at most kMaxLogits (std::invalid_argument otherwise).
  void operator()(cudnnHandle_t handle, cudaStream_t stream, int batch, int classes,
                  const float* logits, const std::int32_t* labels, float* loss, float* dlogits);

 private:
  TensorDescriptor rows_;
  float* log_probabilities_ = nullptr;
};

}  // namespace kiln::cudnn
