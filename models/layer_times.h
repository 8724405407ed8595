// train_mnist_gpu --time-layers, as Caffe's `caffe time`: a model's training step on one batch,
// one untimed warm-up step, then `iterations` steps timed layer by layer (runtime/graph/
// layer_timer.h), printed as a table of mean forward and backward milliseconds per layer, the
// totals, and the gather, loss and optimizer update around them. Every kernel is launched
// directly (no CUDA graph), so that events can sit between the layers.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "kernels/backend.h"
#include "runtime/memory/allocator.h"
#include "runtime/stream.h"

namespace kiln::models {

struct LayerTimesRun {
  std::string_view model;
  int batch = 0;
  int iterations = 0;
  bool fuse = true;  // as train_mnist_gpu --fuse
  // The backend's stream on a GPU (the timer's events go on it); null on the CPU.
  const CudaStream* stream = nullptr;
  // One batch: batch * 28 * 28 pixels and batch labels.
  std::span<const std::uint8_t> images;
  std::span<const std::uint8_t> labels;
};

// The table, one line per layer.
std::string time_layers(const LayerTimesRun& run, Backend& backend, Allocator& allocator);

}  // namespace kiln::models
