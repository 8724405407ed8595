// The argument check that kernels/backend.cpp and the engines' own free functions share: the
// engines use it for the pointers only they need (argmax, cuDNN's x and y of pooling's backward).
// Throws std::invalid_argument with one line that names the op.
#pragma once

#include <string_view>

namespace kiln {

// "<op>: <name> must not be null".
void require_non_null(const void* pointer, std::string_view op, std::string_view name);

}  // namespace kiln
