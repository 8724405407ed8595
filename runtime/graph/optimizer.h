// The two optimizers of the recipes, one fused backend call per step over every parameter:
// plain SGD (no momentum) and Adam (PyTorch's defaults). Adam's moments are reserved in the run's
// plan next to the parameters; the step counter its bias correction reads lives in device memory
// (StepCounters), so a step never needs a value from the host.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "runtime/graph/layer.h"

namespace kiln {

enum class OptimizerKind { sgd, adam };

class Optimizer {
 public:
  Optimizer(OptimizerKind kind, double learning_rate);

  OptimizerKind kind() const { return kind_; }
  double learning_rate() const { return learning_rate_; }
  // "SGD(lr=0.04)", "Adam(lr=0.001, betas=(0.9, 0.999), eps=1e-08)"
  std::string describe() const;

  void plan(std::span<Parameter* const> parameters, MemoryPlan& plan);
  void bind(const Arena& arena, std::span<Parameter* const> parameters);
  // Updates every parameter from its gradient, then counts the step.
  void step(Backend& backend, StepCounters* counters);

 private:
  OptimizerKind kind_;
  double learning_rate_;
  AdamConfig adam_;
  std::vector<Reservation> moment_reservations_;
  std::vector<ParameterSlot> slots_;
};

}  // namespace kiln
