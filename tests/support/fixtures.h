// PyTorch fixtures written by tests/golden/make_fixtures.py: one safetensors file per op family,
// tensors named "<case>/<tensor>", each case's settings as JSON in the metadata.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "runtime/checkpoint/safetensors.h"

namespace kiln::testing {

class Fixture {
 public:
  // Loads tests/golden/fixtures/<family>.safetensors; a missing or damaged file throws.
  explicit Fixture(const std::string& family)
      : contents_(checkpoint::read_safetensors(std::string(KILN_GOLDEN_DIR) + "/" + family +
                                               ".safetensors")) {}

  std::vector<std::string> cases() const {
    return nlohmann::json::parse(contents_.metadata.at("cases")).get<std::vector<std::string>>();
  }
  nlohmann::json params(const std::string& case_name) const {
    return nlohmann::json::parse(contents_.metadata.at(case_name));
  }
  // The cases whose setting `key` is `value`, in the file's order: one kind of a family's cases.
  std::vector<std::string> cases_where(const std::string& key, const std::string& value) const {
    std::vector<std::string> result;
    for (const std::string& name : cases()) {
      if (params(name).at(key) == value) result.push_back(name);
    }
    return result;
  }
  std::vector<float> floats(const std::string& case_name, const std::string& tensor) const {
    return checkpoint::tensor_floats(contents_, case_name + "/" + tensor);
  }
  std::vector<std::int32_t> ints(const std::string& case_name, const std::string& tensor) const {
    return checkpoint::tensor_ints(contents_, case_name + "/" + tensor);
  }
  std::vector<std::uint8_t> bytes(const std::string& case_name, const std::string& tensor) const {
    return checkpoint::tensor_bytes(contents_, case_name + "/" + tensor);
  }
  std::vector<std::int64_t> shape(const std::string& case_name, const std::string& tensor) const {
    return contents_.tensors.at(case_name + "/" + tensor).shape;
  }
  bool has(const std::string& case_name, const std::string& tensor) const {
    return contents_.tensors.contains(case_name + "/" + tensor);
  }

 private:
  checkpoint::SafetensorsContents contents_;
};

}  // namespace kiln::testing
