// The CPU backend's threads. Every op splits its work into pieces whose boundaries depend only on
// the shapes, never on the thread count, and each piece is computed by one thread with the same
// arithmetic whichever thread it is: threads only decide who computes a piece. So the results of
// every op, and of a whole training run, are bit for bit the same for any thread count.
#pragma once

#include <cstdint>
#include <memory>
#include <type_traits>

namespace kiln::cpu {

// A non-owning reference to a callable, as the work of parallel_for: unlike std::function it never
// allocates, so a training step stays free of heap allocations. The callable must outlive it.
template <typename Signature>
class FunctionRef;

template <typename Result, typename... Args>
class FunctionRef<Result(Args...)> {
 public:
  template <typename Callable>
  requires std::is_invocable_r_v<Result, Callable&, Args...> &&
      (!std::is_same_v<std::remove_cvref_t<Callable>, FunctionRef>)FunctionRef(
          Callable&& callable)  // NOLINT(google-explicit-constructor): used like a lambda
      : object_(std::addressof(callable)), call_([](void* object, Args... args) -> Result {
          return (*static_cast<std::remove_reference_t<Callable>*>(object))(args...);
        }) {}

  Result operator()(Args... args) const { return call_(object_, args...); }

 private:
  void* object_;
  Result (*call_)(void*, Args...);
};

// OMP_NUM_THREADS where it is set, else the cores the process may run on.
int default_thread_count();

// The threads every later op may use (throws std::invalid_argument below 1). Process-wide.
void set_thread_count(int threads);
int thread_count();

// Calls body(task) once for every task in [0, tasks), spread over thread_count() threads. The
// tasks must write disjoint outputs. An exception thrown by a task is rethrown here once all have
// run (that of the lowest task, so that the same error is reported whatever the thread count).
void parallel_for(std::int64_t tasks, FunctionRef<void(std::int64_t)> body);

// Splits [0, count) into consecutive ranges of at least min_range elements (all but the last a
// multiple of 16, at most 64 ranges) and calls body(begin, end) for each as one parallel_for task.
// The ranges depend on count and min_range only.
// The min_range of the elementwise ops: enough work per range to pay for handing it to a thread.
inline constexpr std::int64_t kElementwiseRange = std::int64_t{1} << 14;

void parallel_ranges(std::int64_t count, std::int64_t min_range,
                     FunctionRef<void(std::int64_t begin, std::int64_t end)> body);

}  // namespace kiln::cpu
