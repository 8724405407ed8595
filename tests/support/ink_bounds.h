// The box around the ink (the pixels above 0) of a 28x28 field made MNIST-style
// (runtime/data/image.h): what the image tests and the image fuzzer measure a result by.
#pragma once

#include <algorithm>
#include <cstdint>
#include <ostream>
#include <span>

#include "runtime/data/image.h"

namespace kiln::testing {

struct InkBounds {
  int left = 0;
  int top = 0;
  int width = 0;
  int height = 0;
  bool operator==(const InkBounds&) const = default;
};

inline std::ostream& operator<<(std::ostream& out, const InkBounds& b) {
  return out << b.width << " x " << b.height << " at (" << b.left << ", " << b.top << ")";
}

// All zeros for a field with no ink.
inline InkBounds ink_bounds(std::span<const std::uint8_t> field) {
  constexpr int side = data::kMnistSide;
  int left = side;
  int right = -1;
  int top = side;
  int bottom = -1;
  for (int y = 0; y < side; ++y) {
    for (int x = 0; x < side; ++x) {
      if (field[static_cast<std::size_t>(y * side + x)] == 0) continue;
      left = std::min(left, x);
      right = std::max(right, x);
      top = std::min(top, y);
      bottom = std::max(bottom, y);
    }
  }
  if (right < 0) return {};
  return {left, top, right - left + 1, bottom - top + 1};
}

}  // namespace kiln::testing
