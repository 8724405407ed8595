// Dropout reference (see dropout.h): one Philox call per group of four elements, exactly as
// kernels/dropout_mask.h lays the mask out, so the CUDA kernels must reproduce it bit for bit.
#include "kernels/cpu/dropout.h"

#include <fmt/format.h>

#include <stdexcept>

#include "kernels/cpu/parallel.h"
#include "kernels/dropout_mask.h"

namespace kiln::cpu {
namespace {

void check_arguments(const char* op, std::int64_t count, float p, const StepCounters* counters) {
  if (count < 0) {
    throw std::invalid_argument(fmt::format("{}: count must not be negative, got {}", op, count));
  }
  // Written so that NaN fails too; p = 1 would drop everything and scale by infinity.
  if (!(p >= 0.0f && p < 1.0f)) {
    throw std::invalid_argument(fmt::format("{}: p must be in [0, 1), got {}", op, p));
  }
  if (counters == nullptr) {
    throw std::invalid_argument(fmt::format("{}: counters must not be null", op));
  }
}

// out = keep ? in * scale : 0: forward maps x to y, backward dy to dx, with the same mask.
void apply_mask(std::int64_t count, float p, std::uint32_t mask_stream,
                const StepCounters& counters, const float* in, float* out) {
  const float scale = dropout_scale(p);
  // The ranges start at multiples of 16, so no group of four is split between two of them.
  parallel_ranges(count, kElementwiseRange, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t group = begin / 4; group * 4 < end; ++group) {
      const auto lanes =
          philox_bits(counters.seed, counters.step, mask_stream, static_cast<std::uint64_t>(group));
      for (std::int64_t i = group * 4; i < end && i < group * 4 + 4; ++i) {
        out[i] = dropout_keeps(lanes[i % 4], p) ? in[i] * scale : 0.0f;
      }
    }
  });
}

}  // namespace

void dropout_forward(std::int64_t count, float p, std::uint32_t mask_stream,
                     const StepCounters* counters, const float* x, float* y) {
  check_arguments("dropout_forward", count, p, counters);
  apply_mask(count, p, mask_stream, *counters, x, y);
}

void dropout_backward(std::int64_t count, float p, std::uint32_t mask_stream,
                      const StepCounters* counters, const float* dy, float* dx) {
  check_arguments("dropout_backward", count, p, counters);
  apply_mask(count, p, mask_stream, *counters, dy, dx);
}

}  // namespace kiln::cpu
