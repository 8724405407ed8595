#include "apps/command_line.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdint>
#include <type_traits>

namespace kiln::app {
namespace {

using models::OptimizerKind;

// Flag checks whose messages say what is wanted; CLI11 prefixes them with the flag. Added with
// transform(), as they hand a whole number on in plain decimal: CLI11 reads integers in C's base 0,
// so "010", checked here as ten, would otherwise be stored as eight.
template <typename T>
CLI::Validator number_check(const char* wanted, bool (*accept)(T)) {
  return CLI::Validator(
      [wanted, accept](std::string& text) -> std::string {
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
        if constexpr (!std::is_floating_point_v<T>) text = std::to_string(value);
        return "";
      },
      wanted);
}

constexpr const char* kDescription =
    "Train the two reference CNNs of docs/recipes.md (mnist-cnn on MNIST, fashion-lenet on "
    "Fashion-MNIST) with kiln, or classify images with the weights a run saved. Every default is "
    "the chosen model's recipe; a flag overrides it.";

constexpr const char* kExamples = R"(
Examples:
  train_mnist_gpu --model fashion-lenet
      the full recipe of the reference PyTorch program: SGD, 15 epochs, best weights on
      validation
  train_mnist_gpu --model mnist-cnn --backend cpu --epochs 1 --save cnn.safetensors
      one epoch on the CPU reference backend; weights and a training state saved
  train_mnist_gpu --resume cnn.state.safetensors --epochs 3
      continue that run for two more epochs, exactly as if it had not stopped
  train_mnist_gpu --model fashion-lenet --metrics run.jsonl --predictions test.csv
  scripts/plot.py --metrics run.jsonl --predictions test.csv --data data/fashion-mnist
      loss and accuracy curves, a grid of predicted test images, a confusion matrix
  train_mnist_gpu --model mnist-cnn --backend cuda --conv cudnn
      kiln's kernels for everything but the convolutions, which run on cuDNN
  train_mnist_gpu --model mnist-cnn --backend cuda --time-layers --time-iterations 50
      mean forward and backward time of each layer on one batch, as caffe time prints it
  train_mnist_gpu predict --model mnist-cnn --weights cnn.safetensors --image digit.png
      the three most probable classes of an image of any size

Files:
  --save W.safetensors writes the weights under the tensor names of the reference PyTorch
  modules (loadable by load_state_dict) and W.state.safetensors, everything --resume needs.
  Ctrl-C saves that state (or MODEL.interrupted.state.safetensors without --save), prints the
  command that continues the run and exits with status 130.

Resuming:
  --resume S continues the run S holds, bit for bit: the model, the recipe and every setting
  (--batch-size, --lr, --optimizer, --dropout, --seed, --no-shuffle, --eval-limit, --epochs,
  --max-steps) come from S, and the weights go beside S where that run saved weights. A setting
  flag that disagrees with S is a usage error, as is --model naming another model,
  except {extend}, which extend the run (train further).
  Flags of how it runs (--backend, the engines, --cuda-graph, --fuse, --data, --quiet) and of
  its outputs (--save, --metrics, --predictions) may be given freely.

Exit status: 0 success, 1 runtime error (bad data or checkpoint, no GPU, a diverging loss),
2 usage error, 130 interrupted. Errors are one line on stderr.)";

// --dropout already names the probability.
std::string engine_flag(OpFamily family) {
  return family == OpFamily::dropout ? "--dropout-engine"
                                     : fmt::format("--{}", op_family_name(family));
}

}  // namespace

Command parse_command_line(int argc, const char* const* argv) {
  Command command;
  kiln::models::TrainOptions& options = command.train;
  std::string& data_dir = command.data_dir;
  std::string& backend = command.backend;
  PredictOptions& predict_options = command.predict;
  bool no_shuffle = false;
  std::string optimizer;
  std::string fuse = "on";
  CLI::App app{kDescription, "train_mnist_gpu"};
  app.footer(fmt::format(fmt::runtime(kExamples), fmt::arg("extend", models::kResumeMayChange)));
  app.get_formatter()->column_width(34);
  app.add_option("--model", options.model, "The network and its recipe")
      ->check(CLI::IsMember({"mnist-cnn", "fashion-lenet"}))
      ->capture_default_str();
  app.add_option("--data", data_dir,
                 "Folder with the four IDX files, raw or .gz (default: data/mnist or "
                 "data/fashion-mnist, where scripts/fetch_data.sh puts them)");
  app.add_option("--backend", backend,
                 "auto: the GPU if there is one, else the CPU with a notice; cuda (kiln's "
                 "kernels) and cudnn (cuDNN where it has the op, kiln's kernels elsewhere) fail "
                 "without a GPU")
      ->check(CLI::IsMember({"auto", "cuda", "cudnn", "cpu"}))
      ->capture_default_str();
  app.add_option("--threads", command.threads,
                 "Threads of the CPU backend (default: OMP_NUM_THREADS where set, else every "
                 "core). Results are bit for bit the same for any count")
      ->transform(number_check<std::uint64_t>("a whole number from 1 to 1024",
                                              [](std::uint64_t v) { return v >= 1 && v <= 1024; }));
  app.add_option("--cuda-graph", command.cuda_graph,
                 "on: capture each training step once as a CUDA graph and replay it (default on "
                 "a GPU); off: launch every kernel of every step")
      ->check(CLI::IsMember({"on", "off"}));
  app.add_option("--fuse", fuse,
                 "on: run neighbouring ops as one kernel where the engine can (ReLU into max "
                 "pooling: the same results, fewer passes over memory, a smaller arena); off: "
                 "every layer on its own")
      ->check(CLI::IsMember({"on", "off"}))
      ->capture_default_str();
  // Caffe's per-layer engine, per op family: one run can mix kiln's kernels with cuDNN's.
  for (const OpFamily family : kOpFamilies) {
    const std::string_view name = op_family_name(family);
    app.add_option(engine_flag(family), command.engines[static_cast<std::size_t>(family)],
                   fmt::format("Engine of the {} ops: custom or cudnn (default: the backend's; "
                               "--backend cuda or cudnn only)",
                               name))
        ->check(CLI::IsMember({"custom", "cudnn"}));
  }
  const auto whole_at_least_1 = number_check<std::uint64_t>(
      "a whole number of at least 1", [](std::uint64_t v) { return v >= 1 && v <= INT32_MAX; });
  const auto whole_at_least_0 = number_check<std::uint64_t>(
      "a whole number of at least 0", [](std::uint64_t v) { return v <= INT64_MAX; });
  app.add_option("--epochs", options.epochs, "Epochs to train (recipe: 15)")
      ->transform(whole_at_least_1);
  app.add_option("--batch-size", options.batch_size, "Images per batch (recipe: 32 or 20)")
      ->transform(number_check<std::uint64_t>(
          "a whole number from 1 to 65536", [](std::uint64_t v) { return v >= 1 && v <= 65536; }));
  app.add_option("--lr", options.learning_rate, "Learning rate (recipe: 1e-3 or 0.04)")
      ->transform(number_check<double>("a positive finite number",
                                       [](double v) { return v > 0 && std::isfinite(v); }));
  app.add_option("--optimizer", optimizer, "sgd or adam (recipe: adam or sgd)")
      ->check(CLI::IsMember({"sgd", "adam"}));
  app.add_option("--dropout", options.dropout, "Dropout probability of mnist-cnn (recipe: 0.3)")
      ->transform(number_check<double>("a probability in [0, 1)", [](double v) {
        // As the float it is stored in, too: 0.99999999999 rounds to 1.
        return v >= 0 && v < 1 && static_cast<float>(v) < 1;
      }));
  app.add_option("--seed", options.seed,
                 "Keys initialisation, split, shuffles and dropout (default 0)")
      ->transform(number_check<std::uint64_t>("a whole number from 0 to 2^64 - 1",
                                              [](std::uint64_t) { return true; }));
  app.add_flag("--no-shuffle", no_shuffle, "Take the training batches in file order");
  app.add_option("--max-steps", options.max_steps,
                 "Stop after N optimizer steps in all, then evaluate and save as usual")
      ->transform(whole_at_least_0);
  app.add_option("--eval-limit", options.eval_limit,
                 "Evaluate on the first N images of each evaluation set only (quick checks)")
      ->transform(whole_at_least_0);
  app.add_option("--init", options.init,
                 "Start from these weights (kiln's, or a PyTorch state_dict in safetensors)")
      ->check(CLI::ExistingFile);
  app.add_option("--save", options.save,
                 "Write the weights here (best on validation, else final) and the training "
                 "state beside them (W.state.safetensors)");
  app.add_option("--resume", options.resume,
                 "Continue the run of this training state, exactly where it stopped")
      ->check(CLI::ExistingFile);
  app.add_option("--metrics", options.metrics, "Write per-epoch metrics here (JSON Lines)");
  app.add_option("--predictions", options.predictions,
                 "Write every test image's label, prediction and probabilities here (CSV)");
  app.add_flag("--quiet", options.quiet, "Print only the final result");
  app.add_flag("--time-layers", command.time_layers,
               "Instead of training, time one batch's step layer by layer (as caffe time): mean "
               "forward and backward milliseconds per layer, the loss and the optimizer step");
  auto* time_iterations =
      app.add_option("--time-iterations", command.time_iterations,
                     "Steps --time-layers averages over, after one warm-up step (default 20)")
          ->transform(
              number_check<std::uint64_t>("a whole number from 1 to 100000",
                                          [](std::uint64_t v) { return v >= 1 && v <= 100000; }));

  CLI::App* predict_command = app.add_subcommand(
      "predict", "Classify one image with saved weights: the three most probable classes");
  predict_command->add_option("--model", predict_options.model, "The network the weights are of")
      ->check(CLI::IsMember({"mnist-cnn", "fashion-lenet"}))
      ->capture_default_str();
  predict_command->add_option("--weights", predict_options.weights, "Weights saved by --save")
      ->required()
      ->check(CLI::ExistingFile);
  auto* image_option =
      predict_command
          ->add_option("--image", predict_options.image,
                       "An image file of any size (PNG, PGM, JPEG, BMP), made 28x28 as MNIST's "
                       "were: fitted to 20x20, centred by its centre of mass")
          ->check(CLI::ExistingFile);
  auto* idx_option = predict_command
                         ->add_option("--idx", predict_options.idx,
                                      "An IDX images file (raw or .gz); --index picks the image")
                         ->check(CLI::ExistingFile);
  predict_command
      ->add_option("--index", predict_options.index,
                   "Which image of --idx, or of the model's test set when neither --image nor "
                   "--idx is given (default 0)")
      ->transform(whole_at_least_0)
      ->excludes(image_option);
  image_option->excludes(idx_option);
  predict_command->add_option("--data", predict_options.data_dir,
                              "The dataset folder whose test set --index reads");
  predict_command->add_option("--backend", backend, "auto, cuda, cudnn or cpu, as for training")
      ->check(CLI::IsMember({"auto", "cuda", "cudnn", "cpu"}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    command.kind = Command::Kind::help;
    command.help = app.help();
    return command;
  } catch (const CLI::ParseError& error) {
    throw UsageError(fmt::format("{} (see --help)", error.what()));
  }
  if (command.cuda_graph == "on" && backend == "cpu") {
    throw UsageError(
        "--cuda-graph on: needs a GPU backend; --backend cpu launches each step (see "
        "--help)");
  }
  for (const OpFamily family : kOpFamilies) {
    const std::string& engine = command.engines[static_cast<std::size_t>(family)];
    if (!engine.empty() && backend != "cuda" && backend != "cudnn") {
      throw UsageError(
          fmt::format("{} {}: engines are chosen on the GPU only; add --backend cuda "
                      "or --backend cudnn (got --backend {})",
                      engine_flag(family), engine, backend));
    }
  }
  options.fuse = fuse == "on";
  if (time_iterations->count() > 0 && !command.time_layers) {
    throw UsageError("--time-iterations: only with --time-layers (see --help)");
  }
  if (no_shuffle) options.shuffle = false;
  if (!optimizer.empty()) {
    options.optimizer = optimizer == "adam" ? OptimizerKind::adam : OptimizerKind::sgd;
  }
  command.model_given = app.get_option("--model")->count() > 0;
  if (predict_command->parsed()) command.kind = Command::Kind::predict;
  return command;
}

}  // namespace kiln::app
