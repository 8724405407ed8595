// The op interface every backend implements: the CPU reference (kernels/cpu), the hand-written
// CUDA kernels (kernels/cuda) and cuDNN (kernels/cudnn). Layers hold a Backend& and never know
// which one it is; a run picks the backend (or a mix, per op family) as a value, not a global.
//
// The public op methods are not virtual (tiny-cuda-nn's forward -> forward_impl): each checks its
// arguments against the contract below once, in kernels/backend.cpp, for every engine, and then
// calls the engine's protected <op>_impl. The ops are listed once, in kernels/ops.h.
//
// Conventions, shared by every op:
// - Pointers are in the backend's memory space (host for the CPU, device for CUDA) and shapes
//   are PyTorch's (kernels/shapes.h). Outputs are overwritten, never accumulated into, unless an
//   op says otherwise.
// - No op allocates or synchronises: a CUDA backend runs everything on its stream, so a whole
//   training step can be captured once as a CUDA graph and replayed.
// - Values that change from step to step (the step number behind dropout masks and Adam's bias
//   correction) are read through a StepCounters pointer in the backend's memory, never passed by
//   value, for the same reason.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "kernels/ops.h"
#include "kernels/shapes.h"

namespace kiln {

enum class MemorySpace { host, device };

// Per-run state that a step reads from the backend's memory.
struct StepCounters {
  std::uint64_t seed = 0;  // keys every dropout mask of the run
  std::uint64_t step = 0;  // optimizer steps completed so far
};

// One parameter tensor as the optimizers see it; exp_avg and exp_avg_sq are Adam's moments (null
// for SGD). All four arrays hold `count` floats.
struct ParameterSlot {
  float* value = nullptr;
  const float* grad = nullptr;
  float* exp_avg = nullptr;
  float* exp_avg_sq = nullptr;
  std::int64_t count = 0;
};

// PyTorch's Adam defaults (no weight decay, no amsgrad). Doubles, as PyTorch's are Python floats:
// float(0.999) is not 0.999, and 1 - beta2 taken from it would be off by 1.3e-5 relative.
struct AdamConfig {
  double learning_rate = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double epsilon = 1e-8;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string_view name() const = 0;
  virtual MemorySpace memory_space() const = 0;
  // Whether this engine runs `op` with code of its own (ggml's supports_op). An engine that hands
  // an op to another engine (routing_backend.h) says false for it; a benchmark measures an engine
  // only on the ops it implements.
  virtual bool implements(Op /*op*/) const { return true; }

  // Convolution (cross-correlation, as PyTorch's conv2d). bias may be null. The three passes
  // take scratch memory of at least conv2d_workspace_bytes(shape), in the backend's memory
  // space, which the caller plans once per shape, so that no op allocates.
  virtual std::size_t conv2d_workspace_bytes(const Conv2dShape& shape) const = 0;
  void conv2d_forward(const Conv2dShape& shape, const float* x, const float* weight,
                      const float* bias, float* y, std::span<std::byte> workspace);
  void conv2d_backward_data(const Conv2dShape& shape, const float* dy, const float* weight,
                            float* dx, std::span<std::byte> workspace);
  void conv2d_backward_filter(const Conv2dShape& shape, const float* x, const float* dy,
                              float* dweight, std::span<std::byte> workspace);
  // dbias[c] = sum of dy over the batch and the pixels of channel c.
  void conv2d_backward_bias(const Conv2dShape& shape, const float* dy, float* dbias);

  // Max pooling. argmax (null when no backward follows) receives, per output, the index
  // h * in_width + w of the selected input within its channel plane: the first maximum in the
  // window's row-major order, as PyTorch picks it; NaN counts as a maximum. Backends that recompute
  // the selection from x and y (cuDNN) ignore argmax; the others ignore x and y in backward.
  void max_pool2d_forward(const Pool2dShape& shape, const float* x, float* y, std::int32_t* argmax);
  // dx is overwritten: zero except where an output selected it; overlapping windows add up.
  void max_pool2d_backward(const Pool2dShape& shape, const float* x, const float* y,
                           const float* dy, const std::int32_t* argmax, float* dx);

  // ReLU fused into the max pooling that follows it: the pooling of relu(x), reading x once and
  // writing only y and argmax (no full-size ReLU output). Bitwise what relu_forward then
  // max_pool2d_forward give, argmax included: the window's scan compares relu(x) (so a window of
  // nothing positive selects its first element, as the unfused pool over zeros does) and NaN
  // propagates (relu(NaN) is NaN, as in PyTorch). Only where fuses_relu_max_pool() says so; the
  // other backends throw std::logic_error.
  virtual bool fuses_relu_max_pool() const = 0;
  void relu_max_pool2d_forward(const Pool2dShape& shape, const float* x, float* y,
                               std::int32_t* argmax);
  // dx is overwritten: dx[argmax] += dy where y > 0 (or NaN), in one full-size write; bitwise
  // max_pool2d_backward then relu_backward. y replaces the ReLU's output as the mask (a selected
  // input's relu is its window's y), so x is not needed.
  void relu_max_pool2d_backward(const Pool2dShape& shape, const float* y, const float* dy,
                                const std::int32_t* argmax, float* dx);

  // Element-wise activations over `count` floats; y may alias x and dx may alias dy. Backward
  // passes take the forward output y, so the input need not be kept.
  void relu_forward(std::int64_t count, const float* x, float* y);
  void relu_backward(std::int64_t count, const float* y, const float* dy, float* dx);
  void sigmoid_forward(std::int64_t count, const float* x, float* y);
  void sigmoid_backward(std::int64_t count, const float* y, const float* dy, float* dx);

  // Inverted dropout: y = x / (1 - p) where the mask keeps an element, else 0. kiln's backends
  // draw the mask as a pure function of (counters->seed, counters->step, mask_stream, element
  // index) through Philox4x32-10 (kernels/dropout_mask.h), so backward recomputes it and CPU and
  // CUDA agree bit for bit; each dropout layer uses its own mask_stream. A backend with its own
  // generator (cuDNN) keeps the mask in `reserve` instead: at least dropout_reserve_bytes(count)
  // bytes in its memory space, which the layer plans and which must stay untouched from forward
  // to backward. Such a backend ignores mask_stream and counters; the others ignore reserve.
  virtual std::size_t dropout_reserve_bytes(std::int64_t count) const = 0;
  void dropout_forward(std::int64_t count, float p, std::uint32_t mask_stream,
                       const StepCounters* counters, const float* x, float* y,
                       std::span<std::byte> reserve);
  void dropout_backward(std::int64_t count, float p, std::uint32_t mask_stream,
                        const StepCounters* counters, const float* dy, float* dx,
                        std::span<std::byte> reserve);

  // Softmax cross-entropy fused with its gradient: loss[0] = mean over the batch of
  // -log softmax(logits)[label]; dlogits (null in evaluation) = (softmax - one_hot) / batch.
  void softmax_cross_entropy(int batch, int classes, const float* logits,
                             const std::int32_t* labels, float* loss, float* dlogits);

  // Linear: y = x * W^T + bias (bias may be null).
  void linear_forward(const LinearShape& shape, const float* x, const float* weight,
                      const float* bias, float* y);
  void linear_backward_data(const LinearShape& shape, const float* dy, const float* weight,
                            float* dx);
  void linear_backward_weight(const LinearShape& shape, const float* x, const float* dy,
                              float* dweight);
  void linear_backward_bias(const LinearShape& shape, const float* dy, float* dbias);

  // Optimizers, one call for all parameters. Adam uses t = counters->step + 1 for its bias
  // correction; advance_step() then counts the step, after the update.
  void sgd_step(std::span<const ParameterSlot> parameters, float learning_rate);
  void adam_step(std::span<const ParameterSlot> parameters, const AdamConfig& config,
                 const StepCounters* counters);
  void advance_step(StepCounters* counters);

  // An epoch's order, drawn where the data lives so that an epoch starts with no upload:
  // order[i] = source[permutation[i]], the permutation of kernels/permutation_key.h for (seed,
  // random_stream, step). order must not alias source. Scratch of at least
  // shuffle_workspace_bytes(count) in the backend's memory space, planned once.
  virtual std::size_t shuffle_workspace_bytes(std::int64_t count) const = 0;
  void shuffle_indices(std::int64_t count, std::uint64_t seed, std::uint32_t random_stream,
                       std::uint64_t step, const std::int32_t* source, std::int32_t* order,
                       std::span<std::byte> workspace);

  // Batch assembly: x[i] = images[indices[i]] / 255 (image_elements pixels each) and
  // y[i] = labels[indices[i]].
  void gather_batch(const std::uint8_t* images, const std::uint8_t* labels,
                    std::int64_t image_elements, const std::int32_t* indices, int batch, float* x,
                    std::int32_t* y);
  // correct[0] += how many rows' argmax (the first maximum) equals their label.
  void count_correct(int batch, int classes, const float* logits, const std::int32_t* labels,
                     std::int64_t* correct);

 protected:
  // What an engine writes: each op once its arguments have passed the checks of backend.cpp.
  // An engine adds only the checks of its own limits (a workspace too small, a plane beyond
  // int32, a count cuDNN cannot describe).
  virtual void conv2d_forward_impl(const Conv2dShape& shape, const float* x, const float* weight,
                                   const float* bias, float* y, std::span<std::byte> workspace) = 0;
  virtual void conv2d_backward_data_impl(const Conv2dShape& shape, const float* dy,
                                         const float* weight, float* dx,
                                         std::span<std::byte> workspace) = 0;
  virtual void conv2d_backward_filter_impl(const Conv2dShape& shape, const float* x,
                                           const float* dy, float* dweight,
                                           std::span<std::byte> workspace) = 0;
  virtual void conv2d_backward_bias_impl(const Conv2dShape& shape, const float* dy,
                                         float* dbias) = 0;
  virtual void max_pool2d_forward_impl(const Pool2dShape& shape, const float* x, float* y,
                                       std::int32_t* argmax) = 0;
  virtual void max_pool2d_backward_impl(const Pool2dShape& shape, const float* x, const float* y,
                                        const float* dy, const std::int32_t* argmax, float* dx) = 0;
  virtual void relu_max_pool2d_forward_impl(const Pool2dShape& shape, const float* x, float* y,
                                            std::int32_t* argmax) = 0;
  virtual void relu_max_pool2d_backward_impl(const Pool2dShape& shape, const float* y,
                                             const float* dy, const std::int32_t* argmax,
                                             float* dx) = 0;
  virtual void relu_forward_impl(std::int64_t count, const float* x, float* y) = 0;
  virtual void relu_backward_impl(std::int64_t count, const float* y, const float* dy,
                                  float* dx) = 0;
  virtual void sigmoid_forward_impl(std::int64_t count, const float* x, float* y) = 0;
  virtual void sigmoid_backward_impl(std::int64_t count, const float* y, const float* dy,
                                     float* dx) = 0;
  virtual void dropout_forward_impl(std::int64_t count, float p, std::uint32_t mask_stream,
                                    const StepCounters* counters, const float* x, float* y,
                                    std::span<std::byte> reserve) = 0;
  virtual void dropout_backward_impl(std::int64_t count, float p, std::uint32_t mask_stream,
                                     const StepCounters* counters, const float* dy, float* dx,
                                     std::span<std::byte> reserve) = 0;
  virtual void softmax_cross_entropy_impl(int batch, int classes, const float* logits,
                                          const std::int32_t* labels, float* loss,
                                          float* dlogits) = 0;
  virtual void linear_forward_impl(const LinearShape& shape, const float* x, const float* weight,
                                   const float* bias, float* y) = 0;
  virtual void linear_backward_data_impl(const LinearShape& shape, const float* dy,
                                         const float* weight, float* dx) = 0;
  virtual void linear_backward_weight_impl(const LinearShape& shape, const float* x,
                                           const float* dy, float* dweight) = 0;
  virtual void linear_backward_bias_impl(const LinearShape& shape, const float* dy,
                                         float* dbias) = 0;
  virtual void sgd_step_impl(std::span<const ParameterSlot> parameters, float learning_rate) = 0;
  virtual void adam_step_impl(std::span<const ParameterSlot> parameters, const AdamConfig& config,
                              const StepCounters* counters) = 0;
  virtual void advance_step_impl(StepCounters* counters) = 0;
  virtual void shuffle_indices_impl(std::int64_t count, std::uint64_t seed,
                                    std::uint32_t random_stream, std::uint64_t step,
                                    const std::int32_t* source, std::int32_t* order,
                                    std::span<std::byte> workspace) = 0;
  virtual void gather_batch_impl(const std::uint8_t* images, const std::uint8_t* labels,
                                 std::int64_t image_elements, const std::int32_t* indices,
                                 int batch, float* x, std::int32_t* y) = 0;
  virtual void count_correct_impl(int batch, int classes, const float* logits,
                                  const std::int32_t* labels, std::int64_t* correct) = 0;

 private:
  // Routes an op to another engine's implementation, past the checks its own public op made.
  friend class RoutingBackend;
};

}  // namespace kiln
