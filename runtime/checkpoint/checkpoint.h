// kiln's checkpoint files: safetensors files (safetensors.h) whose tensors are float32 under the
// PyTorch state_dict names of the model, so PyTorch loads the weights unchanged, and whose
// metadata says what the file is:
//
//   format=kiln  format_version=1  kind=weights|training_state  model=<name>  kiln_version=<x.y.z>
//
// A weights file holds the model's parameters. A training state holds them too, under the same
// names, plus the optimizer's tensors (e.g. "exp_avg/fc1.weight") and the trainer's fields, each
// under the metadata key "field.<key>", so that a run can continue where it stopped.
//
// Loading is strict: another format, an unknown version, another model, a missing, extra,
// misshapen or non-F32 tensor throws CheckpointError with one line "<path>: <fault>".
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/checkpoint/safetensors.h"

namespace kiln::checkpoint {

// A SafetensorsError, so one catch handles a damaged file and a file of the wrong kind alike.
class CheckpointError : public SafetensorsError {
 public:
  using SafetensorsError::SafetensorsError;
};

inline constexpr std::string_view kFormatName = "kiln";
inline constexpr int kFormatVersion = 1;

// The version of kiln that writes a file (the project's version), recorded in its metadata.
std::string_view kiln_version();

enum class FileKind { weights, training_state };

// A float32 tensor by name, with its PyTorch shape (row-major values).
struct NamedTensor {
  std::string name;
  std::vector<std::int64_t> shape;
  std::vector<float> values;
};

// Writes the model's weights atomically: F32, shapes as given, metadata kind=weights. Throws
// std::invalid_argument for a tensor whose values do not fill its shape or a repeated name.
void save_weights(const std::filesystem::path& path, std::string_view model,
                  std::span<const NamedTensor> tensors);

// Fills the values of every tensor of `expected` (names and shapes set by the caller).
// - A file without metadata (as PyTorch's safetensors.torch.save_file writes a state_dict) is
//   taken as weights of `model`. With metadata, format, format_version and model must match.
// - `aliases` maps another name of a parameter to its name in `expected` (mnist-cnn's seed holds
//   fc1 twice, also as "layer4.0.weight"). Either name may be present; if both are, they must be
//   equal bit for bit.
// - Every expected tensor must be present, F32, of the expected shape. Any other tensor is an
//   error, except in a training state, whose other tensors are the optimizer's and are skipped.
void load_weights(const std::filesystem::path& path, std::string_view model,
                  std::span<NamedTensor> expected,
                  const std::map<std::string, std::string>& aliases = {});

// load_weights on a file already read (read_safetensors or parse_safetensors); `source` stands for
// the path in errors. The fuzzers of tests/fuzz drive it.
void load_weights(const SafetensorsContents& contents, const std::filesystem::path& source,
                  std::string_view model, std::span<NamedTensor> expected,
                  const std::map<std::string, std::string>& aliases = {});

// Everything needed to continue a run: the weights under their names, the optimizer's tensors,
// and the trainer's fields (epoch, step, seed, best loss as exact text, the run's settings...).
struct TrainingState {
  std::string model;
  std::vector<NamedTensor> tensors;
  std::map<std::string, std::string> fields;
};

void save_training_state(const std::filesystem::path& path, const TrainingState& state);

// Reads a training state of `model`; refuses a weights-only file. Tensors come in name order.
TrainingState load_training_state(const std::filesystem::path& path, std::string_view model);
// The same for the model the state records, whichever it is.
TrainingState load_training_state(const std::filesystem::path& path);
// The same on a file already read; `source` stands for the path in errors.
TrainingState load_training_state(const SafetensorsContents& contents,
                                  const std::filesystem::path& source, std::string_view model);

// Fields as exact text: the shortest text that reads back as the very same double.
std::string exact_text(double value);

// A field's value; throws CheckpointError "training state: field '<key>' ..." when it is missing
// or (for the numbers) not the whole text of a number of that type.
std::string string_field(const TrainingState& state, const std::string& key);
double parse_double_field(const TrainingState& state, const std::string& key);
std::uint64_t parse_uint_field(const TrainingState& state, const std::string& key);

}  // namespace kiln::checkpoint
