// The ops the cuDNN engine runs itself: those of the conv, pool, activation, dropout and softmax
// families (the fused ReLU-pooling among them, which it refuses: cudnn/backend.h). The others go
// to kiln's kernels. A header of its own, with no cuDNN in it, so that a benchmark built without
// cuDNN, or listing its rows on a machine with no GPU, can ask.
#pragma once

#include "kernels/ops.h"

namespace kiln::cudnn {

constexpr bool runs_on_cudnn(Op op) {
  switch (op_family(op)) {
    case OpFamily::conv:
    case OpFamily::pool:
    case OpFamily::activation:
    case OpFamily::dropout:
    case OpFamily::softmax:
      return true;
    case OpFamily::linear:
    case OpFamily::optimizer:
    case OpFamily::data:
      return false;
  }
  return false;
}

}  // namespace kiln::cudnn
