// The training loop, as Caffe's Solver: the settings, then epochs of steps of the ModelStep with
// their log windows, Ctrl-C, evaluations, best weights, metrics and training states.
#include "models/trainer.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <stdexcept>

#include "models/networks.h"
#include "models/train_settings.h"
#include "models/trainer_impl.h"
#include "runtime/nvtx.h"

namespace kiln::models {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

StepSpec training_step(std::string_view model, const Settings& settings, bool fuse) {
  return StepSpec{.model = model,
                  .batch = settings.batch_size,
                  .dropout = settings.dropout,
                  .fuse = fuse,
                  .optimizer = OptimizerSettings{settings.optimizer, settings.learning_rate}};
}

}  // namespace

Trainer::Impl::Impl(const TrainOptions& options, const Recipe& recipe, const Settings& settings,
                    Backend& backend, const Datasets& datasets, std::FILE* log)
    : options(options),
      recipe(recipe),
      progress(options.quiet ? nullptr : log),
      summary_log(log),
      data(datasets, recipe.validation_images, settings.seed),
      step(training_step(options.model, settings, options.fuse), backend) {}

Trainer::Trainer(const TrainOptions& options, Backend& backend, Allocator& allocator,
                 const Datasets& datasets, std::FILE* log) {
  const Recipe& recipe = recipe_for(options.model);
  std::optional<checkpoint::TrainingState> state;
  if (!options.resume.empty()) {
    state = checkpoint::load_training_state(options.resume, options.model);
  }
  settings_ = settle_settings(options, recipe, state ? &*state : nullptr);

  // The plan: the step's model and batch buffers, the data, the log window's buffers.
  impl_ = std::make_unique<Impl>(options, recipe, settings_, backend, datasets, log);
  Impl& run = *impl_;
  MemoryPlan& plan = run.step.plan();
  run.data.reserve(plan, backend, settings_.shuffle);
  const Reservation losses =
      plan.reserve("batch losses", MemoryCategory::step_state, DType::f32, Shape{run.window()});
  const Reservation correct =
      plan.reserve("correct counts", MemoryCategory::step_state, DType::i64, Shape{2});
  const Arena& arena = run.step.allocate(allocator);
  run.losses = arena.tensor(losses);
  run.correct = arena.tensor(correct);
  run.losses_host.resize(static_cast<std::size_t>(run.window()));
  run.data.upload(run.step);

  // The parameters: drawn from the seed, or loaded.
  if (state) {
    restore(*state);
  } else if (!options.init.empty()) {
    run.step.load_weights(options.init);
  } else {
    run.step.initialize_weights(settings_.seed);
  }
  run.step.set_counters(settings_.seed, static_cast<std::uint64_t>(run.steps));
  run.step_runner = options.step_runner != nullptr ? options.step_runner : &run.direct_runner;
}

Trainer::~Trainer() = default;

const Graph& Trainer::graph() const { return impl_->step.graph(); }

const MemoryPlan& Trainer::memory_plan() const { return impl_->step.memory_plan(); }

std::vector<checkpoint::NamedTensor> Trainer::weights() const { return impl_->step.weights(); }

std::int64_t Trainer::batches_per_epoch() const {
  return (impl_->data.train_count() + settings_.batch_size - 1) / settings_.batch_size;
}

void Trainer::train_step(std::int64_t batch) {
  Impl& run = *impl_;
  const std::int64_t first = batch * settings_.batch_size;
  const std::int64_t rows =
      std::min<std::int64_t>(settings_.batch_size, run.data.train_count() - first);
  {
    static const NvtxName range_name{"gather batch"};
    const NvtxRange range{range_name};
    run.step.gather(run.data.train_images(), run.data.train_labels(),
                    run.data.epoch_order().i32() + first, rows);
  }
  // Two words of capture fit std::function's own storage: running a step allocates nothing.
  run.step_runner->run(rows, [this, rows] { forward_backward_update(rows); });
  run.allocator().copy(run.losses.f32() + run.window_used, run.step.loss_value(), sizeof(float));
  ++run.window_used;
  ++run.steps;
  ++run.epoch_batches;
  run.epoch_images += rows;
}

// The same work on the same buffers for every batch of `rows` rows: what a CUDA graph replays.
void Trainer::forward_backward_update(std::int64_t rows) {
  ModelStep& step = impl_->step;
  step.forward(rows, true);
  step.loss(rows, nullptr, true);
  step.count_correct(rows, impl_->correct.i64());
  step.backward(rows);
  step.update();
}

TrainReport Trainer::run() {
  Impl& run = *impl_;
  TrainReport report;
  // Opened at the first epoch's line, so a run that fails before it leaves an old file alone.
  std::ofstream metrics;
  bool stopped = false;
  while (run.epoch < settings_.epochs && !stopped) {
    run.data.start_epoch(run.backend(), settings_.seed, run.epoch);
    if (run.next_batch == 0) {
      run.epoch_loss_sum = 0;
      run.epoch_batches = 0;
      run.epoch_images = 0;
      const std::int64_t zero = 0;
      run.allocator().copy_from_host(run.correct.data, &zero, sizeof zero);
    }
    const std::int64_t images_before = run.epoch_images;
    run.progress.start_epoch(run.epoch + 1, settings_.epochs, batches_per_epoch(), run.next_batch);
    const auto start = Clock::now();
    stopped = train_epoch(images_before);
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    run.progress.end_epoch();
    if (run.epoch_batches == 0) break;  // stopped before the first step of this epoch
    report.epochs.push_back(finish_epoch(seconds, images_before, metrics));
  }
  report.steps = run.steps;
  report_test(report);
  return report;
}

bool Trainer::train_epoch(std::int64_t images_before) {
  Impl& run = *impl_;
  const std::int64_t batches = batches_per_epoch();
  const int log_every = run.recipe.log_every_batches;
  double window_sum = 0;
  std::int64_t window_batches = 0;
  bool stopped = false;
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
      run.allocator().copy_to_host(&correct, run.correct.data, sizeof correct);
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
      stop_interrupted();
    }
  }
  read_losses(&window_sum);
  run.epoch_loss_sum += window_sum;
  return stopped;
}

EpochMetrics Trainer::finish_epoch(double train_seconds, std::int64_t images_before,
                                   std::ofstream& metrics) {
  Impl& run = *impl_;
  EpochMetrics line;
  line.epoch = run.epoch + 1;
  line.train_loss = run.epoch_loss_sum / static_cast<double>(run.epoch_batches);
  std::int64_t correct = 0;
  run.allocator().copy_to_host(&correct, run.correct.data, sizeof correct);
  line.train_accuracy = static_cast<double>(correct) / static_cast<double>(run.epoch_images);
  line.epoch_seconds = train_seconds;
  line.images_per_second =
      static_cast<double>(run.epoch_images - images_before) / std::max(train_seconds, 1e-9);
  run.trained_seconds += train_seconds;
  run.trained_images += run.epoch_images - images_before;
  const bool complete = run.next_batch == batches_per_epoch();
  // A resumed run must continue as if never stopped, so a stop inside an epoch records the
  // state before the evaluation below can change what is best.
  const bool saving = !run.options.save.empty();
  std::optional<checkpoint::TrainingState> state;
  if (saving && !complete) state = training_state();

  const EvaluationSet validation = run.data.validation();
  if (validation.count > 0) {
    line.validation = evaluate(validation, nullptr);
    run.progress.print(fmt::format("Epoch: {} \tTraining Loss: {:.6f} \tValidation Loss: {:.6f}",
                                   run.epoch + 1, line.train_loss, line.validation->loss));
    if (line.validation->loss <= run.best_validation_loss) {
      run.progress.print(
          fmt::format("Validation loss decreased ({:.6f} --> {:.6f}).  Saving model ...",
                      run.best_validation_loss, line.validation->loss));
      run.best_validation_loss = line.validation->loss;
      run.best_epoch = run.epoch + 1;
      run.best_weights = weights();
      save_weights(run.best_weights);
    }
  } else if (saving) {
    save_weights(weights());
  }
  line.test = evaluate(run.data.test(), nullptr);
  run.progress.print(fmt::format(
      "epoch {}/{}: train loss {:.4f}, accuracy {:.2f}%{}; test loss {:.4f}, accuracy "
      "{:.2f}%; {:.1f} s ({:.0f} images/s){}",
      run.epoch + 1, settings_.epochs, line.train_loss, 100 * line.train_accuracy,
      line.validation ? fmt::format("; validation loss {:.4f}, accuracy {:.2f}%",
                                    line.validation->loss, 100 * line.validation->accuracy())
                      : "",
      line.test.loss, 100 * line.test.accuracy(), train_seconds, line.images_per_second,
      complete ? "" : " [stopped inside the epoch]"));
  write_metrics(metrics, line);
  if (complete) {
    ++run.epoch;
    run.next_batch = 0;
    if (saving) state = training_state();
  }
  if (saving) checkpoint::save_training_state(state_path_for(run.options.save), *state);
  return line;
}

std::string Trainer::summary() const {
  const Impl& run = *impl_;
  const ModelStep& step = run.step;
  std::string text = fmt::format("model {}\n{}", run.recipe.model, step.graph().summary());
  text += fmt::format("loss {}, optimizer {}, batch {}, {} epochs, {}seed {}, {}\n",
                      step.loss_function().describe(), step.optimizer().describe(),
                      settings_.batch_size, settings_.epochs,
                      run.recipe.dropout > 0 ? fmt::format("dropout {}, ", settings_.dropout) : "",
                      settings_.seed, settings_.shuffle ? "shuffled each epoch" : "in file order");
  text += fmt::format("data: {} training images ({} batches), {} validation, {} test\n",
                      run.data.train_count(), batches_per_epoch(), run.data.validation_count(),
                      run.data.test_count());
  text += fmt::format("memory plan ({} backend): {}\n", step.backend().name(),
                      step.memory_plan().summary());
  text += fmt::format("each step: {}\n", run.step_runner->describe());
  return text;
}

}  // namespace kiln::models
