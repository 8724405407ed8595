// The Trainer's reading of losses: the log window's losses with the divergence check and where a
// divergence starts, and the evaluation of a set of images.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "models/networks.h"
#include "models/trainer_impl.h"

namespace kiln::models {
namespace {

bool all_finite(const std::vector<float>& values) {
  return std::all_of(values.begin(), values.end(), [](float v) { return std::isfinite(v); });
}

}  // namespace

void Trainer::read_losses(double* window_sum) {
  Impl& run = *impl_;
  if (run.window_used == 0) return;
  std::vector<float>& losses = run.losses_host;
  const auto count = static_cast<std::size_t>(run.window_used);
  run.allocator().copy_to_host(losses.data(), run.losses.data, count * sizeof(float));
  for (std::size_t i = 0; i < count; ++i) {
    if (!std::isfinite(losses[i])) {
      throw std::runtime_error(fmt::format(
          "training diverged: the loss is {} at epoch {}, step {}; {} (try a lower --lr)",
          std::isnan(losses[i]) ? "NaN" : "infinite", run.epoch + 1,
          run.steps - run.window_used + static_cast<std::int64_t>(i) + 1, divergence_source()));
    }
    *window_sum += losses[i];
  }
  run.window_used = 0;
}

// Where the non-finite values start: the first parameter in model order that holds one, else the
// first layer whose output does on the epoch's first batch (a forward pass that changes nothing
// kept), else the loss itself.
std::string Trainer::divergence_source() {
  Impl& run = *impl_;
  ModelStep& step = run.step;
  Graph& graph = step.graph();
  for (const Parameter* parameter : step.parameters()) {
    std::vector<float> values(static_cast<std::size_t>(parameter->value.elements()));
    run.allocator().copy_to_host(values.data(), parameter->value.data, parameter->value.bytes());
    if (!all_finite(values)) return fmt::format("parameter {} is not finite", parameter->name);
  }
  const std::int64_t rows = std::min<std::int64_t>(settings_.batch_size, run.data.train_count());
  step.gather(run.data.train_images(), run.data.train_labels(), run.data.epoch_order().i32(), rows);
  step.forward(rows, true);
  for (std::size_t i = 0; i < graph.layer_count(); ++i) {
    if (graph.fused_into_next(i)) continue;  // no output of its own: the next layer's is checked
    const Tensor& output = graph.last_output(i);
    std::vector<float> values(static_cast<std::size_t>(output.elements()));
    run.allocator().copy_to_host(values.data(), output.data, output.bytes());
    if (!all_finite(values)) {
      return fmt::format("the parameters are finite, but the output of layer {} ({}) is not",
                         graph.layer(i).name(), graph.layer(i).describe());
    }
  }
  return "the parameters and every layer's output are finite, the loss is not";
}

Evaluation Trainer::evaluate(const EvaluationSet& set, std::vector<float>* all_logits) {
  Impl& run = *impl_;
  ModelStep& step = run.step;
  const std::int64_t count =
      settings_.eval_limit > 0 ? std::min(set.count, settings_.eval_limit) : set.count;
  const std::int64_t zero = 0;
  run.allocator().copy_from_host(run.correct.i64() + 1, &zero, sizeof zero);
  if (all_logits != nullptr) all_logits->assign(static_cast<std::size_t>(count) * kClasses, 0.0f);
  double loss_sum = 0;
  std::int64_t batches = 0;
  for (std::int64_t first = 0; first < count; first += settings_.batch_size) {
    const std::int64_t rows = std::min<std::int64_t>(settings_.batch_size, count - first);
    step.gather(set.images, set.labels, set.order.i32() + first, rows);
    const Tensor& logits = step.forward(rows, false);
    step.loss(rows, run.losses.f32() + run.window_used, false);
    step.count_correct(rows, run.correct.i64() + 1);
    ++run.window_used;
    ++batches;
    if (all_logits != nullptr) {
      run.allocator().copy_to_host(all_logits->data() + first * kClasses, logits.data,
                                   logits.bytes());
    }
    if (run.window_used == run.window()) read_losses(&loss_sum);
  }
  read_losses(&loss_sum);
  Evaluation evaluation{batches > 0 ? loss_sum / static_cast<double>(batches) : 0, 0, count};
  run.allocator().copy_to_host(&evaluation.correct, run.correct.i64() + 1, sizeof(std::int64_t));
  return evaluation;
}

}  // namespace kiln::models
