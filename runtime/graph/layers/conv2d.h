// Conv2d as PyTorch defines it (cross-correlation, square kernel, symmetric stride and padding),
// with bias. Weight [out, in, k, k], bias [out]; PyTorch's default initialisation.
#pragma once

#include "runtime/graph/layer.h"

namespace kiln {

class Conv2d final : public Layer {
 public:
  Conv2d(std::string name, int in_channels, int out_channels, int kernel, int stride = 1,
         int padding = 0);

  std::string describe() const override;
  Shape output_shape(const Shape& input) const override;
  std::size_t workspace_bytes(const Backend& backend, const Shape& input) const override;
  Tensor forward(const RunContext& context, const Tensor& x, const Tensor& y) override;
  Tensor backward(const RunContext& context, const Tensor& x, const Tensor& y, const Tensor& dy,
                  const Tensor& dx) override;

  Parameter& weight() { return parameters()[0]; }
  Parameter& bias() { return parameters()[1]; }

 private:
  Conv2dShape shape_for(const Shape& input) const;

  int in_channels_;
  int out_channels_;
  int kernel_;
  int stride_;
  int padding_;
};

}  // namespace kiln
