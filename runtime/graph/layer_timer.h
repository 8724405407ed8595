// Per-layer times of a training step, as Caffe's `caffe time` prints them (train_mnist_gpu
// --time-layers): the graph calls the timer around every layer's forward and backward
// (layer_observer.h), the caller brackets the rest of the step (gather, loss, update) as sections.
// On a GPU each mark is a CUDA event on the backend's stream, so the times are the GPU's and the
// host waits only when an iteration ends; on the CPU backend, which runs each op before returning,
// the host's steady clock.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "runtime/graph/layer_observer.h"
#include "runtime/stream.h"

namespace kiln {

class LayerTimer final : public LayerObserver {
 public:
  // Times `layers` layers and `sections` more parts of a step; with CUDA events on `stream`, or
  // the host clock when it is null.
  LayerTimer(std::size_t layers, std::size_t sections, const CudaStream* stream);
  ~LayerTimer() override;
  LayerTimer(const LayerTimer&) = delete;
  LayerTimer& operator=(const LayerTimer&) = delete;

  void before(std::size_t layer, Pass pass) override { mark(interval(layer, pass), 0); }
  void after(std::size_t layer, Pass pass) override { mark(interval(layer, pass), 1); }
  void begin_section(std::size_t section) { mark(2 * layers_ + section, 0); }
  void end_section(std::size_t section) { mark(2 * layers_ + section, 1); }
  // Waits for the iteration's marks and adds what each interval took to its total.
  void end_iteration();

  int iterations() const { return iterations_; }
  // Mean milliseconds per iteration.
  double layer_ms(std::size_t layer, Pass pass) const;
  double section_ms(std::size_t section) const;

 private:
  struct Marks;

  std::size_t interval(std::size_t layer, Pass pass) const {
    return 2 * layer + (pass == Pass::forward ? 0 : 1);
  }
  void mark(std::size_t interval, int end);
  double mean(std::size_t interval) const;

  std::size_t layers_;
  const CudaStream* stream_;
  std::unique_ptr<Marks> marks_;
  std::vector<double> total_ms_;
  std::vector<bool> marked_;  // this iteration, per interval
  int iterations_ = 0;
};

}  // namespace kiln
