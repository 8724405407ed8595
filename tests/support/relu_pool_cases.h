// ReLU fused into max pooling, the cases every engine's test checks: inputs that exercise what
// the fusion could get wrong (windows of nothing positive, -0, NaN, ties, -inf), and the unfused
// reference it must equal bit for bit: cpu::relu then cpu::max_pool2d, forward and backward.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/max_pool2d.h"
#include "kernels/cpu/relu.h"
#include "kernels/shapes.h"
#include "tests/support/random.h"

namespace kiln::testing {

enum class ReluPoolValues {
  mixed,         // uniform in [-1, 1): windows with and without a positive value
  non_positive,  // negatives, +0 and -0 only: every window's relu is all zeros
  ties,          // five values from -1 to 1: equal maxima, positive and zero
  nans,          // mixed, with NaNs of distinct payloads
  infinities,    // mixed, with many -inf (relu makes them +0)
};

inline const std::vector<ReluPoolValues> kReluPoolValues = {
    ReluPoolValues::mixed, ReluPoolValues::non_positive, ReluPoolValues::ties, ReluPoolValues::nans,
    ReluPoolValues::infinities};

inline std::string name_of(ReluPoolValues values) {
  switch (values) {
    case ReluPoolValues::mixed:
      return "mixed";
    case ReluPoolValues::non_positive:
      return "non_positive";
    case ReluPoolValues::ties:
      return "ties";
    case ReluPoolValues::nans:
      return "nans";
    case ReluPoolValues::infinities:
      return "infinities";
  }
  return "?";
}

inline std::vector<float> relu_pool_input(std::size_t count, ReluPoolValues values,
                                          std::mt19937_64& rng) {
  auto x = uniform_floats(count, -1.0f, 1.0f, rng);
  std::uniform_real_distribution<float> chance(0.0f, 1.0f);
  for (float& v : x) {
    const float draw = chance(rng);
    switch (values) {
      case ReluPoolValues::mixed:
        break;
      case ReluPoolValues::non_positive:
        v = draw < 0.2f ? 0.0f : draw < 0.4f ? -0.0f : -std::fabs(v);
        break;
      case ReluPoolValues::ties:
        v = std::round(v * 2.0f) / 2.0f;
        break;
      case ReluPoolValues::nans:
        if (draw < 0.15f) v = std::nanf(std::to_string(rng() % 1000).c_str());
        break;
      case ReluPoolValues::infinities:
        if (draw < 0.6f) v = -INFINITY;
        break;
    }
  }
  return x;
}

struct ReluPoolResult {
  std::vector<float> y;
  std::vector<std::int32_t> argmax;
  std::vector<float> dx;
};

// What the unfused graph computes: relu, pool, pool backward, relu backward (from relu's output).
inline ReluPoolResult relu_then_pool(const Pool2dShape& shape, const std::vector<float>& x,
                                     const std::vector<float>& dy) {
  const auto inputs = static_cast<std::size_t>(shape.input_elements());
  const auto outputs = static_cast<std::size_t>(shape.output_elements());
  std::vector<float> relu_y(inputs);
  cpu::relu_forward(std::ssize(relu_y), x.data(), relu_y.data());
  ReluPoolResult result{std::vector<float>(outputs), std::vector<std::int32_t>(outputs),
                        std::vector<float>(inputs)};
  cpu::max_pool2d_forward(shape, relu_y.data(), result.y.data(), result.argmax.data());
  std::vector<float> dpool(inputs);
  cpu::max_pool2d_backward(shape, nullptr, nullptr, dy.data(), result.argmax.data(), dpool.data());
  cpu::relu_backward(std::ssize(relu_y), relu_y.data(), dpool.data(), result.dx.data());
  return result;
}

}  // namespace kiln::testing
