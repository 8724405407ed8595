// A hook around each layer's forward and backward pass, for tools that look at a step layer by
// layer (train_mnist_gpu --time-layers, the benchmarks' op recorder) without the layers knowing.
// A graph without an observer pays one null check per layer.
#pragma once

#include <cstddef>

namespace kiln {

enum class Pass { forward, backward };

class LayerObserver {
 public:
  virtual ~LayerObserver() = default;
  // `layer` is the index in the graph (Graph::layer(index)).
  virtual void before(std::size_t layer, Pass pass) = 0;
  virtual void after(std::size_t layer, Pass pass) = 0;
};

}  // namespace kiln
