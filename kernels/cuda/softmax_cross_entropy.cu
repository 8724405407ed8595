// Softmax cross-entropy with its gradient, fused into one kernel of one block.
//
// Sizes we train: [32 x 10] logits for mnist-cnn, [20 x 10] for fashion-lenet: 1.3 KB read, as
// much written for dlogits, about 2 exp per logit and one log per row in double. The op is pure
// latency (a few microseconds); bandwidth and FLOPs do not matter at these sizes.
//
// Design: one warp per row, a single block of up to 32 warps looping over the rows. The reference
// accumulates in double in a fixed order (the row's max and its sum of exp from class 0 upward,
// then the rows' terms from row 0 upward); the kernel keeps those orders exactly: the lanes load 32
// classes at a time and compute their exp in parallel, then every lane folds the 32 values in
// class order through warp shuffles, so all lanes hold the reference's max and sum. The per-row
// terms go through shared memory to thread 0, which adds them in row order; the mean is written
// once. One block is what makes the loss deterministic without atomics or scratch memory (an op
// may not allocate): for the batches we train it has more warps than there are rows. Every
// operation is an explicitly rounded intrinsic, so the compiler cannot fuse or reorder any of them.

#include "kernels/cuda/check.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/softmax_cross_entropy.h"

namespace kiln::cuda {
namespace {

constexpr int kWarpSize = 32;
constexpr int kMaxWarps = 32;
constexpr unsigned kFullMask = 0xffffffffu;

__device__ __forceinline__ double double_nan() {
  return __longlong_as_double(0x7ff8000000000000LL);
}

// One row: writes its dlogits (when dz is not null) and returns its loss term. Called by a whole
// warp; every lane returns the same value.
__device__ double row_loss(const float* z, int classes, int label, int batch, float* dz, int lane) {
  // z_max = std::max(z_max, z[j]) for j = 1, 2, ...: (a < b) ? b : a, so NaN in z[0] sticks and a
  // later NaN is passed over, as in the reference (either way the sum below turns NaN).
  double z_max = z[0];
  for (int chunk = 0; chunk < classes; chunk += kWarpSize) {
    const int j = chunk + lane;
    const double value = j < classes ? static_cast<double>(z[j]) : 0.0;
    const int n = min(kWarpSize, classes - chunk);
    for (int k = 0; k < n; ++k) {
      const double candidate = __shfl_sync(kFullMask, value, k);
      if (chunk + k > 0) z_max = z_max < candidate ? candidate : z_max;
    }
  }
  // Shifted by the maximum, every exp is at most 1: no overflow for any logits.
  double sum = 0.0;
  for (int chunk = 0; chunk < classes; chunk += kWarpSize) {
    const int j = chunk + lane;
    const double e = j < classes ? exp(__dsub_rn(static_cast<double>(z[j]), z_max)) : 0.0;
    const int n = min(kWarpSize, classes - chunk);
    for (int k = 0; k < n; ++k) sum = __dadd_rn(sum, __shfl_sync(kFullMask, e, k));
  }
  const bool label_ok = label >= 0 && label < classes;
  if (dz != nullptr) {
    for (int j = lane; j < classes; j += kWarpSize) {
      if (label_ok) {
        const double softmax = __ddiv_rn(exp(__dsub_rn(static_cast<double>(z[j]), z_max)), sum);
        const double target = j == label ? 1.0 : 0.0;
        dz[j] =
            __double2float_rn(__ddiv_rn(__dsub_rn(softmax, target), static_cast<double>(batch)));
      } else {
        dz[j] = __int_as_float(0x7fc00000);
      }
    }
  }
  if (!label_ok) return double_nan();
  // logsumexp - z[label], grouped as the reference groups it.
  return __dadd_rn(log(sum), __dsub_rn(z_max, static_cast<double>(z[label])));
}

__global__ void __launch_bounds__(kMaxWarps* kWarpSize)
    softmax_cross_entropy_kernel(int batch, int classes, const float* logits,
                                 const std::int32_t* labels, float* loss, float* dlogits) {
  __shared__ double row_terms[kMaxWarps];
  const int warp = static_cast<int>(threadIdx.x) / kWarpSize;
  const int lane = static_cast<int>(threadIdx.x) % kWarpSize;
  const int warps = static_cast<int>(blockDim.x) / kWarpSize;
  double total = 0.0;  // thread 0's
  // The trip count is the same for every thread, so the barriers below are reached by all.
  for (std::int64_t first_row = 0; first_row < batch; first_row += warps) {
    const std::int64_t row = first_row + warp;
    if (row < batch) {
      const std::int64_t offset = row * classes;
      const double term = row_loss(logits + offset, classes, labels[row], batch,
                                   dlogits == nullptr ? nullptr : dlogits + offset, lane);
      if (lane == 0) row_terms[warp] = term;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      const auto rows = static_cast<int>(min(static_cast<std::int64_t>(warps), batch - first_row));
      for (int w = 0; w < rows; ++w) total = __dadd_rn(total, row_terms[w]);
    }
    // row_terms is rewritten by the next round only after thread 0 has read it.
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    loss[0] = __double2float_rn(__ddiv_rn(total, static_cast<double>(batch)));
  }
}

}  // namespace

void softmax_cross_entropy(int batch, int classes, const float* logits, const std::int32_t* labels,
                           float* loss, float* dlogits, cudaStream_t stream) {
  // The sizes and pointers were checked by Backend (kernels/backend.cpp), once for every engine.
  const int warps = batch < kMaxWarps ? batch : kMaxWarps;
  launch_kernel<softmax_cross_entropy_kernel>(1, warps * kWarpSize, 0, stream, batch, classes,
                                              logits, labels, loss, dlogits);
  KILN_CUDA_CHECK_LAUNCH("softmax_cross_entropy_kernel");
}

}  // namespace kiln::cuda
