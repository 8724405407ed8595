// The CPU backend's threads (kernels/cpu/parallel.h): the ranges cover the work once and do not
// depend on the thread count, errors come back from the lowest task, and every op that runs in
// parallel gives the same bits with one, two or three threads, on the reference models' shapes.
#include "kernels/cpu/parallel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "kernels/cpu/conv2d.h"
#include "kernels/cpu/dropout.h"
#include "kernels/cpu/linear.h"
#include "kernels/cpu/max_pool2d.h"
#include "kernels/cpu/optimizers.h"
#include "tests/support/conv_cases.h"
#include "tests/support/random.h"
#include "tests/support/thread_count_guard.h"

namespace kiln {
namespace {

using testing::ThreadCountGuard;

// The ranges parallel_ranges hands out with `threads` threads, in order; each index is checked
// to fall in exactly one.
std::vector<std::pair<std::int64_t, std::int64_t>> ranges_with(int threads, std::int64_t count,
                                                               std::int64_t min_range) {
  cpu::set_thread_count(threads);
  std::mutex mutex;
  std::vector<std::pair<std::int64_t, std::int64_t>> ranges;
  std::vector<int> hits(static_cast<std::size_t>(count), 0);
  cpu::parallel_ranges(count, min_range, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) ++hits[static_cast<std::size_t>(i)];
    const std::lock_guard lock(mutex);
    ranges.emplace_back(begin, end);
  });
  EXPECT_TRUE(std::all_of(hits.begin(), hits.end(), [](int h) { return h == 1; }))
      << "count " << count << ", threads " << threads;
  std::sort(ranges.begin(), ranges.end());
  return ranges;
}

TEST(CpuParallel, RangesCoverEveryIndexOnceWhateverTheThreadCount) {
  const ThreadCountGuard guard;
  for (const std::int64_t count : {1, 15, 16, 17, 625, 2048, 100000}) {
    const auto one = ranges_with(1, count, 32);
    EXPECT_EQ(ranges_with(2, count, 32), one) << "count " << count;
    EXPECT_EQ(ranges_with(3, count, 32), one) << "count " << count;
  }
}

TEST(CpuParallel, RethrowsTheErrorOfTheLowestTask) {
  const ThreadCountGuard guard;
  for (const int threads : {1, 2, 3}) {
    cpu::set_thread_count(threads);
    try {
      cpu::parallel_for(40, [](std::int64_t task) {
        if (task % 7 == 3) throw std::runtime_error("task " + std::to_string(task));
      });
      ADD_FAILURE() << "no error with " << threads << " threads";
    } catch (const std::runtime_error& error) {
      EXPECT_STREQ(error.what(), "task 3") << threads << " threads";
    }
  }
}

TEST(CpuParallel, RefusesFewerThanOneThread) {
  const ThreadCountGuard guard;
  EXPECT_THROW(cpu::set_thread_count(0), std::invalid_argument);
  cpu::set_thread_count(3);
  EXPECT_EQ(cpu::thread_count(), 3);
}

// A task that calls parallel_for runs it on its own thread: no deadlock, every index once.
TEST(CpuParallel, ParallelForInsideATaskRunsEveryIndexOnce) {
  const ThreadCountGuard guard;
  cpu::set_thread_count(3);
  std::vector<std::atomic<int>> hits(8 * 50);
  cpu::parallel_for(8, [&](std::int64_t outer) {
    cpu::parallel_for(50, [&](std::int64_t inner) { ++hits[outer * 50 + inner]; });
  });
  for (std::size_t i = 0; i < hits.size(); ++i) EXPECT_EQ(hits[i], 1) << "index " << i;
}

// The default follows OMP_NUM_THREADS where it holds a whole number of at least 1.
TEST(CpuParallel, DefaultThreadCountFollowsOmpNumThreads) {
  const char* saved = std::getenv("OMP_NUM_THREADS");
  const std::string saved_value = saved != nullptr ? saved : "";
  unsetenv("OMP_NUM_THREADS");
  const int cores = cpu::default_thread_count();
  EXPECT_GE(cores, 1);
  setenv("OMP_NUM_THREADS", "5", 1);
  EXPECT_EQ(cpu::default_thread_count(), 5);
  for (const char* ignored : {"0", "-2", "three", "4x", ""}) {
    setenv("OMP_NUM_THREADS", ignored, 1);
    EXPECT_EQ(cpu::default_thread_count(), cores) << "OMP_NUM_THREADS='" << ignored << "'";
  }
  if (saved != nullptr) {
    setenv("OMP_NUM_THREADS", saved_value.c_str(), 1);
  } else {
    unsetenv("OMP_NUM_THREADS");
  }
}

// Every output of `run` with 2 and 3 threads, compared bit for bit with 1 thread's.
void expect_same_bits_for_any_thread_count(
    const char* what, const std::function<std::vector<std::vector<float>>()>& run) {
  const ThreadCountGuard guard;
  cpu::set_thread_count(1);
  const std::vector<std::vector<float>> one = run();
  for (const int threads : {2, 3}) {
    cpu::set_thread_count(threads);
    const std::vector<std::vector<float>> many = run();
    ASSERT_EQ(many.size(), one.size());
    for (std::size_t i = 0; i < one.size(); ++i) {
      ASSERT_EQ(many[i].size(), one[i].size());
      EXPECT_EQ(std::memcmp(many[i].data(), one[i].data(), one[i].size() * sizeof(float)), 0)
          << what << ", output " << i << ", " << threads << " threads";
    }
  }
}

TEST(CpuParallel, ConvolutionsGiveTheSameBitsForAnyThreadCount) {
  std::mt19937_64 rng(testing::fresh_seed());
  // mnist-cnn's second convolution at its batch, and a strided one whose batch (5) does not
  // divide into equal slices.
  const Conv2dShape shapes[] = {testing::kModelConvShapes[1].shape,
                                testing::conv(5, 3, 11, 9, 7, 3, 2, 2, 3, 0, 0)};
  for (const Conv2dShape& shape : shapes) {
    const auto x = testing::uniform_floats(shape.input_elements(), -1, 1, rng);
    const auto weight = testing::uniform_floats(shape.weight_elements(), -1, 1, rng);
    const auto bias = testing::uniform_floats(shape.out_channels, -1, 1, rng);
    const auto dy = testing::uniform_floats(shape.output_elements(), -1, 1, rng);
    expect_same_bits_for_any_thread_count(shape.to_string().c_str(), [&] {
      std::vector<std::byte> workspace(cpu::conv2d_workspace_bytes(shape));
      std::vector<float> y(dy.size()), dx(x.size()), dweight(weight.size());
      cpu::conv2d_forward(shape, x.data(), weight.data(), bias.data(), y.data(), workspace);
      cpu::conv2d_backward_data(shape, dy.data(), weight.data(), dx.data(), workspace);
      cpu::conv2d_backward_filter(shape, x.data(), dy.data(), dweight.data(), workspace);
      return std::vector{y, dx, dweight};
    });
  }
}

TEST(CpuParallel, LinearLayersGiveTheSameBitsForAnyThreadCount) {
  std::mt19937_64 rng(testing::fresh_seed());
  // mnist-cnn's fc1 and fashion-lenet's ff1.
  for (const LinearShape shape :
       {LinearShape{.batch = 32, .in_features = 2048, .out_features = 625},
        LinearShape{.batch = 20, .in_features = 160, .out_features = 56}}) {
    const auto x =
        testing::uniform_floats(std::size_t(shape.batch) * shape.in_features, -1, 1, rng);
    const auto weight =
        testing::uniform_floats(std::size_t(shape.out_features) * shape.in_features, -1, 1, rng);
    const auto bias = testing::uniform_floats(shape.out_features, -1, 1, rng);
    const auto dy =
        testing::uniform_floats(std::size_t(shape.batch) * shape.out_features, -1, 1, rng);
    expect_same_bits_for_any_thread_count(shape.to_string().c_str(), [&] {
      std::vector<float> y(dy.size()), dx(x.size()), dweight(weight.size());
      cpu::linear_forward(shape, x.data(), weight.data(), bias.data(), y.data());
      cpu::linear_backward_data(shape, dy.data(), weight.data(), dx.data());
      cpu::linear_backward_weight(shape, x.data(), dy.data(), dweight.data());
      return std::vector{y, dx, dweight};
    });
  }
}

TEST(CpuParallel, PoolingDropoutAndAdamGiveTheSameBitsForAnyThreadCount) {
  std::mt19937_64 rng(testing::fresh_seed());
  const Pool2dShape pool{.batch = 32,
                         .channels = 32,
                         .in_height = 28,
                         .in_width = 28,
                         .kernel_height = 2,
                         .kernel_width = 2,
                         .stride_height = 2,
                         .stride_width = 2};
  const auto x = testing::uniform_floats(pool.input_elements(), -1, 1, rng);
  const auto dy = testing::uniform_floats(pool.output_elements(), -1, 1, rng);
  const auto grad = testing::uniform_floats(1'280'000, -1, 1, rng);
  expect_same_bits_for_any_thread_count("pool, dropout, adam", [&] {
    std::vector<float> y(dy.size()), dx(x.size()), dropped(x.size());
    std::vector<std::int32_t> argmax(dy.size());
    cpu::relu_max_pool2d_forward(pool, x.data(), y.data(), argmax.data());
    cpu::relu_max_pool2d_backward(pool, y.data(), dy.data(), argmax.data(), dx.data());
    const StepCounters counters{.seed = 7, .step = 3};
    cpu::dropout_forward(static_cast<std::int64_t>(x.size()), 0.3f, 1, &counters, x.data(),
                         dropped.data());
    std::vector<float> value(grad.size(), 0.5f), exp_avg(grad.size(), 0.01f),
        exp_avg_sq(grad.size(), 0.02f);
    const ParameterSlot slot{.value = value.data(),
                             .grad = grad.data(),
                             .exp_avg = exp_avg.data(),
                             .exp_avg_sq = exp_avg_sq.data(),
                             .count = static_cast<std::int64_t>(grad.size())};
    cpu::adam_step({&slot, 1}, AdamConfig{}, &counters);
    return std::vector{y, dx, dropped, value, exp_avg, exp_avg_sq};
  });
}

}  // namespace
}  // namespace kiln
