// libFuzzer target: the safetensors reader (runtime/checkpoint/safetensors.h) and kiln's checkpoint
// loaders (checkpoint.h) on arbitrary bytes. A file that reads is then loaded as weights of a small
// model (with an alias, as mnist-cnn's fc1 has), as a training state, and through the typed
// accessors and field parsers. SafetensorsError (CheckpointError is one) is the documented answer
// to bad input; anything else escaping, a sanitizer report, or contents that break the reader's
// promises (extents >= 0, bytes matching shape and dtype) is a finding. Run by scripts/fuzz.sh
// safetensors.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "runtime/checkpoint/checkpoint.h"
#include "runtime/checkpoint/safetensors.h"

namespace {

using namespace kiln::checkpoint;

void check(bool condition) {
  if (!condition) std::abort();
}

// What the reader promises of every tensor it returns.
void check_contents(const SafetensorsContents& contents) {
  for (const auto& [name, tensor] : contents.tensors) {
    check(name != "__metadata__");
    std::uint64_t elements = 1;
    for (const std::int64_t extent : tensor.shape) {
      check(extent >= 0);
      elements *= static_cast<std::uint64_t>(extent);
    }
    check(static_cast<std::int64_t>(elements) == tensor.element_count());
    check(tensor.bytes.size() == elements * dtype_size(tensor.dtype));
  }
}

template <typename Access>
void ignoring_errors(Access&& access) {
  try {
    access();
  } catch (const SafetensorsError&) {
  }
}

void load_as_checkpoint(const SafetensorsContents& contents) {
  // Names as plain variables: clang 14 cannot capture a structured binding in a lambda.
  for (const auto& entry : contents.tensors) {
    const std::string& name = entry.first;
    ignoring_errors([&] { tensor_floats(contents, name); });
    ignoring_errors([&] { tensor_ints(contents, name); });
    ignoring_errors([&] { tensor_bytes(contents, name); });
  }
  ignoring_errors([&] {
    std::vector<NamedTensor> expected = {{"fc1.weight", {2, 3}, {}}, {"fc1.bias", {2}, {}}};
    const std::map<std::string, std::string> aliases = {{"layer4.0.weight", "fc1.weight"}};
    load_weights(contents, "fuzz.safetensors", "tiny", expected, aliases);
    check(expected[0].values.size() == 6 && expected[1].values.size() == 2);
  });
  ignoring_errors([&] {
    const TrainingState state = load_training_state(contents, "fuzz.safetensors", "tiny");
    for (const NamedTensor& tensor : state.tensors) {
      std::int64_t elements = 1;
      for (const std::int64_t extent : tensor.shape) elements *= extent;
      check(elements == static_cast<std::int64_t>(tensor.values.size()));
    }
    for (const auto& field : state.fields) {
      const std::string& key = field.first;
      check(string_field(state, key) == field.second);
      ignoring_errors([&] { parse_double_field(state, key); });
      ignoring_errors([&] { parse_uint_field(state, key); });
    }
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  SafetensorsContents contents;
  try {
    contents = parse_safetensors(std::as_bytes(std::span(data, size)), "fuzz.safetensors");
  } catch (const SafetensorsError&) {
    return 0;
  }
  check_contents(contents);
  load_as_checkpoint(contents);
  return 0;
}
