// One block of memory per device for a whole run, sized before training starts. Everything a
// step touches (parameters, gradients, optimizer state, activations, scratch, the batch, the step
// counters) is reserved in a MemoryPlan first; the Arena then allocates the plan's total once and
// hands out views. A step cannot allocate: there is no call that would.
#pragma once

#include <array>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/memory/allocator.h"
#include "runtime/tensor.h"

namespace kiln {

enum class MemoryCategory {
  data,                  // the dataset (uint8) and the epoch's index list
  parameters,            // learned values
  gradients,             // their gradients
  optimizer_state,       // Adam's moments
  activations,           // each layer's output and what its backward needs (pool argmax)
  activation_gradients,  // two buffers that backward passes between layers in turn
  workspace,             // convolution scratch, shared by every layer
  step_state,            // the batch, its loss and accuracy counters, the step counters
};
inline constexpr int kMemoryCategories = 8;
std::string_view category_name(MemoryCategory category);

// A reservation's handle: its index in the plan.
struct Reservation {
  std::size_t index = static_cast<std::size_t>(-1);
};

class MemoryPlan {
 public:
  // Reserves room for `shape` elements of `dtype`, aligned to 256 bytes.
  Reservation reserve(std::string name, MemoryCategory category, DType dtype, const Shape& shape);
  Reservation reserve_bytes(std::string name, MemoryCategory category, std::size_t bytes);

  std::size_t total_bytes() const { return total_bytes_; }
  std::size_t bytes_in(MemoryCategory category) const {
    return category_bytes_[static_cast<std::size_t>(category)];
  }
  // "parameters 1.6 MiB, gradients 1.6 MiB, ... total 12.3 MiB"
  std::string summary() const;

  struct Entry {
    std::string name;
    MemoryCategory category;
    DType dtype;
    Shape shape;
    std::size_t offset;
    std::size_t bytes;
  };
  const std::vector<Entry>& entries() const { return entries_; }

 private:
  std::vector<Entry> entries_;
  std::size_t total_bytes_ = 0;
  std::array<std::size_t, kMemoryCategories> category_bytes_{};
};

class Arena {
 public:
  // Allocates the plan's total at once, zeroed.
  Arena(Allocator& allocator, const MemoryPlan& plan);
  ~Arena();
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  // The reserved memory as a tensor of the reserved dtype and shape.
  Tensor tensor(Reservation reservation) const;
  // The reserved memory as raw bytes (workspace).
  std::span<std::byte> bytes(Reservation reservation) const;
  Allocator& allocator() const { return allocator_; }

 private:
  Allocator& allocator_;
  MemoryPlan plan_;  // a copy: views stay valid whatever happens to the original
  std::byte* block_ = nullptr;
};

}  // namespace kiln
