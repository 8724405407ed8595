// The part of softmax cross-entropy that follows cuDNN's log-softmax: from log_probabilities
// [batch, classes] (device), loss[0] = mean over rows of -log_probabilities[r][labels[r]] and,
// when dlogits is not null, dlogits = (exp(log_probabilities) - one_hot) / batch. Sums in double
// in row order in one block, so the loss is deterministic. A label outside [0, classes) makes the
// loss NaN and that row's dlogits NaN. No allocation, no synchronisation.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace kiln::cudnn {

void softmax_nll(int batch, int classes, const float* log_probabilities, const std::int32_t* labels,
                 float* loss, float* dlogits, cudaStream_t stream);

}  // namespace kiln::cudnn
