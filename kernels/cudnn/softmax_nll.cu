// The loss and gradient after cuDNN's log-softmax. At the sizes we train ([32 x 10], [20 x 10])
// this is pure latency: one block, one thread per row, the rows' terms added by thread 0 in row
// order through shared memory (deterministic without atomics or scratch memory), in double as the
// reference adds them.
#include "kernels/cuda/check.h"
#include "kernels/cudnn/softmax_nll.h"

namespace kiln::cudnn {
namespace {

constexpr int kThreads = 256;

__global__ void __launch_bounds__(kThreads)
    softmax_nll_kernel(int batch, int classes, const float* log_probabilities,
                       const std::int32_t* labels, float* loss, float* dlogits) {
  __shared__ double row_terms[kThreads];
  const auto nan = __int_as_float(0x7fc00000);
  double total = 0.0;  // thread 0's
  // The trip count is the same for every thread, so the barriers below are reached by all.
  for (std::int64_t first_row = 0; first_row < batch; first_row += kThreads) {
    const std::int64_t row = first_row + threadIdx.x;
    if (row < batch) {
      const float* row_values = log_probabilities + row * classes;
      const int label = labels[row];
      const bool label_ok = label >= 0 && label < classes;
      row_terms[threadIdx.x] =
          label_ok ? -static_cast<double>(row_values[label]) : static_cast<double>(nan);
      if (dlogits != nullptr) {
        float* row_gradient = dlogits + row * classes;
        for (int j = 0; j < classes; ++j) {
          const double softmax = exp(static_cast<double>(row_values[j]));
          row_gradient[j] =
              label_ok ? static_cast<float>((softmax - (j == label ? 1.0 : 0.0)) / batch) : nan;
        }
      }
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      const auto rows =
          static_cast<int>(min(static_cast<std::int64_t>(kThreads), batch - first_row));
      for (int r = 0; r < rows; ++r) total += row_terms[r];
    }
    // row_terms is rewritten by the next round only after thread 0 has read it.
    __syncthreads();
  }
  if (threadIdx.x == 0) loss[0] = static_cast<float>(total / batch);
}

}  // namespace

void softmax_nll(int batch, int classes, const float* log_probabilities, const std::int32_t* labels,
                 float* loss, float* dlogits, cudaStream_t stream) {
  softmax_nll_kernel<<<1, kThreads, 0, stream>>>(batch, classes, log_probabilities, labels, loss,
                                                 dlogits);
  KILN_CUDA_CHECK_LAUNCH("softmax_nll_kernel");
}

}  // namespace kiln::cudnn
