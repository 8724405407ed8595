// The two reference CNNs of RECIPES.md as graphs of layers, under the seeds' module names so that
// their parameters carry the seeds' tensor names ("layer1.0.weight", "conv1.bias", ...).
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "runtime/graph/graph.h"

namespace kiln::models {

// One 28x28 greyscale image per example.
inline constexpr int kImageSide = 28;
inline constexpr int kClasses = 10;

// mnist-cnn (seed 000): three conv 3x3 / ReLU / max pool / dropout blocks, fc1 (Xavier-uniform) /
// ReLU / dropout, fc2 (Xavier-uniform).
void build_mnist_cnn(Graph& graph, float dropout);

// fashion-lenet (seed 001) exactly as written: conv1, pool, conv2, pool, ff1 / ReLU, ff2 /
// Sigmoid, with no activation after the convolutions.
void build_fashion_lenet(Graph& graph);

// Either model by name; `dropout` is ignored by fashion-lenet, which has none.
void build_model(std::string_view model, Graph& graph, float dropout);

// Other names the seed's own checkpoints use for a tensor, mapped to kiln's: mnist-cnn's module
// holds fc1 twice, as fc1.* and layer4.0.*.
std::map<std::string, std::string> checkpoint_aliases(std::string_view model);

}  // namespace kiln::models
