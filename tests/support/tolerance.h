// The one tolerance rule every numeric test uses: |actual - expected| <= atol + rtol * |expected|.
// A non-finite value on either side is a mismatch. The first few mismatches are printed with their
// indices, so a failure says where to look.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
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

}  // namespace kiln::testing
