#include "models/trainer.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <numeric>
#include <stdexcept>

#include "models/image_size.h"
#include "models/networks.h"
#include "models/progress.h"
#include "models/trainer_impl.h"
#include "runtime/data/datasets.h"
#include "runtime/data/sampling.h"
#include "runtime/graph/init.h"
#include "runtime/nvtx.h"

namespace kiln::models {
namespace {

namespace fs = std::filesystem;
using checkpoint::NamedTensor;
using Clock = std::chrono::steady_clock;

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

// The flags that continue an interrupted run: the state holds its settings, not the files
// it writes besides its weights.
std::string resume_command(const TrainOptions& options, const fs::path& state) {
  std::string command = "--resume " + state.string();
  if (!options.metrics.empty()) command += " --metrics " + options.metrics.string();
  if (!options.predictions.empty()) command += " --predictions " + options.predictions.string();
  return command;
}

}  // namespace

Datasets load_datasets(const fs::path& folder) {
  Datasets datasets{data::load_split(folder, data::Split::train),
                    data::load_split(folder, data::Split::test)};
  for (const auto& [split, dataset] : {std::pair{data::Split::train, &datasets.train},
                                       std::pair{data::Split::test, &datasets.test}}) {
    require_model_image_size(dataset->images, data::split_files(folder, split).images.string());
  }
  return datasets;
}

fs::path state_path_for(const fs::path& weights) {
  fs::path state = weights;
  return state.replace_extension(".state.safetensors");
}

std::string metrics_json_line(const EpochMetrics& metrics) {
  nlohmann::json line = {{"epoch", metrics.epoch},
                         {"train_loss", metrics.train_loss},
                         {"train_acc", metrics.train_accuracy},
                         {"val_loss", nullptr},
                         {"val_acc", nullptr},
                         {"test_loss", metrics.test.loss},
                         {"test_acc", metrics.test.accuracy()},
                         {"epoch_seconds", metrics.epoch_seconds},
                         {"images_per_second", metrics.images_per_second}};
  if (metrics.validation) {
    line["val_loss"] = metrics.validation->loss;
    line["val_acc"] = metrics.validation->accuracy();
  }
  return line.dump();
}

Trainer::Trainer(const TrainOptions& options, Backend& backend, Allocator& allocator,
                 const Datasets& datasets, std::FILE* log)
    : impl_(std::make_unique<Impl>(options, backend, allocator, datasets, log)) {
  Impl& run = *impl_;
  const Recipe& recipe = run.recipe;
  if (backend.memory_space() != allocator.space()) {
    throw std::logic_error("the allocator's memory is not the backend's");
  }

  // Settings: the recipe's, then the resumed state's, then the flags.
  std::optional<checkpoint::TrainingState> state;
  if (!options.resume.empty()) {
    state = checkpoint::load_training_state(options.resume, options.model);
  }
  settings_ = Settings{.epochs = recipe.epochs,
                       .batch_size = recipe.batch_size,
                       .learning_rate = recipe.learning_rate,
                       .optimizer = recipe.optimizer,
                       .dropout = recipe.dropout};
  const bool resuming = state.has_value();
  if (resuming) {
    // States written before a field was recorded lack it: the recipe's value stands.
    const auto recorded = [&](const char* key) { return state->fields.contains(key); };
    if (recorded("epochs")) {
      settings_.epochs = static_cast<int>(checkpoint::parse_uint_field(*state, "epochs"));
    }
    if (recorded("max_steps")) {
      settings_.max_steps =
          static_cast<std::int64_t>(checkpoint::parse_uint_field(*state, "max_steps"));
    }
    if (recorded("eval_limit")) {
      settings_.eval_limit =
          static_cast<std::int64_t>(checkpoint::parse_uint_field(*state, "eval_limit"));
    }
    settings_.batch_size = static_cast<int>(checkpoint::parse_uint_field(*state, "batch_size"));
    settings_.learning_rate = checkpoint::parse_double_field(*state, "learning_rate");
    settings_.optimizer = checkpoint::string_field(*state, "optimizer") == "adam"
                              ? OptimizerKind::adam
                              : OptimizerKind::sgd;
    settings_.dropout = static_cast<float>(checkpoint::parse_double_field(*state, "dropout"));
    settings_.seed = checkpoint::parse_uint_field(*state, "seed");
    settings_.shuffle = checkpoint::parse_uint_field(*state, "shuffle") != 0;
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
    settings_.epochs = *options.epochs;
  }
  if (options.max_steps) settings_.max_steps = *options.max_steps;
  merge_setting(options.eval_limit, settings_.eval_limit, "--eval-limit", resuming,
                fmt::format("{}", settings_.eval_limit),
                fmt::format("{}", options.eval_limit.value_or(0)));
  merge_setting(options.batch_size, settings_.batch_size, "--batch-size", resuming,
                fmt::format("{}", settings_.batch_size),
                fmt::format("{}", options.batch_size.value_or(0)));
  merge_setting(options.learning_rate, settings_.learning_rate, "--lr", resuming,
                fmt::format("{}", settings_.learning_rate),
                fmt::format("{}", options.learning_rate.value_or(0)));
  merge_setting(options.optimizer, settings_.optimizer, "--optimizer", resuming,
                optimizer_name(settings_.optimizer),
                optimizer_name(options.optimizer.value_or(OptimizerKind::sgd)));
  if (options.dropout && recipe.dropout == 0) {
    throw UsageError(fmt::format("--dropout: {} has no dropout layers", recipe.model));
  }
  merge_setting(options.dropout, settings_.dropout, "--dropout", resuming,
                fmt::format("{}", settings_.dropout),
                fmt::format("{}", options.dropout.value_or(0)));
  merge_setting(options.seed, settings_.seed, "--seed", resuming, fmt::format("{}", settings_.seed),
                fmt::format("{}", options.seed.value_or(0)));
  merge_setting(options.shuffle, settings_.shuffle, "--no-shuffle", resuming,
                settings_.shuffle ? "shuffled" : "not shuffled",
                options.shuffle.value_or(true) ? "shuffled" : "not shuffled");
  if (settings_.epochs < 1) throw UsageError("--epochs must be at least 1");
  if (settings_.batch_size < 1) throw UsageError("--batch-size must be at least 1");
  if (!(settings_.dropout >= 0 && settings_.dropout < 1)) {
    throw UsageError("--dropout must be in [0, 1)");
  }
  if (!(settings_.learning_rate > 0) || !std::isfinite(settings_.learning_rate)) {
    throw UsageError("--lr must be a positive number");
  }
  if (!options.init.empty() && resuming) {
    throw UsageError("--init and --resume both set the weights; give one");
  }
  check_output_path(options.save, "--save");
  if (!options.save.empty()) check_output_path(state_path_for(options.save), "--save");
  check_output_path(options.metrics, "--metrics");
  check_output_path(options.predictions, "--predictions");

  // The data: 28x28 images of the model's classes; the recipe's validation split.
  for (const data::Dataset* dataset : {&datasets.train, &datasets.test}) {
    require_model_image_size(dataset->images, "data");
    if (dataset->images.count < 1) throw std::runtime_error("data: a split holds no images");
  }
  const std::int64_t train_file_count = datasets.train.images.count;
  if (recipe.validation_images > 0) {
    if (train_file_count <= recipe.validation_images) {
      throw std::runtime_error(
          fmt::format("data: {} training images cannot give {} for validation and some to train",
                      train_file_count, recipe.validation_images));
    }
    auto split =
        data::split_train_validation(train_file_count, recipe.validation_images, settings_.seed);
    run.train_images_index = std::move(split.train);
    run.validation_index = std::move(split.validation);
  } else {
    run.train_images_index.resize(static_cast<std::size_t>(train_file_count));
    std::iota(run.train_images_index.begin(), run.train_images_index.end(), 0);
  }

  // The plan: everything a step touches, before anything is allocated.
  build_model(options.model, graph_, settings_.dropout);
  graph_.set_fusion(options.fuse);
  const std::int64_t batch = settings_.batch_size;
  const Shape input{batch, 1, kImageSide, kImageSide};
  graph_.plan(backend, input, plan_);
  run.loss.check(graph_.output_shape());
  run.optimizer.emplace(settings_.optimizer, settings_.learning_rate);
  const auto parameters = graph_.parameters();
  run.optimizer->plan(parameters, plan_);

  const auto image_shape = [](std::int64_t count) { return Shape{count, kImageSide, kImageSide}; };
  const std::int64_t test_count = datasets.test.images.count;
  const auto validation_count = static_cast<std::int64_t>(run.validation_index.size());
  run.r_train_images =
      plan_.reserve("train images", MemoryCategory::data, DType::u8, image_shape(train_file_count));
  run.r_train_labels =
      plan_.reserve("train labels", MemoryCategory::data, DType::u8, Shape{train_file_count});
  run.r_test_images =
      plan_.reserve("test images", MemoryCategory::data, DType::u8, image_shape(test_count));
  run.r_test_labels =
      plan_.reserve("test labels", MemoryCategory::data, DType::u8, Shape{test_count});
  run.r_train_split =
      plan_.reserve("training split", MemoryCategory::data, DType::i32, Shape{run.train_count()});
  run.r_epoch_order =
      plan_.reserve("epoch order", MemoryCategory::data, DType::i32, Shape{run.train_count()});
  run.r_shuffle_workspace = plan_.reserve_bytes(
      "shuffle workspace", MemoryCategory::workspace,
      settings_.shuffle ? backend.shuffle_workspace_bytes(run.train_count()) : 0);
  run.r_validation_order = plan_.reserve("validation order", MemoryCategory::data, DType::i32,
                                         Shape{std::max<std::int64_t>(validation_count, 1)});
  run.r_test_order =
      plan_.reserve("test order", MemoryCategory::data, DType::i32, Shape{test_count});
  run.r_x = plan_.reserve("batch images", MemoryCategory::step_state, DType::f32, input);
  run.r_y = plan_.reserve("batch labels", MemoryCategory::step_state, DType::i32, Shape{batch});
  run.r_dlogits = plan_.reserve("logit gradients", MemoryCategory::step_state, DType::f32,
                                graph_.output_shape());
  run.r_step_loss = plan_.reserve("step loss", MemoryCategory::step_state, DType::f32, Shape{1});
  run.r_losses =
      plan_.reserve("batch losses", MemoryCategory::step_state, DType::f32, Shape{run.window()});
  // [0]: correct predictions of the epoch's training batches; [1]: of an evaluation.
  run.r_correct = plan_.reserve("correct counts", MemoryCategory::step_state, DType::i64, Shape{2});
  run.r_counters =
      plan_.reserve_bytes("step counters", MemoryCategory::step_state, sizeof(StepCounters));

  run.arena = std::make_unique<Arena>(allocator, plan_);
  const Arena& arena = *run.arena;
  graph_.bind(arena);
  run.optimizer->bind(arena, parameters);
  run.train_images = arena.tensor(run.r_train_images);
  run.train_labels = arena.tensor(run.r_train_labels);
  run.test_images = arena.tensor(run.r_test_images);
  run.test_labels = arena.tensor(run.r_test_labels);
  run.train_split = arena.tensor(run.r_train_split);
  run.epoch_order = arena.tensor(run.r_epoch_order);
  run.shuffle_workspace = arena.bytes(run.r_shuffle_workspace);
  run.validation_order = arena.tensor(run.r_validation_order);
  run.test_order = arena.tensor(run.r_test_order);
  run.x = arena.tensor(run.r_x);
  run.y = arena.tensor(run.r_y);
  run.dlogits = arena.tensor(run.r_dlogits);
  run.step_loss = arena.tensor(run.r_step_loss);
  run.losses = arena.tensor(run.r_losses);
  run.correct = arena.tensor(run.r_correct);
  run.counters = static_cast<StepCounters*>(arena.tensor(run.r_counters).data);
  run.losses_host.resize(static_cast<std::size_t>(run.window()));

  // The dataset goes to the backend's memory once, as uint8.
  allocator.copy_from_host(run.train_images.data, datasets.train.images.pixels.data(),
                           run.train_images.bytes());
  allocator.copy_from_host(run.train_labels.data, datasets.train.labels.data(),
                           run.train_labels.bytes());
  allocator.copy_from_host(run.test_images.data, datasets.test.images.pixels.data(),
                           run.test_images.bytes());
  allocator.copy_from_host(run.test_labels.data, datasets.test.labels.data(),
                           run.test_labels.bytes());
  allocator.copy_from_host(run.train_split.data, run.train_images_index.data(),
                           run.train_split.bytes());
  std::vector<std::int32_t> test_order(static_cast<std::size_t>(test_count));
  std::iota(test_order.begin(), test_order.end(), 0);
  allocator.copy_from_host(run.test_order.data, test_order.data(), run.test_order.bytes());
  allocator.copy_from_host(run.validation_order.data, run.validation_index.data(),
                           run.validation_index.size() * sizeof(std::int32_t));

  // The parameters: drawn from the seed, or loaded.
  if (resuming) {
    restore(*state);
  } else if (!options.init.empty()) {
    load_parameters(options.init, options.model, parameters, allocator);
  } else {
    initialize_parameters(parameters, settings_.seed, allocator);
  }
  const StepCounters counters{settings_.seed, static_cast<std::uint64_t>(run.steps)};
  allocator.copy_from_host(run.counters, &counters, sizeof counters);
  run.step_runner = options.step_runner != nullptr ? options.step_runner : &run.direct_runner;
}

Trainer::~Trainer() = default;

std::int64_t Trainer::batches_per_epoch() const {
  return (impl_->train_count() + settings_.batch_size - 1) / settings_.batch_size;
}

// The epoch's order of training images: the split's, shuffled by (seed, epoch) on the backend
// unless asked not to.
void Trainer::start_epoch() {
  Impl& run = *impl_;
  if (!settings_.shuffle) {
    run.epoch_order = run.train_split;
    return;
  }
  run.backend.shuffle_indices(run.train_count(), settings_.seed, data::kShuffleStream,
                              static_cast<std::uint64_t>(run.epoch), run.train_split.i32(),
                              run.epoch_order.i32(), run.shuffle_workspace);
}

void Trainer::train_step(std::int64_t batch) {
  Impl& run = *impl_;
  Backend& backend = run.backend;
  const std::int64_t first = batch * settings_.batch_size;
  const std::int64_t rows = std::min<std::int64_t>(settings_.batch_size, run.train_count() - first);
  const Tensor x = first_rows(run.x, rows);
  const Tensor y = first_rows(run.y, rows);
  {
    static const NvtxName range_name{"gather batch"};
    const NvtxRange range{range_name};
    backend.gather_batch(run.train_images.u8(), run.train_labels.u8(), kImageElements,
                         run.epoch_order.i32() + first, static_cast<int>(rows), x.f32(), y.i32());
  }
  // Two words of capture fit std::function's own storage: running a step allocates nothing.
  run.step_runner->run(rows, [this, rows] { forward_backward_update(rows); });
  run.allocator.copy(run.losses.f32() + run.window_used, run.step_loss.data, sizeof(float));
  ++run.window_used;
  ++run.steps;
  ++run.epoch_batches;
  run.epoch_images += rows;
}

// The same work on the same buffers for every batch of `rows` rows: what a CUDA graph replays.
void Trainer::forward_backward_update(std::int64_t rows) {
  Impl& run = *impl_;
  Backend& backend = run.backend;
  const Tensor x = first_rows(run.x, rows);
  const Tensor y = first_rows(run.y, rows);
  const Tensor logits = graph_.forward(backend, run.counters, true, x);
  run.loss.forward(backend, logits, y, run.step_loss.f32(), first_rows(run.dlogits, rows));
  backend.count_correct(static_cast<int>(rows), kClasses, logits.f32(), y.i32(), run.correct.i64());
  graph_.backward(backend, run.counters, first_rows(run.dlogits, rows));
  run.optimizer->step(backend, run.counters);
}

void Trainer::read_losses(double* window_sum) {
  Impl& run = *impl_;
  if (run.window_used == 0) return;
  std::vector<float>& losses = run.losses_host;
  const auto count = static_cast<std::size_t>(run.window_used);
  run.allocator.copy_to_host(losses.data(), run.losses.data, count * sizeof(float));
  for (std::size_t i = 0; i < count; ++i) {
    if (!std::isfinite(losses[i])) {
      throw std::runtime_error(fmt::format(
          "training diverged: the loss is {} at epoch {}, step {}; {} (try a lower --lr)",
          std::isnan(losses[i]) ? "NaN" : "infinite", run.epoch + 1,
          run.steps - run.window_used + static_cast<std::int64_t>(i) + 1, divergence_source()));
    }
    *window_sum += losses[i];
  }
  run.window_used = 0;
}

namespace {

bool all_finite(const std::vector<float>& values) {
  return std::all_of(values.begin(), values.end(), [](float v) { return std::isfinite(v); });
}

}  // namespace

// Where the non-finite values start: the first parameter in model order that holds one, else the
// first layer whose output does on the epoch's first batch (a forward pass that changes nothing
// kept), else the loss itself.
std::string Trainer::divergence_source() {
  Impl& run = *impl_;
  for (const Parameter* parameter : graph_.parameters()) {
    std::vector<float> values(static_cast<std::size_t>(parameter->value.elements()));
    run.allocator.copy_to_host(values.data(), parameter->value.data, parameter->value.bytes());
    if (!all_finite(values)) return fmt::format("parameter {} is not finite", parameter->name);
  }
  const std::int64_t rows = std::min<std::int64_t>(settings_.batch_size, run.train_count());
  const Tensor x = first_rows(run.x, rows);
  const Tensor y = first_rows(run.y, rows);
  run.backend.gather_batch(run.train_images.u8(), run.train_labels.u8(), kImageElements,
                           run.epoch_order.i32(), static_cast<int>(rows), x.f32(), y.i32());
  graph_.forward(run.backend, run.counters, true, x);
  for (std::size_t i = 0; i < graph_.layer_count(); ++i) {
    if (graph_.fused_into_next(i)) continue;  // no output of its own: the next layer's is checked
    const Tensor& output = graph_.last_output(i);
    std::vector<float> values(static_cast<std::size_t>(output.elements()));
    run.allocator.copy_to_host(values.data(), output.data, output.bytes());
    if (!all_finite(values)) {
      return fmt::format("the parameters are finite, but the output of layer {} ({}) is not",
                         graph_.layer(i).name(), graph_.layer(i).describe());
    }
  }
  return "the parameters and every layer's output are finite, the loss is not";
}

Evaluation Trainer::evaluate(const EvaluationSet& set, std::vector<float>* all_logits) {
  Impl& run = *impl_;
  Backend& backend = run.backend;
  const std::int64_t count =
      settings_.eval_limit > 0 ? std::min(set.count, settings_.eval_limit) : set.count;
  const std::int64_t zero = 0;
  run.allocator.copy_from_host(run.correct.i64() + 1, &zero, sizeof zero);
  if (all_logits != nullptr) all_logits->assign(static_cast<std::size_t>(count) * kClasses, 0.0f);
  double loss_sum = 0;
  std::int64_t batches = 0;
  for (std::int64_t first = 0; first < count; first += settings_.batch_size) {
    const std::int64_t rows = std::min<std::int64_t>(settings_.batch_size, count - first);
    const Tensor x = first_rows(run.x, rows);
    const Tensor y = first_rows(run.y, rows);
    backend.gather_batch(set.images.u8(), set.labels.u8(), kImageElements, set.order.i32() + first,
                         static_cast<int>(rows), x.f32(), y.i32());
    const Tensor logits = graph_.forward(backend, run.counters, false, x);
    run.loss.forward(backend, logits, y, run.losses.f32() + run.window_used, Tensor{});
    backend.count_correct(static_cast<int>(rows), kClasses, logits.f32(), y.i32(),
                          run.correct.i64() + 1);
    ++run.window_used;
    ++batches;
    if (all_logits != nullptr) {
      run.allocator.copy_to_host(all_logits->data() + first * kClasses, logits.data,
                                 logits.bytes());
    }
    if (run.window_used == run.window()) read_losses(&loss_sum);
  }
  read_losses(&loss_sum);
  Evaluation evaluation{batches > 0 ? loss_sum / static_cast<double>(batches) : 0, 0, count};
  run.allocator.copy_to_host(&evaluation.correct, run.correct.i64() + 1, sizeof(std::int64_t));
  return evaluation;
}

TrainReport Trainer::run() {
  Impl& run = *impl_;
  TrainReport report;
  // Opened at the first epoch's line, so a run that fails before it leaves an old file alone.
  std::ofstream metrics;
  const EvaluationSet validation{run.train_images, run.train_labels, run.validation_order,
                                 static_cast<std::int64_t>(run.validation_index.size())};
  const EvaluationSet test{run.test_images, run.test_labels, run.test_order,
                           run.datasets.test.images.count};
  const std::int64_t batches = batches_per_epoch();
  const int log_every = run.recipe.log_every_batches;
  bool stopped = false;
  while (run.epoch < settings_.epochs && !stopped) {
    start_epoch();
    if (run.next_batch == 0) {
      run.epoch_loss_sum = 0;
      run.epoch_batches = 0;
      run.epoch_images = 0;
      const std::int64_t zero = 0;
      run.allocator.copy_from_host(run.correct.data, &zero, sizeof zero);
    }
    const std::int64_t images_before = run.epoch_images;
    run.progress.start_epoch(run.epoch + 1, settings_.epochs, batches, run.next_batch);
    const auto start = Clock::now();
    double window_sum = 0;
    std::int64_t window_batches = 0;
    for (std::int64_t batch = run.next_batch; batch < batches; ++batch) {
      if (settings_.max_steps > 0 && run.steps >= settings_.max_steps) {
        stopped = true;
        break;
      }
      train_step(batch);
      run.next_batch = batch + 1;
      ++window_batches;
      const bool log_point = (batch + 1) % log_every == 0;
      if (log_point || run.window_used == run.window()) read_losses(&window_sum);
      if (log_point) {
        std::int64_t correct = 0;
        run.allocator.copy_to_host(&correct, run.correct.data, sizeof correct);
        run.progress.log(batch + 1, run.epoch_images - images_before,
                         window_sum / static_cast<double>(window_batches),
                         static_cast<double>(correct) / static_cast<double>(run.epoch_images));
        run.epoch_loss_sum += window_sum;
        window_sum = 0;
        window_batches = 0;
      } else {
        run.progress.step(batch + 1, run.epoch_images - images_before);
      }
      if (run.options.interrupt != nullptr && *run.options.interrupt != 0) {
        read_losses(&window_sum);
        run.epoch_loss_sum += window_sum;
        run.progress.end_epoch();
        const fs::path state = interrupted_state_path();
        checkpoint::save_training_state(state, training_state());
        throw Interrupted(fmt::format(
            "interrupted in epoch {}, after step {}; the training state is in {}: continue with "
            "{}",
            run.epoch + 1, run.steps, state.string(), resume_command(run.options, state)));
      }
    }
    read_losses(&window_sum);
    run.epoch_loss_sum += window_sum;
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    run.progress.end_epoch();
    if (run.epoch_batches == 0) break;  // stopped before the first step of this epoch

    EpochMetrics metrics_line;
    metrics_line.epoch = run.epoch + 1;
    metrics_line.train_loss = run.epoch_loss_sum / static_cast<double>(run.epoch_batches);
    std::int64_t correct = 0;
    run.allocator.copy_to_host(&correct, run.correct.data, sizeof correct);
    metrics_line.train_accuracy =
        static_cast<double>(correct) / static_cast<double>(run.epoch_images);
    metrics_line.epoch_seconds = seconds;
    metrics_line.images_per_second =
        static_cast<double>(run.epoch_images - images_before) / std::max(seconds, 1e-9);
    run.trained_seconds += seconds;
    run.trained_images += run.epoch_images - images_before;
    const bool complete = run.next_batch == batches;
    // A resumed run must continue as if never stopped, so a stop inside an epoch records the
    // state before the evaluation below can change what is best.
    const bool saving = !run.options.save.empty();
    std::optional<checkpoint::TrainingState> state;
    if (saving && !complete) state = training_state();

    if (validation.count > 0) {
      metrics_line.validation = evaluate(validation, nullptr);
      run.progress.print(fmt::format("Epoch: {} \tTraining Loss: {:.6f} \tValidation Loss: {:.6f}",
                                     run.epoch + 1, metrics_line.train_loss,
                                     metrics_line.validation->loss));
      if (metrics_line.validation->loss <= run.best_validation_loss) {
        run.progress.print(
            fmt::format("Validation loss decreased ({:.6f} --> {:.6f}).  Saving model ...",
                        run.best_validation_loss, metrics_line.validation->loss));
        run.best_validation_loss = metrics_line.validation->loss;
        run.best_epoch = run.epoch + 1;
        run.best_weights = weights();
        save_weights(run.best_weights);
      }
    } else if (saving) {
      save_weights(weights());
    }
    metrics_line.test = evaluate(test, nullptr);
    run.progress.print(fmt::format(
        "epoch {}/{}: train loss {:.4f}, accuracy {:.2f}%{}; test loss {:.4f}, accuracy "
        "{:.2f}%; {:.1f} s ({:.0f} images/s){}",
        run.epoch + 1, settings_.epochs, metrics_line.train_loss, 100 * metrics_line.train_accuracy,
        metrics_line.validation
            ? fmt::format("; validation loss {:.4f}, accuracy {:.2f}%",
                          metrics_line.validation->loss, 100 * metrics_line.validation->accuracy())
            : "",
        metrics_line.test.loss, 100 * metrics_line.test.accuracy(), seconds,
        metrics_line.images_per_second, complete ? "" : " [stopped inside the epoch]"));
    if (!run.options.metrics.empty()) {
      if (!metrics.is_open()) {
        // A resumed run adds its epochs to the lines of the run it continues.
        metrics.open(run.options.metrics,
                     run.options.resume.empty() ? std::ios::trunc : std::ios::app);
      }
      metrics << metrics_json_line(metrics_line) << '\n' << std::flush;
      if (!metrics) {
        throw std::runtime_error(
            fmt::format("--metrics {}: cannot write", run.options.metrics.string()));
      }
    }
    if (complete) {
      ++run.epoch;
      run.next_batch = 0;
      if (saving) state = training_state();
    }
    if (saving) checkpoint::save_training_state(state_path_for(run.options.save), *state);
    report.epochs.push_back(metrics_line);
  }
  report.steps = run.steps;
  report_test(report);
  return report;
}

std::string Trainer::summary() const {
  const Impl& run = *impl_;
  std::string text = fmt::format("model {}\n{}", run.recipe.model, graph_.summary());
  text += fmt::format("loss {}, optimizer {}, batch {}, {} epochs, {}seed {}, {}\n",
                      run.loss.describe(), run.optimizer->describe(), settings_.batch_size,
                      settings_.epochs,
                      run.recipe.dropout > 0 ? fmt::format("dropout {}, ", settings_.dropout) : "",
                      settings_.seed, settings_.shuffle ? "shuffled each epoch" : "in file order");
  text += fmt::format("data: {} training images ({} batches), {} validation, {} test\n",
                      run.train_count(), batches_per_epoch(), run.validation_index.size(),
                      run.datasets.test.images.count);
  text += fmt::format("memory plan ({} backend): {}\n", run.backend.name(), plan_.summary());
  text += fmt::format("each step: {}\n", run.step_runner->describe());
  return text;
}

}  // namespace kiln::models
