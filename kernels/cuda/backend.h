// The GPU backend: every op of kernels/backend.h as a hand-written kernel of
// kernels/cuda/ (and cuBLAS for the linear layers), launched on one stream,
// with no allocation and no synchronisation, so that a whole training step can
// be captured as a CUDA graph.
#pragma once

#include <cuda_runtime_api.h>

#include "kernels/backend.h"
#include "kernels/cuda/linear.h"

namespace kiln::cuda {

struct CudaBackendOptions {
  // cuBLAS may use TF32 tensor cores: faster, but only 10 bits of mantissa in
  // the products.
  bool allow_tf32 = false;
};

class CudaBackend final : public Backend {
 public:
  // Runs everything on `stream` (which the caller owns). Throws
  // kiln::cuda::Error without a GPU.
  explicit CudaBackend(cudaStream_t stream, CudaBackendOptions options = {});
  CudaBackend(const CudaBackend&) = delete;
  CudaBackend& operator=(const CudaBackend&) = delete;

  std::string_view name() const override { return "cuda"; }
  MemorySpace memory_space() const override { return MemorySpace::device; }
  cudaStream_t stream() const { return stream_; }

  std::size_t conv2d_workspace_bytes(const Conv2dShape& shape) const override;

  bool fuses_relu_max_pool() const override { return true; }

  // The mask is recomputed from its Philox stream: nothing to reserve.
  std::size_t dropout_reserve_bytes(std::int64_t /*count*/) const override { return 0; }

  std::size_t shuffle_workspace_bytes(std::int64_t count) const override;

 private:
  void conv2d_forward_impl(const Conv2dShape& shape, const float* x, const float* weight,
                           const float* bias, float* y, std::span<std::byte> workspace) override;
  void conv2d_backward_data_impl(const Conv2dShape& shape, const float* dy, const float* weight,
                                 float* dx, std::span<std::byte> workspace) override;
  void conv2d_backward_filter_impl(const Conv2dShape& shape, const float* x, const float* dy,
                                   float* dweight, std::span<std::byte> workspace) override;
  void conv2d_backward_bias_impl(const Conv2dShape& shape, const float* dy, float* dbias) override;
  void max_pool2d_forward_impl(const Pool2dShape& shape, const float* x, float* y,
                               std::int32_t* argmax) override;
  void max_pool2d_backward_impl(const Pool2dShape& shape, const float* x, const float* y,
                                const float* dy, const std::int32_t* argmax, float* dx) override;
  void relu_max_pool2d_forward_impl(const Pool2dShape& shape, const float* x, float* y,
                                    std::int32_t* argmax) override;
  void relu_max_pool2d_backward_impl(const Pool2dShape& shape, const float* y, const float* dy,
                                     const std::int32_t* argmax, float* dx) override;
  void relu_forward_impl(std::int64_t count, const float* x, float* y) override;
  void relu_backward_impl(std::int64_t count, const float* y, const float* dy, float* dx) override;
  void sigmoid_forward_impl(std::int64_t count, const float* x, float* y) override;
  void sigmoid_backward_impl(std::int64_t count, const float* y, const float* dy,
                             float* dx) override;
  void dropout_forward_impl(std::int64_t count, float p, std::uint32_t mask_stream,
                            const StepCounters* counters, const float* x, float* y,
                            std::span<std::byte> reserve) override;
  void dropout_backward_impl(std::int64_t count, float p, std::uint32_t mask_stream,
                             const StepCounters* counters, const float* dy, float* dx,
                             std::span<std::byte> reserve) override;
  void softmax_cross_entropy_impl(int batch, int classes, const float* logits,
                                  const std::int32_t* labels, float* loss, float* dlogits) override;
  void linear_forward_impl(const LinearShape& shape, const float* x, const float* weight,
                           const float* bias, float* y) override;
  void linear_backward_data_impl(const LinearShape& shape, const float* dy, const float* weight,
                                 float* dx) override;
  void linear_backward_weight_impl(const LinearShape& shape, const float* x, const float* dy,
                                   float* dweight) override;
  void linear_backward_bias_impl(const LinearShape& shape, const float* dy, float* dbias) override;
  void sgd_step_impl(std::span<const ParameterSlot> parameters, float learning_rate) override;
  void adam_step_impl(std::span<const ParameterSlot> parameters, const AdamConfig& config,
                      const StepCounters* counters) override;
  void advance_step_impl(StepCounters* counters) override;
  void shuffle_indices_impl(std::int64_t count, std::uint64_t seed, std::uint32_t random_stream,
                            std::uint64_t step, const std::int32_t* source, std::int32_t* order,
                            std::span<std::byte> workspace) override;
  void gather_batch_impl(const std::uint8_t* images, const std::uint8_t* labels,
                         std::int64_t image_elements, const std::int32_t* indices, int batch,
                         float* x, std::int32_t* y) override;
  void count_correct_impl(int batch, int classes, const float* logits, const std::int32_t* labels,
                          std::int64_t* correct) override;

  cudaStream_t stream_;
  CublasHandle cublas_;
};

}  // namespace kiln::cuda
