// The two reference CNNs of docs/recipes.md as graphs of layers, under the reference PyTorch
// modules' names so that their parameters carry PyTorch's tensor names ("layer1.0.weight",
// "conv1.bias", ...).
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>

#include "runtime/graph/graph.h"
#include "runtime/memory/allocator.h"

namespace kiln::models {

// One 28x28 greyscale image per example.
inline constexpr int kImageSide = 28;
inline constexpr std::int64_t kImageElements = std::int64_t{kImageSide} * kImageSide;
inline constexpr int kClasses = 10;

// mnist-cnn: three conv 3x3 / ReLU / max pool / dropout blocks, fc1 (Xavier-uniform) /
// ReLU / dropout, fc2 (Xavier-uniform).
void build_mnist_cnn(Graph& graph, float dropout);

// fashion-lenet exactly as its tutorial writes it: conv1, pool, conv2, pool, ff1 / ReLU, ff2 /
// Sigmoid, with no activation after the convolutions.
void build_fashion_lenet(Graph& graph);

// Either model by name; `dropout` is ignored by fashion-lenet, which has none.
void build_model(std::string_view model, Graph& graph, float dropout);

// Other names the reference PyTorch module's own checkpoints use for a tensor, mapped to kiln's:
// mnist-cnn's module holds fc1 twice, as fc1.* and layer4.0.*.
std::map<std::string, std::string> checkpoint_aliases(std::string_view model);

// Loads weights saved by kiln or PyTorch (under the model's tensor names or their aliases) into
// the model's parameters; a CheckpointError names what does not fit.
void load_parameters(const std::filesystem::path& weights, std::string_view model,
                     std::span<Parameter* const> parameters, Allocator& allocator);

// The softmax of one row of logits, in double: the class probabilities the loss scores.
std::array<double, kClasses> softmax(std::span<const float> logits);

}  // namespace kiln::models
