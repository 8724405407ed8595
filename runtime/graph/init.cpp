#include "runtime/graph/init.h"

#include <cmath>
#include <vector>

#include "kernels/cpu/uniform_init.h"

namespace kiln {

double default_bound(std::int64_t fan_in) { return 1.0 / std::sqrt(static_cast<double>(fan_in)); }

double xavier_bound(std::int64_t fan_in, std::int64_t fan_out) {
  return std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
}

void initialize_parameters(std::span<Parameter* const> parameters, std::uint64_t seed,
                           Allocator& allocator) {
  for (std::size_t k = 0; k < parameters.size(); ++k) {
    Parameter& parameter = *parameters[k];
    std::vector<float> values(static_cast<std::size_t>(parameter.shape.elements()));
    cpu::uniform_init(values, parameter.init_bound, seed,
                      kInitStream + static_cast<std::uint32_t>(k));
    allocator.copy_from_host(parameter.value.data, values.data(), values.size() * sizeof(float));
  }
}

}  // namespace kiln
