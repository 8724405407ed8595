// The one tolerance rule every numeric test uses: |actual - expected| <= atol + rtol * |expected|.
// A non-finite value on either side is a mismatch. The first few mismatches are printed with their
// indices, so a failure says where to look.
#pragma once

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <sstream>

namespace kiln::testing {

struct Tolerance {
  double atol = 0.0;
  double rtol = 0.0;
};

inline ::testing::AssertionResult all_close(std::span<const float> actual,
                                            std::span<const float> expected, Tolerance tol) {
  if (actual.size() != expected.size()) {
    return ::testing::AssertionFailure()
           << "size mismatch: " << actual.size() << " vs expected " << expected.size();
  }
  constexpr int kMaxPrinted = 8;
  std::size_t mismatches = 0;
  std::ostringstream first;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    const double a = actual[i];
    const double e = expected[i];
    const bool ok = std::isfinite(a) && std::isfinite(e) &&
                    std::abs(a - e) <= tol.atol + tol.rtol * std::abs(e);
    if (!ok && mismatches++ < kMaxPrinted) {
      first << "\n  [" << i << "] actual " << a << ", expected " << e;
    }
  }
  if (mismatches == 0) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << mismatches << " of " << actual.size() << " values differ (atol " << tol.atol
         << ", rtol " << tol.rtol << "); first:" << first.str();
}

// Element-wise equality under `same`, the first mismatches printed.
template <typename Same>
::testing::AssertionResult all_same(std::span<const float> actual, std::span<const float> expected,
                                    Same same) {
  if (actual.size() != expected.size()) {
    return ::testing::AssertionFailure()
           << "size mismatch: " << actual.size() << " vs expected " << expected.size();
  }
  constexpr int kMaxPrinted = 8;
  std::size_t mismatches = 0;
  std::ostringstream first;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    if (!same(actual[i], expected[i]) && mismatches++ < kMaxPrinted) {
      first << "\n  [" << i << "] actual " << actual[i] << ", expected " << expected[i];
    }
  }
  if (mismatches == 0) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << mismatches << " of " << actual.size() << " values differ; first:" << first.str();
}

// For ops that select or copy rather than compute (pooling, dropout, gathers, exactly reproduced
// arithmetic): bit-for-bit equality, any NaN matching any NaN.
inline ::testing::AssertionResult bitwise_equal(std::span<const float> actual,
                                                std::span<const float> expected) {
  return all_same(actual, expected, [](float a, float b) {
    return (std::isnan(a) && std::isnan(b)) ||
           std::bit_cast<std::uint32_t>(a) == std::bit_cast<std::uint32_t>(b);
  });
}

// Equal as values: -0 equals +0, any NaN matches any NaN. For another library's implementation
// of the same exact operation (cuDNN's ReLU and pooling), which may give -0 where the reference
// gives +0: dy * (x > 0) is -0 for a negative dy.
inline ::testing::AssertionResult value_equal(std::span<const float> actual,
                                              std::span<const float> expected) {
  return all_same(actual, expected,
                  [](float a, float b) { return (std::isnan(a) && std::isnan(b)) || a == b; });
}

// The norm-wise comparison used against PyTorch fixtures: ||actual - expected||_2 <= rel *
// ||expected||_2 over the whole tensor (computed in double). Element-wise relative error is
// meaningless for outputs near zero, where float rounding of a long sum dominates; the L2 norm
// weighs each element by its size. Non-finite values fail.
inline ::testing::AssertionResult close_in_l2(std::span<const float> actual,
                                              std::span<const float> expected, double rel) {
  if (actual.size() != expected.size()) {
    return ::testing::AssertionFailure()
           << "size mismatch: " << actual.size() << " vs expected " << expected.size();
  }
  double diff = 0.0;
  double norm = 0.0;
  std::size_t worst = 0;
  double worst_error = -1.0;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    if (!std::isfinite(actual[i]) || !std::isfinite(expected[i])) {
      return ::testing::AssertionFailure() << "non-finite value at [" << i << "]: actual "
                                           << actual[i] << ", expected " << expected[i];
    }
    const double d = static_cast<double>(actual[i]) - expected[i];
    diff += d * d;
    norm += static_cast<double>(expected[i]) * expected[i];
    if (std::abs(d) > worst_error) {
      worst_error = std::abs(d);
      worst = i;
    }
  }
  const double error = std::sqrt(diff);
  const double bound = rel * std::sqrt(norm);
  if (error <= bound) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "relative L2 error " << (norm > 0 ? error / std::sqrt(norm) : error) << " > " << rel
         << "; largest difference at [" << worst << "]: actual " << actual[worst] << ", expected "
         << expected[worst];
}

}  // namespace kiln::testing
