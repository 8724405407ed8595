#include "runtime/graph/layers/dropout.h"

#include <fmt/format.h>

namespace kiln {

Dropout::Dropout(std::string name, float p) : Layer(std::move(name)), p_(p) {
  if (!(p >= 0.0f && p < 1.0f)) {
    throw std::invalid_argument(
        fmt::format("{}: dropout probability {} is outside [0, 1)", this->name(), p));
  }
}

std::string Dropout::describe() const { return fmt::format("Dropout(p={})", p_); }

void Dropout::plan(const Backend& backend, const Shape& input, MemoryPlan& plan) {
  reserve_reservation_ = plan.reserve_bytes(name() + ".reserve", MemoryCategory::activations,
                                            backend.dropout_reserve_bytes(input.elements()));
}

void Dropout::bind(const Arena& arena) { reserve_ = arena.bytes(reserve_reservation_); }

Tensor Dropout::forward(const RunContext& context, const Tensor& x, const Tensor& y) {
  if (!context.training || p_ == 0.0f) return x;
  context.backend.dropout_forward(x.elements(), p_, stream_, context.counters, x.f32(), y.f32(),
                                  reserve_);
  return y;
}

Tensor Dropout::backward(const RunContext& context, const Tensor& /*x*/, const Tensor& /*y*/,
                         const Tensor& dy, const Tensor& dx) {
  if (p_ == 0.0f || dx.empty()) return dy;
  context.backend.dropout_backward(dy.elements(), p_, stream_, context.counters, dy.f32(), dx.f32(),
                                   reserve_);
  return dx;
}

}  // namespace kiln
