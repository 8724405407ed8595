// A sequential graph of layers: what the two reference models need, without any layer knowing
// its neighbours (except the predecessor the graph offers it to fuse). Built in three stages
// before training starts:
//   1. add() layers in order;
//   2. plan() infers every shape from the input's (largest batch), fuses neighbours the backend
//      can run as one op (a ReLU into the max pooling after it: Layer::fuse_predecessor) and
//      reserves parameters, gradients, outputs (none for a fused-away layer), two
//      activation-gradient buffers and the shared workspace in the plan;
//   3. bind() takes the views of the arena made from that plan.
// Then forward() and backward() run a step with no allocation: the first extent of the input may
// be any batch up to the planned one (the last, partial batch of an epoch).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "runtime/graph/layer.h"
#include "runtime/graph/layer_observer.h"
#include "runtime/nvtx.h"

namespace kiln {

class Graph {
 public:
  template <typename L, typename... Args>
  L& add(Args&&... args) {
    auto layer = std::make_unique<L>(std::forward<Args>(args)...);
    L& added = *layer;
    layers_.push_back(std::move(layer));
    return added;
  }

  // Fusion is on unless turned off here, before plan(); it changes no result, bit for bit, only
  // the memory passes and the arena's size.
  void set_fusion(bool enabled) { fusion_ = enabled; }
  // ShapeError naming the first layer whose input does not fit.
  void plan(const Backend& backend, const Shape& input, MemoryPlan& plan);
  void bind(const Arena& arena);

  // Runs every layer; the returned output (the logits) is valid until the next forward.
  Tensor forward(Backend& backend, const StepCounters* counters, bool training, const Tensor& x);
  // From the gradient of the loss with respect to the last forward's output: every parameter's
  // gradient. No gradient is computed for the graph's input.
  void backward(Backend& backend, const StepCounters* counters, const Tensor& doutput);
  // Called around every layer's forward and backward from now on (null: no one). Not owned.
  void set_observer(LayerObserver* observer) { observer_ = observer; }

  // In model order: the order of initialisation streams and of checkpoints.
  std::vector<Parameter*> parameters();
  std::int64_t parameter_count() const;
  const Shape& output_shape() const { return output_shapes_.back(); }
  std::size_t layer_count() const { return layers_.size(); }
  Layer& layer(std::size_t index) { return *layers_[index]; }
  // True when layer `index` runs inside the next one (planned fused): it has no output of its own.
  bool fused_into_next(std::size_t index) const { return fused_into_next_[index]; }
  // Layer `index`'s output in the last forward pass (for diagnosis: which layer went non-finite);
  // empty for a layer fused into the next.
  const Tensor& last_output(std::size_t index) const { return last_forward_[index].output; }
  // A table like the reference PyTorch programs print: layer, kind, output shape (N for the batch),
  // parameters.
  std::string summary() const;

 private:
  struct Step {
    Tensor input;
    Tensor output;
  };

  std::vector<std::unique_ptr<Layer>> layers_;
  bool fusion_ = true;
  std::vector<bool> fused_into_next_;  // per layer, decided by plan()
  Shape input_shape_;
  std::vector<Shape> output_shapes_;
  std::vector<Reservation> output_reservations_;     // none for views
  std::vector<Reservation> parameter_reservations_;  // value, gradient per parameter
  Reservation gradient_reservations_[2];
  Reservation workspace_reservation_;
  std::vector<Tensor> outputs_;  // each layer's buffer, sized for the planned batch
  std::vector<Step> last_forward_;
  std::vector<NvtxName> forward_ranges_;  // "layer1.0 forward", per layer
  std::vector<NvtxName> backward_ranges_;
  Tensor gradient_buffers_[2];
  std::span<std::byte> workspace_;
  LayerObserver* observer_ = nullptr;
};

}  // namespace kiln
