// The dropout mask's pieces: Random123's Philox4x32-10 against its published known-answer
// vectors, philox_bits' mapping of (seed, step, mask_stream, group) onto key and counter as
// kernels/dropout_mask.h documents it, and the 24-bit uniform and the keep rule.
#include "kernels/dropout_mask.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <random>

#include "tests/support/random.h"

namespace kiln {
namespace {

using Lanes = std::array<std::uint32_t, 4>;

Lanes lanes(const r123::Philox4x32::ctr_type& bits) { return {bits[0], bits[1], bits[2], bits[3]}; }

Lanes philox(const Lanes& counter, std::uint32_t key0, std::uint32_t key1) {
  const r123::Philox4x32::ctr_type ctr = {{counter[0], counter[1], counter[2], counter[3]}};
  const r123::Philox4x32::key_type key = {{key0, key1}};
  return lanes(r123::Philox4x32()(ctr, key));
}

// Random123's kat_vectors, "philox4x32 10" (also checked by tests/golden/philox.py).
TEST(DropoutMask, PhiloxReproducesRandom123KnownAnswers) {
  EXPECT_EQ(philox({0, 0, 0, 0}, 0, 0), (Lanes{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}));
  EXPECT_EQ(philox({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, 0xffffffff, 0xffffffff),
            (Lanes{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}));
  EXPECT_EQ(philox({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, 0xa4093822, 0x299f31d0),
            (Lanes{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}));
}

// Key = the seed (low word first); counter = {group low, group high, mask_stream, step}.
TEST(DropoutMask, BitsMapSeedStepStreamAndGroupOntoKeyAndCounter) {
  EXPECT_EQ(lanes(philox_bits(0, 0, 0, 0)), philox({0, 0, 0, 0}, 0, 0));
  EXPECT_EQ(lanes(philox_bits(0x299f31d0a4093822, 0x03707344, 0x13198a2e, 0x85a308d3243f6a88)),
            (Lanes{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}));

  const std::uint64_t seed = testing::fresh_seed();
  SCOPED_TRACE(testing::seed_trace(seed));
  std::mt19937_64 rng(seed);
  for (int i = 0; i < 100; ++i) {
    const std::uint64_t run_seed = rng(), step = rng() >> 40, group = rng();
    const auto stream = static_cast<std::uint32_t>(rng());
    ASSERT_EQ(
        lanes(philox_bits(run_seed, step, stream, group)),
        philox({static_cast<std::uint32_t>(group), static_cast<std::uint32_t>(group >> 32), stream,
                static_cast<std::uint32_t>(step)},
               static_cast<std::uint32_t>(run_seed), static_cast<std::uint32_t>(run_seed >> 32)));
  }
}

// Only the step's low 32 bits enter the counter (tests/golden/philox.py does the same): masks
// repeat after 2^32 steps, far beyond any run.
TEST(DropoutMask, StepEntersTheCounterAsItsLow32Bits) {
  EXPECT_EQ(lanes(philox_bits(7, 5, 1, 3)), lanes(philox_bits(7, 5 + (1ull << 32), 1, 3)));
  EXPECT_NE(lanes(philox_bits(7, 5, 1, 3)), lanes(philox_bits(7, 6, 1, 3)));
}

TEST(DropoutMask, UniformHasTwentyFourBitsInZeroToOne) {
  EXPECT_EQ(philox_uniform(0u), 0.0f);
  EXPECT_EQ(philox_uniform(0xffu), 0.0f);  // the low 8 bits are dropped
  EXPECT_EQ(philox_uniform(0x100u), 0x1p-24f);
  EXPECT_EQ(philox_uniform(0x80000000u), 0.5f);
  EXPECT_EQ(philox_uniform(0xffffffffu), 1.0f - 0x1p-24f);
  EXPECT_LT(philox_uniform(0xffffffffu), 1.0f);
}

TEST(DropoutMask, KeepRule) {
  for (const std::uint32_t bits : {0u, 1u, 0x100u, 0x4cccccccu, 0x80000000u, 0xffffffffu}) {
    EXPECT_TRUE(dropout_keeps(bits, 0.0f)) << bits;   // p = 0 keeps everything
    EXPECT_FALSE(dropout_keeps(bits, 1.0f)) << bits;  // p = 1 keeps nothing
  }
  EXPECT_TRUE(dropout_keeps(0x80000000u, 0.5f));  // uniform exactly p is kept
  EXPECT_FALSE(dropout_keeps(0x7fffffffu, 0.5f));
  EXPECT_EQ(dropout_scale(0.3f), 1.0f / (1.0f - 0.3f));
  EXPECT_EQ(dropout_scale(0.0f), 1.0f);
}

}  // namespace
}  // namespace kiln
