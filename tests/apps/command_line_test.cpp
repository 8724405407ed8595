// train_mnist_gpu's command line, parsed in-process: flags reach the options, unset settings stay
// unset (the recipe or a resumed state fills them), predict is its own command, and every usage
// error is one line naming the flag.
#include "apps/command_line.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace kiln::app {
namespace {

Command parse(std::vector<const char*> arguments) {
  arguments.insert(arguments.begin(), "train_mnist_gpu");
  return parse_command_line(static_cast<int>(arguments.size()), arguments.data());
}

std::string usage_error(std::vector<const char*> arguments) {
  try {
    parse(std::move(arguments));
  } catch (const UsageError& error) {
    return error.what();
  }
  return "";
}

TEST(CommandLine, NoFlagsTrainsTheDefaultModelWithItsRecipe) {
  const Command command = parse({});
  EXPECT_EQ(command.kind, Command::Kind::train);
  EXPECT_EQ(command.train.model, "mnist-cnn");
  EXPECT_EQ(command.backend, "auto");
  EXPECT_FALSE(command.train.epochs || command.train.batch_size || command.train.learning_rate ||
               command.train.optimizer || command.train.dropout || command.train.seed ||
               command.train.shuffle || command.train.max_steps || command.train.eval_limit);
  EXPECT_FALSE(command.model_given) << "the default model, which a resumed state may replace";
  EXPECT_FALSE(command.train.quiet);
  EXPECT_EQ(command.cuda_graph, "") << "unset: on wherever a GPU trains";
  EXPECT_TRUE(command.train.fuse) << "fusion is on unless turned off";
}

TEST(CommandLine, TimeLayersTakesItsIterations) {
  const Command plain = parse({});
  EXPECT_FALSE(plain.time_layers);
  EXPECT_EQ(plain.time_iterations, 20);
  const Command timed = parse({"--time-layers"});
  EXPECT_TRUE(timed.time_layers);
  EXPECT_EQ(timed.time_iterations, 20);
  const Command counted = parse({"--backend", "cpu", "--time-layers", "--time-iterations", "3"});
  EXPECT_TRUE(counted.time_layers);
  EXPECT_EQ(counted.time_iterations, 3);
  EXPECT_EQ(parse({"--time-layers", "--time-iterations", "100000"}).time_iterations, 100000);
}

TEST(CommandLine, ThreadsIsAWholeNumberOfCpuThreads) {
  EXPECT_EQ(parse({}).threads, 0) << "unset: OMP_NUM_THREADS, else every core";
  EXPECT_EQ(parse({"--backend", "cpu", "--threads", "1"}).threads, 1);
  EXPECT_EQ(parse({"--threads", "016"}).threads, 16) << "read in decimal";
  EXPECT_EQ(parse({"--threads", "1024"}).threads, 1024);
  EXPECT_NE(parse({"--help"}).help.find("--threads"), std::string::npos);
}

TEST(CommandLine, CudaGraphIsOnOrOff) {
  EXPECT_EQ(parse({"--cuda-graph", "off"}).cuda_graph, "off");
  EXPECT_EQ(parse({"--backend", "cuda", "--cuda-graph", "on"}).cuda_graph, "on");
  EXPECT_EQ(parse({"--backend", "cpu", "--cuda-graph", "off"}).cuda_graph, "off");
}

TEST(CommandLine, FuseIsOnOrOffOnAnyBackend) {
  EXPECT_TRUE(parse({"--fuse", "on"}).train.fuse);
  EXPECT_FALSE(parse({"--fuse", "off"}).train.fuse);
  EXPECT_FALSE(parse({"--backend", "cpu", "--fuse", "off"}).train.fuse);
  EXPECT_TRUE(parse({"--backend", "cudnn", "--fuse", "on"}).train.fuse)
      << "cuDNN does not fuse; on asks for fusion wherever the engine can";
}

TEST(CommandLine, FlagsReachTheOptions) {
  const Command command = parse({"--model",
                                 "fashion-lenet",
                                 "--backend",
                                 "cpu",
                                 "--epochs",
                                 "3",
                                 "--batch-size",
                                 "64",
                                 "--lr",
                                 "0.5",
                                 "--optimizer",
                                 "adam",
                                 "--seed",
                                 "18446744073709551615",
                                 "--no-shuffle",
                                 "--max-steps",
                                 "7",
                                 "--eval-limit",
                                 "100",
                                 "--metrics",
                                 "m.jsonl",
                                 "--predictions",
                                 "p.csv",
                                 "--save",
                                 "w.safetensors",
                                 "--quiet",
                                 "--data",
                                 "d"});
  EXPECT_EQ(command.train.model, "fashion-lenet");
  EXPECT_EQ(command.backend, "cpu");
  EXPECT_EQ(command.train.epochs, 3);
  EXPECT_EQ(command.train.batch_size, 64);
  EXPECT_EQ(command.train.learning_rate, 0.5);
  EXPECT_EQ(command.train.optimizer, models::OptimizerKind::adam);
  EXPECT_EQ(command.train.seed, 18446744073709551615u);
  EXPECT_EQ(command.train.shuffle, false);
  EXPECT_EQ(command.train.max_steps, 7);
  EXPECT_EQ(command.train.eval_limit, 100);
  EXPECT_EQ(command.train.metrics, "m.jsonl");
  EXPECT_EQ(command.train.predictions, "p.csv");
  EXPECT_EQ(command.train.save, "w.safetensors");
  EXPECT_TRUE(command.train.quiet);
  EXPECT_EQ(command.data_dir, "d");
}

TEST(CommandLine, PredictIsItsOwnCommand) {
  // The test's own source file stands in for weights: only its existence is checked here.
  const Command command = parse({"predict", "--model", "fashion-lenet", "--weights", __FILE__,
                                 "--index", "9", "--backend", "cpu"});
  EXPECT_EQ(command.kind, Command::Kind::predict);
  EXPECT_EQ(command.predict.model, "fashion-lenet");
  EXPECT_EQ(command.predict.weights, __FILE__);
  EXPECT_EQ(command.predict.index, 9);
  EXPECT_EQ(command.backend, "cpu");
  EXPECT_NE(usage_error({"predict", "--index", "1"}), "") << "--weights is required";
  EXPECT_NE(usage_error({"predict", "--weights", __FILE__, "--image", __FILE__, "--idx", __FILE__}),
            "");
}

TEST(CommandLine, AGivenModelIsToldApartFromTheDefault) {
  EXPECT_TRUE(parse({"--model", "mnist-cnn"}).model_given);
  EXPECT_TRUE(parse({"--model", "fashion-lenet"}).model_given);
  EXPECT_FALSE(parse({"--epochs", "2"}).model_given);
}

TEST(CommandLine, HelpSaysWhatResumingTakesFromTheStateAndWhichFlagsExtendIt) {
  const std::string help = parse({"--help"}).help;
  EXPECT_NE(help.find("Resuming:"), std::string::npos) << help;
  EXPECT_NE(help.find(std::string("except ") + models::kResumeMayChange + ", which extend the run"),
            std::string::npos)
      << help;
  EXPECT_NE(help.find("docs/recipes.md"), std::string::npos) << help;
  EXPECT_EQ(help.find(std::string("shared") + "/"), std::string::npos) << help;  // no outside file
  EXPECT_EQ(help.find("seed's"), std::string::npos) << help;
}

TEST(CommandLine, HelpIsTheManualAtEitherLevel) {
  const Command top = parse({"--help"});
  EXPECT_EQ(top.kind, Command::Kind::help);
  for (const char* expected : {"--model", "--resume", "predict", "Examples:", "Exit status:",
                               "--conv", "--dropout-engine", "cudnn", "--fuse"}) {
    EXPECT_NE(top.help.find(expected), std::string::npos) << expected;
  }
  const Command predict = parse({"predict", "--help"});
  EXPECT_EQ(predict.kind, Command::Kind::help);
  EXPECT_NE(predict.help.find("--weights"), std::string::npos) << predict.help;
}

TEST(CommandLine, UsageErrorsAreOneLineNamingTheFlag) {
  const std::vector<std::pair<std::vector<const char*>, std::string>> cases = {
      {{"--epochs", "0"}, "--epochs: must be a whole number of at least 1, got '0'"},
      {{"--batch-size", "-3"}, "--batch-size: must be a whole number from 1 to 65536"},
      {{"--lr", "nan"}, "--lr: must be a positive finite number, got 'nan'"},
      {{"--dropout", "1"}, "--dropout: must be a probability in [0, 1), got '1'"},
      {{"--seed", "-1"}, "--seed: must be a whole number from 0 to 2^64 - 1"},
      {{"--model", "resnet"}, "--model: resnet not in {mnist-cnn,fashion-lenet}"},
      {{"--bogus"}, "--bogus"},
      {{"--init", "/nonexistent/w.safetensors"}, "/nonexistent/w.safetensors"},
      {{"--cuda-graph", "yes"}, "--cuda-graph: yes not in {on,off}"},
      {{"--fuse", "yes"}, "--fuse: yes not in {on,off}"},
      {{"--fuse"}, "--fuse"},
      {{"--backend", "cpu", "--cuda-graph", "on"}, "--cuda-graph on: needs a GPU backend"},
      {{"--time-layers", "--time-iterations", "0"},
       "--time-iterations: must be a whole number from 1 to 100000, got '0'"},
      {{"--time-layers", "--time-iterations", "100001"},
       "--time-iterations: must be a whole number from 1 to 100000, got '100001'"},
      {{"--time-layers", "--time-iterations", "2.5"},
       "--time-iterations: must be a whole number from 1 to 100000, got '2.5'"},
      {{"--time-iterations", "5"}, "--time-iterations: only with --time-layers"},
      {{"--threads", "0"}, "--threads: must be a whole number from 1 to 1024, got '0'"},
      {{"--threads", "1025"}, "--threads: must be a whole number from 1 to 1024, got '1025'"},
      {{"--threads", "two"}, "--threads: must be a whole number from 1 to 1024, got 'two'"},
  };
  for (const auto& [arguments, expected] : cases) {
    const std::string message = usage_error(arguments);
    EXPECT_NE(message.find(expected), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
}

TEST(CommandLine, EngineFlagsChooseEachFamilysEngineOnTheGpu) {
  const Command command =
      parse({"--backend", "cuda", "--conv", "cudnn", "--pool", "custom", "--activation", "cudnn",
             "--dropout-engine", "custom", "--softmax", "cudnn", "--dropout", "0.2"});
  EXPECT_EQ(command.engines[static_cast<std::size_t>(OpFamily::conv)], "cudnn");
  EXPECT_EQ(command.engines[static_cast<std::size_t>(OpFamily::pool)], "custom");
  EXPECT_EQ(command.engines[static_cast<std::size_t>(OpFamily::activation)], "cudnn");
  EXPECT_EQ(command.engines[static_cast<std::size_t>(OpFamily::dropout)], "custom");
  EXPECT_EQ(command.engines[static_cast<std::size_t>(OpFamily::softmax)], "cudnn");
  EXPECT_EQ(command.train.dropout, 0.2f) << "--dropout stays the probability";
  const Command unset = parse({"--backend", "cudnn"});
  for (const std::string& engine : unset.engines) EXPECT_EQ(engine, "");
  EXPECT_EQ(parse({"predict", "--weights", __FILE__, "--backend", "cudnn"}).backend, "cudnn");
}

TEST(CommandLine, EngineFlagsNeedAGpuBackend) {
  const std::vector<std::pair<std::vector<const char*>, std::string>> cases = {
      {{"--conv", "cudnn"}, "--conv cudnn: engines are chosen on the GPU only"},
      {{"--backend", "cpu", "--pool", "custom"}, "--pool custom: engines are chosen on the GPU"},
      {{"--backend", "auto", "--dropout-engine", "cudnn"}, "(got --backend auto)"},
      {{"--backend", "cuda", "--softmax", "fast"}, "--softmax: fast not in {custom,cudnn}"},
      {{"--backend", "cuda", "--activation"}, "--activation"},
  };
  for (const auto& [arguments, expected] : cases) {
    const std::string message = usage_error(arguments);
    EXPECT_NE(message.find(expected), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
}

// Found by review and confirmed with tests/fuzz/command_line_fuzzer.cpp's check that a whole
// number written in decimal digits is stored as that number: the flag checks read "010" as ten,
// but CLI11 then stored it with C's base 0, as octal eight (and "0099" failed to convert).
TEST(CommandLine, WholeNumbersAreReadInDecimal) {
  const Command command = parse({"--epochs", "010", "--batch-size", "0064", "--seed", "0100",
                                 "--max-steps", "0099", "--eval-limit", "010"});
  EXPECT_EQ(command.train.epochs, 10);
  EXPECT_EQ(command.train.batch_size, 64);
  EXPECT_EQ(command.train.seed, 100u);
  EXPECT_EQ(command.train.max_steps, 99);
  EXPECT_EQ(command.train.eval_limit, 10);
  EXPECT_EQ(parse({"predict", "--weights", __FILE__, "--index", "010"}).predict.index, 10);
  EXPECT_NE(usage_error({"--epochs", "0x10"}), "");
}

// Found the same way (the fuzzer's check that --dropout is in [0, 1)): the check compared the
// double, but the option is a float, where 0.99999999999 is 1.
TEST(CommandLine, DropoutThatRoundsToOneAsAFloatIsRefused) {
  EXPECT_NE(usage_error({"--dropout", "0.99999999999"}).find("must be a probability in [0, 1)"),
            std::string::npos);
  EXPECT_LT(*parse({"--dropout", "0.99999994"}).train.dropout, 1.0f);
}

}  // namespace
}  // namespace kiln::app
