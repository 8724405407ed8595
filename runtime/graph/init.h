// Parameter initialisation as docs/recipes.md asks: PyTorch's default distributions (and
// Xavier-uniform for mnist-cnn's linears), drawn by kiln::cpu::uniform_init from kiln's Philox
// numbers rather than from PyTorch's generator.
#pragma once

#include <cstdint>
#include <span>

#include "runtime/graph/layer.h"
#include "runtime/memory/allocator.h"

namespace kiln {

// Parameter k of a model draws from stream kInitStream + k, apart from the dropout streams.
inline constexpr std::uint32_t kInitStream = 0x10000;

// PyTorch's default bound for Conv2d and Linear weights (kaiming_uniform_ with a = sqrt(5)) and
// for their biases: 1 / sqrt(fan_in).
double default_bound(std::int64_t fan_in);

// Xavier-uniform (Glorot): sqrt(6 / (fan_in + fan_out)).
double xavier_bound(std::int64_t fan_in, std::int64_t fan_out);

// Draws every parameter's initial values on the host (parameter k from stream kInitStream + k,
// uniform within its init_bound) and copies them into its memory.
void initialize_parameters(std::span<Parameter* const> parameters, std::uint64_t seed,
                           Allocator& allocator);

}  // namespace kiln
