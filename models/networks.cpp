#include "models/networks.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "runtime/checkpoint/checkpoint.h"
#include "runtime/graph/init.h"
#include "runtime/graph/layers/activation.h"
#include "runtime/graph/layers/conv2d.h"
#include "runtime/graph/layers/dropout.h"
#include "runtime/graph/layers/flatten.h"
#include "runtime/graph/layers/linear.h"
#include "runtime/graph/layers/max_pool2d.h"

namespace kiln::models {
namespace {

// mnist-cnn's reference program initialises its linear weights with nn.init.xavier_uniform_.
void use_xavier_weight(Linear& linear) {
  linear.weight().init_bound = xavier_bound(linear.in_features(), linear.out_features());
}

}  // namespace

void build_mnist_cnn(Graph& graph, float dropout) {
  struct Block {
    const char* name;
    int in;
    int out;
    int pool_padding;  // layer3 pads its pooling so that 7x7 becomes 4x4
  };
  for (const Block& block :
       {Block{"layer1", 1, 32, 0}, Block{"layer2", 32, 64, 0}, Block{"layer3", 64, 128, 1}}) {
    const std::string prefix = block.name;
    graph.add<Conv2d>(prefix + ".0", block.in, block.out, 3, 1, 1);
    graph.add<ReLU>(prefix + ".1");
    graph.add<MaxPool2d>(prefix + ".2", 2, 2, block.pool_padding);
    graph.add<Dropout>(prefix + ".3", dropout);
  }
  graph.add<Flatten>("flatten");
  use_xavier_weight(graph.add<Linear>("fc1", 4 * 4 * 128, 625));
  graph.add<ReLU>("layer4.1");
  graph.add<Dropout>("layer4.2", dropout);
  use_xavier_weight(graph.add<Linear>("fc2", 625, kClasses));
}

void build_fashion_lenet(Graph& graph) {
  graph.add<Conv2d>("conv1", 1, 6, 5);
  graph.add<MaxPool2d>("pool1", 2, 2);
  graph.add<Conv2d>("conv2", 6, 10, 5);
  graph.add<MaxPool2d>("pool2", 2, 2);
  graph.add<Flatten>("flatten");
  graph.add<Linear>("ff1", 4 * 4 * 10, 56);
  graph.add<ReLU>("ff1_relu");
  graph.add<Linear>("ff2", 56, kClasses);
  graph.add<Sigmoid>("ff2_sigmoid");
}

void build_model(std::string_view model, Graph& graph, float dropout) {
  if (model == "mnist-cnn") {
    build_mnist_cnn(graph, dropout);
  } else if (model == "fashion-lenet") {
    build_fashion_lenet(graph);
  } else {
    throw std::invalid_argument("unknown model '" + std::string(model) +
                                "' (known: mnist-cnn, fashion-lenet)");
  }
}

std::map<std::string, std::string> checkpoint_aliases(std::string_view model) {
  if (model == "mnist-cnn") {
    return {{"layer4.0.weight", "fc1.weight"}, {"layer4.0.bias", "fc1.bias"}};
  }
  return {};
}

void load_parameters(const std::filesystem::path& weights, std::string_view model,
                     std::span<Parameter* const> parameters, Allocator& allocator) {
  std::vector<checkpoint::NamedTensor> tensors;
  for (const Parameter* parameter : parameters) {
    std::vector<std::int64_t> shape;
    for (int axis = 0; axis < parameter->shape.rank(); ++axis) {
      shape.push_back(parameter->shape[axis]);
    }
    tensors.push_back({parameter->name, shape, {}});
  }
  checkpoint::load_weights(weights, model, tensors, checkpoint_aliases(model));
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    allocator.copy_from_host(parameters[i]->value.data, tensors[i].values.data(),
                             parameters[i]->value.bytes());
  }
}

std::array<double, kClasses> softmax(std::span<const float> logits) {
  std::array<double, kClasses> probabilities{};
  const double top = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (std::size_t c = 0; c < probabilities.size(); ++c) {
    probabilities[c] = std::exp(logits[c] - top);
    sum += probabilities[c];
  }
  for (double& p : probabilities) p /= sum;
  return probabilities;
}

}  // namespace kiln::models
