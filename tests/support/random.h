// Fresh random inputs for every run, reproducible on demand: the seed comes from KILN_TEST_SEED
// when set, otherwise from std::random_device, and tests print it (SCOPED_TRACE) when they fail.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace kiln::testing {

inline std::uint64_t fresh_seed() {
  if (const char* fixed = std::getenv("KILN_TEST_SEED")) {
    return std::stoull(fixed);
  }
  std::random_device device;
  return (static_cast<std::uint64_t>(device()) << 32) | device();
}

inline std::string seed_trace(std::uint64_t seed) {
  return "rerun with KILN_TEST_SEED=" + std::to_string(seed);
}

inline std::vector<float> uniform_floats(std::size_t count, float low, float high,
                                         std::mt19937_64& rng) {
  std::uniform_real_distribution<float> dist(low, high);
  std::vector<float> values(count);
  for (float& v : values) {
    v = dist(rng);
  }
  return values;
}

}  // namespace kiln::testing
