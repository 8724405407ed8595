#include "runtime/graph/layer.h"

#include <fmt/format.h>

namespace kiln {

Parameter& Layer::add_parameter(std::string suffix, Shape shape, double init_bound) {
  parameters_.push_back(Parameter{name_ + "." + suffix, shape, init_bound, {}, {}, {}, {}});
  return parameters_.back();
}

void Layer::fail_shape(std::string_view what, const Shape& got) const {
  // describe() is "Kind(args)"; the kind alone reads better in the message.
  const std::string kind = describe().substr(0, describe().find('('));
  throw ShapeError(fmt::format("{} ({}): {}, got {}", name_, kind, what, got.to_string()));
}

void Layer::expect_image_batch(const Shape& input, std::int64_t channels) const {
  if (input.rank() != 4) fail_shape("expects a batch of images [N, C, H, W]", input);
  if (channels > 0 && input[1] != channels) {
    fail_shape(fmt::format("expects {} input channel{}", channels, channels == 1 ? "" : "s"),
               input);
  }
}

}  // namespace kiln
