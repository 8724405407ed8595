// Softmax cross-entropy fused with its gradient, the CPU reference, as
// torch.nn.functional.cross_entropy(logits, labels, reduction='mean'):
//   loss[0]    = (1 / batch) * sum over rows r of (logsumexp(logits[r]) - logits[r][labels[r]])
//   dlogits[r] = (softmax(logits[r]) - one_hot(labels[r])) / batch
// Each row is shifted by its maximum and everything is accumulated in double, so logits of any
// size give a finite loss and gradient.
#pragma once

#include <cstdint>

namespace kiln::cpu {

// logits [batch, classes], labels [batch]; loss is one float; dlogits [batch, classes] may be null
// (evaluation). The arguments are checked by Backend (kernels/backend.cpp: batch and classes
// positive); every label must be in [0, classes), otherwise std::invalid_argument (naming the row
// and the label), thrown before any output is written.
void softmax_cross_entropy(int batch, int classes, const float* logits, const std::int32_t* labels,
                           float* loss, float* dlogits);

}  // namespace kiln::cpu
