// parallel_for on a pool of threads that sleep between calls. Why not OpenMP: libgomp's threads
// spin while they wait, and on a machine whose cores are busy with other work the spinning thread
// takes the core the working one needs (a 2-thread mnist-cnn step took 2 to 4 times as long as a
// 1-thread one under load); its wait policy can only be set by the environment before the program
// starts. Here a caller hands out tasks from a shared counter, works on them itself, and waits on
// a condition variable for the tasks the helpers took. A task that calls parallel_for runs it on
// its own thread.
#include "kernels/cpu/parallel.h"

#include <fmt/format.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace kiln::cpu {
namespace {

std::atomic<int> configured_threads{0};  // 0: not set, default_thread_count()

// True on the pool's helper threads and inside a task: parallel_for then runs serially.
thread_local bool inside_parallel_for = false;

// One parallel_for call as the pool runs it.
struct Job {
  FunctionRef<void(std::int64_t)>* body = nullptr;
  std::int64_t tasks = 0;
  std::atomic<std::int64_t> next_task{0};
  std::atomic<std::int64_t> finished_tasks{0};
  std::mutex error_mutex;
  std::int64_t error_task = 0;
  std::exception_ptr error;

  // Runs tasks until none are left; keeps the error of the lowest failing task.
  void work() {
    for (std::int64_t task = next_task++; task < tasks; task = next_task++) {
      try {
        (*body)(task);
      } catch (...) {
        const std::lock_guard lock(error_mutex);
        if (task < error_task) {
          error_task = task;
          error = std::current_exception();
        }
      }
      ++finished_tasks;
    }
  }
};

class ThreadPool {
 public:
  ThreadPool() = default;
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;
  ~ThreadPool() {
    {
      const std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (std::thread& helper : helpers_) helper.join();
  }

  // Runs job on the calling thread and up to `helpers` helper threads; one call at a time. The
  // caller waits for the tasks, not for the helpers: a helper that wakes only after the caller
  // has done every task (its core busy with other work) is not waited for.
  void run(Job& job, int helpers) {
    const std::lock_guard call(call_mutex_);
    std::unique_lock lock(mutex_);
    while (std::ssize(helpers_) < helpers) helpers_.emplace_back([this] { serve(); });
    job_ = &job;
    wanted_helpers_ = helpers;
    ++generation_;
    lock.unlock();
    wake_.notify_all();
    inside_parallel_for = true;
    job.work();
    inside_parallel_for = false;
    lock.lock();
    done_.wait(lock, [&] { return job.finished_tasks == job.tasks && working_helpers_ == 0; });
    job_ = nullptr;
  }

 private:
  void serve() {
    inside_parallel_for = true;
    std::uint64_t seen = 0;
    std::unique_lock lock(mutex_);
    while (true) {
      wake_.wait(lock, [&] { return stopping_ || (job_ != nullptr && generation_ != seen); });
      if (stopping_) return;
      seen = generation_;
      if (wanted_helpers_ == 0) continue;
      --wanted_helpers_;
      ++working_helpers_;
      Job& job = *job_;
      lock.unlock();
      job.work();
      lock.lock();
      --working_helpers_;
      done_.notify_one();
    }
  }

  std::mutex call_mutex_;  // one job at a time
  std::mutex mutex_;       // guards everything below
  std::condition_variable wake_;
  std::condition_variable done_;
  std::vector<std::thread> helpers_;
  Job* job_ = nullptr;       // the job running, null between jobs
  int wanted_helpers_ = 0;   // helpers the job may still take on
  int working_helpers_ = 0;  // helpers inside job_->work()
  std::uint64_t generation_ = 0;
  bool stopping_ = false;
};

ThreadPool& pool() {
  static ThreadPool instance;
  return instance;
}

}  // namespace

int default_thread_count() {
  if (const char* variable = std::getenv("OMP_NUM_THREADS"); variable != nullptr) {
    int threads = 0;
    const char* end = variable + std::strlen(variable);
    const auto [stop, error] = std::from_chars(variable, end, threads);
    if (error == std::errc{} && stop == end && threads >= 1) return threads;
  }
  cpu_set_t cores;
  if (sched_getaffinity(0, sizeof(cores), &cores) == 0) return std::max(CPU_COUNT(&cores), 1);
  return std::max(static_cast<int>(std::thread::hardware_concurrency()), 1);
}

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
  if (threads <= 1 || inside_parallel_for) {
    for (std::int64_t task = 0; task < tasks; ++task) body(task);
    return;
  }
  Job job;
  job.body = &body;
  job.tasks = tasks;
  job.error_task = tasks;
  pool().run(job, threads - 1);
  if (job.error) std::rethrow_exception(job.error);
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
