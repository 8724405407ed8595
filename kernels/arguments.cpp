#include "kernels/arguments.h"

#include <fmt/format.h>

#include <stdexcept>

namespace kiln {

void require_non_null(const void* pointer, std::string_view op, std::string_view name) {
  if (pointer == nullptr) {
    throw std::invalid_argument(fmt::format("{}: {} must not be null", op, name));
  }
}

}  // namespace kiln
