// The vendor engine: convolution, pooling, activations, dropout and softmax (with kiln's NLL
// kernel) on cuDNN 9, every other op (linear on cuBLAS, optimizers, batch gather, counting) on an
// owned kiln::cuda::CudaBackend. Everything runs on one stream, with no allocation and no
// synchronisation inside an op, so a step can be captured as a CUDA graph: descriptors and
// convolution algorithms are chosen per shape when conv2d_workspace_bytes is asked (at plan
// time), and dropout's generator states and the log-softmax buffer are allocated here, once.
#pragma once

#include <cuda_runtime_api.h>

#include <array>
#include <cstdint>
#include <map>
#include <string>

#include "kernels/cuda/backend.h"
#include "kernels/cudnn/activation.h"
#include "kernels/cudnn/conv2d.h"
#include "kernels/cudnn/descriptors.h"
#include "kernels/cudnn/dropout.h"
#include "kernels/cudnn/max_pool2d.h"
#include "kernels/cudnn/ops.h"
#include "kernels/cudnn/softmax_cross_entropy.h"
#include "kernels/ops.h"
#include "kernels/routing_backend.h"

namespace kiln::cudnn {

struct CudnnBackendOptions {
  // Convolutions only with algorithms cuDNN reports deterministic: the same bits on every run.
  bool deterministic = true;
  // cuDNN's convolutions and cuBLAS's GEMMs may use TF32 tensor cores; by default plain float32
  // FMA math (CUDNN_FMA_MATH), the same arithmetic as the custom kernels.
  bool allow_tf32 = false;
  // Seeds cuDNN's dropout generator (its masks are not kiln's Philox masks).
  std::uint64_t dropout_seed = 0;
};

class CudnnBackend final : public RoutingBackend {
 public:
  // Runs everything on `stream` (which the caller owns). Throws kiln::cuda::Error without a GPU.
  explicit CudnnBackend(cudaStream_t stream, CudnnBackendOptions options = {});

  std::string_view name() const override { return "cudnn"; }
  MemorySpace memory_space() const override { return MemorySpace::device; }
  // For run headers and reports: "cuDNN 9.19.0 (float32 FMA math, deterministic convolution
  // algorithms)", the library version loaded at run time.
  std::string describe() const;
  // The custom backend it delegates to, on the same stream: a mix of engines (engine_mix.h) can
  // route families to it.
  cuda::CudaBackend& custom() { return custom_; }

  // The ops of kernels/cudnn/ops.h; the others go to custom().
  bool implements(Op op) const override { return runs_on_cudnn(op); }

  // Chooses the shape's algorithms the first time it is asked (see conv2d.h).
  std::size_t conv2d_workspace_bytes(const Conv2dShape& shape) const override;
  // cuDNN has no ReLU-pooling fusion: false, and the fused ops throw std::logic_error. They do not
  // fall back to the custom kernels of custom(): a run that asked cuDNN for pooling and
  // activations would silently measure kiln's kernels instead (a mix routes them, engine_mix.h).
  bool fuses_relu_max_pool() const override { return false; }
  // cuDNN's generator: mask_stream and counters are ignored, the mask lives in `reserve`.
  std::size_t dropout_reserve_bytes(std::int64_t count) const override;

 private:
  // custom(), for every op cuDNN does not run (the ops it runs are overridden below).
  Backend& engine_for(Op /*op*/) const override { return custom_; }

  void conv2d_forward_impl(const Conv2dShape& shape, const float* x, const float* weight,
                           const float* bias, float* y, std::span<std::byte> workspace) override;
  void conv2d_backward_data_impl(const Conv2dShape& shape, const float* dy, const float* weight,
                                 float* dx, std::span<std::byte> workspace) override;
  void conv2d_backward_filter_impl(const Conv2dShape& shape, const float* x, const float* dy,
                                   float* dweight, std::span<std::byte> workspace) override;
  void conv2d_backward_bias_impl(const Conv2dShape& shape, const float* dy, float* dbias) override;
  // argmax is ignored: cuDNN's backward recomputes the selection from x and y.
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

  // Every field of a Conv2dShape, in declaration order.
  using ConvolutionKey = std::array<int, 11>;

  // The shape's plan, made on first use with algorithms whose workspace fits workspace_limit.
  // A step meets only planned shapes, except an epoch's last, partial batch: its plan is made
  // once, from host-side heuristics only, to fit the workspace the graph planned.
  const Conv2dPlan& convolution(const Conv2dShape& shape, std::size_t workspace_limit) const;

  cudaStream_t stream_;
  CudnnBackendOptions options_;
  // mutable: engine_for() is const, and routing an op through it changes nothing of this object.
  mutable cuda::CudaBackend custom_;
  Handle handle_;
  ConvolutionSettings convolution_settings_;
  mutable std::map<ConvolutionKey, Conv2dPlan> convolutions_;
  TensorDescriptor bias_dy_;
  TensorDescriptor bias_;
  MaxPool2d max_pool_;
  Activation relu_;
  Activation sigmoid_;
  Dropout dropout_;
  SoftmaxCrossEntropy softmax_cross_entropy_;
};

}  // namespace kiln::cudnn
