// The argument checks every engine shares, each written once: kernels/backend.cpp runs them
// before any engine's code, and an engine's own free functions use the same ones for the limits
// that are theirs. Each throws std::invalid_argument with one line that names the op.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "kernels/backend.h"

namespace kiln {

// "<op>: <name> must not be null".
void require_non_null(const void* pointer, std::string_view op, std::string_view name);
// "<op>: count must not be negative, got <count>".
void require_non_negative_count(std::int64_t count, std::string_view op);
// Each slot's count is non-negative and, where it holds elements, its value and grad (and Adam's
// two moments when `needs_moments`) are set: "<op>: parameter slot <i>: <field> is null".
void validate_parameter_slots(std::span<const ParameterSlot> parameters, std::string_view op,
                              bool needs_moments);

}  // namespace kiln
