#include "kernels/cudnn/softmax_cross_entropy.h"

#include <fmt/format.h>

#include <stdexcept>

#include "kernels/cudnn/softmax_nll.h"

namespace kiln::cudnn {

SoftmaxCrossEntropy::SoftmaxCrossEntropy() {
  KILN_CUDA_CHECK(cudaMalloc(&log_probabilities_, kMaxLogits * sizeof(float)));
}

SoftmaxCrossEntropy::~SoftmaxCrossEntropy() { cudaFree(log_probabilities_); }

void SoftmaxCrossEntropy::operator()(cudnnHandle_t handle, cudaStream_t stream, int batch,
                                     int classes, const float* logits, const std::int32_t* labels,
                                     float* loss, float* dlogits) {
  constexpr const char* kOp = "softmax_cross_entropy";
  if (std::int64_t{batch} * classes > kMaxLogits) {
    throw std::invalid_argument(fmt::format("{}: {} x {} logits exceed the cuDNN engine's {}", kOp,
                                            batch, classes, kMaxLogits));
  }
  set_nchw(rows_, batch, classes, 1, 1);
  KILN_CUDNN_CHECK(cudnnSoftmaxForward(handle, CUDNN_SOFTMAX_LOG, CUDNN_SOFTMAX_MODE_INSTANCE,
                                       &kOne, rows_.get(), logits, &kZero, rows_.get(),
                                       log_probabilities_));
  softmax_nll(batch, classes, log_probabilities_, labels, loss, dlogits, stream);
}

}  // namespace kiln::cudnn
