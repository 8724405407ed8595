// kernel_bench: every op one training step of each reference model calls, read off the models
// themselves (bench/layer_ops.h), at batch 1, the recipe's batch and 256, on kiln's kernels
// ("custom") and, for the ops cuDNN has, on cuDNN; plus the two peaks they are judged against, a
// device-to-device copy and a float32 SGEMM. Each row reports only the aggregates (mean, median,
// spread) of its repetitions (10 unless --benchmark_repetitions says otherwise) and its FLOP and
// byte floors (kernels/op_costs.h) as the counters `flop` and `bytes`; a row's label holds "op=...
// model=... layer=... batch=... engine=... math=fma" for the report.
//
// Timing: CUDA events around many launches, each on its own set of operands, rotating through
// sets that add up to 3x the L2 cache, so that each launch finds its operands in DRAM as a step
// of training does, never in the cache its previous launch filled.
//
// Without a usable GPU it prints one line on stderr and exits with 77 (skipped, as the tests do);
// --benchmark_list_tests lists the rows anyway.
#include <benchmark/benchmark.h>
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <curand.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bench/layer_ops.h"
#include "bench/rotating_operands.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/device.h"
#include "kernels/cudnn/ops.h"
#include "kernels/engines.h"
#include "models/recipe.h"
#include "runtime/stream.h"

namespace kiln::bench {
namespace {

constexpr int kDefaultRepetitions = 10;
// Per repetition: enough launches for a stable median, few enough that the ~360 rows (10
// repetitions each) take about two minutes.
constexpr double kMinSecondsPerRepetition = 0.01;
constexpr int kMaxLaunchesPerIteration = 64;

enum class Engine { custom, cudnn };

const char* engine_name(Engine engine) { return engine == Engine::custom ? "custom" : "cudnn"; }

// What one benchmark process holds for its whole run: the stream, both engines on it (by their
// names, with their default settings), events, a random generator for operands and the size of
// the L2 cache.
class Device {
 public:
  Device() : custom_(make_engine({.backend = "cuda"}, stream_.get())) {
    if (cudnn_engine_built()) cudnn_.emplace(make_engine({.backend = "cudnn"}, stream_.get()));
    int ordinal = 0;
    KILN_CUDA_CHECK(cudaGetDevice(&ordinal));
    cudaDeviceProp properties{};
    KILN_CUDA_CHECK(cudaGetDeviceProperties(&properties, ordinal));
    l2_bytes_ = static_cast<std::size_t>(properties.l2CacheSize);
    KILN_CURAND_CHECK(curandCreateGenerator(&generator_, CURAND_RNG_PSEUDO_DEFAULT));
    KILN_CURAND_CHECK(curandSetStream(generator_, stream_.get()));
    KILN_CUBLAS_CHECK(cublasCreate(&cublas_));
    KILN_CUBLAS_CHECK(cublasSetStream(cublas_, stream_.get()));
    // Plain float32 FMA: the arithmetic the custom kernels and cuDNN's rows use (no TF32).
    KILN_CUBLAS_CHECK(cublasSetMathMode(cublas_, CUBLAS_DEFAULT_MATH));
    KILN_CUDA_CHECK(cudaMalloc(&counters_, sizeof(StepCounters)));
    const StepCounters first_step{};
    KILN_CUDA_CHECK(cudaMemcpy(counters_, &first_step, sizeof first_step, cudaMemcpyHostToDevice));
  }
  ~Device() {
    cudaFree(counters_);
    cublasDestroy(cublas_);
    curandDestroyGenerator(generator_);
  }
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  // cuDNN's rows exist only where it is built (register_rows).
  Backend& engine(Engine engine) {
    return engine == Engine::cudnn ? cudnn_.value().backend() : custom_.backend();
  }
  cudaStream_t stream() const { return stream_.get(); }
  curandGenerator_t generator() const { return generator_; }
  cublasHandle_t cublas() const { return cublas_; }
  // What dropout and Adam rows read: seed 0, step 0, in device memory.
  const StepCounters* counters() const { return counters_; }
  // Operand sets of a row add up to this: three times the L2 cache, so it holds none of them.
  std::size_t rotation_bytes() const { return 3 * l2_bytes_; }

  // Seconds per launch of `launch` (called `launches` times between one pair of events).
  double seconds_per_launch(int launches, const std::function<void()>& launch) {
    start_.record(stream_);
    for (int i = 0; i < launches; ++i) launch();
    stop_.record(stream_);
    return stop_.milliseconds_since(start_) * 1e-3 / launches;
  }

 private:
  CudaStream stream_;
  kiln::Engine custom_;
  std::optional<kiln::Engine> cudnn_;
  std::size_t l2_bytes_ = 0;
  CudaEvent start_;
  CudaEvent stop_;
  curandGenerator_t generator_{};
  cublasHandle_t cublas_{};
  StepCounters* counters_ = nullptr;
};

Device* device = nullptr;  // made in main once a GPU is known to be there

// One row's work: its operands and how to launch on set `s` (and, before any timing, how to
// prepare each set: pooling's backward needs its forward's argmax, cuDNN's dropout its reserve).
struct Work {
  std::vector<Operand> operands;
  std::function<void(const RotatingOperands&, int)> launch;
  std::function<void(const RotatingOperands&, int)> prepare{};
};

Work conv2d_work(const OpCall& call, Backend& engine) {
  const Conv2dShape shape = call.conv;
  // The engine's own scratch, sized (and for cuDNN, its algorithm chosen) before any timing.
  const auto workspace = std::make_shared<DeviceBuffer>(engine.conv2d_workspace_bytes(shape));
  const Operand x = floats(shape.input_elements()), w = floats(shape.weight_elements()),
                y = floats(shape.output_elements()), b = floats(shape.out_channels);
  switch (call.op) {
    case Op::conv2d_forward:
      return {{x, w, b, y}, [&engine, shape, workspace](const RotatingOperands& o, int s) {
                engine.conv2d_forward(shape, o.get<float>(s, 0), o.get<float>(s, 1),
                                      o.get<float>(s, 2), o.get<float>(s, 3), workspace->span());
              }};
    case Op::conv2d_backward_data:
      return {{y, w, x}, [&engine, shape, workspace](const RotatingOperands& o, int s) {
                engine.conv2d_backward_data(shape, o.get<float>(s, 0), o.get<float>(s, 1),
                                            o.get<float>(s, 2), workspace->span());
              }};
    case Op::conv2d_backward_filter:
      return {{x, y, w}, [&engine, shape, workspace](const RotatingOperands& o, int s) {
                engine.conv2d_backward_filter(shape, o.get<float>(s, 0), o.get<float>(s, 1),
                                              o.get<float>(s, 2), workspace->span());
              }};
    default:
      return {{y, b}, [&engine, shape](const RotatingOperands& o, int s) {
                engine.conv2d_backward_bias(shape, o.get<float>(s, 0), o.get<float>(s, 1));
              }};
  }
}

Work max_pool2d_work(const OpCall& call, Backend& engine) {
  const Pool2dShape shape = call.pool;
  // x, y, argmax, dy, dx: the forward writes y and argmax, which the backward reads.
  const std::vector<Operand> operands = {
      floats(shape.input_elements()),
      floats(shape.output_elements(), Fill::by_setup),
      {static_cast<std::size_t>(shape.output_elements()) * sizeof(std::int32_t), Fill::by_setup},
      floats(shape.output_elements()),
      floats(shape.input_elements(), Fill::by_setup)};
  auto forward = [&engine, shape](const RotatingOperands& o, int s) {
    engine.max_pool2d_forward(shape, o.get<float>(s, 0), o.get<float>(s, 1),
                              o.get<std::int32_t>(s, 2));
  };
  if (call.op == Op::max_pool2d_forward) return {operands, forward};
  return {operands,
          [&engine, shape](const RotatingOperands& o, int s) {
            engine.max_pool2d_backward(shape, o.get<float>(s, 0), o.get<float>(s, 1),
                                       o.get<float>(s, 3), o.get<std::int32_t>(s, 2),
                                       o.get<float>(s, 4));
          },
          forward};
}

// A ReLU and the pooling it feeds: one fused op on an engine that fuses them, else the engine's
// ReLU into a full-size intermediate and its pooling over that (two launches, as cuDNN runs them).
Work relu_max_pool2d_work(const OpCall& call, Backend& engine) {
  const Pool2dShape shape = call.pool;
  const std::int64_t n = shape.input_elements();
  // x, y, argmax, dy, dx, and the unfused pair's ReLU output.
  const std::vector<Operand> operands = {
      floats(n),
      floats(shape.output_elements(), Fill::by_setup),
      {static_cast<std::size_t>(shape.output_elements()) * sizeof(std::int32_t), Fill::by_setup},
      floats(shape.output_elements()),
      floats(n, Fill::by_setup),
      floats(n, Fill::by_setup)};
  const bool fused = engine.fuses_relu_max_pool();
  auto forward = [&engine, shape, n, fused](const RotatingOperands& o, int s) {
    if (fused) {
      engine.relu_max_pool2d_forward(shape, o.get<float>(s, 0), o.get<float>(s, 1),
                                     o.get<std::int32_t>(s, 2));
      return;
    }
    engine.relu_forward(n, o.get<float>(s, 0), o.get<float>(s, 5));
    engine.max_pool2d_forward(shape, o.get<float>(s, 5), o.get<float>(s, 1),
                              o.get<std::int32_t>(s, 2));
  };
  if (call.op == Op::relu_max_pool2d_forward) return {operands, forward};
  return {operands,
          [&engine, shape, n, fused](const RotatingOperands& o, int s) {
            if (fused) {
              engine.relu_max_pool2d_backward(shape, o.get<float>(s, 1), o.get<float>(s, 3),
                                              o.get<std::int32_t>(s, 2), o.get<float>(s, 4));
              return;
            }
            engine.max_pool2d_backward(shape, o.get<float>(s, 5), o.get<float>(s, 1),
                                       o.get<float>(s, 3), o.get<std::int32_t>(s, 2),
                                       o.get<float>(s, 4));
            engine.relu_backward(n, o.get<float>(s, 5), o.get<float>(s, 4), o.get<float>(s, 4));
          },
          forward};
}

Work elementwise_work(const OpCall& call, Backend& engine) {
  const std::int64_t n = call.count;
  const Op kind = call.op;
  if (kind == Op::relu_forward || kind == Op::sigmoid_forward) {
    return {{floats(n), floats(n)}, [&engine, n, kind](const RotatingOperands& o, int s) {
              if (kind == Op::relu_forward) {
                engine.relu_forward(n, o.get<float>(s, 0), o.get<float>(s, 1));
              } else {
                engine.sigmoid_forward(n, o.get<float>(s, 0), o.get<float>(s, 1));
              }
            }};
  }
  return {{floats(n, Fill::positive), floats(n), floats(n)},
          [&engine, n, kind](const RotatingOperands& o, int s) {
            if (kind == Op::relu_backward) {
              engine.relu_backward(n, o.get<float>(s, 0), o.get<float>(s, 1), o.get<float>(s, 2));
            } else {
              engine.sigmoid_backward(n, o.get<float>(s, 0), o.get<float>(s, 1),
                                      o.get<float>(s, 2));
            }
          }};
}

Work dropout_work(const OpCall& call, Backend& engine) {
  const std::int64_t n = call.count;
  const float p = call.dropout_probability;
  const std::size_t reserve = engine.dropout_reserve_bytes(n);
  const StepCounters* counters = device->counters();
  constexpr std::uint32_t kMaskStream = 1;
  // x, y, reserve; the backward reads y as dy and writes x as dx, after a forward filled the
  // reserve.
  auto forward = [&engine, n, p, reserve, counters](const RotatingOperands& o, int s) {
    engine.dropout_forward(n, p, kMaskStream, counters, o.get<float>(s, 0), o.get<float>(s, 1),
                           o.bytes(s, 2, reserve));
  };
  const std::vector<Operand> operands = {floats(n), floats(n), {reserve, Fill::by_setup}};
  if (call.op == Op::dropout_forward) return {operands, forward};
  return {operands,
          [&engine, n, p, reserve, counters](const RotatingOperands& o, int s) {
            engine.dropout_backward(n, p, kMaskStream, counters, o.get<float>(s, 1),
                                    o.get<float>(s, 0), o.bytes(s, 2, reserve));
          },
          forward};
}

Work softmax_cross_entropy_work(const OpCall& call, Backend& engine) {
  const int batch = call.batch, classes = call.classes;
  const std::int64_t logits = std::int64_t{batch} * classes;
  return {{floats(logits), int32s(batch, classes), floats(1), floats(logits)},
          [&engine, batch, classes](const RotatingOperands& o, int s) {
            engine.softmax_cross_entropy(batch, classes, o.get<float>(s, 0),
                                         o.get<std::int32_t>(s, 1), o.get<float>(s, 2),
                                         o.get<float>(s, 3));
          }};
}

Work linear_work(const OpCall& call, Backend& engine) {
  const LinearShape shape = call.linear;
  const Operand x = floats(std::int64_t{shape.batch} * shape.in_features),
                w = floats(std::int64_t{shape.out_features} * shape.in_features),
                y = floats(std::int64_t{shape.batch} * shape.out_features),
                b = floats(shape.out_features);
  switch (call.op) {
    case Op::linear_forward:
      return {{x, w, b, y}, [&engine, shape](const RotatingOperands& o, int s) {
                engine.linear_forward(shape, o.get<float>(s, 0), o.get<float>(s, 1),
                                      o.get<float>(s, 2), o.get<float>(s, 3));
              }};
    case Op::linear_backward_data:
      return {{y, w, x}, [&engine, shape](const RotatingOperands& o, int s) {
                engine.linear_backward_data(shape, o.get<float>(s, 0), o.get<float>(s, 1),
                                            o.get<float>(s, 2));
              }};
    case Op::linear_backward_weight:
      return {{x, y, w}, [&engine, shape](const RotatingOperands& o, int s) {
                engine.linear_backward_weight(shape, o.get<float>(s, 0), o.get<float>(s, 1),
                                              o.get<float>(s, 2));
              }};
    default:
      return {{y, b}, [&engine, shape](const RotatingOperands& o, int s) {
                engine.linear_backward_bias(shape, o.get<float>(s, 0), o.get<float>(s, 1));
              }};
  }
}

// Every parameter tensor of the model: value and gradient, and Adam's two moments. The slots of
// each set are made before timing, as the optimizer makes them once per run.
Work optimizer_work(const OpCall& call, Backend& engine) {
  const bool adam = call.op == Op::adam_step;
  std::vector<Operand> operands;
  for (const std::int64_t count : call.parameter_counts) {
    operands.push_back(floats(count));
    operands.push_back(floats(count));
    if (adam) {
      operands.push_back(floats(count));
      operands.push_back(floats(count, Fill::positive));
    }
  }
  const std::vector<std::int64_t> counts = call.parameter_counts;
  auto slots = std::make_shared<std::vector<std::vector<ParameterSlot>>>();
  auto make_slots = [slots, counts, adam](const RotatingOperands& o, int s) {
    slots->resize(static_cast<std::size_t>(o.sets()));
    auto& set = (*slots)[static_cast<std::size_t>(s)];
    const std::size_t per_tensor = adam ? 4 : 2;
    for (std::size_t t = 0; t < counts.size(); ++t) {
      const std::size_t first = t * per_tensor;
      set.push_back({o.get<float>(s, first), o.get<float>(s, first + 1),
                     adam ? o.get<float>(s, first + 2) : nullptr,
                     adam ? o.get<float>(s, first + 3) : nullptr, counts[t]});
    }
  };
  const StepCounters* counters = device->counters();
  return {operands,
          [&engine, slots, adam, counters](const RotatingOperands&, int s) {
            const auto& set = (*slots)[static_cast<std::size_t>(s)];
            if (adam) {
              engine.adam_step(set, AdamConfig{}, counters);
            } else {
              engine.sgd_step(set, 1e-3f);
            }
          },
          make_slots};
}

Work gather_batch_work(const OpCall& call, Backend& engine) {
  const int batch = call.batch;
  const std::int64_t pixels = call.count;
  // images and labels of `batch` examples (uint8), the order (int32), x (float) and y (int32).
  return {{{static_cast<std::size_t>(batch * pixels), Fill::bits},
           {static_cast<std::size_t>(batch), Fill::bits},
           int32s(batch, batch),
           floats(batch * pixels),
           int32s(batch, 1)},
          [&engine, batch, pixels](const RotatingOperands& o, int s) {
            engine.gather_batch(o.get<std::uint8_t>(s, 0), o.get<std::uint8_t>(s, 1), pixels,
                                o.get<std::int32_t>(s, 2), batch, o.get<float>(s, 3),
                                o.get<std::int32_t>(s, 4));
          }};
}

Work work_for(const OpCall& call, Backend& engine) {
  switch (call.op) {
    case Op::conv2d_forward:
    case Op::conv2d_backward_data:
    case Op::conv2d_backward_filter:
    case Op::conv2d_backward_bias:
      return conv2d_work(call, engine);
    case Op::max_pool2d_forward:
    case Op::max_pool2d_backward:
      return max_pool2d_work(call, engine);
    case Op::relu_max_pool2d_forward:
    case Op::relu_max_pool2d_backward:
      return relu_max_pool2d_work(call, engine);
    case Op::relu_forward:
    case Op::relu_backward:
    case Op::sigmoid_forward:
    case Op::sigmoid_backward:
      return elementwise_work(call, engine);
    case Op::dropout_forward:
    case Op::dropout_backward:
      return dropout_work(call, engine);
    case Op::softmax_cross_entropy:
      return softmax_cross_entropy_work(call, engine);
    case Op::linear_forward:
    case Op::linear_backward_data:
    case Op::linear_backward_weight:
    case Op::linear_backward_bias:
      return linear_work(call, engine);
    case Op::sgd_step:
    case Op::adam_step:
      return optimizer_work(call, engine);
    case Op::gather_batch:
      return gather_batch_work(call, engine);
    case Op::advance_step:  // not recorded (bench/layer_ops.h)
    case Op::shuffle_indices:
    case Op::count_correct:
      break;
  }
  throw std::logic_error(fmt::format("no benchmark row for {}", op_name(call.op)));
}

// A row's operands, prepared once and kept across its repetitions (Google Benchmark calls the
// row's function once per repetition, and more while it sizes the iteration count); `next` carries
// the rotation on, so no set is reused before all the others have been.
struct PreparedRow {
  std::string name;
  Work work;
  std::unique_ptr<RotatingOperands> operands;
  int next = 0;
};

std::unique_ptr<PreparedRow> current_row;  // the row being measured; main frees it first

PreparedRow& prepare(const std::string& name, const OpCall& call, Engine engine) {
  if (current_row && current_row->name == name) return *current_row;
  current_row.reset();  // the previous row's memory first
  auto fresh = std::make_unique<PreparedRow>();
  fresh->name = name;
  fresh->work = work_for(call, device->engine(engine));
  fresh->operands = std::make_unique<RotatingOperands>(
      fresh->work.operands, device->rotation_bytes(), device->generator());
  // The host's copies of whole numbers go by the legacy stream: all of it lands before any use.
  KILN_CUDA_CHECK(cudaDeviceSynchronize());
  if (fresh->work.prepare) {
    for (int s = 0; s < fresh->operands->sets(); ++s) fresh->work.prepare(*fresh->operands, s);
  }
  KILN_CUDA_CHECK(cudaStreamSynchronize(device->stream()));
  current_row = std::move(fresh);
  return *current_row;
}

void time_row(benchmark::State& state, const std::string& name, const OpCall& call, Engine engine) {
  try {
    PreparedRow& row = prepare(name, call, engine);
    const int launches = std::min(row.operands->sets(), kMaxLaunchesPerIteration);
    const auto launch = [&row] {
      row.work.launch(*row.operands, row.next);
      row.next = (row.next + 1) % row.operands->sets();
    };
    device->seconds_per_launch(launches, launch);  // warm-up
    for (auto _ : state) state.SetIterationTime(device->seconds_per_launch(launches, launch));
  } catch (const std::exception& error) {
    state.SkipWithError(error.what());
  }
}

// A large device-to-device copy: the bandwidth floor every memory-bound row is judged against.
void time_peak_copy(benchmark::State& state) {
  constexpr std::size_t kBytes = std::size_t{1} << 30;
  try {
    void* source = nullptr;
    void* target = nullptr;
    KILN_CUDA_CHECK(cudaMalloc(&source, kBytes));
    KILN_CUDA_CHECK(cudaMalloc(&target, kBytes));
    const auto copy = [&] {
      KILN_CUDA_CHECK(
          cudaMemcpyAsync(target, source, kBytes, cudaMemcpyDeviceToDevice, device->stream()));
    };
    device->seconds_per_launch(1, copy);
    for (auto _ : state) state.SetIterationTime(device->seconds_per_launch(1, copy));
    KILN_CUDA_CHECK(cudaFree(target));
    KILN_CUDA_CHECK(cudaFree(source));
  } catch (const std::exception& error) {
    state.SkipWithError(error.what());
  }
  state.SetLabel("op=peak_copy model=- layer=- batch=- engine=- math=-");
  state.counters["bytes"] = benchmark::Counter(2.0 * kBytes);  // read once, written once
}

// A large square float32 SGEMM on cuBLAS with FMA math (no TF32): the compute peak.
void time_peak_sgemm(benchmark::State& state) {
  constexpr int kSide = 8192;
  constexpr std::size_t kBytes = sizeof(float) * kSide * kSide;
  try {
    float* matrices[3] = {};
    for (float*& matrix : matrices) KILN_CUDA_CHECK(cudaMalloc(&matrix, kBytes));
    for (float* matrix : matrices) {
      KILN_CURAND_CHECK(
          curandGenerateNormal(device->generator(), matrix, std::size_t{kSide} * kSide, 0, 1));
    }
    const float one = 1, zero = 0;
    const auto gemm = [&] {
      KILN_CUBLAS_CHECK(cublasSgemm(device->cublas(), CUBLAS_OP_N, CUBLAS_OP_N, kSide, kSide, kSide,
                                    &one, matrices[0], kSide, matrices[1], kSide, &zero,
                                    matrices[2], kSide));
    };
    device->seconds_per_launch(1, gemm);
    for (auto _ : state) state.SetIterationTime(device->seconds_per_launch(1, gemm));
    for (float* matrix : matrices) KILN_CUDA_CHECK(cudaFree(matrix));
  } catch (const std::exception& error) {
    state.SkipWithError(error.what());
  }
  state.SetLabel("op=peak_sgemm model=- layer=- batch=- engine=- math=fma");
  state.counters["flop"] = benchmark::Counter(2.0 * kSide * kSide * kSide);
}

// One row per distinct call of a step, per batch and engine: "<op>/<model>/<layer>/batch:<N>/
// <engine>".
void register_rows() {
  std::vector<Engine> engines = {Engine::custom};
  if (cudnn_engine_built()) engines.push_back(Engine::cudnn);
  for (const models::Recipe& recipe : models::recipes()) {
    const std::string model(recipe.model);
    std::vector<int> batches = {1, recipe.batch_size, 256};
    batches.erase(std::unique(batches.begin(), batches.end()), batches.end());
    for (const int batch : batches) {
      for (const OpCall& call : record_training_step(model, batch)) {
        for (const Engine engine : engines) {
          // The rest run on kiln's kernels under either engine and are measured once.
          if (engine == Engine::cudnn && !cudnn::runs_on_cudnn(call.op)) continue;
          const std::string name = fmt::format("{}/{}/{}/batch:{}/{}", op_name(call.op), model,
                                               call.layer, batch, engine_name(engine));
          const std::string label =
              fmt::format("op={} model={} layer={} batch={} engine={} math=fma", op_name(call.op),
                          model, call.layer, batch, engine_name(engine));
          const OpCost cost = call.cost();
          benchmark::RegisterBenchmark(name.c_str(),
                                       [name, call, engine, label, cost](benchmark::State& state) {
                                         time_row(state, name, call, engine);
                                         state.SetLabel(label);
                                         state.counters["flop"] = benchmark::Counter(cost.flop);
                                         state.counters["bytes"] = benchmark::Counter(cost.bytes);
                                       })
              ->UseManualTime()
              ->Unit(benchmark::kMicrosecond);
        }
      }
    }
  }
  benchmark::RegisterBenchmark("peak/copy", time_peak_copy)
      ->UseManualTime()
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("peak/sgemm", time_peak_sgemm)
      ->UseManualTime()
      ->Unit(benchmark::kMicrosecond);
}

}  // namespace
}  // namespace kiln::bench

namespace {

// --benchmark_list_tests lists the rows, which needs no GPU: the rows come from the models.
bool only_listing(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view argument = argv[i];
    if (argument == "--benchmark_list_tests" || argument == "--benchmark_list_tests=true") {
      return true;
    }
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  // Defaults first, so that the same flags given on the command line override them.
  std::string repetitions =
      fmt::format("--benchmark_repetitions={}", kiln::bench::kDefaultRepetitions);
  // Flags rather than per-row settings, which would lengthen the rows' names.
  std::string min_time =
      fmt::format("--benchmark_min_time={}", kiln::bench::kMinSecondsPerRepetition);
  std::string aggregates_only = "--benchmark_report_aggregates_only=true";
  std::vector<char*> arguments = {argv[0], repetitions.data(), min_time.data(),
                                  aggregates_only.data()};
  arguments.insert(arguments.end(), argv + 1, argv + argc);
  int count = static_cast<int>(arguments.size());
  const auto& status = kiln::cuda::device_status();
  if (!status.available && !only_listing(argc, argv)) {
    // The device status's reason may already say so.
    std::string_view reason = status.reason;
    constexpr std::string_view kPrefix = "no usable CUDA device: ";
    if (reason.starts_with(kPrefix)) reason.remove_prefix(kPrefix.size());
    std::fprintf(stderr, "kernel_bench: no usable CUDA device: %.*s\n",
                 static_cast<int>(reason.size()), reason.data());
    return 77;
  }
  try {
    std::unique_ptr<kiln::bench::Device> device;
    if (status.available) {
      device = std::make_unique<kiln::bench::Device>();
      kiln::bench::device = device.get();
    }
    kiln::bench::register_rows();
    benchmark::Initialize(&count, arguments.data());
    if (benchmark::ReportUnrecognizedArguments(count, arguments.data())) return 2;
    benchmark::RunSpecifiedBenchmarks();
    kiln::bench::current_row.reset();
    benchmark::Shutdown();
  } catch (const std::exception& error) {
    std::fprintf(stderr, "kernel_bench: %s\n", error.what());
    return 1;
  }
  return 0;
}
