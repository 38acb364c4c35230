#include "tokenizer/hf_tokenizer.h"

#include <array>
#include <cctype>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "glmengine/error.h"

namespace glm::tokenizer_detail {
namespace {

using nlohmann::json;

bool standsForItself(unsigned b) {
  return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

const std::array<char32_t, 256>& byteAlphabet() {
  static const std::array<char32_t, 256> alphabet = [] {
    std::array<char32_t, 256> a{};
    char32_t next = 256;
    for (unsigned b = 0; b < 256; ++b) a[b] = standsForItself(b) ? b : next++;
    return a;
  }();
  return alphabet;
}

// Next code point of UTF-8 `s` at `pos` (advanced), or nullopt if the bytes there are not UTF-8.
std::optional<char32_t> nextCodePoint(std::string_view s, size_t& pos) {
  const auto lead = static_cast<unsigned char>(s[pos]);
  size_t length = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xE ? 3 : (lead >> 3) == 0x1E ? 4 : 0;
  if (length == 0 || pos + length > s.size()) return std::nullopt;
  char32_t cp = length == 1 ? lead : lead & (0x7F >> length);
  for (size_t i = 1; i < length; ++i) {
    const auto b = static_cast<unsigned char>(s[pos + i]);
    if ((b & 0xC0) != 0x80) return std::nullopt;
    cp = cp << 6 | (b & 0x3F);
  }
  pos += length;
  return cp;
}

// Raw bytes of a byte-level vocab string. A character outside the alphabet (possible for tokens
// added by hand) stands for its own UTF-8 bytes.
std::string byteLevelToBytes(std::string_view token) {
  std::string bytes;
  size_t pos = 0;
  while (pos < token.size()) {
    const size_t start = pos;
    const std::optional<char32_t> cp = nextCodePoint(token, pos);
    if (!cp) {
      bytes.push_back(token[start]);
      pos = start + 1;
      continue;
    }
    const int b = unicodeToByte(*cp);
    if (b >= 0) bytes.push_back(static_cast<char>(b));
    else bytes.append(token.substr(start, pos - start));
  }
  return bytes;
}

std::string escapeForRegex(std::string_view literal) {
  std::string out;
  for (const char c : literal) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x80 && !std::isalnum(b)) out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

// object[key], where `parent` is the object's path in the document ("" for the top level).
const json& requireField(const json& object, std::string_view parent, std::string_view key, const std::string& file) {
  const std::string path = parent.empty() ? std::string(key) : fmt::format("{}.{}", parent, key);
  if (!object.is_object() || !object.contains(key)) throw Error(fmt::format("{}: missing field {}", file, path));
  return object[std::string(key)];
}

}  // namespace

char32_t byteToUnicode(unsigned char b) { return byteAlphabet()[b]; }

int unicodeToByte(char32_t codePoint) {
  if (codePoint < 256 && standsForItself(codePoint)) return static_cast<int>(codePoint);
  if (codePoint >= 256 && codePoint < 256 + 68) {
    // The n-th byte that does not stand for itself maps to 256 + n.
    unsigned n = codePoint - 256;
    for (unsigned b = 0; b < 256; ++b) {
      if (!standsForItself(b) && n-- == 0) return static_cast<int>(b);
    }
  }
  return -1;
}

HfTokenizer::HfTokenizer(const std::filesystem::path& file, std::string_view contents) {
  const std::string name = file.string();
  json doc;
  try {
    doc = json::parse(contents);
  } catch (const json::exception& e) {
    throw Error(fmt::format("{}: not valid JSON: {}", name, e.what()));
  }
  if (!doc.is_object()) throw Error(fmt::format("{}: expected a JSON object at top level, found {}", name, doc.type_name()));

  const json& model = requireField(doc, "", "model", name);
  if (model.contains("type") && model["type"] != "BPE") {
    throw Error(fmt::format("{}: model.type: expected \"BPE\", found {}", name, model["type"].dump()));
  }
  const json& vocab = requireField(model, "model", "vocab", name);
  if (!vocab.is_object()) throw Error(fmt::format("{}: model.vocab: expected an object, found {}", name, vocab.type_name()));
  std::unordered_map<std::string, int32_t> idOfString;
  for (const auto& [token, idValue] : vocab.items()) {
    if (!idValue.is_number_integer() || idValue.get<int64_t>() < 0 || idValue.get<int64_t>() > INT32_MAX) {
      throw Error(fmt::format("{}: model.vocab[\"{}\"]: expected a token id, found {}", name, token, idValue.dump()));
    }
    const auto id = idValue.get<int32_t>();
    if (!vocabulary_.add(id, byteLevelToBytes(token))) {
      throw Error(fmt::format("{}: model.vocab[\"{}\"] (id {}) has the same bytes as another token", name, token, id));
    }
    idOfString.emplace(token, id);
  }
  if (const int missing = vocabulary_.firstMissingByte(); missing >= 0) {
    throw Error(fmt::format("{}: model.vocab has no token for byte 0x{:02X}; byte-level BPE needs all 256", name, missing));
  }
  ignoreMerges_ = model.value("ignore_merges", false);

  const json merges = model.contains("merges") ? model["merges"] : json::array();
  if (!merges.is_array()) throw Error(fmt::format("{}: model.merges: expected an array, found {}", name, merges.type_name()));
  for (size_t i = 0; i < merges.size(); ++i) {
    const json& rule = merges[i];
    std::string left, right;
    if (rule.is_string()) {
      // "a b": byte-level strings never contain a raw space, so there is exactly one.
      const std::string text = rule.get<std::string>();
      const size_t space = text.find(' ');
      if (space == std::string::npos || text.find(' ', space + 1) != std::string::npos) {
        throw Error(fmt::format("{}: model.merges[{}]: expected \"left right\", found \"{}\"", name, i, text));
      }
      left = text.substr(0, space);
      right = text.substr(space + 1);
    } else if (rule.is_array() && rule.size() == 2 && rule[0].is_string() && rule[1].is_string()) {
      left = rule[0].get<std::string>();
      right = rule[1].get<std::string>();
    } else {
      throw Error(fmt::format("{}: model.merges[{}]: expected \"left right\" or [left, right], found {}", name, i, rule.dump()));
    }
    const auto leftId = idOfString.find(left), rightId = idOfString.find(right), mergedId = idOfString.find(left + right);
    if (leftId == idOfString.end() || rightId == idOfString.end() || mergedId == idOfString.end()) {
      const std::string& missing = leftId == idOfString.end() ? left : rightId == idOfString.end() ? right : left + right;
      throw Error(fmt::format("{}: model.merges[{}]: \"{}\" is not in model.vocab", name, i, missing));
    }
    // As in Hugging Face tokenizers, a repeated pair takes its last position.
    merges_[pairKey(leftId->second, rightId->second)] = {static_cast<uint32_t>(i), mergedId->second};
  }

  if (doc.contains("normalizer") && !doc["normalizer"].is_null()) {
    throw Error(fmt::format("{}: normalizer {} is not supported (GLM tokenizers have none)", name, doc["normalizer"].dump()));
  }

  bool byteLevel = false;
  const auto addPreTokenizer = [&](const auto& self, const json& step, const std::string& where) -> void {
    const std::string type = step.value("type", "");
    if (type == "Sequence") {
      const json& steps = requireField(step, where, "pretokenizers", name);
      for (size_t i = 0; i < steps.size(); ++i) self(self, steps[i], fmt::format("{}.pretokenizers[{}]", where, i));
    } else if (type == "Split") {
      const json& pattern = requireField(step, where, "pattern", name);
      const std::string behavior = step.value("behavior", "");
      if (behavior != "Isolated" || step.value("invert", false)) {
        throw Error(fmt::format("{}: {}: only Split with behavior \"Isolated\" and invert false is supported, found "
                                "behavior \"{}\"", name, where, behavior));
      }
      if (pattern.contains("Regex") && pattern["Regex"].is_string()) {
        splitters_.emplace_back(pattern["Regex"].get<std::string>(), name + " " + where);
      } else if (pattern.contains("String") && pattern["String"].is_string()) {
        splitters_.emplace_back(escapeForRegex(pattern["String"].get<std::string>()), name + " " + where);
      } else {
        throw Error(fmt::format("{}: {}.pattern: expected {{\"Regex\": ...}} or {{\"String\": ...}}", name, where));
      }
    } else if (type == "ByteLevel") {
      byteLevel = true;
      if (step.value("add_prefix_space", false)) {
        // Only expressible on the whole text, i.e. when nothing has split it before.
        if (!splitters_.empty()) {
          throw Error(fmt::format("{}: {}: add_prefix_space after a Split is not supported", name, where));
        }
        addPrefixSpace_ = true;
      }
      if (step.value("use_regex", true)) splitters_.emplace_back(kGpt2Pattern, name + " " + where);
    } else {
      throw Error(fmt::format("{}: {}: pre-tokenizer type \"{}\" is not supported (expected Sequence, Split or ByteLevel)",
                              name, where, type));
    }
  };
  if (doc.contains("pre_tokenizer") && !doc["pre_tokenizer"].is_null()) {
    addPreTokenizer(addPreTokenizer, doc["pre_tokenizer"], "pre_tokenizer");
  }
  if (!byteLevel) {
    throw Error(fmt::format("{}: pre_tokenizer has no ByteLevel step; only byte-level BPE is supported", name));
  }
  if (doc.contains("decoder") && !doc["decoder"].is_null() && doc["decoder"].value("type", "") != "ByteLevel") {
    throw Error(fmt::format("{}: decoder {} is not supported (expected ByteLevel)", name, doc["decoder"].dump()));
  }

  if (doc.contains("added_tokens") && !doc["added_tokens"].is_null()) {
    const json& added = doc["added_tokens"];
    if (!added.is_array()) throw Error(fmt::format("{}: added_tokens: expected an array", name));
    for (size_t i = 0; i < added.size(); ++i) {
      const json& token = added[i];
      if (!token.is_object() || !token.contains("id") || !token["id"].is_number_integer() ||
          !token.contains("content") || !token["content"].is_string()) {
        throw Error(fmt::format("{}: added_tokens[{}]: expected {{\"id\": int, \"content\": string}}", name, i));
      }
      const auto id = token["id"].get<int32_t>();
      if (id < 0) throw Error(fmt::format("{}: added_tokens[{}]: negative id {}", name, i, id));
      (token.value("special", false) ? specials_ : addedPlain_).add(id, token["content"].get<std::string>());
    }
  }
  size_ = std::max({vocabulary_.idLimit(), specials_.maxId() + 1, addedPlain_.maxId() + 1});
}

std::vector<int32_t> HfTokenizer::encode(std::string_view text) const {
  std::string prefixed;
  if (addPrefixSpace_ && !text.empty() && text.front() != ' ') {
    prefixed.reserve(text.size() + 1);
    prefixed.push_back(' ');
    prefixed.append(text);
    text = prefixed;
  }
  // A merge applies when the pair is in the merges table; earlier merges first.
  return encodeByBytePairs(splitters_, vocabulary_, text, ignoreMerges_,
                           [&](std::string_view, const BpeSymbol& left, const BpeSymbol& right) -> std::optional<BpeMerge> {
                             const auto it = merges_.find(pairKey(left.id, right.id));
                             if (it == merges_.end()) return std::nullopt;
                             return BpeMerge{it->second.rank, it->second.merged};
                           });
}

std::string HfTokenizer::decode(std::span<const int32_t> ids) const {
  std::string text;
  for (const int32_t id : ids) {
    if (const std::string* special = specials_.textOf(id)) {
      text += *special;
    } else if (const std::string* plain = addedPlain_.textOf(id)) {
      text += *plain;
    } else if (const std::string* bytes = vocabulary_.bytesOf(id)) {
      text += *bytes;
    } else {
      decodeByteLevel(vocabulary_, specials_, std::span(&id, 1), kind(), size_);  // throws, naming the id
    }
  }
  return text;
}

}  // namespace glm::tokenizer_detail
