// parallel_for on OpenMP: one static schedule over the tasks, no nesting (a task never starts
// another parallel region's threads: the ops call it from the top level only).
#include "kernels/cpu/parallel.h"

#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <stdexcept>

namespace kiln::cpu {
namespace {

std::atomic<int> configured_threads{0};  // 0: not set, default_thread_count()

}  // namespace

int default_thread_count() { return std::max(omp_get_max_threads(), 1); }

void set_thread_count(int threads) {
  if (threads < 1) {
    throw std::invalid_argument(fmt::format("threads must be at least 1, got {}", threads));
  }
  configured_threads = threads;
}

int thread_count() {
  const int threads = configured_threads;
  return threads > 0 ? threads : default_thread_count();
}

void parallel_for(std::int64_t tasks, FunctionRef<void(std::int64_t)> body) {
  const int threads = static_cast<int>(std::min<std::int64_t>(thread_count(), tasks));
  if (threads <= 1) {
    for (std::int64_t task = 0; task < tasks; ++task) body(task);
    return;
  }
  std::mutex error_mutex;
  std::int64_t error_task = tasks;
  std::exception_ptr error;
#pragma omp parallel for num_threads(threads) schedule(static)
  for (std::int64_t task = 0; task < tasks; ++task) {
    try {
      body(task);
    } catch (...) {
      const std::lock_guard lock(error_mutex);
      if (task < error_task) {
        error_task = task;
        error = std::current_exception();
      }
    }
  }
  if (error) std::rethrow_exception(error);
}

void parallel_ranges(std::int64_t count, std::int64_t min_range,
                     FunctionRef<void(std::int64_t begin, std::int64_t end)> body) {
  constexpr std::int64_t kMaxRanges = 64;
  constexpr std::int64_t kAlignment = 16;
  if (count <= 0) return;
  const std::int64_t ranges =
      std::clamp<std::int64_t>(count / std::max<std::int64_t>(min_range, 1), 1, kMaxRanges);
  const std::int64_t length =
      ((count + ranges - 1) / ranges + kAlignment - 1) / kAlignment * kAlignment;
  const std::int64_t used = (count + length - 1) / length;
  parallel_for(used, [&](std::int64_t range) {
    const std::int64_t begin = range * length;
    body(begin, std::min(begin + length, count));
  });
}

}  // namespace kiln::cpu
