// A mix of two engines, per op family, as Caffe chose an engine per layer: each family marked in
// the routing goes to `other` (cuDNN, say), every other op to `base` (kiln's CUDA kernels). A
// family is routed whole: pooling's forward and backward must meet the same engine (cuDNN's
// backward reads x and y where the custom one reads argmax), and dropout's reserve is sized by
// the engine that will use it. Neither backend is owned; both must work in the same memory space
// and, on a GPU, on the same stream.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

#include "kernels/backend.h"

namespace kiln {

enum class OpFamily { conv, pool, activation, dropout, softmax };
inline constexpr std::array<OpFamily, 5> kOpFamilies = {
    OpFamily::conv, OpFamily::pool, OpFamily::activation, OpFamily::dropout, OpFamily::softmax};
// "conv", "pool", "activation", "dropout", "softmax".
std::string_view op_family_name(OpFamily family);

// Which families go to the other engine.
class FamilyRouting {
 public:
  FamilyRouting& route(OpFamily family, bool to_other) {
    to_other_[index(family)] = to_other;
    return *this;
  }
  bool to_other(OpFamily family) const { return to_other_[index(family)]; }
  bool none() const;
  bool all() const;

 private:
  static std::size_t index(OpFamily family) { return static_cast<std::size_t>(family); }
  std::array<bool, kOpFamilies.size()> to_other_{};
};

class EngineMix final : public Backend {
 public:
  // std::invalid_argument when the two work in different memory spaces.
  EngineMix(Backend& base, Backend& other, FamilyRouting routing);

  // "<base> (<families>: <other>)", e.g. "cuda (conv, pool: cudnn)".
  std::string_view name() const override { return name_; }
  MemorySpace memory_space() const override { return base_.memory_space(); }

  std::size_t conv2d_workspace_bytes(const Conv2dShape& shape) const override;
  void conv2d_forward(const Conv2dShape& shape, const float* x, const float* weight,
                      const float* bias, float* y, std::span<std::byte> workspace) override;
  void conv2d_backward_data(const Conv2dShape& shape, const float* dy, const float* weight,
                            float* dx, std::span<std::byte> workspace) override;
  void conv2d_backward_filter(const Conv2dShape& shape, const float* x, const float* dy,
                              float* dweight, std::span<std::byte> workspace) override;
  void conv2d_backward_bias(const Conv2dShape& shape, const float* dy, float* dbias) override;

  void max_pool2d_forward(const Pool2dShape& shape, const float* x, float* y,
                          std::int32_t* argmax) override;
  void max_pool2d_backward(const Pool2dShape& shape, const float* x, const float* y,
                           const float* dy, const std::int32_t* argmax, float* dx) override;

  // Only when both the activation and the pool families go to the base engine and it fuses; the
  // fused ops then run there (the pool family's engine), and throw std::logic_error otherwise.
  bool fuses_relu_max_pool() const override;
  void relu_max_pool2d_forward(const Pool2dShape& shape, const float* x, float* y,
                               std::int32_t* argmax) override;
  void relu_max_pool2d_backward(const Pool2dShape& shape, const float* y, const float* dy,
                                const std::int32_t* argmax, float* dx) override;

  void relu_forward(std::int64_t count, const float* x, float* y) override;
  void relu_backward(std::int64_t count, const float* y, const float* dy, float* dx) override;
  void sigmoid_forward(std::int64_t count, const float* x, float* y) override;
  void sigmoid_backward(std::int64_t count, const float* y, const float* dy, float* dx) override;

  std::size_t dropout_reserve_bytes(std::int64_t count) const override;
  void dropout_forward(std::int64_t count, float p, std::uint32_t mask_stream,
                       const StepCounters* counters, const float* x, float* y,
                       std::span<std::byte> reserve) override;
  void dropout_backward(std::int64_t count, float p, std::uint32_t mask_stream,
                        const StepCounters* counters, const float* dy, float* dx,
                        std::span<std::byte> reserve) override;

  void softmax_cross_entropy(int batch, int classes, const float* logits,
                             const std::int32_t* labels, float* loss, float* dlogits) override;

  void linear_forward(const LinearShape& shape, const float* x, const float* weight,
                      const float* bias, float* y) override;
  void linear_backward_data(const LinearShape& shape, const float* dy, const float* weight,
                            float* dx) override;
  void linear_backward_weight(const LinearShape& shape, const float* x, const float* dy,
                              float* dweight) override;
  void linear_backward_bias(const LinearShape& shape, const float* dy, float* dbias) override;

  void sgd_step(std::span<const ParameterSlot> parameters, float learning_rate) override;
  void adam_step(std::span<const ParameterSlot> parameters, const AdamConfig& config,
                 const StepCounters* counters) override;
  void advance_step(StepCounters* counters) override;

  std::size_t shuffle_workspace_bytes(std::int64_t count) const override;
  void shuffle_indices(std::int64_t count, std::uint64_t seed, std::uint32_t random_stream,
                       std::uint64_t step, const std::int32_t* source, std::int32_t* order,
                       std::span<std::byte> workspace) override;

  void gather_batch(const std::uint8_t* images, const std::uint8_t* labels,
                    std::int64_t image_elements, const std::int32_t* indices, int batch, float* x,
                    std::int32_t* y) override;
  void count_correct(int batch, int classes, const float* logits, const std::int32_t* labels,
                     std::int64_t* correct) override;

 private:
  Backend& engine(OpFamily family) const { return routing_.to_other(family) ? other_ : base_; }
  // The pool family's engine, once fuses_relu_max_pool() holds (std::logic_error otherwise).
  Backend& fused_engine() const;

  Backend& base_;
  Backend& other_;
  FamilyRouting routing_;
  std::string name_;
};

}  // namespace kiln
