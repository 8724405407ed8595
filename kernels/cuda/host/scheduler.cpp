// A block's threads are Boost.Context fibers on the launching host thread, switched only where a
// GPU thread would wait for others: at __syncthreads and at warp operations. That is enough for
// every kernel whose result does not depend on timing (all of kiln's), and far cheaper than an OS
// thread per GPU thread waking at every barrier: measured with perf on the conv2d host tests, the
// switches and this scheduler are about 4% of the time, the kernels' arithmetic the rest.
//
// Under ThreadSanitizer (the racecheck build) each fiber is a TSan fiber switched without
// synchronisation, so TSan sees the threads of a block as concurrent; the happens-before edges are
// exactly CUDA's: the launch, each __syncthreads, the end of the grid (and, since blocks run in
// turn, the end of one block before the next: shared memory is per block). Two threads touching
// one address between two barriers, one of them writing, is then reported as a data race.
// This file itself is built without TSan's instrumentation (KILN_HOST_RACECHECK marks the
// racecheck build): its bookkeeping (the built-in indices it sets for each thread, the values a
// warp operation hands over) is the hardware's part and must not count as the kernel's accesses.
#include "kernels/cuda/host/scheduler.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <boost/context/fiber.hpp>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "kernels/cuda/host/device_runtime.h"

#if defined(KILN_HOST_RACECHECK)
#include <sanitizer/tsan_interface.h>
#endif
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

thread_local uint3 threadIdx;
thread_local uint3 blockIdx;
thread_local dim3 blockDim;
thread_local dim3 gridDim;

namespace kiln::cuda::host {
namespace {

namespace context = boost::context;

#if defined(__SANITIZE_ADDRESS__) || defined(KILN_HOST_RACECHECK)
constexpr std::size_t kStackBytes = std::size_t{512} << 10;
#else
constexpr std::size_t kStackBytes = std::size_t{128} << 10;
#endif

// A fiber stack with an inaccessible guard page below it, so an overflow faults instead of
// overwriting a neighbour. Stacks are kept for the next block and the next launch.
class Stack {
 public:
  Stack() {
    const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    mapping_bytes_ = kStackBytes + page;
    void* base = mmap(nullptr, mapping_bytes_, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) throw std::bad_alloc();
    mprotect(base, page, PROT_NONE);
    mapping_ = static_cast<std::byte*>(base);
    bottom_ = mapping_ + page;
  }
  ~Stack() { munmap(mapping_, mapping_bytes_); }
  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;

  void* bottom() const { return bottom_; }
  context::stack_context context() const {
    context::stack_context stack;
    stack.size = kStackBytes;
    stack.sp = bottom_ + kStackBytes;
    return stack;
  }

 private:
  std::byte* mapping_ = nullptr;
  std::size_t mapping_bytes_ = 0;
  std::byte* bottom_ = nullptr;
};

// Boost.Context's StackAllocator over one of our stacks, which outlive the fiber.
struct BorrowedStack {
  const Stack* stack;
  context::stack_context allocate() const { return stack->context(); }
  void deallocate(context::stack_context& /*unused*/) const noexcept {
#if defined(__SANITIZE_ADDRESS__)
    // A thread unwound after a fault may leave its frames' redzones poisoned.
    ASAN_UNPOISON_MEMORY_REGION(stack->bottom(), kStackBytes);
#endif
  }
};

enum class State { runnable, at_barrier, at_warp_op, exited };

const char* describe(State state) {
  switch (state) {
    case State::runnable:
      return "has not reached it";
    case State::at_barrier:
      return "waits at __syncthreads";
    case State::at_warp_op:
      return "waits at another warp operation";
    case State::exited:
      return "has exited";
  }
  return "";
}

struct DeviceThread {
  uint3 index{};
  State state = State::runnable;
  context::fiber fiber;
  // The warp operation this thread waits in, then its result.
  WarpOp op = WarpOp::shfl;
  unsigned mask = 0;
  std::uint64_t value = 0;
  int argument = 0;
  int width = kWarpSize;
  std::uint64_t result = 0;
#if defined(KILN_HOST_RACECHECK)
  void* race_fiber = nullptr;
  std::string race_name;
#endif
#if defined(__SANITIZE_ADDRESS__)
  void* fake_stack = nullptr;
#endif
};

struct Block {
  const KernelLaunch* launch = nullptr;
  std::vector<DeviceThread> threads;
  int current = -1;
  context::fiber scheduler;  // where a suspending device thread returns to
  std::string fault;         // the first fault; the block stops there
  int sequence = 0;          // the block's place in the order blocks run in
  bool abandoned = false;    // after a fault: suspended threads unwind when resumed
#if defined(KILN_HOST_RACECHECK)
  void* scheduler_race_fiber = nullptr;
  char barrier_token = 0;  // the happens-before edges of __syncthreads
#endif
#if defined(__SANITIZE_ADDRESS__)
  const void* scheduler_stack_bottom = nullptr;
  std::size_t scheduler_stack_bytes = 0;
#endif
};

// The block whose thread is running on this host thread.
thread_local Block* running_block = nullptr;
#if defined(KILN_HOST_RACECHECK)
// TSan's happens-before edges between blocks: the host's work before the launch comes before
// every thread (launch_token); every thread of one block comes before every thread of the next
// (each block releases one of two tokens as its threads exit and acquires the other, which the
// previous block released), never a thread before another of its own block.
char launch_token = 0;
char block_tokens[2] = {};
#endif

std::string format(const uint3& index) {
  return "(" + std::to_string(index.x) + "," + std::to_string(index.y) + "," +
         std::to_string(index.z) + ")";
}

std::string where(const Block& block) {
  return "kernel " + std::string(block.launch->kernel) + ", block " + format(blockIdx);
}

std::string thread_name(const Block& block, int thread) {
  return "thread " + format(block.threads[static_cast<std::size_t>(thread)].index);
}

// Thrown in a suspended thread when its block is abandoned after a fault: its stack unwinds as a
// normal exception, on a switch the sanitizers were told of.
struct Abandoned {};

// Device thread side: back to the scheduler until it resumes this thread.
void suspend(Block& block, DeviceThread& self) {
#if defined(KILN_HOST_RACECHECK)
  __tsan_switch_to_fiber(block.scheduler_race_fiber, __tsan_switch_to_fiber_no_sync);
#endif
#if defined(__SANITIZE_ADDRESS__)
  __sanitizer_start_switch_fiber(&self.fake_stack, block.scheduler_stack_bottom,
                                 block.scheduler_stack_bytes);
#endif
  block.scheduler = std::move(block.scheduler).resume();
#if defined(__SANITIZE_ADDRESS__)
  __sanitizer_finish_switch_fiber(self.fake_stack, &block.scheduler_stack_bottom,
                                  &block.scheduler_stack_bytes);
#endif
  static_cast<void>(self);
  if (block.abandoned) throw Abandoned{};
}

// Device thread side: records the fault and never returns (the fiber is unwound).
[[noreturn]] void fail(Block& block, DeviceThread& self, std::string message) {
  if (block.fault.empty()) block.fault = std::move(message);
  for (;;) suspend(block, self);
}

void run_thread(Block& block, int thread) {
  DeviceThread& self = block.threads[static_cast<std::size_t>(thread)];
#if defined(__SANITIZE_ADDRESS__)
  __sanitizer_finish_switch_fiber(nullptr, &block.scheduler_stack_bottom,
                                  &block.scheduler_stack_bytes);
#endif
#if defined(KILN_HOST_RACECHECK)
  __tsan_acquire(&launch_token);
  __tsan_acquire(&block_tokens[(block.sequence + 1) % 2]);
#endif
  try {
    // A thread first resumed after a fault only ends.
    if (!block.abandoned) block.launch->body();
  } catch (const Abandoned&) {
    // The block faulted elsewhere; this thread just ends.
  } catch (const std::exception& error) {
    fail(block, self, where(block) + ", " + thread_name(block, thread) + ": " + error.what());
  }
#if defined(KILN_HOST_RACECHECK)
  __tsan_release(&block_tokens[block.sequence % 2]);
  __tsan_switch_to_fiber(block.scheduler_race_fiber, __tsan_switch_to_fiber_no_sync);
#endif
#if defined(__SANITIZE_ADDRESS__)
  __sanitizer_start_switch_fiber(nullptr, block.scheduler_stack_bottom,
                                 block.scheduler_stack_bytes);
#endif
  self.state = State::exited;
}

// Scheduler side: runs the thread until it suspends or exits.
void resume(Block& block, int thread, const Stack& stack) {
  DeviceThread& self = block.threads[static_cast<std::size_t>(thread)];
  block.current = thread;
  threadIdx = self.index;
#if defined(KILN_HOST_RACECHECK)
  __tsan_switch_to_fiber(self.race_fiber, __tsan_switch_to_fiber_no_sync);
#endif
#if defined(__SANITIZE_ADDRESS__)
  void* fake_stack = nullptr;
  __sanitizer_start_switch_fiber(&fake_stack, stack.bottom(), kStackBytes);
#endif
  self.fiber = std::move(self.fiber).resume();
#if defined(__SANITIZE_ADDRESS__)
  __sanitizer_finish_switch_fiber(fake_stack, nullptr, nullptr);
#endif
  static_cast<void>(stack);
}

std::string hang_report(const Block& block) {
  std::string report = where(block) + ": the block can make no progress (a GPU would hang):";
  int listed = 0;
  for (std::size_t i = 0; i < block.threads.size() && listed < 8; ++i) {
    const DeviceThread& thread = block.threads[i];
    if (thread.state == State::at_barrier) {
      // Some thread has exited or waits in a warp operation, so the barrier never fills.
      for (std::size_t j = 0; j < block.threads.size(); ++j) {
        if (block.threads[j].state == State::exited) {
          report += " " + thread_name(block, static_cast<int>(i)) +
                    " waits at __syncthreads, which " + thread_name(block, static_cast<int>(j)) +
                    " skipped (it has exited);";
          return report;
        }
      }
    }
    if (thread.state == State::at_warp_op) {
      const std::size_t warp_base = i / kWarpSize * kWarpSize;
      for (int lane = 0; lane < kWarpSize; ++lane) {
        const std::size_t other = warp_base + static_cast<std::size_t>(lane);
        if ((thread.mask >> lane & 1u) == 0 || other >= block.threads.size()) continue;
        const DeviceThread& missing = block.threads[other];
        if (missing.state == State::at_warp_op) continue;
        report += " " + thread_name(block, static_cast<int>(i)) + " waits in a warp operation " +
                  "with mask 0x" +
                  [&] {
                    char hex[9];
                    std::snprintf(hex, sizeof hex, "%08x", thread.mask);
                    return std::string(hex);
                  }() +
                  " for lane " + std::to_string(lane) + ", which " + describe(missing.state) + ";";
        ++listed;
        break;
      }
    }
  }
  return report;
}

// After a fault: resumes each suspended thread once so that it unwinds (Abandoned), then reports.
[[noreturn]] void abandon(Block& block, const std::vector<std::unique_ptr<Stack>>& stacks,
                          const std::string& fault) {
  block.abandoned = true;
  for (std::size_t i = 0; i < block.threads.size(); ++i) {
    if (block.threads[i].state != State::exited) resume(block, static_cast<int>(i), *stacks[i]);
  }
  throw KernelFault(fault);
}

void run_block(Block& block, std::vector<std::unique_ptr<Stack>>& stacks) {
  const KernelLaunch& launch = *block.launch;
  const std::size_t count = std::size_t{launch.block.x} * launch.block.y * launch.block.z;
  while (stacks.size() < count) stacks.push_back(std::make_unique<Stack>());
  block.threads.clear();
  block.threads.resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    DeviceThread& thread = block.threads[i];
    const auto linear = static_cast<unsigned>(i);
    thread.index = {linear % launch.block.x, linear / launch.block.x % launch.block.y,
                    linear / (launch.block.x * launch.block.y)};
    thread.fiber = context::fiber(std::allocator_arg, BorrowedStack{stacks[i].get()},
                                  [&block, i](context::fiber&& scheduler) {
                                    block.scheduler = std::move(scheduler);
                                    run_thread(block, static_cast<int>(i));
                                    return std::move(block.scheduler);
                                  });
#if defined(KILN_HOST_RACECHECK)
    // TSan's fibers are kept for later blocks, as the stacks are: creating one costs system calls.
    thread_local std::vector<void*> race_fibers;
    while (race_fibers.size() <= i) race_fibers.push_back(__tsan_create_fiber(0));
    thread.race_fiber = race_fibers[i];
    // TSan keeps about 64 characters of a name: the thread and block first.
    thread.race_name = thread_name(block, static_cast<int>(i)) + " of block " + format(blockIdx) +
                       " of " + std::string(launch.kernel);
    __tsan_set_fiber_name(thread.race_fiber, thread.race_name.c_str());
#endif
  }
#if defined(KILN_HOST_RACECHECK)
  block.scheduler_race_fiber = __tsan_get_current_fiber();
#endif

  for (;;) {
    bool ran = false;
    bool all_exited = true;
    for (std::size_t i = 0; i < count; ++i) {
      if (block.threads[i].state == State::runnable) {
        resume(block, static_cast<int>(i), *stacks[i]);
        ran = true;
        if (!block.fault.empty()) abandon(block, stacks, block.fault);
      }
      all_exited = all_exited && block.threads[i].state == State::exited;
    }
    if (all_exited) return;
    if (ran) continue;
    // Nothing can run: either every thread waits at the barrier, or the block is stuck.
    bool barrier_full = true;
    for (const DeviceThread& thread : block.threads) {
      barrier_full = barrier_full && thread.state == State::at_barrier;
    }
    if (!barrier_full) abandon(block, stacks, hang_report(block));
    for (DeviceThread& thread : block.threads) thread.state = State::runnable;
  }
}

}  // namespace

void sync_block() {
  Block& block = *running_block;
  DeviceThread& self = block.threads[static_cast<std::size_t>(block.current)];
#if defined(KILN_HOST_RACECHECK)
  __tsan_release(&block.barrier_token);
#endif
  self.state = State::at_barrier;
  suspend(block, self);
#if defined(KILN_HOST_RACECHECK)
  __tsan_acquire(&block.barrier_token);
#endif
}

std::uint64_t warp_exchange(WarpOp op, unsigned mask, std::uint64_t value, int argument,
                            int width) {
  Block& block = *running_block;
  const int me = block.current;
  DeviceThread& self = block.threads[static_cast<std::size_t>(me)];
  const int lane = me % kWarpSize;
  const int warp_base = me - lane;
  const auto fault = [&](const std::string& what) {
    char hex[9];
    std::snprintf(hex, sizeof hex, "%08x", mask);
    fail(block, self,
         where(block) + ", " + thread_name(block, me) + " (lane " + std::to_string(lane) +
             "), warp operation with mask 0x" + hex + ": " + what);
  };
  if ((mask >> lane & 1u) == 0) fault("the mask does not name the calling lane");
  if (width < 1 || width > kWarpSize || (width & (width - 1)) != 0) {
    fault("width " + std::to_string(width) + " is not a power of two up to 32");
  }
  const auto lanes_present = static_cast<int>(
      std::min<std::size_t>(kWarpSize, block.threads.size() - static_cast<std::size_t>(warp_base)));
  if (lanes_present < kWarpSize && (mask >> lanes_present) != 0) {
    fault("the mask names lanes beyond the block's last thread");
  }
  self.op = op;
  self.mask = mask;
  self.value = value;
  self.argument = argument;
  self.width = width;
  self.state = State::at_warp_op;

  for (int other = 0; other < kWarpSize; ++other) {
    if ((mask >> other & 1u) == 0) continue;
    const DeviceThread& peer = block.threads[static_cast<std::size_t>(warp_base + other)];
    if (peer.state != State::at_warp_op) {
      // Not everyone is here yet: the last lane to arrive completes the operation for all.
      suspend(block, self);
      return self.result;
    }
    if (peer.op != op || peer.mask != mask) {
      fault("lane " + std::to_string(other) +
            " is in a different warp operation or passed a different mask");
    }
  }

  for (int target = 0; target < kWarpSize; ++target) {
    if ((mask >> target & 1u) == 0) continue;
    DeviceThread& receiver = block.threads[static_cast<std::size_t>(warp_base + target)];
    const int segment = target / width * width;
    int source = target;
    switch (op) {
      case WarpOp::shfl:
        source = segment + ((receiver.argument % width) + width) % width;
        break;
      case WarpOp::shfl_xor:
        source = target ^ receiver.argument;
        if (source < segment || source >= segment + width) source = target;
        break;
      case WarpOp::ballot: {
        std::uint64_t votes = 0;
        for (int voter = 0; voter < kWarpSize; ++voter) {
          if ((mask >> voter & 1u) != 0 &&
              block.threads[static_cast<std::size_t>(warp_base + voter)].value != 0) {
            votes |= std::uint64_t{1} << voter;
          }
        }
        receiver.result = votes;
        receiver.state = State::runnable;
        continue;
      }
    }
    if ((mask >> source & 1u) == 0) {
      fault("lane " + std::to_string(target) + " reads lane " + std::to_string(source) +
            ", which is not in the mask (undefined on a GPU)");
    }
    receiver.result = block.threads[static_cast<std::size_t>(warp_base + source)].value;
    receiver.state = State::runnable;
  }
  return self.result;
}

void run_grid(const KernelLaunch& launch) {
  // The stacks outlive the launch: most launches reuse those of the previous one.
  thread_local std::vector<std::unique_ptr<Stack>> stacks;
  gridDim = launch.grid;
  blockDim = launch.block;
  Block block;
  block.launch = &launch;
  running_block = &block;
  struct ClearRunning {
    ~ClearRunning() { running_block = nullptr; }
  } clear_running;
#if defined(KILN_HOST_RACECHECK)
  __tsan_release(&launch_token);
#endif
  for (unsigned z = 0; z < launch.grid.z; ++z) {
    for (unsigned y = 0; y < launch.grid.y; ++y) {
      for (unsigned x = 0; x < launch.grid.x; ++x) {
        blockIdx = {x, y, z};
        run_block(block, stacks);
        ++block.sequence;
      }
    }
  }
#if defined(KILN_HOST_RACECHECK)
  __tsan_acquire(&block_tokens[0]);
  __tsan_acquire(&block_tokens[1]);
#endif
}

}  // namespace kiln::cuda::host
