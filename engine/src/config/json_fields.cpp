#include "config/json_fields.h"

#include <climits>
#include <cmath>

#include <fmt/format.h>

#include "glmengine/error.h"

namespace glm {

JsonFields::JsonFields(const nlohmann::json& object, std::string source, std::string prefix)
    : object_(object), source_(std::move(source)), prefix_(std::move(prefix)) {}

bool JsonFields::has(const std::string& key) const {
  auto it = object_.find(key);
  return it != object_.end() && !it->is_null();
}

const nlohmann::json& JsonFields::raw(const std::string& key) const {
  if (!has(key)) throw Error(fmt::format("{}: missing field '{}'", source_, fieldName(key)));
  return object_.at(key);
}

void JsonFields::fail(const std::string& key, const std::string& expectation,
                      const nlohmann::json& found) const {
  throw Error(fmt::format("{}: field '{}' must be {}, found {}", source_, fieldName(key), expectation,
                          found.dump()));
}

int64_t JsonFields::positiveInt64(const std::string& key) const {
  const auto& v = raw(key);
  // 4096.0 is not accepted: sizes are written as integers by every known exporter, and a float
  // here more likely means the wrong field.
  if (v.is_number_unsigned() && v.get<uint64_t>() > 0 && v.get<uint64_t>() <= uint64_t(INT64_MAX))
    return v.get<int64_t>();
  fail(key, "a positive integer", v);
}

int JsonFields::positiveInt(const std::string& key) const {
  int64_t v = positiveInt64(key);
  if (v > INT_MAX) fail(key, fmt::format("a positive integer up to {}", INT_MAX), raw(key));
  return int(v);
}

int JsonFields::positiveIntOr(const std::string& key, int fallback) const {
  return has(key) ? positiveInt(key) : fallback;
}

int64_t JsonFields::positiveInt64Or(const std::string& key, int64_t fallback) const {
  return has(key) ? positiveInt64(key) : fallback;
}

double JsonFields::number(const std::string& key) const {
  const auto& v = raw(key);
  if (!v.is_number() || !std::isfinite(v.get<double>())) fail(key, "a number", v);
  return v.get<double>();
}

double JsonFields::numberOr(const std::string& key, double fallback) const {
  return has(key) ? number(key) : fallback;
}

double JsonFields::positiveNumberOr(const std::string& key, double fallback) const {
  if (!has(key)) return fallback;
  double v = number(key);
  if (!(v > 0)) fail(key, "a positive number", raw(key));
  return v;
}

bool JsonFields::booleanOr(const std::string& key, bool fallback) const {
  if (!has(key)) return fallback;
  const auto& v = raw(key);
  if (!v.is_boolean()) fail(key, "true or false", v);
  return v.get<bool>();
}

std::string JsonFields::string(const std::string& key) const {
  const auto& v = raw(key);
  if (!v.is_string()) fail(key, "a string", v);
  return v.get<std::string>();
}

std::string JsonFields::stringOr(const std::string& key, const std::string& fallback) const {
  return has(key) ? string(key) : fallback;
}

std::vector<int32_t> JsonFields::tokenIds(const std::string& key) const {
  std::vector<int32_t> ids;
  if (!has(key)) return ids;
  const auto& v = raw(key);
  auto readOne = [&](const nlohmann::json& item) {
    if (!item.is_number_unsigned() || item.get<uint64_t>() > uint64_t(INT32_MAX))
      fail(key, "a token id (non-negative integer) or a list of them", v);
    ids.push_back(item.get<int32_t>());
  };
  if (v.is_array()) {
    for (const auto& item : v) readOne(item);
  } else {
    readOne(v);
  }
  return ids;
}

}  // namespace glm
