// libFuzzer target: train_mnist_gpu's command line (apps/command_line.h). The input, split at each
// '\0', is argv after the program's name (at most 32 arguments). UsageError is the documented
// answer to a bad command line; anything else escaping, a sanitizer report, or a command that
// breaks what the flags promise (the ranges their messages state, the models and backends they
// list, a whole number written in decimal digits read as that number) is a finding. Run by
// scripts/fuzz.sh command_line.
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "apps/command_line.h"

namespace {

using kiln::app::Command;

constexpr std::size_t kMaxArguments = 32;

void check(bool condition) {
  if (!condition) std::abort();
}

bool is_model(const std::string& model) { return model == "mnist-cnn" || model == "fashion-lenet"; }

// The text of `flag` when it is given exactly once ("--flag TEXT" or "--flag=TEXT") and TEXT is
// decimal digits only, as a number; nothing otherwise.
std::optional<std::uint64_t> decimal_text(const std::vector<std::string>& arguments,
                                          std::string_view flag) {
  std::optional<std::string_view> text;
  int given = 0;
  for (std::size_t i = 1; i < arguments.size(); ++i) {
    const std::string_view argument = arguments[i];
    if (argument == flag) {
      ++given;
      if (i + 1 < arguments.size()) text = arguments[i + 1];
    } else if (argument.starts_with(flag) && argument.size() > flag.size() &&
               argument[flag.size()] == '=') {
      ++given;
      text = argument.substr(flag.size() + 1);
    }
  }
  if (given != 1 || !text || text->empty()) return std::nullopt;
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (error != std::errc() || end != text->data() + text->size()) return std::nullopt;
  return value;
}

template <typename T>
void check_decimal(const std::vector<std::string>& arguments, std::string_view flag,
                   const std::optional<T>& parsed) {
  const std::optional<std::uint64_t> written = decimal_text(arguments, flag);
  if (written && parsed) check(static_cast<std::uint64_t>(*parsed) == *written);
}

void check_command(const std::vector<std::string>& arguments, const Command& command) {
  check(is_model(command.train.model) && is_model(command.predict.model));
  check(command.backend == "auto" || command.backend == "cuda" || command.backend == "cudnn" ||
        command.backend == "cpu");
  const kiln::models::TrainOptions& train = command.train;
  check(!train.epochs || *train.epochs >= 1);
  check(!train.batch_size || (*train.batch_size >= 1 && *train.batch_size <= 65536));
  check(!train.learning_rate || (*train.learning_rate > 0 && std::isfinite(*train.learning_rate)));
  check(!train.dropout || (*train.dropout >= 0 && *train.dropout < 1));
  check(train.max_steps.value_or(0) >= 0 && train.eval_limit.value_or(0) >= 0);
  if (command.kind == Command::Kind::help) {
    // Asking for help stops the parse before the flags are stored.
    check(!command.help.empty());
    return;
  }
  check_decimal(arguments, "--epochs", train.epochs);
  check_decimal(arguments, "--batch-size", train.batch_size);
  check_decimal(arguments, "--seed", train.seed);
  check_decimal(arguments, "--max-steps", train.max_steps);
  check_decimal(arguments, "--eval-limit", train.eval_limit);
  check_decimal(arguments, "--index", std::optional(command.predict.index));
  switch (command.kind) {
    case Command::Kind::help:
      break;
    case Command::Kind::predict:
      check(!command.predict.weights.empty() && command.predict.index >= -1);
      check(command.predict.image.empty() || command.predict.idx.empty());
      break;
    case Command::Kind::train:
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string> arguments = {"train_mnist_gpu"};
  std::string current;
  for (std::size_t i = 0; i < size; ++i) {
    if (data[i] != '\0') {
      current.push_back(static_cast<char>(data[i]));
      continue;
    }
    arguments.push_back(current);
    current.clear();
    if (arguments.size() > kMaxArguments) return 0;
  }
  if (size > 0) arguments.push_back(current);
  if (arguments.size() > kMaxArguments + 1) return 0;

  std::vector<const char*> argv;
  for (const std::string& argument : arguments) argv.push_back(argument.c_str());
  try {
    check_command(arguments,
                  kiln::app::parse_command_line(static_cast<int>(argv.size()), argv.data()));
  } catch (const kiln::app::UsageError&) {
  }
  return 0;
}
