#include "runtime/checkpoint/checkpoint.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <charconv>
#include <cstring>
#include <set>
#include <stdexcept>
#include <system_error>
#include <utility>

#ifndef KILN_VERSION
#error "KILN_VERSION must be defined by the build (runtime/CMakeLists.txt)"
#endif

namespace kiln::checkpoint {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kFieldPrefix = "field.";
// Lists of tensor names in an error stop after this many.
constexpr std::size_t kNamesListed = 5;

template <typename... Args>
[[noreturn]] void fail(const fs::path& path, fmt::format_string<Args...> fault, Args&&... args) {
  throw CheckpointError(
      fmt::format("{}: {}", path.string(), fmt::format(fault, std::forward<Args>(args)...)));
}

std::string_view kind_name(FileKind kind) {
  return kind == FileKind::weights ? "weights" : "training_state";
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

// "a, b, c, d, e and 3 more"
std::string name_list(const std::vector<std::string>& names) {
  const std::size_t listed = std::min(names.size(), kNamesListed);
  std::string text =
      fmt::format("{}", fmt::join(names.begin(), names.begin() + static_cast<long>(listed), ", "));
  if (names.size() > listed) text += fmt::format(" and {} more", names.size() - listed);
  return text;
}

struct Header {
  FileKind kind;
  std::string model;
};

// The format the safetensors library records for tensors saved from PyTorch (save_model,
// Hugging Face's save_pretrained).
constexpr std::string_view kPyTorchFormat = "pt";

// What the metadata says the file is. A file without metadata (safetensors.torch.save_file) or
// of format "pt" is plain weights of `model`, a state_dict saved from PyTorch.
Header read_header(const fs::path& path, const std::map<std::string, std::string>& metadata,
                   std::string_view model) {
  const auto format_entry = metadata.find("format");
  if (metadata.empty() ||
      (format_entry != metadata.end() && format_entry->second == kPyTorchFormat)) {
    return {FileKind::weights, std::string(model)};
  }
  const auto value = [&](const std::string& key) -> const std::string& {
    const auto found = metadata.find(key);
    if (found == metadata.end()) {
      fail(path, "not a kiln checkpoint: its metadata has no '{}' (kiln writes format={})", key,
           kFormatName);
    }
    return found->second;
  };
  const std::string& format = value("format");
  if (format != kFormatName) {
    fail(path, "not a kiln checkpoint: format is '{}', not '{}'", format, kFormatName);
  }
  const std::string& version = value("format_version");
  if (version != std::to_string(kFormatVersion)) {
    fail(path, "unknown checkpoint format version {} (this kiln reads {})", version,
         kFormatVersion);
  }
  const std::string& kind = value("kind");
  Header header{FileKind::weights, value("model")};
  if (kind == kind_name(FileKind::training_state)) {
    header.kind = FileKind::training_state;
  } else if (kind != kind_name(FileKind::weights)) {
    fail(path, "unknown checkpoint kind '{}' (kiln writes weights or training_state)", kind);
  }
  return header;
}

std::map<std::string, std::string> base_metadata(std::string_view model, FileKind kind) {
  return {{"format", std::string(kFormatName)},
          {"format_version", std::to_string(kFormatVersion)},
          {"kind", std::string(kind_name(kind))},
          {"model", std::string(model)},
          {"kiln_version", std::string(kiln_version())}};
}

void add_tensors(const fs::path& path, std::span<const NamedTensor> tensors,
                 SafetensorsContents& contents) {
  for (const NamedTensor& tensor : tensors) {
    std::int64_t elements = 1;
    for (const std::int64_t extent : tensor.shape) {
      if (extent < 0) {
        throw std::invalid_argument(fmt::format("{}: tensor '{}' has a negative extent in {}",
                                                path.string(), tensor.name,
                                                shape_text(tensor.shape)));
      }
      elements *= extent;
    }
    if (elements != static_cast<std::int64_t>(tensor.values.size())) {
      throw std::invalid_argument(fmt::format("{}: tensor '{}' has {} values for shape {}",
                                              path.string(), tensor.name, tensor.values.size(),
                                              shape_text(tensor.shape)));
    }
    if (!contents.tensors.emplace(tensor.name, make_tensor(tensor.values, tensor.shape)).second) {
      throw std::invalid_argument(
          fmt::format("{}: tensor '{}' appears twice", path.string(), tensor.name));
    }
  }
}

void check_f32_shape(const fs::path& path, const std::string& name, const Tensor& tensor,
                     const std::vector<std::int64_t>& shape) {
  if (tensor.dtype != DType::f32) {
    fail(path, "tensor '{}' is {}, expected F32", name, dtype_name(tensor.dtype));
  }
  if (tensor.shape != shape) {
    fail(path, "tensor '{}' has shape {}, expected {}", name, shape_text(tensor.shape),
         shape_text(shape));
  }
}

std::vector<float> floats_of(const Tensor& tensor) {
  std::vector<float> values(tensor.bytes.size() / sizeof(float));
  if (!values.empty()) std::memcpy(values.data(), tensor.bytes.data(), tensor.bytes.size());
  return values;
}

const std::string& field(const TrainingState& state, const std::string& key) {
  const auto found = state.fields.find(key);
  if (found == state.fields.end()) {
    throw CheckpointError(fmt::format("training state: field '{}' is missing", key));
  }
  return found->second;
}

template <typename T>
T parse_field(const TrainingState& state, const std::string& key, std::string_view what) {
  const std::string& text = field(state, key);
  T value{};
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error == std::errc::result_out_of_range) {
    throw CheckpointError(
        fmt::format("training state: field '{}' is out of range for {}: '{}'", key, what, text));
  }
  if (error != std::errc() || end != text.data() + text.size()) {
    throw CheckpointError(
        fmt::format("training state: field '{}' is not {}: '{}'", key, what, text));
  }
  return value;
}

}  // namespace

std::string_view kiln_version() { return KILN_VERSION; }

void save_weights(const fs::path& path, std::string_view model,
                  std::span<const NamedTensor> tensors) {
  SafetensorsContents contents;
  contents.metadata = base_metadata(model, FileKind::weights);
  add_tensors(path, tensors, contents);
  write_safetensors(path, contents);
}

void load_weights(const fs::path& path, std::string_view model, std::span<NamedTensor> expected,
                  const std::map<std::string, std::string>& aliases) {
  load_weights(read_safetensors(path), path, model, expected, aliases);
}

void load_weights(const SafetensorsContents& contents, const fs::path& path, std::string_view model,
                  std::span<NamedTensor> expected,
                  const std::map<std::string, std::string>& aliases) {
  const Header header = read_header(path, contents.metadata, model);
  if (header.model != model) fail(path, "holds weights of model {}, not {}", header.model, model);

  // Each expected tensor is found under its own name or any alias of the same parameter.
  const auto canonical = [&](const std::string& name) -> const std::string& {
    const auto found = aliases.find(name);
    return found == aliases.end() ? name : found->second;
  };
  std::vector<std::vector<std::string>> present(expected.size());
  std::set<std::string> known;
  std::vector<std::string> missing;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const std::string& parameter = canonical(expected[i].name);
    std::vector<std::string> names = {parameter};
    for (const auto& [alias, target] : aliases) {
      if (target == parameter && alias != parameter) names.push_back(alias);
    }
    for (const std::string& name : names) {
      known.insert(name);
      if (contents.tensors.contains(name)) present[i].push_back(name);
    }
    if (present[i].empty()) {
      missing.push_back(names.size() == 1
                            ? names[0]
                            : fmt::format("{} (or {})", names[0],
                                          fmt::join(names.begin() + 1, names.end(), ", ")));
    }
  }
  std::vector<std::string> unexpected;
  if (header.kind == FileKind::weights) {
    for (const auto& [name, tensor] : contents.tensors) {
      if (!known.contains(name)) unexpected.push_back(name);
    }
  }
  if (!missing.empty() || !unexpected.empty()) {
    std::vector<std::string> faults;
    if (!missing.empty()) {
      faults.push_back(fmt::format("missing {} tensor{} of model {}: {}", missing.size(),
                                   missing.size() == 1 ? "" : "s", model, name_list(missing)));
    }
    if (!unexpected.empty()) {
      faults.push_back(fmt::format("{} unexpected tensor{}, not in model {}: {}", unexpected.size(),
                                   unexpected.size() == 1 ? "" : "s", model,
                                   name_list(unexpected)));
    }
    fail(path, "{}", fmt::join(faults, "; "));
  }

  for (std::size_t i = 0; i < expected.size(); ++i) {
    const Tensor& first = contents.tensors.at(present[i][0]);
    for (const std::string& name : present[i]) {
      const Tensor& tensor = contents.tensors.at(name);
      check_f32_shape(path, name, tensor, expected[i].shape);
      if (tensor.bytes != first.bytes) {
        fail(path, "tensors '{}' and '{}' are the same parameter under two names but differ",
             present[i][0], name);
      }
    }
    expected[i].values = floats_of(first);
  }
}

void save_training_state(const fs::path& path, const TrainingState& state) {
  SafetensorsContents contents;
  contents.metadata = base_metadata(state.model, FileKind::training_state);
  for (const auto& [key, value] : state.fields) {
    contents.metadata[std::string(kFieldPrefix) + key] = value;
  }
  add_tensors(path, state.tensors, contents);
  write_safetensors(path, contents);
}

TrainingState load_training_state(const fs::path& path, std::string_view model) {
  return load_training_state(read_safetensors(path), path, model);
}

TrainingState load_training_state(const fs::path& path) {
  const SafetensorsContents contents = read_safetensors(path);
  return load_training_state(contents, path, read_header(path, contents.metadata, "").model);
}

TrainingState load_training_state(const SafetensorsContents& contents, const fs::path& path,
                                  std::string_view model) {
  const Header header = read_header(path, contents.metadata, model);
  if (header.kind != FileKind::training_state) {
    fail(path,
         "holds weights only, not a training state; resuming needs the .state file kiln writes "
         "beside the weights");
  }
  if (header.model != model) {
    fail(path, "holds a training state of model {}, not {}", header.model, model);
  }
  TrainingState state{.model = header.model, .tensors = {}, .fields = {}};
  for (const auto& [key, value] : contents.metadata) {
    if (key.starts_with(kFieldPrefix)) state.fields[key.substr(kFieldPrefix.size())] = value;
  }
  for (const auto& [name, tensor] : contents.tensors) {
    if (tensor.dtype != DType::f32) {
      fail(path, "tensor '{}' is {}, expected F32", name, dtype_name(tensor.dtype));
    }
    state.tensors.push_back({.name = name, .shape = tensor.shape, .values = floats_of(tensor)});
  }
  return state;
}

std::string exact_text(double value) {
  char text[32];
  const auto [end, error] = std::to_chars(text, text + sizeof(text), value);
  if (error != std::errc()) throw std::logic_error("exact_text: buffer too small");
  return std::string(text, end);
}

std::string string_field(const TrainingState& state, const std::string& key) {
  return field(state, key);
}

double parse_double_field(const TrainingState& state, const std::string& key) {
  return parse_field<double>(state, key, "a number");
}

std::uint64_t parse_uint_field(const TrainingState& state, const std::string& key) {
  return parse_field<std::uint64_t>(state, key, "a non-negative integer");
}

}  // namespace kiln::checkpoint
