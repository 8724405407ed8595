// The loss of both reference models: softmax cross-entropy on the graph's output, mean over the
// batch (PyTorch's nn.CrossEntropyLoss), with its gradient in the same pass.
#pragma once

#include "runtime/tensor.h"

namespace kiln {

class SoftmaxCrossEntropy {
 public:
  std::string describe() const { return "CrossEntropyLoss()"; }
  // ShapeError unless the graph's output is [N, classes] with at least two classes.
  void check(const Shape& output) const;
  // loss[0] = the batch's mean loss (one float in the backend's memory); dlogits, when not empty,
  // receives its gradient with respect to the logits. labels: int32 [N].
  void forward(Backend& backend, const Tensor& logits, const Tensor& labels, float* loss,
               const Tensor& dlogits) const;
};

}  // namespace kiln
