// Restores the CPU backend's process-wide thread count (kernels/cpu/parallel.h) when a test that
// changes it ends.
#pragma once

#include "kernels/cpu/parallel.h"

namespace kiln::testing {

class ThreadCountGuard {
 public:
  ThreadCountGuard() : saved_(cpu::thread_count()) {}
  ~ThreadCountGuard() { cpu::set_thread_count(saved_); }
  ThreadCountGuard(const ThreadCountGuard&) = delete;
  ThreadCountGuard& operator=(const ThreadCountGuard&) = delete;

 private:
  int saved_;
};

}  // namespace kiln::testing
