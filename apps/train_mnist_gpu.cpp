// train_mnist_gpu: trains the reference CNNs of RECIPES.md (mnist-cnn, fashion-lenet) on the GPU
// with kiln's kernels, or on the CPU reference backend. Defaults are each model's recipe.
// Exit status: 0 on success, 2 on a usage error, 1 on any other error, always with one line on
// stderr.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <memory>
#include <string>
#include <type_traits>

#include "kernels/cpu/backend.h"
#include "kernels/cuda/backend.h"
#include "kernels/cuda/device.h"
#include "models/recipe.h"
#include "models/trainer.h"
#include "runtime/data/datasets.h"
#include "runtime/memory/allocator.h"
#include "runtime/stream.h"

namespace {

using kiln::models::OptimizerKind;

// The chosen backend with the memory it works in; a CUDA backend's stream is declared first so
// that it outlives both.
struct Engine {
  std::unique_ptr<kiln::CudaStream> stream;
  std::unique_ptr<kiln::Backend> backend;
  std::unique_ptr<kiln::Allocator> allocator;
  std::string description;
};

class UsageFailure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Flag checks whose messages say what is wanted; CLI11 prefixes them with the flag.
template <typename T>
CLI::Validator number_check(const char* wanted, bool (*accept)(T)) {
  return CLI::Validator(
      [wanted, accept](const std::string& text) -> std::string {
        T value{};
        std::size_t used = 0;
        try {
          if constexpr (std::is_floating_point_v<T>) {
            value = static_cast<T>(std::stod(text, &used));
          } else {
            if (text.empty() || text[0] == '-' || text[0] == '+') throw std::invalid_argument(text);
            value = static_cast<T>(std::stoull(text, &used));
          }
        } catch (const std::exception&) {
          used = 0;
        }
        if (used != text.size() || used == 0 || !accept(value)) {
          return fmt::format("must be {}, got '{}'", wanted, text);
        }
        return "";
      },
      wanted);
}

void make_engine(const std::string& choice, bool quiet, Engine& engine) {
  const auto& device = kiln::cuda::device_status();
  if (choice == "cudnn") {
    throw UsageFailure(
        "--backend cudnn: the cuDNN engine is not built yet; use --backend cuda or cpu");
  }
  if (choice == "cpu" || (choice == "auto" && !device.available)) {
    if (choice == "auto" && !quiet) {
      fmt::print("kiln: no usable GPU ({}); training on the CPU backend\n", device.reason);
    }
    engine.backend = std::make_unique<kiln::cpu::CpuBackend>();
    engine.allocator = kiln::make_host_allocator();
    engine.description = "cpu (the reference backend, one thread)";
    return;
  }
  if (!device.available) {
    throw std::runtime_error(fmt::format("--backend {}: no usable GPU: {}", choice, device.reason));
  }
  engine.stream = std::make_unique<kiln::CudaStream>();
  engine.backend = std::make_unique<kiln::cuda::CudaBackend>(engine.stream->get());
  engine.allocator = kiln::make_cuda_allocator(engine.stream->get());
  engine.description = "cuda: " + kiln::cuda::describe(device);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Train the reference CNNs of RECIPES.md with kiln. Defaults are the model's recipe."};
  kiln::models::TrainOptions options;
  std::string data_dir;
  std::string backend = "auto";
  bool no_shuffle = false;
  std::string optimizer;
  app.add_option("--model", options.model, "Reference model to train")
      ->check(CLI::IsMember({"mnist-cnn", "fashion-lenet"}))
      ->capture_default_str();
  app.add_option("--data", data_dir,
                 "Folder with the four IDX files, raw or .gz (default: data/mnist or "
                 "data/fashion-mnist, where scripts/fetch_data.sh puts them)");
  app.add_option("--backend", backend, "auto: the GPU if there is one, else the CPU")
      ->check(CLI::IsMember({"auto", "cuda", "cudnn", "cpu"}))
      ->capture_default_str();
  const auto whole_at_least_1 = number_check<std::uint64_t>(
      "a whole number of at least 1", [](std::uint64_t v) { return v >= 1 && v <= INT32_MAX; });
  const auto whole_at_least_0 = number_check<std::uint64_t>(
      "a whole number of at least 0", [](std::uint64_t v) { return v <= INT64_MAX; });
  app.add_option("--epochs", options.epochs, "Epochs to train (recipe: 15)")
      ->check(whole_at_least_1);
  app.add_option("--batch-size", options.batch_size, "Images per batch (recipe: 32 or 20)")
      ->check(number_check<std::uint64_t>("a whole number from 1 to 65536",
                                          [](std::uint64_t v) { return v >= 1 && v <= 65536; }));
  app.add_option("--lr", options.learning_rate, "Learning rate (recipe: 1e-3 or 0.04)")
      ->check(number_check<double>("a positive finite number",
                                   [](double v) { return v > 0 && std::isfinite(v); }));
  app.add_option("--optimizer", optimizer, "sgd or adam (recipe: adam or sgd)")
      ->check(CLI::IsMember({"sgd", "adam"}));
  app.add_option("--dropout", options.dropout, "Dropout probability of mnist-cnn (recipe: 0.3)")
      ->check(number_check<double>("a probability in [0, 1)",
                                   [](double v) { return v >= 0 && v < 1; }));
  app.add_option("--seed", options.seed, "Seed of initialisation, split, shuffling and dropout")
      ->check(number_check<std::uint64_t>("a whole number from 0 to 2^64 - 1",
                                          [](std::uint64_t) { return true; }));
  app.add_flag("--no-shuffle", no_shuffle, "Take the training batches in file order");
  app.add_option("--max-steps", options.max_steps,
                 "Stop after N optimizer steps in all, then evaluate and save as usual")
      ->check(whole_at_least_0);
  app.add_option("--eval-limit", options.eval_limit,
                 "Evaluate on the first N images of each evaluation set only (quick checks)")
      ->check(whole_at_least_0);
  app.add_option("--init", options.init, "Start from these weights (safetensors, seed names)")
      ->check(CLI::ExistingFile);
  app.add_option("--save", options.save,
                 "Write the weights here (best on validation, else final) and the training "
                 "state beside them (<name>.state.safetensors)");
  app.add_option("--resume", options.resume, "Continue the run of this training state")
      ->check(CLI::ExistingFile);
  app.add_option("--metrics", options.metrics, "Write per-epoch metrics here (JSON Lines)");
  app.add_flag("--quiet", options.quiet, "Print only the final result");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& help) {
    return app.exit(help);
  } catch (const CLI::ParseError& error) {
    fmt::print(stderr, "train_mnist_gpu: {} (see --help)\n", error.what());
    return 2;
  }
  if (no_shuffle) options.shuffle = false;
  if (!optimizer.empty()) {
    options.optimizer = optimizer == "adam" ? OptimizerKind::adam : OptimizerKind::sgd;
  }

  try {
    const auto& recipe = kiln::models::recipe_for(options.model);
    if (data_dir.empty()) data_dir = kiln::data::dataset_dir("data", recipe.dataset).string();
    Engine engine;
    make_engine(backend, options.quiet, engine);
    const auto datasets = kiln::models::load_datasets(data_dir);
    kiln::models::Trainer trainer(options, *engine.backend, *engine.allocator, datasets, stdout);
    if (!options.quiet) {
      fmt::print("kiln {}: {} on {} from {}\nbackend {}\n{}", kiln::checkpoint::kiln_version(),
                 options.model, kiln::data::dataset_dir_name(recipe.dataset), data_dir,
                 engine.description, trainer.summary());
      std::fflush(stdout);
    }
    trainer.run();
  } catch (const UsageFailure& error) {
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
