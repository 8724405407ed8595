// kiln's checkpoint files: weights and training states round trip bit for bit with their
// metadata; a file without metadata (as PyTorch writes one) loads; every fault of a file that is
// not the model's weights is refused with one line "<path>: ..." naming it; writes are atomic.
#include "runtime/checkpoint/checkpoint.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "tests/support/temp_dir.h"

namespace kiln::checkpoint {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

constexpr std::string_view kModel = "mnist-cnn";

std::vector<unsigned char> file_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::uint32_t> bits(const std::vector<float>& values) {
  std::vector<std::uint32_t> result;
  for (const float value : values) result.push_back(std::bit_cast<std::uint32_t>(value));
  return result;
}

// Small stand-ins for a model's parameters, with the values a careless copy would change:
// -0, a NaN with a payload, infinities, a denormal, the largest float.
std::vector<NamedTensor> sample_weights() {
  const float nan = std::bit_cast<float>(std::uint32_t{0x7fc01234});
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> conv(18);
  for (std::size_t i = 0; i < conv.size(); ++i) conv[i] = 0.1f * static_cast<float>(i) - 0.7f;
  conv[3] = -0.0f;
  conv[5] = nan;
  return {{"conv1.weight", {2, 1, 3, 3}, conv},
          {"conv1.bias", {2}, {inf, -inf}},
          {"fc1.weight", {3, 4}, {1e-45f, 3.4028235e38f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
          {"fc1.bias", {3}, {0.25f, -0.5f, 1e-30f}}};
}

// The same names and shapes with no values, as a caller asks load_weights for them.
std::vector<NamedTensor> empty_like(const std::vector<NamedTensor>& tensors) {
  std::vector<NamedTensor> result;
  for (const NamedTensor& tensor : tensors) result.push_back({tensor.name, tensor.shape, {}});
  return result;
}

void expect_same_tensors(const std::vector<NamedTensor>& actual,
                         const std::vector<NamedTensor>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE(expected[i].name);
    EXPECT_EQ(actual[i].name, expected[i].name);
    EXPECT_EQ(actual[i].shape, expected[i].shape);
    EXPECT_EQ(bits(actual[i].values), bits(expected[i].values));
  }
}

// A file of the given tensors and metadata written by the safetensors layer directly, so a test
// can give it what save_weights never writes.
fs::path write_raw(const fs::path& path, const std::vector<NamedTensor>& tensors,
                   std::map<std::string, std::string> metadata) {
  SafetensorsContents contents;
  contents.metadata = std::move(metadata);
  for (const NamedTensor& tensor : tensors) {
    contents.tensors[tensor.name] = make_tensor(tensor.values, tensor.shape);
  }
  write_safetensors(path, contents);
  return path;
}

std::map<std::string, std::string> kiln_metadata(std::string kind = "weights",
                                                 std::string model = std::string(kModel)) {
  return {{"format", "kiln"},
          {"format_version", "1"},
          {"kind", std::move(kind)},
          {"model", std::move(model)},
          {"kiln_version", "0.1.0"}};
}

// `action` must throw CheckpointError (or the SafetensorsError it derives from) with a message
// "<path>: ..." holding every fragment.
void expect_error(const std::function<void()>& action, const fs::path& path,
                  std::initializer_list<std::string> fragments) {
  try {
    action();
    ADD_FAILURE() << "no exception; expected one naming " << path;
  } catch (const SafetensorsError& error) {
    const std::string message = error.what();
    EXPECT_EQ(message.rfind(path.string() + ": ", 0), 0u) << message;
    for (const std::string& fragment : fragments) {
      EXPECT_NE(message.find(fragment), std::string::npos)
          << "'" << fragment << "' not in: " << message;
    }
  }
}

void expect_load_error(const fs::path& path, std::initializer_list<std::string> fragments,
                       const std::map<std::string, std::string>& aliases = {}) {
  std::vector<NamedTensor> expected = empty_like(sample_weights());
  expect_error([&] { load_weights(path, kModel, expected, aliases); }, path, fragments);
}

TEST(CheckpointWeights, RoundTripIsBitwise) {
  const TempDir dir;
  const auto path = dir.path() / "mnist-cnn.safetensors";
  const std::vector<NamedTensor> weights = sample_weights();
  save_weights(path, kModel, weights);
  std::vector<NamedTensor> loaded = empty_like(weights);
  load_weights(path, kModel, loaded);
  expect_same_tensors(loaded, weights);
  EXPECT_TRUE(std::isnan(loaded[0].values[5]));
  EXPECT_TRUE(std::signbit(loaded[0].values[3]));
}

TEST(CheckpointWeights, MetadataNamesFormatVersionKindModelAndKilnVersion) {
  const TempDir dir;
  const auto path = dir.path() / "mnist-cnn.safetensors";
  save_weights(path, kModel, sample_weights());
  const SafetensorsContents contents = read_safetensors(path);
  const std::map<std::string, std::string> expected = {
      {"format", "kiln"},
      {"format_version", "1"},
      {"kind", "weights"},
      {"model", "mnist-cnn"},
      {"kiln_version", std::string(kiln_version())}};
  EXPECT_EQ(contents.metadata, expected);
  EXPECT_TRUE(std::regex_match(std::string(kiln_version()), std::regex(R"(\d+\.\d+\.\d+)")))
      << kiln_version();
  // Plain F32 tensors under the PyTorch names and shapes, nothing else: what PyTorch loads.
  ASSERT_EQ(contents.tensors.size(), 4u);
  for (const NamedTensor& tensor : sample_weights()) {
    SCOPED_TRACE(tensor.name);
    ASSERT_TRUE(contents.tensors.contains(tensor.name));
    EXPECT_EQ(contents.tensors.at(tensor.name).dtype, DType::f32);
    EXPECT_EQ(contents.tensors.at(tensor.name).shape, tensor.shape);
  }
}

// A state_dict saved by Python's safetensors.torch.save_file: no "__metadata__", compact JSON,
// padded with spaces to 8 bytes, crafted here byte by byte rather than by kiln's writer.
TEST(CheckpointWeights, FileWithoutMetadataLoadsAsTheModelsWeights) {
  const TempDir dir;
  const std::vector<NamedTensor> weights = sample_weights();
  std::string header = "{";
  std::vector<unsigned char> data;
  for (const NamedTensor& tensor : weights) {
    const std::size_t begin = data.size();
    const auto* bytes = reinterpret_cast<const unsigned char*>(tensor.values.data());
    data.insert(data.end(), bytes, bytes + tensor.values.size() * sizeof(float));
    std::string shape;
    for (const std::int64_t extent : tensor.shape) {
      shape += (shape.empty() ? "" : ",") + std::to_string(extent);
    }
    header += (header.size() > 1 ? "," : "") + ("\"" + tensor.name + "\":{\"dtype\":\"F32\"") +
              ",\"shape\":[" + shape + "],\"data_offsets\":[" + std::to_string(begin) + "," +
              std::to_string(data.size()) + "]}";
  }
  header += "}";
  header.append((8 - header.size() % 8) % 8, ' ');
  std::vector<unsigned char> file(8 + header.size() + data.size());
  const std::uint64_t header_bytes = header.size();
  std::memcpy(file.data(), &header_bytes, 8);
  std::memcpy(file.data() + 8, header.data(), header.size());
  std::memcpy(file.data() + 8 + header.size(), data.data(), data.size());
  const auto path = dir.write("state_dict.safetensors", file);

  ASSERT_TRUE(read_safetensors(path).metadata.empty());
  std::vector<NamedTensor> loaded = empty_like(weights);
  load_weights(path, kModel, loaded);
  expect_same_tensors(loaded, weights);
}

TEST(CheckpointWeights, AnotherModelIsRefused) {
  const TempDir dir;
  const auto path = dir.path() / "lenet.safetensors";
  save_weights(path, "fashion-lenet", sample_weights());
  expect_load_error(path, {"holds weights of model fashion-lenet, not mnist-cnn"});
}

TEST(CheckpointWeights, UnknownFormatVersionIsRefused) {
  const TempDir dir;
  auto metadata = kiln_metadata();
  metadata["format_version"] = "2";
  const auto path = write_raw(dir.path() / "v2.safetensors", sample_weights(), metadata);
  expect_load_error(path, {"unknown checkpoint format version 2 (this kiln reads 1)"});
}

// safetensors' own save_model and Hugging Face's save_pretrained record {"format": "pt"}.
TEST(CheckpointWeights, PyTorchFormatLoadsAsTheModelsWeights) {
  const TempDir dir;
  const auto path = write_raw(dir.path() / "pt.safetensors", sample_weights(), {{"format", "pt"}});
  std::vector<NamedTensor> loaded = empty_like(sample_weights());
  load_weights(path, kModel, loaded);
  expect_same_tensors(loaded, sample_weights());
}

TEST(CheckpointWeights, AnotherFormatIsRefused) {
  const TempDir dir;
  auto metadata = kiln_metadata();
  metadata["format"] = "tf";
  expect_load_error(write_raw(dir.path() / "tf.safetensors", sample_weights(), metadata),
                    {"not a kiln checkpoint", "format is 'tf'"});
  // Metadata of some other writer, without a format at all.
  expect_load_error(
      write_raw(dir.path() / "other.safetensors", sample_weights(), {{"note", "hello"}}),
      {"not a kiln checkpoint", "no 'format'"});
  metadata = kiln_metadata();
  metadata["kind"] = "optimizer";
  expect_load_error(write_raw(dir.path() / "kind.safetensors", sample_weights(), metadata),
                    {"unknown checkpoint kind 'optimizer'"});
}

TEST(CheckpointWeights, MissingTensorsAreNamed) {
  const TempDir dir;
  std::vector<NamedTensor> weights = sample_weights();
  weights.erase(weights.begin() + 2);  // fc1.weight
  const auto path = dir.path() / "partial.safetensors";
  save_weights(path, kModel, weights);
  expect_load_error(path, {"missing 1 tensor of model mnist-cnn: fc1.weight"});
}

TEST(CheckpointWeights, ManyMissingTensorsAreListedUpToFive) {
  const TempDir dir;
  const auto path = dir.path() / "empty.safetensors";
  save_weights(path, kModel, {});
  std::vector<NamedTensor> expected;
  for (int i = 0; i < 8; ++i) expected.push_back({"w" + std::to_string(i), {1}, {}});
  expect_error([&] { load_weights(path, kModel, expected); }, path,
               {"missing 8 tensors of model mnist-cnn: w0, w1, w2, w3, w4 and 3 more"});
}

TEST(CheckpointWeights, UnexpectedTensorsAreNamed) {
  const TempDir dir;
  std::vector<NamedTensor> weights = sample_weights();
  weights.push_back({"fc9.bias", {1}, {1.0f}});
  const auto path = dir.path() / "extra.safetensors";
  save_weights(path, kModel, weights);
  expect_load_error(path, {"1 unexpected tensor, not in model mnist-cnn: fc9.bias"});
}

TEST(CheckpointWeights, WrongShapeShowsBothShapes) {
  const TempDir dir;
  std::vector<NamedTensor> weights = sample_weights();
  weights[0].shape = {2, 9};
  const auto path = dir.path() / "shape.safetensors";
  save_weights(path, kModel, weights);
  expect_load_error(path, {"tensor 'conv1.weight' has shape [2, 9], expected [2, 1, 3, 3]"});
}

TEST(CheckpointWeights, WrongDtypeIsNamed) {
  const TempDir dir;
  SafetensorsContents contents;
  contents.metadata = kiln_metadata();
  for (const NamedTensor& tensor : sample_weights()) {
    contents.tensors[tensor.name] = make_tensor(tensor.values, tensor.shape);
  }
  contents.tensors["fc1.bias"] = make_tensor(std::vector<std::int32_t>{1, 2, 3}, {3});
  const auto path = dir.path() / "dtype.safetensors";
  write_safetensors(path, contents);
  expect_load_error(path, {"tensor 'fc1.bias' is I32, expected F32"});
}

// mnist-cnn's seed holds fc1's weight twice: as "fc1.weight" and as "layer4.0.weight".
const std::map<std::string, std::string> kAliases = {{"layer4.0.weight", "fc1.weight"}};

TEST(CheckpointAliases, AliasAloneIsAccepted) {
  const TempDir dir;
  std::vector<NamedTensor> weights = sample_weights();
  weights[2].name = "layer4.0.weight";
  const auto path = dir.path() / "seed.safetensors";
  save_weights(path, kModel, weights);
  std::vector<NamedTensor> loaded = empty_like(sample_weights());
  load_weights(path, kModel, loaded, kAliases);
  expect_same_tensors(loaded, sample_weights());
  // Without the alias, the same file misses fc1.weight and holds a stranger.
  expect_load_error(path, {"missing 1 tensor", "fc1.weight", "unexpected tensor", "layer4.0"});
}

TEST(CheckpointAliases, AliasAndCanonicalEqualAreAccepted) {
  const TempDir dir;
  std::vector<NamedTensor> weights = sample_weights();
  weights.push_back(weights[2]);
  weights.back().name = "layer4.0.weight";
  const auto path = dir.path() / "seed.safetensors";
  save_weights(path, kModel, weights);
  std::vector<NamedTensor> loaded = empty_like(sample_weights());
  load_weights(path, kModel, loaded, kAliases);
  expect_same_tensors(loaded, sample_weights());
}

TEST(CheckpointAliases, AliasAndCanonicalDifferentAreRefused) {
  const TempDir dir;
  std::vector<NamedTensor> weights = sample_weights();
  weights.push_back(weights[2]);
  weights.back().name = "layer4.0.weight";
  weights.back().values[7] = std::nextafter(weights.back().values[7], 100.0f);  // one ulp
  const auto path = dir.path() / "seed.safetensors";
  save_weights(path, kModel, weights);
  expect_load_error(path, {"'fc1.weight' and 'layer4.0.weight'", "differ"}, kAliases);
}

TEST(CheckpointAliases, MissingParameterNamesItsAliases) {
  const TempDir dir;
  std::vector<NamedTensor> weights = sample_weights();
  weights.erase(weights.begin() + 2);
  const auto path = dir.path() / "seed.safetensors";
  save_weights(path, kModel, weights);
  expect_load_error(path, {"missing 1 tensor", "fc1.weight (or layer4.0.weight)"}, kAliases);
}

TrainingState sample_state() {
  TrainingState state{.model = std::string(kModel), .tensors = sample_weights(), .fields = {}};
  for (const NamedTensor& weight : sample_weights()) {
    NamedTensor moment = weight;
    moment.name = "exp_avg/" + weight.name;
    for (float& value : moment.values) value = value * 0.5f;
    state.tensors.push_back(moment);
  }
  state.fields = {{"epoch", "3"},
                  {"step", std::to_string(std::numeric_limits<std::uint64_t>::max())},
                  {"best_loss", exact_text(0.1 + 0.2)},
                  {"learning_rate", exact_text(1e-300)},
                  {"optimizer", "adam"},
                  {"note", "quotes \" backslash \\ newline \n and ünïcode"}};
  return state;
}

TEST(CheckpointTrainingState, RoundTripKeepsTensorsAndFieldsExactly) {
  const TempDir dir;
  const auto path = dir.path() / "mnist-cnn.state";
  const TrainingState state = sample_state();
  save_training_state(path, state);
  const TrainingState loaded = load_training_state(path, kModel);
  EXPECT_EQ(loaded.model, state.model);
  EXPECT_EQ(loaded.fields, state.fields);
  // Tensors come back in name order.
  std::vector<NamedTensor> sorted = state.tensors;
  std::sort(sorted.begin(), sorted.end(),
            [](const NamedTensor& a, const NamedTensor& b) { return a.name < b.name; });
  expect_same_tensors(loaded.tensors, sorted);

  EXPECT_EQ(std::bit_cast<std::uint64_t>(parse_double_field(loaded, "best_loss")),
            std::bit_cast<std::uint64_t>(0.1 + 0.2));
  EXPECT_NE(parse_double_field(loaded, "best_loss"), 0.3);
  EXPECT_EQ(std::bit_cast<std::uint64_t>(parse_double_field(loaded, "learning_rate")),
            std::bit_cast<std::uint64_t>(1e-300));
  EXPECT_EQ(parse_uint_field(loaded, "step"), std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(parse_uint_field(loaded, "epoch"), 3u);
  EXPECT_EQ(string_field(loaded, "optimizer"), "adam");

  const SafetensorsContents contents = read_safetensors(path);
  EXPECT_EQ(contents.metadata.at("kind"), "training_state");
  EXPECT_EQ(contents.metadata.at("format"), "kiln");
  EXPECT_EQ(contents.metadata.at("field.epoch"), "3");
}

TEST(CheckpointTrainingState, ExactTextIsShortestAndReadsBack) {
  EXPECT_EQ(exact_text(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(exact_text(1e-300), "1e-300");
  EXPECT_EQ(exact_text(0.5), "0.5");
  for (const double value : {0.1, -2.5e-310, 1.7976931348623157e308, 123456789.125, -0.0}) {
    TrainingState state;
    state.fields["x"] = exact_text(value);
    EXPECT_EQ(std::bit_cast<std::uint64_t>(parse_double_field(state, "x")),
              std::bit_cast<std::uint64_t>(value))
        << state.fields["x"];
  }
}

TEST(CheckpointTrainingState, FieldErrorsNameTheKey) {
  TrainingState state;
  state.fields = {{"epoch", "x"}, {"step", "-1"}, {"loss", "0.5 "}, {"huge", "1e999"}};
  const auto expect_message = [](const std::function<void()>& action, const std::string& text) {
    try {
      action();
      ADD_FAILURE() << "no exception; expected: " << text;
    } catch (const CheckpointError& error) {
      EXPECT_EQ(std::string(error.what()), text);
    }
  };
  expect_message([&] { string_field(state, "seed"); }, "training state: field 'seed' is missing");
  expect_message([&] { parse_uint_field(state, "seed"); },
                 "training state: field 'seed' is missing");
  expect_message([&] { parse_uint_field(state, "epoch"); },
                 "training state: field 'epoch' is not a non-negative integer: 'x'");
  expect_message([&] { parse_uint_field(state, "step"); },
                 "training state: field 'step' is not a non-negative integer: '-1'");
  expect_message([&] { parse_double_field(state, "loss"); },
                 "training state: field 'loss' is not a number: '0.5 '");
  expect_message([&] { parse_double_field(state, "huge"); },
                 "training state: field 'huge' is out of range for a number: '1e999'");
}

TEST(CheckpointTrainingState, WeightsFileIsRefused) {
  const TempDir dir;
  const auto path = dir.path() / "mnist-cnn.safetensors";
  save_weights(path, kModel, sample_weights());
  expect_error([&] { load_training_state(path, kModel); }, path,
               {"holds weights only, not a training state", ".state file"});
  // A file without metadata is plain weights too.
  const auto bare = write_raw(dir.path() / "bare.safetensors", sample_weights(), {});
  expect_error([&] { load_training_state(bare, kModel); }, bare, {"holds weights only"});
}

TEST(CheckpointTrainingState, AnotherModelFormatOrVersionIsRefused) {
  const TempDir dir;
  TrainingState state = sample_state();
  state.model = "fashion-lenet";
  const auto path = dir.path() / "lenet.state";
  save_training_state(path, state);
  expect_error([&] { load_training_state(path, kModel); }, path,
               {"holds a training state of model fashion-lenet, not mnist-cnn"});

  auto metadata = kiln_metadata("training_state");
  metadata["format_version"] = "0";
  const auto old = write_raw(dir.path() / "v0.state", sample_weights(), metadata);
  expect_error([&] { load_training_state(old, kModel); }, old,
               {"unknown checkpoint format version 0 (this kiln reads 1)"});
  metadata = kiln_metadata("training_state");
  metadata["format"] = "tf";
  const auto tf = write_raw(dir.path() / "tf.state", sample_weights(), metadata);
  expect_error([&] { load_training_state(tf, kModel); }, tf, {"format is 'tf'"});
  const auto pt = write_raw(dir.path() / "pt.state", sample_weights(), {{"format", "pt"}});
  expect_error([&] { load_training_state(pt, kModel); }, pt, {"holds weights only"});
}

TEST(CheckpointTrainingState, NonFloatTensorIsRefused) {
  const TempDir dir;
  SafetensorsContents contents;
  contents.metadata = kiln_metadata("training_state");
  contents.tensors["step_count"] = make_tensor(std::vector<std::int32_t>{7}, {1});
  const auto path = dir.path() / "ints.state";
  write_safetensors(path, contents);
  expect_error([&] { load_training_state(path, kModel); }, path,
               {"tensor 'step_count' is I32, expected F32"});
}

TEST(CheckpointTrainingState, LoadWeightsReadsTheWeightsAndSkipsTheOptimizersTensors) {
  const TempDir dir;
  const auto path = dir.path() / "mnist-cnn.state";
  save_training_state(path, sample_state());
  std::vector<NamedTensor> loaded = empty_like(sample_weights());
  load_weights(path, kModel, loaded);
  expect_same_tensors(loaded, sample_weights());
  // The weights must still all be there.
  std::vector<NamedTensor> more = empty_like(sample_weights());
  more.push_back({"fc2.weight", {1}, {}});
  expect_error([&] { load_weights(path, kModel, more); }, path, {"missing 1 tensor", "fc2.weight"});
}

// The fuzzers' entry points: contents already read load as the file does, and faults name the
// source given.
TEST(CheckpointInMemory, ContentsLoadAsTheFileDoes) {
  const TempDir dir;
  const auto path = dir.path() / "mnist-cnn.state";
  save_training_state(path, sample_state());
  const SafetensorsContents contents = read_safetensors(path);
  std::vector<NamedTensor> loaded = empty_like(sample_weights());
  load_weights(contents, "memory", kModel, loaded);
  expect_same_tensors(loaded, sample_weights());
  EXPECT_EQ(load_training_state(contents, "memory", kModel).fields, sample_state().fields);
  expect_error([&] { load_training_state(contents, "memory", "fashion-lenet"); }, "memory",
               {"holds a training state of model mnist-cnn, not fashion-lenet"});
}

TEST(CheckpointWrite, RejectedTensorsLeaveTheExistingFileAlone) {
  const TempDir dir;
  const auto path = dir.path() / "mnist-cnn.safetensors";
  save_weights(path, kModel, sample_weights());
  const auto before = file_bytes(path);
  std::vector<NamedTensor> short_values = sample_weights();
  short_values[1].values.pop_back();
  EXPECT_THROW(save_weights(path, kModel, short_values), std::invalid_argument);
  std::vector<NamedTensor> twice = sample_weights();
  twice.push_back(twice[0]);
  EXPECT_THROW(save_weights(path, kModel, twice), std::invalid_argument);
  EXPECT_EQ(file_bytes(path), before);
}

// The temporary the atomic write goes through cannot be created (a directory is in its way):
// the error names it and the existing checkpoint is untouched. Runs as root too.
TEST(CheckpointWrite, FailedWriteLeavesTheExistingFileIntact) {
  const TempDir dir;
  const auto path = dir.path() / "mnist-cnn.state";
  save_training_state(path, sample_state());
  const auto before = file_bytes(path);
  fs::create_directory(dir.path() / "mnist-cnn.state.tmp");
  TrainingState next = sample_state();
  next.fields["epoch"] = "4";
  expect_error([&] { save_training_state(path, next); }, dir.path() / "mnist-cnn.state.tmp",
               {"cannot create"});
  EXPECT_EQ(file_bytes(path), before);
  EXPECT_EQ(load_training_state(path, kModel).fields.at("epoch"), "3");
}

TEST(CheckpointWrite, UnwritableDirectoryLeavesTheExistingFileIntact) {
  if (::geteuid() == 0) GTEST_SKIP() << "root writes into any directory";
  const TempDir dir;
  const auto folder = dir.path() / "checkpoints";
  fs::create_directory(folder);
  const auto path = folder / "mnist-cnn.safetensors";
  save_weights(path, kModel, sample_weights());
  const auto before = file_bytes(path);
  ASSERT_EQ(::chmod(folder.c_str(), 0555), 0);
  std::vector<NamedTensor> changed = sample_weights();
  changed[3].values[0] = 9.0f;
  expect_error([&] { save_weights(path, kModel, changed); }, folder / "mnist-cnn.safetensors.tmp",
               {"cannot create", "Permission denied"});
  ::chmod(folder.c_str(), 0755);
  EXPECT_EQ(file_bytes(path), before);
  EXPECT_FALSE(fs::exists(folder / "mnist-cnn.safetensors.tmp"));
}

}  // namespace
}  // namespace kiln::checkpoint
