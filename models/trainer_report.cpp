// What a run reports: each epoch's metrics line, and at the end the kept weights on the test set,
// per-class results, the predicted test image the reference program shows, the summary lines and
// the predictions file.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "models/networks.h"
#include "models/trainer_impl.h"
#include "runtime/data/datasets.h"

namespace kiln::models {

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

void Trainer::write_metrics(std::ofstream& metrics, const EpochMetrics& line) {
  const TrainOptions& options = impl_->options;
  if (options.metrics.empty()) return;
  if (!metrics.is_open()) {
    // A resumed run adds its epochs to the lines of the run it continues.
    metrics.open(options.metrics, options.resume.empty() ? std::ios::trunc : std::ios::app);
  }
  metrics << metrics_json_line(line) << '\n' << std::flush;
  if (!metrics) {
    throw std::runtime_error(fmt::format("--metrics {}: cannot write", options.metrics.string()));
  }
}

void Trainer::report_test(TrainReport& report) {
  Impl& run = *impl_;
  std::string which = "final weights";
  if (!run.best_weights.empty()) {
    run.step.upload_weights(run.best_weights);
    which = fmt::format("weights of epoch {}, best on validation", run.best_epoch);
  }
  std::vector<float> logits;
  report.test = evaluate(run.data.test(), &logits);
  const auto count = static_cast<std::size_t>(report.test.images);
  // The first maximum, as count_correct and torch.argmax pick it.
  std::vector<int> predictions(count);
  for (std::size_t i = 0; i < count; ++i) {
    const float* row = logits.data() + i * kClasses;
    predictions[i] = static_cast<int>(std::max_element(row, row + kClasses) - row);
  }
  report.per_class.assign(kClasses, ClassResult{});
  for (std::size_t i = 0; i < count; ++i) {
    ClassResult& result = report.per_class[run.data.test_labels()[i]];
    ++result.total;
    if (predictions[i] == run.data.test_labels()[i]) ++result.correct;
  }
  // The reference program of fashion-lenet predicts test image 9; kiln does so for both.
  report.predicted_image = count > 9 ? 9 : 0;
  report.predicted_label = predictions[static_cast<std::size_t>(report.predicted_image)];
  if (!run.options.predictions.empty()) write_predictions(logits, predictions);

  std::FILE* out = run.summary_log;
  if (out == nullptr) return;
  const auto names = data::class_names(run.recipe.dataset);
  fmt::print(out, "test ({}): loss {:.6f}, accuracy {:.2f}% ({}/{}) after {} steps\n", which,
             report.test.loss, 100 * report.test.accuracy(), report.test.correct,
             report.test.images, report.steps);
  for (int c = 0; c < kClasses; ++c) {
    const ClassResult& result = report.per_class[static_cast<std::size_t>(c)];
    if (result.total == 0) continue;
    fmt::print(out, "  {:<12} {:6.2f}% ({}/{})\n", names[static_cast<std::size_t>(c)],
               100.0 * static_cast<double>(result.correct) / static_cast<double>(result.total),
               result.correct, result.total);
  }
  const auto image = static_cast<std::size_t>(report.predicted_image);
  const auto probabilities = softmax(std::span(logits).subspan(image * kClasses, kClasses));
  fmt::print(out, "test image {}: predicted {} ({:.1f}%), label {}\n", report.predicted_image,
             names[static_cast<std::size_t>(report.predicted_label)],
             100 * probabilities[static_cast<std::size_t>(report.predicted_label)],
             names[run.data.test_labels()[image]]);
  if (run.trained_images > 0) {
    fmt::print(out, "trained {} images in {} ({:.0f} images/s), every op on the {} backend\n",
               run.trained_images, clock_text(run.trained_seconds),
               static_cast<double>(run.trained_images) / std::max(run.trained_seconds, 1e-9),
               run.backend().name());
  }
  if (run.weights_saved) {
    fmt::print(out, "weights: {}; training state: {}\n", run.options.save.string(),
               state_path_for(run.options.save).string());
  }
  if (!run.options.predictions.empty()) {
    fmt::print(out, "predictions: {}\n", run.options.predictions.string());
  }
  std::fflush(out);
}

void Trainer::write_predictions(std::span<const float> logits, std::span<const int> predictions) {
  const Impl& run = *impl_;
  std::string text = "index,label,predicted";
  for (int c = 0; c < kClasses; ++c) text += fmt::format(",p{}", c);
  text += '\n';
  for (std::size_t i = 0; i < predictions.size(); ++i) {
    text += fmt::format("{},{},{}", i, run.data.test_labels()[i], predictions[i]);
    for (const double p : softmax(logits.subspan(i * kClasses, kClasses)))
      text += fmt::format(",{:.6g}", p);
    text += '\n';
  }
  std::ofstream out(run.options.predictions, std::ios::trunc);
  out << text;
  out.close();
  if (!out) {
    throw std::runtime_error(
        fmt::format("--predictions {}: cannot write", run.options.predictions.string()));
  }
}

}  // namespace kiln::models
