// Dropout reference (see dropout.h): one Philox call per group of four elements, exactly as
// kernels/dropout_mask.h lays the mask out, so the CUDA kernels must reproduce it bit for bit.
// Where the processor has AVX2 (checked at run time), eight groups are drawn at once by the same
// Philox rounds on vector lanes: integer arithmetic and exact float conversions, so the mask is
// bit for bit the scalar one.
#include "kernels/cpu/dropout.h"

#include <fmt/format.h>
#include <immintrin.h>

#include <stdexcept>

#include "kernels/cpu/parallel.h"
#include "kernels/dropout_mask.h"

namespace kiln::cpu {
namespace {

// The count and p are checked by Backend (kernels/backend.cpp); the counters are read here on the
// host, so this engine needs them even where another may not.
void require_counters(const char* op, const StepCounters* counters) {
  if (counters == nullptr) {
    throw std::invalid_argument(fmt::format("{}: counters must not be null", op));
  }
}

// The high and low 32 bits of multiplier * x, lane by lane, as Random123's mulhilo32.
__attribute__((target("avx2"))) void multiply_high_low(__m256i multiplier, __m256i x, __m256i& high,
                                                       __m256i& low) {
  const __m256i even = _mm256_mul_epu32(x, multiplier);                        // lanes 0, 2, ..
  const __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(x, 32), multiplier);  // lanes 1, 3, ..
  low = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0b10101010);
  high = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0b10101010);
}

// Philox4x32-10 of groups [first_group, first_group + 8) as philox_bits computes each: lane l of
// group first_group + g ends up in lanes[l][g].
__attribute__((target("avx2"))) void philox_eight_groups(const StepCounters& counters,
                                                         std::uint32_t mask_stream,
                                                         std::uint64_t first_group,
                                                         __m256i (&lanes)[4]) {
  alignas(32) std::uint32_t group_low[8];
  alignas(32) std::uint32_t group_high[8];
  for (int g = 0; g < 8; ++g) {
    group_low[g] = static_cast<std::uint32_t>(first_group + g);
    group_high[g] = static_cast<std::uint32_t>((first_group + g) >> 32);
  }
  __m256i c0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(group_low));
  __m256i c1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(group_high));
  __m256i c2 = _mm256_set1_epi32(static_cast<int>(mask_stream));
  __m256i c3 = _mm256_set1_epi32(static_cast<int>(static_cast<std::uint32_t>(counters.step)));
  std::uint32_t key0 = static_cast<std::uint32_t>(counters.seed);
  std::uint32_t key1 = static_cast<std::uint32_t>(counters.seed >> 32);
  const __m256i m0 = _mm256_set1_epi32(static_cast<int>(PHILOX_M4x32_0));
  const __m256i m1 = _mm256_set1_epi32(static_cast<int>(PHILOX_M4x32_1));
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      key0 += PHILOX_W32_0;
      key1 += PHILOX_W32_1;
    }
    __m256i high0, low0, high1, low1;
    multiply_high_low(m0, c0, high0, low0);
    multiply_high_low(m1, c2, high1, low1);
    const __m256i next0 =
        _mm256_xor_si256(_mm256_xor_si256(high1, c1), _mm256_set1_epi32(static_cast<int>(key0)));
    const __m256i next2 =
        _mm256_xor_si256(_mm256_xor_si256(high0, c3), _mm256_set1_epi32(static_cast<int>(key1)));
    c0 = next0;
    c1 = low1;
    c2 = next2;
    c3 = low0;
  }
  lanes[0] = c0;
  lanes[1] = c1;
  lanes[2] = c2;
  lanes[3] = c3;
}

// apply_mask's work on the elements [begin, begin + 32 * blocks) (begin a multiple of 4), eight
// groups at a time; the keep test is dropout_keeps's, lane for lane.
__attribute__((target("avx2"))) void apply_mask_vector(std::int64_t begin, std::int64_t blocks,
                                                       float p, float scale,
                                                       std::uint32_t mask_stream,
                                                       const StepCounters& counters,
                                                       const float* in, float* out) {
  const __m256 p8 = _mm256_set1_ps(p);
  const __m256 scale8 = _mm256_set1_ps(scale);
  const __m256 two_to_minus_24 = _mm256_set1_ps(0x1p-24f);
  for (std::int64_t block = 0; block < blocks; ++block) {
    const std::int64_t first = begin + block * 32;
    __m256i lanes[4];
    philox_eight_groups(counters, mask_stream, static_cast<std::uint64_t>(first / 4), lanes);
    __m256 keep[4];  // keep[l] lane g: element 4 * g + l of the block is kept
    for (int l = 0; l < 4; ++l) {
      const __m256 uniform =
          _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_srli_epi32(lanes[l], 8)), two_to_minus_24);
      keep[l] = _mm256_cmp_ps(uniform, p8, _CMP_GE_OQ);
    }
    // Transpose to element order: groups g and g + 1 (four lanes each) per vector.
    const __m256 t0 = _mm256_unpacklo_ps(keep[0], keep[1]);
    const __m256 t1 = _mm256_unpackhi_ps(keep[0], keep[1]);
    const __m256 t2 = _mm256_unpacklo_ps(keep[2], keep[3]);
    const __m256 t3 = _mm256_unpackhi_ps(keep[2], keep[3]);
    const __m256 groups04 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
    const __m256 groups15 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
    const __m256 groups26 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
    const __m256 groups37 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
    const __m256 masks[4] = {_mm256_permute2f128_ps(groups04, groups15, 0x20),
                             _mm256_permute2f128_ps(groups26, groups37, 0x20),
                             _mm256_permute2f128_ps(groups04, groups15, 0x31),
                             _mm256_permute2f128_ps(groups26, groups37, 0x31)};
    for (int v = 0; v < 4; ++v) {
      const std::int64_t i = first + 8 * v;
      // Kept: in * scale; dropped: +0, as the scalar loop writes.
      _mm256_storeu_ps(out + i,
                       _mm256_and_ps(masks[v], _mm256_mul_ps(_mm256_loadu_ps(in + i), scale8)));
    }
  }
}

bool has_avx2() {
  static const bool supported = __builtin_cpu_supports("avx2");
  return supported;
}

// out = keep ? in * scale : 0: forward maps x to y, backward dy to dx, with the same mask.
void apply_mask(std::int64_t count, float p, std::uint32_t mask_stream,
                const StepCounters& counters, const float* in, float* out) {
  const float scale = dropout_scale(p);
  // The ranges start at multiples of 16, so no group of four is split between two of them.
  parallel_ranges(count, kElementwiseRange, [&](std::int64_t begin, std::int64_t end) {
    if (has_avx2()) {
      const std::int64_t blocks = (end - begin) / 32;
      apply_mask_vector(begin, blocks, p, scale, mask_stream, counters, in, out);
      begin += blocks * 32;
    }
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
  require_counters("dropout_forward", counters);
  apply_mask(count, p, mask_stream, *counters, x, y);
}

void dropout_backward(std::int64_t count, float p, std::uint32_t mask_stream,
                      const StepCounters* counters, const float* dy, float* dx) {
  require_counters("dropout_backward", counters);
  apply_mask(count, p, mask_stream, *counters, dy, dx);
}

}  // namespace kiln::cpu
