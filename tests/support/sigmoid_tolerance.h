// How far the CUDA sigmoid may stray from the CPU reference, and why. Both compute
// y = 1 / (1 + e) in float with e = exp(-x) rounded once to float from a double exp. glibc's
// double exp is correctly rounded in practice; CUDA's is within 1 ulp of double, so its e can
// round to the neighbouring float only where exp(-x) lies within a double ulp of the midpoint
// between two floats: about once in 2^28 inputs. Elsewhere the two agree bit for bit.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

namespace kiln::testing {

// How far the device's e may be from the reference's, in float ulps.
inline constexpr int kSigmoidExpUlps = 1;

// What one ulp of e does to y, at worst: 4 ulps. Where e is just above 2^24, 1 + e is a tie
// between two floats that ties-to-even resolves in opposite directions for neighbouring e, so one
// ulp of e moves 1 + e by two ulps, and y = 1 / (1 + e) lands two to four ulps away.
// tests/kernels/tolerance_test.cpp checks this bound against every float x in [-20, -10].
inline constexpr std::int64_t kSigmoidForwardUlps = 4;

// The share of outputs allowed to differ at all: nearly all must be bitwise the reference.
inline constexpr double kSigmoidMaxDifferingShare = 1e-5;

// Distance in representable floats; both NaN counts as equal, one NaN as infinitely far.
inline std::int64_t ulp_distance(float a, float b) {
  if (std::isnan(a) || std::isnan(b)) {
    return std::isnan(a) && std::isnan(b) ? 0 : std::numeric_limits<std::int64_t>::max();
  }
  // Map the sign-magnitude bit patterns onto a line where adjacent floats differ by one.
  const auto line = [](float v) {
    const auto bits = static_cast<std::int64_t>(std::bit_cast<std::uint32_t>(v));
    return bits >= 0x80000000LL ? 0x80000000LL - bits : bits;
  };
  const std::int64_t d = line(a) - line(b);
  return d < 0 ? -d : d;
}

}  // namespace kiln::testing
