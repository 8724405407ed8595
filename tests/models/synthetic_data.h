// Small synthetic datasets for the trainer's tests: quick to train on, with something to learn.
#pragma once

#include <random>
#include <string>

#include "models/trainer.h"

namespace kiln::models {

// Images whose label is the brightest of ten horizontal bands, so there is something to learn.
inline data::Dataset synthetic(std::int64_t count, std::uint32_t seed) {
  data::Dataset dataset;
  dataset.images = {count, 28, 28,
                    std::vector<std::uint8_t>(static_cast<std::size_t>(count) * 784)};
  dataset.labels.resize(static_cast<std::size_t>(count));
  dataset.num_classes = 10;
  std::mt19937 random(seed);
  for (std::int64_t i = 0; i < count; ++i) {
    const int label = static_cast<int>(random() % 10);
    dataset.labels[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(label);
    for (int pixel = 0; pixel < 784; ++pixel) {
      const bool band = pixel / 28 >= label * 2 + 4 && pixel / 28 < label * 2 + 6;
      dataset.images.pixels[static_cast<std::size_t>(i * 784 + pixel)] =
          static_cast<std::uint8_t>(random() % 64 + (band ? 160 : 0));
    }
  }
  return dataset;
}

// fashion-lenet's recipe holds 12,000 training images out for validation.
inline Datasets synthetic_datasets(const std::string& model) {
  return Datasets{synthetic(model == "fashion-lenet" ? 12000 + 200 : 200, 1), synthetic(50, 2)};
}

inline TrainOptions quiet_options(const std::string& model) {
  TrainOptions options;
  options.model = model;
  options.quiet = true;
  options.eval_limit = 40;
  return options;
}

}  // namespace kiln::models
