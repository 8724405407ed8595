#include "runtime/memory/arena.h"

#include <fmt/format.h>

#include <stdexcept>

namespace kiln {
namespace {
constexpr std::size_t kAlignment = 256;

std::string mebibytes(std::size_t bytes) {
  return fmt::format("{:.2f} MiB", static_cast<double>(bytes) / (1 << 20));
}
}  // namespace

std::string_view category_name(MemoryCategory category) {
  switch (category) {
    case MemoryCategory::data:
      return "data";
    case MemoryCategory::parameters:
      return "parameters";
    case MemoryCategory::gradients:
      return "gradients";
    case MemoryCategory::optimizer_state:
      return "optimizer state";
    case MemoryCategory::activations:
      return "activations";
    case MemoryCategory::activation_gradients:
      return "activation gradients";
    case MemoryCategory::workspace:
      return "workspace";
    case MemoryCategory::step_state:
      return "step state";
  }
  throw std::logic_error("unknown memory category");
}

Reservation MemoryPlan::reserve(std::string name, MemoryCategory category, DType dtype,
                                const Shape& shape) {
  const std::size_t bytes = static_cast<std::size_t>(shape.elements()) * dtype_size(dtype);
  const std::size_t offset = total_bytes_;
  const std::size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  entries_.push_back({std::move(name), category, dtype, shape, offset, bytes});
  total_bytes_ += rounded;
  category_bytes_[static_cast<std::size_t>(category)] += rounded;
  return Reservation{entries_.size() - 1};
}

Reservation MemoryPlan::reserve_bytes(std::string name, MemoryCategory category,
                                      std::size_t bytes) {
  return reserve(std::move(name), category, DType::u8, Shape{static_cast<std::int64_t>(bytes)});
}

std::string MemoryPlan::summary() const {
  std::string text;
  for (int c = 0; c < kMemoryCategories; ++c) {
    const auto category = static_cast<MemoryCategory>(c);
    if (bytes_in(category) == 0) continue;
    text += fmt::format("{}{} {}", text.empty() ? "" : ", ", category_name(category),
                        mebibytes(bytes_in(category)));
  }
  return text + fmt::format("; total {}", mebibytes(total_bytes_));
}

Arena::Arena(Allocator& allocator, const MemoryPlan& plan)
    : allocator_(allocator),
      plan_(plan),
      block_(static_cast<std::byte*>(allocator.allocate(plan.total_bytes()))) {}

Arena::~Arena() { allocator_.release(block_); }

Tensor Arena::tensor(Reservation reservation) const {
  if (reservation.index >= plan_.entries().size()) {
    throw std::logic_error("a reservation of another plan, or none");
  }
  const MemoryPlan::Entry& entry = plan_.entries()[reservation.index];
  return Tensor{block_ + entry.offset, entry.dtype, entry.shape, allocator_.space()};
}

std::span<std::byte> Arena::bytes(Reservation reservation) const {
  const Tensor view = tensor(reservation);
  return {static_cast<std::byte*>(view.data), view.bytes()};
}

}  // namespace kiln
