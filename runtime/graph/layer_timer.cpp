#include "runtime/graph/layer_timer.h"

#include <stdexcept>

namespace kiln {

// Each interval's two marks: events on the GPU, clock readings on the host.
struct LayerTimer::Marks {
  std::vector<std::unique_ptr<CudaEvent>> events[2];
  std::vector<std::chrono::steady_clock::time_point> times[2];
};

LayerTimer::LayerTimer(std::size_t layers, std::size_t sections, const CudaStream* stream)
    : layers_(layers),
      stream_(stream),
      marks_(std::make_unique<Marks>()),
      total_ms_(2 * layers + sections, 0.0),
      marked_(2 * layers + sections, false) {
  for (int end = 0; end < 2; ++end) {
    if (stream_ == nullptr) {
      marks_->times[end].resize(total_ms_.size());
      continue;
    }
    for (std::size_t i = 0; i < total_ms_.size(); ++i) {
      marks_->events[end].push_back(std::make_unique<CudaEvent>());
    }
  }
}

LayerTimer::~LayerTimer() = default;

void LayerTimer::mark(std::size_t interval, int end) {
  if (stream_ != nullptr) {
    marks_->events[end][interval]->record(*stream_);
  } else {
    marks_->times[end][interval] = std::chrono::steady_clock::now();
  }
  marked_[interval] = true;
}

void LayerTimer::end_iteration() {
  for (std::size_t i = 0; i < total_ms_.size(); ++i) {
    if (!marked_[i]) continue;
    if (stream_ != nullptr) {
      total_ms_[i] += marks_->events[1][i]->milliseconds_since(*marks_->events[0][i]);
    } else {
      total_ms_[i] +=
          std::chrono::duration<double, std::milli>(marks_->times[1][i] - marks_->times[0][i])
              .count();
    }
    marked_[i] = false;
  }
  ++iterations_;
}

double LayerTimer::mean(std::size_t interval) const {
  if (iterations_ == 0) throw std::logic_error("no iteration has been timed");
  return total_ms_[interval] / iterations_;
}

double LayerTimer::layer_ms(std::size_t layer, Pass pass) const {
  return mean(interval(layer, pass));
}

double LayerTimer::section_ms(std::size_t section) const { return mean(2 * layers_ + section); }

}  // namespace kiln
