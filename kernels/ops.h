// The op list: every op of kernels/backend.h, once, with the family it belongs to. The op enum,
// its names, the families, the routing of an engine mix (engine_mix.h), the cuDNN engine's
// fallback (routing_backend.h) and the benchmark rows (bench/layer_ops.h, whose switch over Op
// picks each op's floor from op_costs.h) all key off this list, so an op added here is added
// everywhere it is counted; the compiler then points at each switch that does not handle it yet.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

namespace kiln {

// X(family, op): the Backend method of each op, in the order kernels/backend.h declares them.
// The size queries (conv2d_workspace_bytes, dropout_reserve_bytes, shuffle_workspace_bytes) are
// not ops: they size the scratch of their family's ops and follow the engine that runs them.
#define KILN_OPS(X)                 \
  X(conv, conv2d_forward)           \
  X(conv, conv2d_backward_data)     \
  X(conv, conv2d_backward_filter)   \
  X(conv, conv2d_backward_bias)     \
  X(pool, max_pool2d_forward)       \
  X(pool, max_pool2d_backward)      \
  X(pool, relu_max_pool2d_forward)  \
  X(pool, relu_max_pool2d_backward) \
  X(activation, relu_forward)       \
  X(activation, relu_backward)      \
  X(activation, sigmoid_forward)    \
  X(activation, sigmoid_backward)   \
  X(dropout, dropout_forward)       \
  X(dropout, dropout_backward)      \
  X(softmax, softmax_cross_entropy) \
  X(linear, linear_forward)         \
  X(linear, linear_backward_data)   \
  X(linear, linear_backward_weight) \
  X(linear, linear_backward_bias)   \
  X(optimizer, sgd_step)            \
  X(optimizer, adam_step)           \
  X(optimizer, advance_step)        \
  X(data, shuffle_indices)          \
  X(data, gather_batch)             \
  X(data, count_correct)

enum class Op {
#define KILN_OP_ENUMERATOR(family, op) op,
  KILN_OPS(KILN_OP_ENUMERATOR)
#undef KILN_OP_ENUMERATOR
};

inline constexpr Op kOps[] = {
#define KILN_OP_VALUE(family, op) Op::op,
    KILN_OPS(KILN_OP_VALUE)
#undef KILN_OP_VALUE
};

// The fused ReLU-pooling counts as pool: it must run where the pooling's backward runs.
// The first five are the families a second engine can take (kOpFamilies: the CLI's --conv,
// --pool, --activation, --dropout-engine and --softmax, in this order); linear, optimizer and data
// always run on an engine mix's base.
enum class OpFamily { conv, pool, activation, dropout, softmax, linear, optimizer, data };
inline constexpr std::array<OpFamily, 5> kOpFamilies = {
    OpFamily::conv, OpFamily::pool, OpFamily::activation, OpFamily::dropout, OpFamily::softmax};

// The Backend method's name: "conv2d_forward", ...
constexpr std::string_view op_name(Op op) {
  switch (op) {
#define KILN_OP_NAME(family, op) \
  case Op::op:                   \
    return #op;
    KILN_OPS(KILN_OP_NAME)
#undef KILN_OP_NAME
  }
  return "?";
}

constexpr OpFamily op_family(Op op) {
  switch (op) {
#define KILN_OP_FAMILY(family, op) \
  case Op::op:                     \
    return OpFamily::family;
    KILN_OPS(KILN_OP_FAMILY)
#undef KILN_OP_FAMILY
  }
  return OpFamily::data;
}

// "conv", "pool", "activation", "dropout", "softmax", "linear", "optimizer", "data".
constexpr std::string_view op_family_name(OpFamily family) {
  switch (family) {
    case OpFamily::conv:
      return "conv";
    case OpFamily::pool:
      return "pool";
    case OpFamily::activation:
      return "activation";
    case OpFamily::dropout:
      return "dropout";
    case OpFamily::softmax:
      return "softmax";
    case OpFamily::linear:
      return "linear";
    case OpFamily::optimizer:
      return "optimizer";
    case OpFamily::data:
      return "data";
  }
  return "?";
}

}  // namespace kiln
