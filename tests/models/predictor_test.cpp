// Classifying single images with saved weights: the predictor gives what the trainer's evaluation
// gives, as probabilities, and refuses weights of another model.
#include "models/predictor.h"

#include <gtest/gtest.h>

#include <numeric>

#include "kernels/cpu/backend.h"
#include "runtime/checkpoint/checkpoint.h"
#include "tests/models/synthetic_data.h"
#include "tests/support/temp_dir.h"

namespace kiln::models {
namespace {

TEST(Predictor, ClassifiesWhatTheTrainedModelLearned) {
  const testing::TempDir dir;
  const Datasets datasets = synthetic_datasets("mnist-cnn");
  cpu::CpuBackend backend;
  const auto allocator = make_host_allocator();
  TrainOptions options = quiet_options("mnist-cnn");
  options.epochs = 3;
  options.eval_limit = 0;
  options.save = dir.path() / "w.safetensors";
  const TrainReport report = Trainer(options, backend, *allocator, datasets, nullptr).run();

  Predictor predictor("mnist-cnn", options.save, backend, *allocator);
  std::int64_t correct = 0;
  for (std::int64_t i = 0; i < datasets.test.images.count; ++i) {
    const auto* image = datasets.test.images.pixels.data() + i * 784;
    const auto probabilities = predictor.probabilities({image, 784});
    EXPECT_NEAR(std::accumulate(probabilities.begin(), probabilities.end(), 0.0), 1.0, 1e-12);
    const auto top = top_three(probabilities);
    EXPECT_GE(probabilities[static_cast<std::size_t>(top[0])],
              probabilities[static_cast<std::size_t>(top[1])]);
    EXPECT_GE(probabilities[static_cast<std::size_t>(top[1])],
              probabilities[static_cast<std::size_t>(top[2])]);
    correct += top[0] == datasets.test.labels[static_cast<std::size_t>(i)];
  }
  // One image at a time in evaluation mode: the trainer's count over the same images.
  EXPECT_EQ(correct, report.test.correct);
  EXPECT_EQ(report.test.images, datasets.test.images.count);
}

TEST(Predictor, RefusesWeightsOfAnotherModelAndImagesOfAnotherSize) {
  const testing::TempDir dir;
  const Datasets datasets = synthetic_datasets("fashion-lenet");
  cpu::CpuBackend backend;
  const auto allocator = make_host_allocator();
  TrainOptions options = quiet_options("fashion-lenet");
  options.max_steps = 1;
  options.save = dir.path() / "lenet.safetensors";
  Trainer(options, backend, *allocator, datasets, nullptr).run();
  EXPECT_THROW(Predictor("mnist-cnn", options.save, backend, *allocator),
               checkpoint::CheckpointError);
  Predictor predictor("fashion-lenet", options.save, backend, *allocator);
  const std::vector<std::uint8_t> small(100);
  EXPECT_THROW(predictor.probabilities(small), std::invalid_argument);
}

}  // namespace
}  // namespace kiln::models
