#include "runtime/graph/loss.h"

#include "runtime/graph/layer.h"
#include "runtime/nvtx.h"

namespace kiln {

void SoftmaxCrossEntropy::check(const Shape& output) const {
  if (output.rank() != 2 || output[1] < 2) {
    throw ShapeError(
        "loss (CrossEntropyLoss): expects logits [N, classes] with at least two "
        "classes, got " +
        output.to_string());
  }
}

void SoftmaxCrossEntropy::forward(Backend& backend, const Tensor& logits, const Tensor& labels,
                                  float* loss, const Tensor& dlogits) const {
  static const NvtxName range_name{"loss"};
  const NvtxRange range{range_name};
  backend.softmax_cross_entropy(static_cast<int>(logits.shape[0]),
                                static_cast<int>(logits.shape[1]), logits.f32(), labels.i32(), loss,
                                dlogits.empty() ? nullptr : dlogits.f32());
}

}  // namespace kiln
