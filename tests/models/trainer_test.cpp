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
  TrainOptions second = options;
  second.optimizer.reset();  // taken from the state
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
  // Not vacuous: training moved the weights away from the seed's.
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

  TrainOptions dropout = quiet_options("fashion-lenet");
  dropout.dropout = 0.5f;
  EXPECT_THROW(Trainer(dropout, backend, *allocator, datasets, nullptr), UsageError);
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
