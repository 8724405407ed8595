// train_mnist_gpu: trains the reference CNNs of RECIPES.md. The trainer itself is not built yet;
// today this loads and checks the chosen model's dataset, prints its recipe and reports the GPU it
// would run on.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <array>
#include <cstdio>
#include <exception>
#include <string>

#include "kernels/cuda/device.h"
#include "models/recipe.h"
#include "runtime/data/datasets.h"

namespace {

using kiln::data::Split;

void print_split(std::string_view split, const kiln::data::Dataset& dataset,
                 std::span<const std::string_view> class_names) {
  std::array<std::int64_t, kiln::data::kReferenceDatasetClasses> per_class{};
  for (const std::uint8_t label : dataset.labels) ++per_class[label];
  fmt::print("{:<6} {} images of {}x{}; per class:", split, dataset.images.count,
             dataset.images.rows, dataset.images.cols);
  for (std::size_t c = 0; c < per_class.size(); ++c) {
    fmt::print(" {}={}", class_names[c], per_class[c]);
  }
  fmt::print("\n");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Train the reference CNNs (mnist-cnn, fashion-lenet) with kiln."};
  std::string model = "mnist-cnn";
  std::string data_dir;
  app.add_option("--model", model, "Reference model to train")
      ->check(CLI::IsMember({"mnist-cnn", "fashion-lenet"}))
      ->capture_default_str();
  app.add_option("--data", data_dir,
                 "Folder with the four IDX files, raw or .gz (default: data/mnist or "
                 "data/fashion-mnist, where scripts/fetch_data.sh puts them)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    // --help is a ParseError that exits 0; every real usage error exits 2.
    const int code = app.exit(error);
    return code == 0 ? 0 : 2;
  }

  try {
    const auto& recipe = kiln::models::recipe_for(model);
    const auto names = kiln::data::class_names(recipe.dataset);
    if (data_dir.empty()) data_dir = kiln::data::dataset_dir("data", recipe.dataset).string();
    fmt::print("kiln: model {} on {} from {}: {} lr {}, batch {}, {} epochs\n", model,
               kiln::data::dataset_dir_name(recipe.dataset), data_dir,
               recipe.optimizer == kiln::models::OptimizerKind::adam ? "Adam" : "SGD",
               recipe.learning_rate, recipe.batch_size, recipe.epochs);
    print_split("train", kiln::data::load_split(data_dir, Split::train), names);
    print_split("test", kiln::data::load_split(data_dir, Split::test), names);
    fmt::print("device: {}\n", kiln::cuda::describe(kiln::cuda::device_status()));
    fmt::print("kiln: data checked; the trainer is not built yet, so nothing was trained\n");
  } catch (const std::exception& error) {
    fmt::print(stderr, "train_mnist_gpu: {}\n", error.what());
    return 1;
  }
  return 0;
}
