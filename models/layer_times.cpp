#include "models/layer_times.h"

#include <fmt/format.h>

#include "models/standalone_step.h"
#include "runtime/graph/layer_timer.h"

namespace kiln::models {
namespace {

// The parts of a step outside the graph's layers.
enum Section : std::size_t { gather_section, loss_section, update_section, kSections };

// "Conv2d(1, 32, kernel_size=3, ...)" -> "Conv2d".
std::string kind_of(const Layer& layer) {
  const std::string description = layer.describe();
  return description.substr(0, description.find('('));
}

}  // namespace

std::string time_layers(const LayerTimesRun& run, Backend& backend, Allocator& allocator) {
  StandaloneStep step(run.model, run.batch, backend, allocator, run.images, run.labels, run.fuse);
  Graph& graph = step.graph();
  LayerTimer timer(graph.layer_count(), kSections, run.stream);
  auto one_step = [&](bool timed) {
    if (timed) timer.begin_section(gather_section);
    step.gather();
    if (timed) timer.end_section(gather_section);
    step.forward();
    if (timed) timer.begin_section(loss_section);
    step.loss();
    if (timed) timer.end_section(loss_section);
    step.backward();
    if (timed) timer.begin_section(update_section);
    step.update();
    if (timed) timer.end_section(update_section);
  };
  one_step(false);  // warm-up: first launches load kernels, cuDNN and cuBLAS pick their paths
  graph.set_observer(&timer);
  for (int i = 0; i < run.iterations; ++i) {
    one_step(true);
    timer.end_iteration();
  }
  graph.set_observer(nullptr);

  std::string table = fmt::format(
      "time-layers: {} at batch {} on {}, mean of {} iterations after one warm-up step\n",
      run.model, run.batch, backend.name(), run.iterations);
  table +=
      fmt::format("{:<12} {:<10} {:>11} {:>12}\n", "layer", "kind", "forward ms", "backward ms");
  double forward_ms = 0, backward_ms = 0;
  for (std::size_t i = 0; i < graph.layer_count(); ++i) {
    if (graph.fused_into_next(i)) {  // its time is the next layer's
      table += fmt::format("{:<12} {:<10} {:>24}\n", graph.layer(i).name(), kind_of(graph.layer(i)),
                           "fused into " + graph.layer(i + 1).name());
      continue;
    }
    const double forward = timer.layer_ms(i, Pass::forward);
    const double backward = timer.layer_ms(i, Pass::backward);
    forward_ms += forward;
    backward_ms += backward;
    table += fmt::format("{:<12} {:<10} {:>11.4f} {:>12.4f}\n", graph.layer(i).name(),
                         kind_of(graph.layer(i)), forward, backward);
  }
  table += fmt::format("{:<23} {:>11.4f} {:>12.4f}\n", "layers total", forward_ms, backward_ms);
  table += fmt::format("gather batch {:.4f} ms, loss {:.4f} ms, optimizer step {:.4f} ms\n",
                       timer.section_ms(gather_section), timer.section_ms(loss_section),
                       timer.section_ms(update_section));
  table += fmt::format("step total {:.4f} ms (forward + backward {:.4f} ms)\n",
                       forward_ms + backward_ms + timer.section_ms(gather_section) +
                           timer.section_ms(loss_section) + timer.section_ms(update_section),
                       forward_ms + backward_ms);
  return table;
}

}  // namespace kiln::models
