// The command line of train_mnist_gpu, parsed apart from running anything, so that tests and the
// fuzzer can drive it in-process: `train_mnist_gpu [flags]` trains, `train_mnist_gpu predict
// [flags]` classifies one image, `--help` (either level) prints the manual.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "kernels/ops.h"
#include "kernels/usage_error.h"
#include "models/trainer.h"

namespace kiln::app {

using kiln::UsageError;  // what parse_command_line throws on a bad command line

// `train_mnist_gpu predict`: which image, with which weights.
struct PredictOptions {
  std::string model = "mnist-cnn";
  std::string weights;
  std::string data_dir;
  std::string idx;
  std::string image;
  std::int64_t index = -1;  // -1: not given
};

struct Command {
  enum class Kind { train, predict, help };
  Kind kind = Kind::train;
  models::TrainOptions train;
  bool model_given = false;  // --model was on the command line (not the default)
  std::string data_dir;      // empty: the model's default folder
  std::string backend = "auto";
  int threads = 0;  // --threads of the CPU backend; 0: not given, cpu::default_thread_count()
  std::string cuda_graph;  // --cuda-graph on|off; empty: on wherever a GPU trains
  // Per op family (indexed by kiln::OpFamily): "" for the backend's own engine, else "custom" or
  // "cudnn" (--conv, --pool, --activation, --dropout-engine, --softmax).
  std::array<std::string, kOpFamilies.size()> engines;
  // --time-layers: time a step of one batch layer by layer (mean of time_iterations steps)
  // instead of training.
  bool time_layers = false;
  int time_iterations = 20;
  PredictOptions predict;
  std::string help;  // the manual, when kind is help
};

// Parses argv[1..argc); throws UsageError with one line naming the flag and what is wrong.
// Files named by --init, --resume, --weights, --image and --idx must exist.
Command parse_command_line(int argc, const char* const* argv);

}  // namespace kiln::app
