// train_mnist_gpu: trains the reference CNNs of docs/recipes.md (mnist-cnn, fashion-lenet) on the
// GPU with kiln's kernels, or on the CPU reference backend, and classifies images with the weights
// it saved (`train_mnist_gpu predict`). Defaults are each model's recipe. Exit status: 0 on
// success, 2 on a usage error, 1 on any other error, 130 when Ctrl-C stopped training (after saving
// a training state to resume from), always with one line on stderr.
#include <fmt/format.h>

#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <string>

#include "apps/command_line.h"
#include "kernels/cuda/device.h"
#include "kernels/engines.h"
#include "models/layer_times.h"
#include "models/predictor.h"
#include "models/recipe.h"
#include "models/trainer.h"
#include "runtime/data/datasets.h"
#include "runtime/data/image.h"
#include "runtime/memory/allocator.h"
#include "runtime/step_runner.h"
#include "runtime/stream.h"

namespace {

// The chosen engine with the memory it works in; a GPU engine's stream is declared first so that
// it outlives the rest.
struct Engine {
  std::unique_ptr<kiln::CudaStream> stream;
  std::optional<kiln::Engine> engine;
  std::unique_ptr<kiln::Allocator> allocator;
  std::unique_ptr<kiln::StepRunner> step_runner;  // a CUDA graph's, unless --cuda-graph off
  kiln::Backend& backend() const { return engine->backend(); }
  const std::string& description() const { return engine->description(); }
};

// Set by the first Ctrl-C; the trainer polls it between steps. A second Ctrl-C kills at once.
volatile std::sig_atomic_t interrupted = 0;

extern "C" void on_interrupt(int /*signal*/) {
  interrupted = 1;
  std::signal(SIGINT, SIG_DFL);
}

// The engine --backend and the per-family flags name, built by the library (kernels/engines.h);
// on the CPU, with --backend auto, a notice unless quiet.
void make_engine(const kiln::app::Command& command, bool quiet, Engine& engine) {
  const kiln::EngineChoice choice{.backend = command.backend,
                                  .families = command.engines,
                                  .cpu_threads = command.threads,
                                  .dropout_seed = command.train.seed.value_or(0)};
  try {
    if (kiln::engine_memory_space(choice) == kiln::MemorySpace::host) {
      if (choice.backend == "auto" && !quiet) {
        fmt::print("kiln: no usable GPU ({}); training on the CPU backend\n",
                   kiln::cuda::device_status().reason);
      }
      engine.allocator = kiln::make_host_allocator();
    } else {
      engine.stream = std::make_unique<kiln::CudaStream>();
      engine.allocator = kiln::make_cuda_allocator(engine.stream->get());
    }
    engine.engine.emplace(
        kiln::make_engine(choice, engine.stream ? engine.stream->get() : nullptr));
  } catch (const kiln::EngineChoiceError& error) {
    throw kiln::app::UsageError(error.what());
  }
}

// `train_mnist_gpu predict`: the top three classes of one image.
int predict(const kiln::app::Command& command) {
  const kiln::app::PredictOptions& options = command.predict;
  const auto& recipe = kiln::models::recipe_for(options.model);
  std::vector<std::uint8_t> pixels;
  std::string what;
  std::optional<int> label;
  if (!options.image.empty()) {
    pixels = kiln::data::load_image_as_mnist(options.image);
    what = options.image;
  } else {
    const std::int64_t index = std::max<std::int64_t>(options.index, 0);
    kiln::data::ImageSet images;
    if (!options.idx.empty()) {
      images = kiln::data::read_idx_images(options.idx);
      what = fmt::format("image {} of {}", index, options.idx);
    } else {
      const std::string folder = options.data_dir.empty()
                                     ? kiln::data::dataset_dir("data", recipe.dataset).string()
                                     : options.data_dir;
      const auto test = kiln::data::load_split(folder, kiln::data::Split::test);
      images = test.images;
      if (index < test.images.count) label = test.labels[static_cast<std::size_t>(index)];
      what = fmt::format("test image {} of {}", index, folder);
    }
    if (images.rows != kiln::models::kImageSide || images.cols != kiln::models::kImageSide) {
      throw std::runtime_error(fmt::format("{}: images are {}x{}; the models take 28x28",
                                           options.idx, images.rows, images.cols));
    }
    if (index >= images.count) {
      throw kiln::app::UsageError(
          fmt::format("--index {}: the file holds {} images", index, images.count));
    }
    const auto first = images.pixels.begin() + index * 28 * 28;
    pixels.assign(first, first + 28 * 28);
  }
  Engine engine;
  make_engine(command, true, engine);
  kiln::models::Predictor predictor(options.model, options.weights, engine.backend(),
                                    *engine.allocator);
  const auto probabilities = predictor.probabilities(pixels);
  const auto names = kiln::data::class_names(recipe.dataset);
  fmt::print("{} ({}), {}{}\n", options.model, options.weights, what,
             label ? fmt::format(": label {}", names[static_cast<std::size_t>(*label)]) : "");
  int rank = 0;
  for (const int c : kiln::models::top_three(probabilities)) {
    fmt::print("  {}. {:<12} {:6.2f}%\n", ++rank, names[static_cast<std::size_t>(c)],
               100 * probabilities[static_cast<std::size_t>(c)]);
  }
  return 0;
}

// --time-layers: the first batch of the training split, its step timed layer by layer.
int time_layers(const kiln::app::Command& command, const std::string& data_dir,
                const Engine& engine) {
  const kiln::models::TrainOptions& options = command.train;
  const int batch = options.batch_size.value_or(kiln::models::recipe_for(options.model).batch_size);
  const auto train = kiln::data::load_split(data_dir, kiln::data::Split::train);
  if (train.images.count < batch) {
    throw kiln::app::UsageError(
        fmt::format("--time-layers: a batch of {} needs that many "
                    "images; {} holds {}",
                    batch, data_dir, train.images.count));
  }
  const auto pixels =
      static_cast<std::size_t>(batch) * kiln::models::kImageSide * kiln::models::kImageSide;
  const kiln::models::LayerTimesRun run{
      .model = options.model,
      .batch = batch,
      .iterations = command.time_iterations,
      .fuse = options.fuse,
      .stream = engine.stream.get(),
      .images = std::span(train.images.pixels).first(pixels),
      .labels = std::span(train.labels).first(static_cast<std::size_t>(batch))};
  fmt::print("backend {}\n{}", engine.description(),
             kiln::models::time_layers(run, engine.backend(), *engine.allocator));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  kiln::app::Command command;
  try {
    command = kiln::app::parse_command_line(argc, argv);
  } catch (const kiln::app::UsageError& error) {
    fmt::print(stderr, "train_mnist_gpu: {}\n", error.what());
    return 2;
  }
  if (command.kind == kiln::app::Command::Kind::help) {
    fmt::print("{}", command.help);
    return 0;
  }
  kiln::models::TrainOptions& options = command.train;
  std::string& data_dir = command.data_dir;
  // The state holds no data folder, so the printed command to continue names the one given.
  const std::string data_flag = data_dir.empty() ? "" : " --data " + data_dir;
  try {
    if (command.kind == kiln::app::Command::Kind::predict) return predict(command);
    kiln::models::adopt_resumed_run(options, command.model_given);
    const auto& recipe = kiln::models::recipe_for(options.model);
    if (data_dir.empty()) data_dir = kiln::data::dataset_dir("data", recipe.dataset).string();
    Engine engine;
    make_engine(command, options.quiet, engine);
    if (command.time_layers) return time_layers(command, data_dir, engine);
    // Training replays each step as a CUDA graph wherever a GPU trains, unless told not to.
    if (engine.stream && command.cuda_graph != "off") {
      engine.step_runner = std::make_unique<kiln::CudaGraphStepRunner>(engine.stream->get());
    }
    options.step_runner = engine.step_runner.get();
    const auto datasets = kiln::models::load_datasets(data_dir);
    kiln::models::Trainer trainer(options, engine.backend(), *engine.allocator, datasets, stdout);
    if (!options.quiet) {
      fmt::print("kiln {}: {} on {} from {}\nbackend {}\n{}", kiln::checkpoint::kiln_version(),
                 options.model, kiln::data::dataset_dir_name(recipe.dataset), data_dir,
                 engine.description(), trainer.summary());
      std::fflush(stdout);
    }
    options.interrupt = &interrupted;
    std::signal(SIGINT, on_interrupt);
    trainer.run();
  } catch (const kiln::models::Interrupted& stop) {
    fmt::print(stderr, "train_mnist_gpu: {}{}\n", stop.what(), data_flag);
    return 130;
  } catch (const kiln::app::UsageError& error) {
    fmt::print(stderr, "train_mnist_gpu: {}\n", error.what());
    return 2;
  } catch (const kiln::models::UsageError& error) {
    fmt::print(stderr, "train_mnist_gpu: {}\n", error.what());
    return 2;
  } catch (const std::exception& error) {
    fmt::print(stderr, "train_mnist_gpu: {}\n", error.what());
    return 1;
  }
  return 0;
}
