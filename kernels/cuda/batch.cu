// Batch assembly (gather_batch) and accuracy counting (count_correct), bitwise the reference.
//
// Sizes we train: a batch of 32 (mnist-cnn) or 20 (fashion-lenet) 28 x 28 images: gather reads
// 25,088 (or 15,680) bytes of pixels and writes four times as many as floats, one division each:
// about 100 KB, a launch's worth of work. count_correct reads a [batch x 10] logit matrix (1.3 KB
// at batch 32; 400 KB for a 10,000-image evaluation batch) and does 10 comparisons per row.
//
// Design. gather_batch: one block per image (striding over images when there are more than the
// grid holds), its threads striding over the pixels, so the reads of a row are contiguous and the
// writes coalesced; no division or modulo by the image size is needed per pixel. The float
// conversion is exact and the division by 255 is IEEE-rounded (__fdiv_rn), as the reference's.
// count_correct: one thread per row scans the row as the reference does (classes is 10 here), the
// warp counts its matches with a ballot, and one lane adds the warp's count with a 64-bit integer
// atomicAdd: integer addition is associative, so the total is exact whatever the order.
#include <algorithm>

#include "kernels/cuda/batch.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/launch.h"

namespace kiln::cuda {
namespace {

constexpr int kThreads = 256;
constexpr std::int64_t kMaxBlocks = 1 << 16;

__global__ void gather_batch_kernel(const std::uint8_t* images, const std::uint8_t* labels,
                                    std::int64_t image_elements, const std::int32_t* indices,
                                    int batch, float* x, std::int32_t* y) {
  for (std::int64_t b = blockIdx.x; b < batch; b += gridDim.x) {
    const std::int32_t index = indices[b];
    float* row = x + b * image_elements;
    if (index < 0) {
      // The reference throws here; see batch.h.
      for (std::int64_t e = threadIdx.x; e < image_elements; e += blockDim.x) {
        row[e] = __int_as_float(0x7fc00000);
      }
      if (threadIdx.x == 0) y[b] = -1;
      continue;
    }
    const std::uint8_t* image = images + static_cast<std::int64_t>(index) * image_elements;
    for (std::int64_t e = threadIdx.x; e < image_elements; e += blockDim.x) {
      row[e] = __fdiv_rn(static_cast<float>(image[e]), 255.0f);
    }
    if (threadIdx.x == 0) y[b] = labels[index];
  }
}

__global__ void count_correct_kernel(int batch, int classes, const float* logits,
                                     const std::int32_t* labels, std::int64_t* correct) {
  const std::int64_t b = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  bool match = false;
  if (b < batch) {
    const float* row = logits + b * classes;
    int best = 0;
    float best_value = row[0];
    for (int c = 1; c < classes; ++c) {
      const float value = row[c];
      // Strictly greater, so a tie keeps the first; NaN beats any number but not an earlier NaN.
      if (value > best_value || (isnan(value) && !isnan(best_value))) {
        best = c;
        best_value = value;
      }
    }
    match = best == labels[b];
  }
  // Every lane of the warp reaches the ballot (rows past the batch vote false).
  const unsigned matches = __ballot_sync(0xffffffffu, match);
  if ((threadIdx.x % 32) == 0 && matches != 0) {
    atomicAdd(reinterpret_cast<unsigned long long*>(correct),
              static_cast<unsigned long long>(__popc(matches)));
  }
}

}  // namespace

void gather_batch(const std::uint8_t* images, const std::uint8_t* labels,
                  std::int64_t image_elements, const std::int32_t* indices, int batch, float* x,
                  std::int32_t* y, cudaStream_t stream) {
  // The sizes and pointers were checked by Backend (kernels/backend.cpp), once for every engine;
  // a batch that is not positive launches nothing.
  if (batch <= 0) return;
  const auto blocks = static_cast<unsigned>(std::min<std::int64_t>(batch, kMaxBlocks));
  launch_kernel<gather_batch_kernel>(blocks, kThreads, 0, stream, images, labels, image_elements,
                                     indices, batch, x, y);
  KILN_CUDA_CHECK_LAUNCH("gather_batch_kernel");
}

void count_correct(int batch, int classes, const float* logits, const std::int32_t* labels,
                   std::int64_t* correct, cudaStream_t stream) {
  // The sizes and pointers were checked by Backend (kernels/backend.cpp), once for every engine.
  if (batch <= 0) return;
  const auto blocks = static_cast<unsigned>((std::int64_t{batch} + kThreads - 1) / kThreads);
  launch_kernel<count_correct_kernel>(blocks, kThreads, 0, stream, batch, classes, logits, labels,
                                      correct);
  KILN_CUDA_CHECK_LAUNCH("count_correct_kernel");
}

}  // namespace kiln::cuda
