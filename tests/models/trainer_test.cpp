// The trainer on the CPU backend with small synthetic datasets: no allocation inside a step,
// resuming equals never stopping (bit for bit), checkpoints round-trip, settings conflicts and a
// diverging loss are refused. The real datasets' end-to-end runs are in tests/data.
#include "models/trainer.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "kernels/cpu/backend.h"
#include "runtime/checkpoint/checkpoint.h"
#include "tests/models/synthetic_data.h"
#include "tests/support/heap_counter.h"
#include "tests/support/temp_dir.h"

namespace kiln::models {
namespace {

TEST(Trainer, AStepAllocatesNothing) {
  for (const std::string model : {"mnist-cnn", "fashion-lenet"}) {
    SCOPED_TRACE(model);
    const Datasets datasets = synthetic_datasets(model);
    cpu::CpuBackend backend;
    const auto allocator = make_host_allocator();
    Trainer trainer(quiet_options(model), backend, *allocator, datasets, nullptr);
    trainer.train_step(0);
    const std::int64_t heap_before = testing::heap_allocations.load();
    const std::size_t blocks_before = allocator->allocations();
    for (std::int64_t batch = 1; batch < 4; ++batch) trainer.train_step(batch);
    EXPECT_EQ(testing::heap_allocations.load() - heap_before, 0);
    EXPECT_EQ(allocator->allocations(), blocks_before);
    EXPECT_EQ(blocks_before, 1u) << "the arena is the only block";
  }
}

TEST(Trainer, TheLossFallsOnALearnableTask) {
  const Datasets datasets = synthetic_datasets("mnist-cnn");
  cpu::CpuBackend backend;
  const auto allocator = make_host_allocator();
  TrainOptions options = quiet_options("mnist-cnn");
  options.epochs = 3;
  const TrainReport report = Trainer(options, backend, *allocator, datasets, nullptr).run();
  ASSERT_EQ(report.epochs.size(), 3u);
  EXPECT_LT(report.epochs[2].train_loss, 0.5 * report.epochs[0].train_loss);
  EXPECT_GE(report.test.accuracy(), 0.75);
  EXPECT_EQ(report.steps, 3 * 7);  // 200 images in batches of 32: the last one holds 8
}

// The final training state, its tensors and fields.
checkpoint::TrainingState train_and_keep_state(const std::string& model, TrainOptions options,
                                               const std::filesystem::path& save) {
  const Datasets datasets = synthetic_datasets(model);
  cpu::CpuBackend backend;
  const auto allocator = make_host_allocator();
  options.save = save;
  Trainer(options, backend, *allocator, datasets, nullptr).run();
  return checkpoint::load_training_state(state_path_for(save), model);
}

void expect_same_state(const checkpoint::TrainingState& a, const checkpoint::TrainingState& b) {
  EXPECT_EQ(a.fields, b.fields);
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (std::size_t i = 0; i < a.tensors.size(); ++i) {
    SCOPED_TRACE(a.tensors[i].name);
    EXPECT_EQ(a.tensors[i].name, b.tensors[i].name);
    EXPECT_EQ(0, std::memcmp(a.tensors[i].values.data(), b.tensors[i].values.data(),
                             a.tensors[i].values.size() * sizeof(float)));
  }
}

struct ResumeCase {
  std::string model;
  std::optional<OptimizerKind> optimizer;
  std::int64_t stop_after_steps;
};

class ResumeTest : public ::testing::TestWithParam<ResumeCase> {};

TEST_P(ResumeTest, ResumingGivesTheUninterruptedRunBitForBit) {
  const ResumeCase& test = GetParam();
  const testing::TempDir dir;
  TrainOptions options = quiet_options(test.model);
  options.epochs = 2;
  options.optimizer = test.optimizer;
  const auto uninterrupted =
      train_and_keep_state(test.model, options, dir.path() / "u.safetensors");

  TrainOptions first = options;
  first.max_steps = test.stop_after_steps;
  train_and_keep_state(test.model, first, dir.path() / "a.safetensors");
  // Only the state: the optimizer and the 2 epochs come from it; --max-steps 0 lifts the stop
  // the first run recorded (without it, the resumed run would stop where that one did).
  TrainOptions second = quiet_options(test.model);
  second.max_steps = 0;
  second.resume = state_path_for(dir.path() / "a.safetensors");
  const auto resumed = train_and_keep_state(test.model, second, dir.path() / "b.safetensors");
  expect_same_state(uninterrupted, resumed);
  // 200 training images: 7 batches of 32, or 10 of 20.
  EXPECT_EQ(checkpoint::parse_uint_field(resumed, "steps"), test.model == "mnist-cnn" ? 14u : 20u);
}

INSTANTIATE_TEST_SUITE_P(
    Models, ResumeTest,
    ::testing::Values(ResumeCase{"fashion-lenet", std::nullopt, 7},          // inside epoch 1
                      ResumeCase{"fashion-lenet", OptimizerKind::adam, 10},  // at its end
                      ResumeCase{"fashion-lenet", OptimizerKind::adam, 13},
                      ResumeCase{"mnist-cnn", std::nullopt, 9}),
    [](const auto& info) {
      return std::string(info.param.model == "mnist-cnn" ? "MnistCnn" : "FashionLenet") +
             (info.param.optimizer ? "Adam" : "") + "StoppedAfter" +
             std::to_string(info.param.stop_after_steps);
    });

TEST(Trainer, SavedWeightsLoadBackBitForBit) {
  const testing::TempDir dir;
  const Datasets datasets = synthetic_datasets("mnist-cnn");
  cpu::CpuBackend backend;
  const auto allocator = make_host_allocator();
  TrainOptions options = quiet_options("mnist-cnn");
  options.epochs = 1;
  options.save = dir.path() / "w.safetensors";
  Trainer trained(options, backend, *allocator, datasets, nullptr);
  trained.run();

  TrainOptions reload = quiet_options("mnist-cnn");
  reload.init = options.save;
  Trainer loaded(reload, backend, *allocator, datasets, nullptr);
  const auto a = trained.weights();
  const auto b = loaded.weights();
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].values, b[i].values) << a[i].name;
  // Not vacuous: training moved the weights away from the initial ones.
  const Trainer fresh(quiet_options("mnist-cnn"), backend, *allocator, datasets, nullptr);
  EXPECT_NE(fresh.weights()[0].values, a[0].values);
}

TEST(Trainer, MetricsHaveOneLinePerEpochWithEveryField) {
  const testing::TempDir dir;
  const Datasets datasets = synthetic_datasets("fashion-lenet");
  cpu::CpuBackend backend;
  const auto allocator = make_host_allocator();
  TrainOptions options = quiet_options("fashion-lenet");
  options.epochs = 2;
  options.metrics = dir.path() / "m.jsonl";
  Trainer(options, backend, *allocator, datasets, nullptr).run();
  std::ifstream in(options.metrics);
  std::string line;
  int epoch = 0;
  while (std::getline(in, line)) {
    const auto json = nlohmann::json::parse(line);
    EXPECT_EQ(json["epoch"], ++epoch);
    for (const char* key : {"train_loss", "train_acc", "val_loss", "val_acc", "test_loss",
                            "test_acc", "epoch_seconds", "images_per_second"}) {
      EXPECT_TRUE(json[key].is_number()) << key << " in " << line;
    }
  }
  EXPECT_EQ(epoch, 2);
}

// Another model, another --eval-limit or fewer epochs than trained contradict the state; more
// epochs extend the run.
TEST(Trainer, RefusesSettingsThatDisagreeWithTheResumedState) {
  const testing::TempDir dir;
  const Datasets datasets = synthetic_datasets("fashion-lenet");
  cpu::CpuBackend backend;
  const auto allocator = make_host_allocator();
  TrainOptions options = quiet_options("fashion-lenet");
  options.max_steps = 2;
  options.save = dir.path() / "w.safetensors";
  Trainer(options, backend, *allocator, datasets, nullptr).run();

  TrainOptions resume = quiet_options("fashion-lenet");
  resume.resume = state_path_for(options.save);
  resume.batch_size = 21;
  EXPECT_THROW(Trainer(resume, backend, *allocator, datasets, nullptr), UsageError);
  resume.batch_size = 20;  // the recipe's, as saved: fine
  EXPECT_NO_THROW(Trainer(resume, backend, *allocator, datasets, nullptr));
  resume.init = options.save;
  EXPECT_THROW(Trainer(resume, backend, *allocator, datasets, nullptr), UsageError);

  TrainOptions other_model = quiet_options("mnist-cnn");
  other_model.resume = state_path_for(options.save);
  try {
    adopt_resumed_run(other_model, /*model_given=*/true);
    FAIL() << "no error";
  } catch (const UsageError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("--model mnist-cnn"), std::string::npos) << message;
    EXPECT_NE(message.find("holds fashion-lenet"), std::string::npos) << message;
  }

  TrainOptions further = quiet_options("fashion-lenet");
  further.resume = state_path_for(options.save);
  further.eval_limit = 41;
  try {
    Trainer(further, backend, *allocator, datasets, nullptr);
    FAIL() << "no error";
  } catch (const UsageError& error) {
    EXPECT_STREQ(error.what(),
                 "--eval-limit 41 disagrees with the training state being resumed (40)");
  }
  further.eval_limit.reset();
  further.save = options.save;  // so the longer run's state replaces the one resumed
  further.epochs = 3;           // more than it trained: extends the run
  further.max_steps = 0;        // and lifts the step limit the state recorded
  EXPECT_EQ(Trainer(further, backend, *allocator, datasets, nullptr).settings().epochs, 3);
  Trainer(further, backend, *allocator, datasets, nullptr).run();
  further.epochs = 2;  // fewer than the 3 now trained
  EXPECT_THROW(Trainer(further, backend, *allocator, datasets, nullptr), UsageError);

  TrainOptions dropout = quiet_options("fashion-lenet");
  dropout.dropout = 0.5f;
  EXPECT_THROW(Trainer(dropout, backend, *allocator, datasets, nullptr), UsageError);
}

// The case: a run of fashion-lenet for 2 epochs, stopped, then resumed with nothing but
// the state. It must train the run's 2 epochs (not the recipe's 15), stop where a --max-steps it
// was given says, and save beside the state.
TEST(Trainer, AResumedRunTakesItsModelSettingsAndWeightsFileFromTheState) {
  const testing::TempDir dir;
  const Datasets datasets = synthetic_datasets("fashion-lenet");
  cpu::CpuBackend backend;
  const auto allocator = make_host_allocator();
  TrainOptions options = quiet_options("fashion-lenet");
  options.epochs = 2;
  options.max_steps = 13;  // inside epoch 2 (10 batches of 20 per epoch)
  options.learning_rate = 0.01;
  options.save = dir.path() / "w.safetensors";
  Trainer(options, backend, *allocator, datasets, nullptr).run();

  TrainOptions resume;  // as parsed from "--resume w.state.safetensors": the default model
  resume.quiet = true;
  resume.resume = state_path_for(options.save);
  adopt_resumed_run(resume, /*model_given=*/false);
  EXPECT_EQ(resume.model, "fashion-lenet");
  EXPECT_EQ(resume.save, options.save) << "the weights go where the stopped run's went";
  std::filesystem::remove(options.save);
  Trainer resumed(resume, backend, *allocator, datasets, nullptr);
  EXPECT_EQ(resumed.settings().epochs, 2);
  EXPECT_EQ(resumed.settings().learning_rate, 0.01);
  EXPECT_EQ(resumed.settings().eval_limit, 40);
  EXPECT_EQ(resumed.settings().max_steps, 13);
  EXPECT_EQ(resumed.run().steps, 13) << "the recorded --max-steps still stops the run";

  resume.max_steps = 0;  // extending: train the rest of epoch 2, and no further
  const TrainReport report = Trainer(resume, backend, *allocator, datasets, nullptr).run();
  EXPECT_EQ(report.steps, 20);
  EXPECT_TRUE(std::filesystem::exists(options.save));
  const auto state = checkpoint::load_training_state(resume.resume, "fashion-lenet");
  EXPECT_EQ(checkpoint::parse_uint_field(state, "epoch"), 2u);
  EXPECT_EQ(checkpoint::string_field(state, "epochs"), "2");
}

TEST(Trainer, ADivergingLossStopsTheRunWithAClearError) {
  const Datasets datasets = synthetic_datasets("mnist-cnn");
  cpu::CpuBackend backend;
  const auto allocator = make_host_allocator();
  TrainOptions options = quiet_options("mnist-cnn");
  options.optimizer = OptimizerKind::sgd;
  options.learning_rate = 1e30;
  options.epochs = 1;
  try {
    Trainer(options, backend, *allocator, datasets, nullptr).run();
    FAIL() << "no error";
  } catch (const std::runtime_error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("training diverged: the loss is"), std::string::npos) << message;
    // It names where the non-finite values start.
    EXPECT_NE(message.find(" is not finite"), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace kiln::models
