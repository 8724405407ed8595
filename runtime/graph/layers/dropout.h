// Inverted dropout (PyTorch's nn.Dropout): in training, zero each element with probability p and
// scale the rest by 1 / (1 - p); in evaluation, the identity. kiln's backends recompute the mask
// in backward from the layer's Philox stream and the step counters; a backend with its own
// generator (cuDNN) keeps it in the reserve the layer plans for it.
#pragma once

#include "runtime/graph/layer.h"

namespace kiln {

class Dropout final : public Layer {
 public:
  Dropout(std::string name, float p);

  std::string describe() const override;
  Shape output_shape(const Shape& input) const override { return input; }
  int random_streams() const override { return 1; }
  void set_first_random_stream(std::uint32_t stream) override { stream_ = stream; }
  void plan(const Backend& backend, const Shape& input, MemoryPlan& plan) override;
  void bind(const Arena& arena) override;
  Tensor forward(const RunContext& context, const Tensor& x, const Tensor& y) override;
  Tensor backward(const RunContext& context, const Tensor& x, const Tensor& y, const Tensor& dy,
                  const Tensor& dx) override;

 private:
  float p_;
  std::uint32_t stream_ = 0;
  Reservation reserve_reservation_;
  std::span<std::byte> reserve_;
};

}  // namespace kiln
