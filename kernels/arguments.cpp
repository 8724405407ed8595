#include "kernels/arguments.h"

#include <fmt/format.h>

#include <stdexcept>

namespace kiln {

void require_non_null(const void* pointer, std::string_view op, std::string_view name) {
  if (pointer == nullptr) {
    throw std::invalid_argument(fmt::format("{}: {} must not be null", op, name));
  }
}

void require_non_negative_count(std::int64_t count, std::string_view op) {
  if (count < 0) {
    throw std::invalid_argument(fmt::format("{}: count must not be negative, got {}", op, count));
  }
}

void validate_parameter_slots(std::span<const ParameterSlot> parameters, std::string_view op,
                              bool needs_moments) {
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    const ParameterSlot& slot = parameters[i];
    if (slot.count < 0) {
      throw std::invalid_argument(fmt::format(
          "{}: parameter slot {}: count must not be negative, got {}", op, i, slot.count));
    }
    const auto require = [&](const void* pointer, std::string_view field) {
      if (slot.count > 0 && pointer == nullptr) {
        throw std::invalid_argument(fmt::format("{}: parameter slot {}: {} is null", op, i, field));
      }
    };
    require(slot.value, "value");
    require(slot.grad, "grad");
    if (needs_moments) {
      require(slot.exp_avg, "exp_avg");
      require(slot.exp_avg_sq, "exp_avg_sq");
    }
  }
}

}  // namespace kiln
