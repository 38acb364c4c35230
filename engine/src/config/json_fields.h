// Typed access to the fields of a JSON object, with errors that name the file and the field
// ("config.json: field 'hidden_size' must be a positive integer, found -4").
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace glm {

class JsonFields {
 public:
  // `prefix` is prepended to field names in messages, e.g. "rope_scaling." for a nested object.
  JsonFields(const nlohmann::json& object, std::string source, std::string prefix = {});

  bool has(const std::string& key) const;  // present and not null

  int positiveInt(const std::string& key) const;  // required
  int positiveIntOr(const std::string& key, int fallback) const;
  int64_t positiveInt64(const std::string& key) const;
  int64_t positiveInt64Or(const std::string& key, int64_t fallback) const;
  double number(const std::string& key) const;  // required, finite
  double numberOr(const std::string& key, double fallback) const;
  double positiveNumberOr(const std::string& key, double fallback) const;
  bool booleanOr(const std::string& key, bool fallback) const;
  std::string string(const std::string& key) const;  // required
  std::string stringOr(const std::string& key, const std::string& fallback) const;
  // A token id or a list of them (eos_token_id); empty when absent or null.
  std::vector<int32_t> tokenIds(const std::string& key) const;

  const nlohmann::json& raw(const std::string& key) const;  // required, any type
  std::string fieldName(const std::string& key) const { return prefix_ + key; }
  const std::string& source() const { return source_; }

  [[noreturn]] void fail(const std::string& key, const std::string& expectation,
                         const nlohmann::json& found) const;

 private:
  const nlohmann::json& object_;
  std::string source_;
  std::string prefix_;
};

}  // namespace glm
