// Linear as PyTorch defines it: y = x W^T + b, weight [out, in], bias [out], PyTorch's default
// initialisation (a model may set another bound before the parameters are drawn).
#pragma once

#include "runtime/graph/layer.h"

namespace kiln {

class Linear final : public Layer {
 public:
  Linear(std::string name, int in_features, int out_features);

  std::string describe() const override;
  Shape output_shape(const Shape& input) const override;
  Tensor forward(const RunContext& context, const Tensor& x, const Tensor& y) override;
  Tensor backward(const RunContext& context, const Tensor& x, const Tensor& y, const Tensor& dy,
                  const Tensor& dx) override;

  Parameter& weight() { return parameters()[0]; }
  Parameter& bias() { return parameters()[1]; }
  int in_features() const { return in_features_; }
  int out_features() const { return out_features_; }

 private:
  LinearShape shape_for(const Shape& input) const {
    return LinearShape{static_cast<int>(input[0]), in_features_, out_features_};
  }

  int in_features_;
  int out_features_;
};

}  // namespace kiln
