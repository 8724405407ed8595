// Counts every heap allocation of the process, so a test can assert that a training step makes
// none. Replaces the global operator new: include this header in exactly one file of a test
// executable.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace kiln::testing {
inline std::atomic<std::int64_t> heap_allocations{0};
}  // namespace kiln::testing

// The replacements pair malloc with free, which GCC cannot see through once they are inlined.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

void* operator new(std::size_t bytes) {
  kiln::testing::heap_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* block = std::malloc(bytes > 0 ? bytes : 1)) return block;
  throw std::bad_alloc();
}
void operator delete(void* block) noexcept { std::free(block); }
void operator delete(void* block, std::size_t) noexcept { std::free(block); }
