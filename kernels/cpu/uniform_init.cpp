#include "kernels/cpu/uniform_init.h"

#include "kernels/philox.h"

namespace kiln::cpu {

void uniform_init(std::span<float> values, double bound, std::uint64_t seed, std::uint32_t stream) {
  for (std::size_t i = 0; i < values.size(); ++i) {
    const auto lanes = philox_bits(seed, /*step=*/0, stream, i / 4);
    const double u = philox_uniform(lanes[i % 4]);
    values[i] = static_cast<float>((2.0 * u - 1.0) * bound);
  }
}

}  // namespace kiln::cpu
