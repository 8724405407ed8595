#include "models/train_settings.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>

namespace kiln::models {
namespace {

namespace fs = std::filesystem;

// A setting given on the command line must agree with the state being resumed.
template <typename T>
void merge_setting(const std::optional<T>& given, T& setting, const char* flag, bool resuming,
                   const std::string& state_text, const std::string& given_text) {
  if (!given) return;
  if (resuming && *given != setting) {
    throw UsageError(fmt::format("{} {} disagrees with the training state being resumed ({})", flag,
                                 given_text, state_text));
  }
  setting = *given;
}

// Output paths are checked before training, so that a typo does not cost an epoch.
void check_output_path(const fs::path& path, const char* flag) {
  if (path.empty()) return;
  if (fs::is_directory(path)) {
    throw std::runtime_error(fmt::format("{} {}: is a directory", flag, path.string()));
  }
  const fs::path folder = path.has_parent_path() ? path.parent_path() : fs::path(".");
  if (!fs::is_directory(folder)) {
    throw std::runtime_error(
        fmt::format("{} {}: folder {} does not exist", flag, path.string(), folder.string()));
  }
  if (::access(folder.c_str(), W_OK) != 0) {
    throw std::runtime_error(
        fmt::format("{} {}: folder {} is not writable", flag, path.string(), folder.string()));
  }
}

}  // namespace

Settings settle_settings(const TrainOptions& options, const Recipe& recipe,
                         const checkpoint::TrainingState* state) {
  Settings settings{.epochs = recipe.epochs,
                    .batch_size = recipe.batch_size,
                    .learning_rate = recipe.learning_rate,
                    .optimizer = recipe.optimizer,
                    .dropout = recipe.dropout};
  const bool resuming = state != nullptr;
  if (resuming) {
    // States written before a field was recorded lack it: the recipe's value stands.
    const auto recorded = [&](const char* key) { return state->fields.contains(key); };
    if (recorded("epochs")) {
      settings.epochs = static_cast<int>(checkpoint::parse_uint_field(*state, "epochs"));
    }
    if (recorded("max_steps")) {
      settings.max_steps =
          static_cast<std::int64_t>(checkpoint::parse_uint_field(*state, "max_steps"));
    }
    if (recorded("eval_limit")) {
      settings.eval_limit =
          static_cast<std::int64_t>(checkpoint::parse_uint_field(*state, "eval_limit"));
    }
    settings.batch_size = static_cast<int>(checkpoint::parse_uint_field(*state, "batch_size"));
    settings.learning_rate = checkpoint::parse_double_field(*state, "learning_rate");
    settings.optimizer = checkpoint::string_field(*state, "optimizer") == "adam"
                             ? OptimizerKind::adam
                             : OptimizerKind::sgd;
    settings.dropout = static_cast<float>(checkpoint::parse_double_field(*state, "dropout"));
    settings.seed = checkpoint::parse_uint_field(*state, "seed");
    settings.shuffle = checkpoint::parse_uint_field(*state, "shuffle") != 0;
  }
  // Extending a run: more epochs or steps than it had, never fewer than it has trained.
  if (options.epochs) {
    const int trained =
        resuming ? static_cast<int>(checkpoint::parse_uint_field(*state, "epoch")) : 0;
    if (*options.epochs < trained) {
      throw UsageError(
          fmt::format("--epochs {}: the training state being resumed has already trained {} epochs",
                      *options.epochs, trained));
    }
    settings.epochs = *options.epochs;
  }
  if (options.max_steps) settings.max_steps = *options.max_steps;
  merge_setting(options.eval_limit, settings.eval_limit, "--eval-limit", resuming,
                fmt::format("{}", settings.eval_limit),
                fmt::format("{}", options.eval_limit.value_or(0)));
  merge_setting(options.batch_size, settings.batch_size, "--batch-size", resuming,
                fmt::format("{}", settings.batch_size),
                fmt::format("{}", options.batch_size.value_or(0)));
  merge_setting(options.learning_rate, settings.learning_rate, "--lr", resuming,
                fmt::format("{}", settings.learning_rate),
                fmt::format("{}", options.learning_rate.value_or(0)));
  merge_setting(options.optimizer, settings.optimizer, "--optimizer", resuming,
                optimizer_name(settings.optimizer),
                optimizer_name(options.optimizer.value_or(OptimizerKind::sgd)));
  if (options.dropout && recipe.dropout == 0) {
    throw UsageError(fmt::format("--dropout: {} has no dropout layers", recipe.model));
  }
  merge_setting(options.dropout, settings.dropout, "--dropout", resuming,
                fmt::format("{}", settings.dropout),
                fmt::format("{}", options.dropout.value_or(0)));
  merge_setting(options.seed, settings.seed, "--seed", resuming, fmt::format("{}", settings.seed),
                fmt::format("{}", options.seed.value_or(0)));
  merge_setting(options.shuffle, settings.shuffle, "--no-shuffle", resuming,
                settings.shuffle ? "shuffled" : "not shuffled",
                options.shuffle.value_or(true) ? "shuffled" : "not shuffled");
  if (settings.epochs < 1) throw UsageError("--epochs must be at least 1");
  if (settings.batch_size < 1) throw UsageError("--batch-size must be at least 1");
  if (!(settings.dropout >= 0 && settings.dropout < 1)) {
    throw UsageError("--dropout must be in [0, 1)");
  }
  if (!(settings.learning_rate > 0) || !std::isfinite(settings.learning_rate)) {
    throw UsageError("--lr must be a positive number");
  }
  if (!options.init.empty() && resuming) {
    throw UsageError("--init and --resume both set the weights; give one");
  }
  check_output_path(options.save, "--save");
  if (!options.save.empty()) check_output_path(state_path_for(options.save), "--save");
  check_output_path(options.metrics, "--metrics");
  check_output_path(options.predictions, "--predictions");

  return settings;
}

}  // namespace kiln::models
