#include "runtime/graph/optimizer.h"

#include <fmt/format.h>

#include "runtime/nvtx.h"

namespace kiln {

Optimizer::Optimizer(OptimizerKind kind, double learning_rate)
    : kind_(kind), learning_rate_(learning_rate) {
  if (!(learning_rate > 0)) {
    throw std::invalid_argument(fmt::format("learning rate {} is not positive", learning_rate));
  }
  adam_.learning_rate = learning_rate;
}

std::string Optimizer::describe() const {
  if (kind_ == OptimizerKind::sgd) return fmt::format("SGD(lr={})", learning_rate_);
  return fmt::format("Adam(lr={}, betas=({}, {}), eps={})", adam_.learning_rate, adam_.beta1,
                     adam_.beta2, adam_.epsilon);
}

void Optimizer::plan(std::span<Parameter* const> parameters, MemoryPlan& plan) {
  moment_reservations_.clear();
  if (kind_ != OptimizerKind::adam) return;
  for (const Parameter* parameter : parameters) {
    for (const char* moment : {".exp_avg", ".exp_avg_sq"}) {
      moment_reservations_.push_back(plan.reserve(
          parameter->name + moment, MemoryCategory::optimizer_state, DType::f32, parameter->shape));
    }
  }
}

void Optimizer::bind(const Arena& arena, std::span<Parameter* const> parameters) {
  slots_.clear();
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    Parameter& parameter = *parameters[i];
    if (kind_ == OptimizerKind::adam) {
      parameter.exp_avg = arena.tensor(moment_reservations_[2 * i]);
      parameter.exp_avg_sq = arena.tensor(moment_reservations_[2 * i + 1]);
    }
    slots_.push_back(
        ParameterSlot{parameter.value.f32(), parameter.grad.f32(),
                      parameter.exp_avg.empty() ? nullptr : parameter.exp_avg.f32(),
                      parameter.exp_avg_sq.empty() ? nullptr : parameter.exp_avg_sq.f32(),
                      parameter.value.elements()});
  }
}

void Optimizer::step(Backend& backend, StepCounters* counters) {
  static const NvtxName range_name{"optimizer step"};
  const NvtxRange range{range_name};
  if (kind_ == OptimizerKind::sgd) {
    backend.sgd_step(slots_, static_cast<float>(learning_rate_));
  } else {
    backend.adam_step(slots_, adam_, counters);
  }
  backend.advance_step(counters);
}

}  // namespace kiln
