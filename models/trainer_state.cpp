// The Trainer's checkpoints, as Caffe's Solver snapshots: the training state a run saves and
// resumes from (weights, Adam's moments, best weights, the position), the recipe's weights file,
// and the stop on Ctrl-C.
#include <fmt/format.h>

#include "models/train_settings.h"
#include "models/trainer_impl.h"
#include "runtime/checkpoint/checkpoint.h"

namespace kiln::models {

namespace fs = std::filesystem;
using checkpoint::NamedTensor;

namespace {

// The flags that continue an interrupted run: the state holds its settings, not the files
// it writes besides its weights.
std::string resume_command(const TrainOptions& options, const fs::path& state) {
  std::string command = "--resume " + state.string();
  if (!options.metrics.empty()) command += " --metrics " + options.metrics.string();
  if (!options.predictions.empty()) command += " --predictions " + options.predictions.string();
  return command;
}

}  // namespace

fs::path state_path_for(const fs::path& weights) {
  fs::path state = weights;
  return state.replace_extension(".state.safetensors");
}

// The state holds the weights under their names, Adam's moments as "exp_avg/<name>" and
// "exp_avg_sq/<name>", the best weights so far as "best/<name>", and the position as fields.
checkpoint::TrainingState Trainer::training_state() const {
  const Impl& run = *impl_;
  checkpoint::TrainingState state{std::string(run.recipe.model), weights(), {}};
  for (const Parameter* parameter : run.step.parameters()) {
    for (const auto& [prefix, tensor] : {std::pair{"exp_avg/", &parameter->exp_avg},
                                         std::pair{"exp_avg_sq/", &parameter->exp_avg_sq}}) {
      if (tensor->empty()) continue;
      NamedTensor moment{prefix + parameter->name, shape_vector(parameter->shape),
                         std::vector<float>(static_cast<std::size_t>(tensor->elements()))};
      run.allocator().copy_to_host(moment.values.data(), tensor->data, tensor->bytes());
      state.tensors.push_back(std::move(moment));
    }
  }
  for (const NamedTensor& best : run.best_weights) {
    state.tensors.push_back({"best/" + best.name, best.shape, best.values});
  }
  std::int64_t correct = 0;
  run.allocator().copy_to_host(&correct, run.correct.data, sizeof correct);
  state.fields = {{"epoch", fmt::format("{}", run.epoch)},
                  {"batch", fmt::format("{}", run.next_batch)},
                  {"steps", fmt::format("{}", run.steps)},
                  {"batch_size", fmt::format("{}", settings_.batch_size)},
                  {"learning_rate", checkpoint::exact_text(settings_.learning_rate)},
                  {"optimizer", optimizer_name(settings_.optimizer)},
                  {"dropout", checkpoint::exact_text(settings_.dropout)},
                  {"seed", fmt::format("{}", settings_.seed)},
                  {"shuffle", settings_.shuffle ? "1" : "0"},
                  {"epoch_loss_sum", checkpoint::exact_text(run.epoch_loss_sum)},
                  {"epoch_batches", fmt::format("{}", run.epoch_batches)},
                  {"epoch_images", fmt::format("{}", run.epoch_images)},
                  {"epoch_correct", fmt::format("{}", correct)},
                  {"best_validation_loss", checkpoint::exact_text(run.best_validation_loss)},
                  {"best_epoch", fmt::format("{}", run.best_epoch)},
                  {"epochs", fmt::format("{}", settings_.epochs)},
                  {"max_steps", fmt::format("{}", settings_.max_steps)},
                  {"eval_limit", fmt::format("{}", settings_.eval_limit)},
                  {"saves_weights", run.options.save.empty() ? "0" : "1"}};
  return state;
}

void Trainer::restore(const checkpoint::TrainingState& state) {
  Impl& run = *impl_;
  const auto find = [&](const std::string& name, const Shape& shape) -> const NamedTensor& {
    for (const NamedTensor& tensor : state.tensors) {
      if (tensor.name != name) continue;
      if (tensor.shape != shape_vector(shape)) {
        throw checkpoint::CheckpointError(
            fmt::format("{}: tensor '{}' has another shape than this model's {}",
                        run.options.resume.string(), name, shape.to_string()));
      }
      return tensor;
    }
    throw checkpoint::CheckpointError(
        fmt::format("{}: the training state lacks tensor '{}'", run.options.resume.string(), name));
  };
  for (Parameter* parameter : run.step.parameters()) {
    for (const auto& [prefix, tensor] :
         {std::pair{"", &parameter->value}, std::pair{"exp_avg/", &parameter->exp_avg},
          std::pair{"exp_avg_sq/", &parameter->exp_avg_sq}}) {
      if (tensor->empty()) continue;
      const NamedTensor& saved = find(prefix + parameter->name, parameter->shape);
      run.allocator().copy_from_host(tensor->data, saved.values.data(), tensor->bytes());
    }
  }
  run.epoch = static_cast<int>(checkpoint::parse_uint_field(state, "epoch"));
  run.next_batch = static_cast<std::int64_t>(checkpoint::parse_uint_field(state, "batch"));
  run.steps = static_cast<std::int64_t>(checkpoint::parse_uint_field(state, "steps"));
  run.epoch_loss_sum = checkpoint::parse_double_field(state, "epoch_loss_sum");
  run.epoch_batches =
      static_cast<std::int64_t>(checkpoint::parse_uint_field(state, "epoch_batches"));
  run.epoch_images = static_cast<std::int64_t>(checkpoint::parse_uint_field(state, "epoch_images"));
  run.best_validation_loss = checkpoint::parse_double_field(state, "best_validation_loss");
  run.best_epoch = static_cast<int>(checkpoint::parse_uint_field(state, "best_epoch"));
  if (run.next_batch > batches_per_epoch()) {
    throw checkpoint::CheckpointError(
        fmt::format("{}: batch {} is past the end of an epoch of {} batches",
                    run.options.resume.string(), run.next_batch, batches_per_epoch()));
  }
  if (run.data.validation_count() > 0 && run.best_epoch > 0) {
    run.best_weights = weights();
    const auto parameters = run.step.parameters();
    for (std::size_t i = 0; i < parameters.size(); ++i) {
      run.best_weights[i].values = find("best/" + parameters[i]->name, parameters[i]->shape).values;
    }
  }
  const std::int64_t correct[2] = {
      static_cast<std::int64_t>(checkpoint::parse_uint_field(state, "epoch_correct")), 0};
  run.allocator().copy_from_host(run.correct.data, correct, sizeof correct);
}

void adopt_resumed_run(TrainOptions& options, bool model_given) {
  if (options.resume.empty()) return;
  const checkpoint::TrainingState state = checkpoint::load_training_state(options.resume);
  if (model_given && options.model != state.model) {
    throw UsageError(
        fmt::format("--model {} disagrees with the training state being resumed ({} holds {})",
                    options.model, options.resume.string(), state.model));
  }
  options.model = state.model;
  const std::string state_name = options.resume.filename().string();
  constexpr std::string_view kStateSuffix = ".state.safetensors";
  const auto saved = state.fields.find("saves_weights");
  if (options.save.empty() && saved != state.fields.end() && saved->second == "1" &&
      state_name.ends_with(kStateSuffix)) {
    options.save = options.resume.parent_path() /
                   (state_name.substr(0, state_name.size() - kStateSuffix.size()) + ".safetensors");
  }
}

void Trainer::save_weights(std::span<const NamedTensor> weights) {
  if (impl_->options.save.empty()) return;
  checkpoint::save_weights(impl_->options.save, impl_->recipe.model, weights);
  impl_->weights_saved = true;
}

fs::path Trainer::interrupted_state_path() const {
  const TrainOptions& options = impl_->options;
  return options.save.empty() ? fs::path(options.model + ".interrupted.state.safetensors")
                              : state_path_for(options.save);
}

void Trainer::stop_interrupted() {
  Impl& run = *impl_;
  run.progress.end_epoch();
  const fs::path state = interrupted_state_path();
  checkpoint::save_training_state(state, training_state());
  throw Interrupted(fmt::format(
      "interrupted in epoch {}, after step {}; the training state is in {}: continue with {}",
      run.epoch + 1, run.steps, state.string(), resume_command(run.options, state)));
}

}  // namespace kiln::models
