// The training loop of both recipes, on any backend: the dataset uploaded once as uint8, each
// epoch's order shuffled where the data lives, then per step a gather, forward, loss, backward and
// optimizer update (replayed as one CUDA graph on a GPU) that neither allocates nor reads anything
// back. Losses and the count of correct
// predictions accumulate in the backend's memory and are read when logged (every
// log_every_batches batches and at the end of an epoch).
#pragma once

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iosfwd>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/usage_error.h"
#include "models/recipe.h"
#include "runtime/checkpoint/checkpoint.h"
#include "runtime/data/idx.h"
#include "runtime/graph/graph.h"
#include "runtime/graph/loss.h"
#include "runtime/graph/optimizer.h"
#include "runtime/memory/arena.h"
#include "runtime/step_runner.h"

namespace kiln::models {

struct EvaluationSet;

// A run stopped by options.interrupt, after saving its training state; what() says where it is
// and how to continue.
class Interrupted : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What a run was asked for. Unset settings come from the recipe, or from the training state when
// resuming: a resumed run is the same run, so a setting given with it must agree with the state's,
// except epochs and max_steps, which may extend the run (kResumeMayChange lists those flags).
struct TrainOptions {
  std::string model = "mnist-cnn";
  std::optional<int> epochs;
  std::optional<int> batch_size;
  std::optional<double> learning_rate;
  std::optional<OptimizerKind> optimizer;
  std::optional<float> dropout;
  std::optional<std::uint64_t> seed;
  std::optional<bool> shuffle;
  std::optional<std::int64_t> max_steps;   // stop after this many optimizer steps in all (0: none)
  std::optional<std::int64_t> eval_limit;  // evaluate the first N images of each set only (0: all)
  std::filesystem::path init;              // start from these weights
  std::filesystem::path save;              // the recipe's weights (best on validation, else final)
  std::filesystem::path resume;            // a training state to continue
  std::filesystem::path metrics;           // JSON Lines, one object per epoch
  std::filesystem::path predictions;  // CSV: every test image's label, prediction, probabilities
  bool quiet = false;
  // Fuse neighbouring ops where the backend can (a ReLU into the max pooling after it): the same
  // results bit for bit, fewer passes over memory and a smaller arena. Off: every layer on its own.
  bool fuse = true;
  // Polled after every step; when it reads true, the run saves its training state and throws
  // Interrupted. The app points it at the flag its SIGINT handler sets.
  const volatile std::sig_atomic_t* interrupt = nullptr;
  // Runs each step's forward, backward and update: a CudaGraphStepRunner on the backend's stream
  // replays them as a CUDA graph (--cuda-graph on); null runs them directly.
  StepRunner* step_runner = nullptr;
};

// The settings a run trains with, once options, recipe and training state are merged.
struct Settings {
  int epochs = 0;
  int batch_size = 0;
  double learning_rate = 0;
  OptimizerKind optimizer = OptimizerKind::sgd;
  float dropout = 0;
  std::uint64_t seed = 0;
  bool shuffle = true;
  std::int64_t max_steps = 0;   // 0: no limit
  std::int64_t eval_limit = 0;  // 0: every image
};

// The flags that may go with --resume although the state holds their setting: they extend the
// run rather than change it. Every other setting flag must agree with the state.
inline constexpr const char* kResumeMayChange = "--epochs, --max-steps";

struct Datasets {
  data::Dataset train;
  data::Dataset test;
};

// Both splits from the data folder (DataError naming the file at fault).
Datasets load_datasets(const std::filesystem::path& folder);

// The training state file kept beside the weights: "w.safetensors" -> "w.state.safetensors".
std::filesystem::path state_path_for(const std::filesystem::path& weights);

// Before a resumed run loads its data: the model is the training state's (a --model naming
// another, model_given, is a UsageError naming both), and where the interrupted run saved weights
// and no --save is given, the weights go where that run's went, beside the state.
void adopt_resumed_run(TrainOptions& options, bool model_given);

struct Evaluation {
  double loss = 0;  // mean of the batches' mean losses, as the reference programs average them
  std::int64_t correct = 0;
  std::int64_t images = 0;
  double accuracy() const { return images > 0 ? static_cast<double>(correct) / images : 0; }
};

struct EpochMetrics {
  int epoch = 0;  // from 1
  double train_loss = 0;
  double train_accuracy = 0;
  std::optional<Evaluation> validation;
  Evaluation test;
  double epoch_seconds = 0;
  double images_per_second = 0;
};

struct ClassResult {
  std::int64_t correct = 0;
  std::int64_t total = 0;
};

struct TrainReport {
  std::vector<EpochMetrics> epochs;  // those this run trained
  Evaluation test;                   // of the weights the recipe keeps (best on validation)
  std::vector<ClassResult> per_class;
  int predicted_image = 0;  // index in the test set
  int predicted_label = 0;
  std::int64_t steps = 0;  // optimizer steps in all, resumed ones included
};

// The loop around one ModelStep (models/model_step.h), as Caffe's Solver around its Net: epochs,
// log windows, Ctrl-C, evaluations, best weights, metrics and training states.
class Trainer {
 public:
  // Plans and allocates everything, then initialises the parameters (from options.init, the
  // resumed state or the seed). Throws on any bad input with one line naming it.
  Trainer(const TrainOptions& options, Backend& backend, Allocator& allocator,
          const Datasets& datasets, std::FILE* log);
  ~Trainer();

  const Settings& settings() const { return settings_; }
  const Graph& graph() const;
  const MemoryPlan& memory_plan() const;
  // The model summary, loss, optimizer and memory plan, as printed at the start of a run.
  std::string summary() const;

  // Runs the recipe from where the trainer stands to the end (or options.max_steps).
  TrainReport run();

  // One optimizer step on batch `batch` of the current epoch's order; public for the tests that
  // count allocations and synchronisations around it.
  void train_step(std::int64_t batch);
  // Parameter values on the host, under their names.
  std::vector<checkpoint::NamedTensor> weights() const;
  std::int64_t batches_per_epoch() const;

 private:
  struct Impl;

  void forward_backward_update(std::int64_t rows);
  // Trains the rest of the epoch in progress, logging each window; true when max_steps stopped
  // it. Saves the training state and throws Interrupted when options.interrupt reads true.
  bool train_epoch(std::int64_t images_before);
  // The epoch's evaluations, best weights, printed line, metrics line and training state.
  EpochMetrics finish_epoch(double train_seconds, std::int64_t images_before,
                            std::ofstream& metrics);
  // Reads the losses written since the last read into the window's sum; throws if one diverged.
  void read_losses(double* window_sum);
  std::string divergence_source();
  // With all_logits, also every image's logits, image after image.
  Evaluation evaluate(const EvaluationSet& set, std::vector<float>* all_logits);
  checkpoint::TrainingState training_state() const;
  void restore(const checkpoint::TrainingState& state);
  void save_weights(std::span<const checkpoint::NamedTensor> weights);
  std::filesystem::path interrupted_state_path() const;
  // Saves the training state and throws Interrupted, saying how to continue.
  [[noreturn]] void stop_interrupted();
  void write_metrics(std::ofstream& metrics, const EpochMetrics& line);
  void report_test(TrainReport& report);
  void write_predictions(std::span<const float> logits, std::span<const int> predictions);

  Settings settings_;
  std::unique_ptr<Impl> impl_;
};

// Writes one epoch's metrics as a JSON object on one line.
std::string metrics_json_line(const EpochMetrics& metrics);

}  // namespace kiln::models
