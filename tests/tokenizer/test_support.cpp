#include "test_support.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include <nlohmann/json.hpp>

namespace glm::test {

namespace fs = std::filesystem;

const char* const kCl100kPattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

TempDir::TempDir() {
  std::string pattern = (fs::temp_directory_path() / "glm-tokenizer-test-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + pattern);
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

std::string readFile(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + file.string());
  std::ostringstream s;
  s << in.rdbuf();
  return std::move(s).str();
}

void writeFile(const fs::path& file, std::string_view contents) {
  std::ofstream out(file, std::ios::binary);
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

std::string shellQuote(const std::string& text) {
  std::string quoted = "'";
  for (const char c : text) {
    if (c == '\'') quoted += "'\\''";
    else quoted += c;
  }
  return quoted + "'";
}

int runCommand(const std::string& command, std::string& output) {
  output.clear();
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  std::array<char, 4096> buffer;
  size_t n = 0;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) output.append(buffer.data(), n);
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string checkNodeTiktoken() {
  std::string output;
  if (runCommand("node --version", output) != 0) {
    return "node is not available (`node --version` failed: " + output +
           "); install Node.js 20 and run `npm ci --prefix tests` before ctest";
  }
  const fs::path package = fs::path(GLM_TEST_NODE_MODULES) / "tiktoken" / "package.json";
  if (!fs::exists(package)) {
    return package.string() + " is missing; run `npm ci --prefix tests` before ctest";
  }
  return {};
}

std::vector<int32_t> tiktokenReferenceEncode(const std::string& referenceArgs, std::string_view text,
                                             const TempDir& dir) {
  const fs::path textFile = dir / "reference-input.txt";
  const fs::path idsFile = dir / "reference-ids.bin";
  writeFile(textFile, text);
  const fs::path script = fs::path(GLM_TOKENIZER_TEST_DIR) / "tiktoken_reference.js";
  const std::string command = "node " + shellQuote(script.string()) + " " + referenceArgs + " --text " +
                              shellQuote(textFile.string()) + " --out " + shellQuote(idsFile.string());
  std::string output;
  const int status = runCommand(command, output);
  EXPECT_EQ(status, 0) << command << "\n" << output;
  if (status != 0) return {};
  std::cout << "  " << output;
  const std::string bytes = readFile(idsFile);
  std::vector<int32_t> ids(bytes.size() / 4);
  for (size_t i = 0; i < ids.size(); ++i) {
    uint32_t v = 0;
    for (int b = 3; b >= 0; --b) v = v << 8 | static_cast<unsigned char>(bytes[i * 4 + static_cast<size_t>(b)]);
    ids[i] = static_cast<int32_t>(v);
  }
  return ids;
}

namespace {

// Deterministic 64-bit LCG (Knuth's MMIX constants); the high bits are the useful ones.
class Lcg {
 public:
  explicit Lcg(uint64_t seed) : state_(seed * 2862933555777941757ULL + 3037000493ULL) {}
  uint32_t next() {
    state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<uint32_t>(state_ >> 33);
  }
  size_t below(size_t n) { return next() % n; }

 private:
  uint64_t state_;
};

const std::vector<std::string>& corpusSnippets() {
  static const std::vector<std::string> snippets = {
      "The quick brown fox jumps over the lazy dog.",
      "I'LL be there at 5pm, but you'Re late and they'VE gone; it'S fine, we'd said I'M ok.",
      "DON'T SHOUT. Don't shout. don't shout. She's here; he'll see; we're done; you've won.",
      "今天天气很好，我们一起去公园散步吧。",
      "人工智能是计算机科学的一个分支，它试图理解智能的本质。",
      "你好！请问有什么可以帮助你的吗？我是一个人工智能助手。",
      "北京、上海、广州和深圳是中国的大城市；长江和黄河是最长的河流。",
      "日本語のテキストも少し混ぜます。ひらがなとカタカナ、そして漢字。",
      "한국어 문장도 있습니다. 안녕하세요!",
      "Emoji: 😀😃😄 👍🏽 👨‍👩‍👧‍👦 🇨🇳🇺🇸 ❤️ 🎉🎉🎉 ✨",
      "int main(int argc, char** argv) {\n    std::vector<int> v{1, 2, 3};\n    return v.size() > 2 ? 0 : 1;\n}",
      "def fibonacci(n):\n\ta, b = 0, 1\n\tfor _ in range(n):\n\t\ta, b = b, a + b\n\treturn a\n",
      "{\"role\": \"user\", \"content\": \"Hello\", \"tokens\": [151331, 151333, 109377]}",
      "const total = items.reduce((sum, it) => sum + it.price * it.count, 0); // ≈ €12.50",
      "Numbers: 1234567890 3.14159 2024-06-01 1,000,000 0x7fff_ffff 1e-9 ٣٤٥ １２３ ⅷ",
      "Special look-alikes: <|user|> <|assistant|> <|endoftext|> [gMASK]<sop> <|observation|>",
      "Accents: naïve café résumé Ωμέγα Привет мир Straße ﬁne İstanbul",
      "مرحبا بالعالم नमस्ते दुनिया שלום עולם",
      "Line one\r\nLine two\r\n\r\nLine four after a blank CRLF line\r\n",
      "Tabs\tand\t\tmore\t\t\ttabs, trailing spaces   \n   leading spaces",
      "Zero\u200Bwidth and non\u00A0breaking and ideographic\u3000space and combining e\u0301.",
      "    indented code line\n        deeper\n\n\n\nafter blank lines",
      "https://example.com/path?query=1&x=%20y#frag user@example.org C:\\Users\\glm\\file.txt",
      "!!!??? ... --- *** ### $$$ %%% ^^^ &&& ((())) [[[]]] {{{}}} <<<>>> ~~~ ``` '''",
  };
  return snippets;
}

std::string randomWhitespace(Lcg& rng) {
  static const std::array<std::string_view, 7> kinds = {" ", "\t", "\n", "\r\n", "  ", "\u3000", "\r"};
  std::string run;
  const size_t length = 1 + rng.below(rng.below(4) == 0 ? 40 : 4);
  for (size_t i = 0; i < length; ++i) run += kinds[rng.below(rng.below(3) == 0 ? kinds.size() : 2)];
  return run;
}

std::string randomDigits(Lcg& rng) {
  std::string digits;
  const size_t length = 1 + rng.below(12);
  for (size_t i = 0; i < length; ++i) digits += static_cast<char>('0' + rng.below(10));
  return digits;
}

}  // namespace

std::string buildMixedCorpus(size_t minBytes, uint64_t seed) {
  Lcg rng(seed);
  const auto& snippets = corpusSnippets();
  std::string corpus;
  while (corpus.size() < minBytes) {
    switch (rng.below(6)) {
      case 0: corpus += randomWhitespace(rng); break;
      case 1: corpus += randomDigits(rng); break;
      default: {
        std::string snippet = snippets[rng.below(snippets.size())];
        // Flip ASCII case now and then so contractions like 'lL and 'Ve appear in odd forms.
        if (rng.below(4) == 0) {
          for (char& c : snippet) {
            if (c >= 'a' && c <= 'z' && rng.below(3) == 0) c = static_cast<char>(c - 'a' + 'A');
          }
        }
        corpus += snippet;
      }
    }
    static const std::array<std::string_view, 6> separators = {" ", "", "\n", "\r\n", "\t", "\n\n"};
    corpus += separators[rng.below(separators.size())];
  }
  return corpus;
}

std::string rebuildCl100kRankFile() {
  const fs::path encoder = fs::path(GLM_TEST_NODE_MODULES) / "tiktoken" / "encoders" / "cl100k_base.json";
  const nlohmann::json doc = nlohmann::json::parse(readFile(encoder));
  const std::string ranks = doc.at("bpe_ranks").get<std::string>();
  std::string out;
  std::istringstream lines(ranks);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string marker, token;
    long rank = 0;
    fields >> marker >> rank;
    while (fields >> token) out += token + " " + std::to_string(rank++) + "\n";
  }
  return out;
}

namespace {

std::string base64Decode(std::string_view text) {
  static const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (const char c : text) {
    if (c == '=') break;
    buffer = buffer << 6 | static_cast<uint32_t>(alphabet.find(c));
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>(buffer >> bits & 0xFF);
    }
  }
  return out;
}

// GPT-2's bytes_to_unicode, as UTF-8 strings per byte.
std::array<std::string, 256> gpt2ByteAlphabet() {
  std::array<std::string, 256> alphabet;
  int extra = 0;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    const int codePoint = printable ? b : 256 + extra++;
    std::string utf8;
    if (codePoint < 0x80) {
      utf8 += static_cast<char>(codePoint);
    } else {
      utf8 += static_cast<char>(0xC0 | codePoint >> 6);
      utf8 += static_cast<char>(0x80 | (codePoint & 0x3F));
    }
    alphabet[static_cast<size_t>(b)] = utf8;
  }
  return alphabet;
}

}  // namespace

std::string tokenizerJsonFromRankFile(std::string_view rankFile, std::string_view pattern,
                                      const std::vector<std::string>& specials, bool ignoreMerges) {
  std::vector<std::string> tokens;
  std::unordered_map<std::string, int32_t> rankOf;
  std::istringstream lines{std::string(rankFile)};
  std::string b64;
  long rank = 0;
  while (lines >> b64 >> rank) {
    rankOf.emplace(base64Decode(b64), static_cast<int32_t>(tokens.size()));
    tokens.push_back(base64Decode(b64));
  }
  const auto alphabet = gpt2ByteAlphabet();
  const auto byteLevel = [&](const std::string& bytes) {
    std::string s;
    for (const char c : bytes) s += alphabet[static_cast<unsigned char>(c)];
    return s;
  };

  nlohmann::json vocab = nlohmann::json::object();
  nlohmann::json merges = nlohmann::json::array();
  for (size_t r = 0; r < tokens.size(); ++r) {
    vocab[byteLevel(tokens[r])] = r;
    if (tokens[r].size() < 2) continue;
    // tiktoken's merge loop over the token's own bytes, allowed only ranks below the token's.
    std::vector<std::string> parts;
    for (const char c : tokens[r]) parts.emplace_back(1, c);
    while (parts.size() > 2) {
      size_t best = parts.size();
      int32_t bestRank = static_cast<int32_t>(r);
      for (size_t i = 0; i + 1 < parts.size(); ++i) {
        const auto it = rankOf.find(parts[i] + parts[i + 1]);
        if (it != rankOf.end() && it->second < bestRank) {
          best = i;
          bestRank = it->second;
        }
      }
      if (best == parts.size()) break;
      parts[best] += parts[best + 1];
      parts.erase(parts.begin() + static_cast<long>(best) + 1);
    }
    if (parts.size() == 2) merges.push_back(byteLevel(parts[0]) + " " + byteLevel(parts[1]));
  }
  nlohmann::json added = nlohmann::json::array();
  for (size_t i = 0; i < specials.size(); ++i) {
    added.push_back({{"id", tokens.size() + i}, {"content", specials[i]}, {"special", true}});
  }
  const nlohmann::json doc = {
      {"version", "1.0"},
      {"added_tokens", added},
      {"normalizer", nullptr},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "Split"}, {"pattern", {{"Regex", pattern}}}, {"behavior", "Isolated"}, {"invert", false}},
          {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", false}}}}}},
      {"decoder", {{"type", "ByteLevel"}}},
      {"model", {{"type", "BPE"}, {"ignore_merges", ignoreMerges}, {"vocab", vocab}, {"merges", merges}}},
  };
  return doc.dump();
}

std::string gpt2ByteLevel(std::string_view bytes) {
  static const auto alphabet = gpt2ByteAlphabet();
  std::string s;
  for (const char c : bytes) s += alphabet[static_cast<unsigned char>(c)];
  return s;
}

std::string sha256OfFile(const fs::path& file) {
  std::string output;
  if (runCommand("sha256sum " + shellQuote(file.string()), output) != 0) return "sha256sum failed: " + output;
  return output.substr(0, output.find(' '));
}

::testing::AssertionResult sameIds(const std::vector<int32_t>& actual, const std::vector<int32_t>& expected) {
  size_t first = 0;
  while (first < actual.size() && first < expected.size() && actual[first] == expected[first]) ++first;
  if (first == actual.size() && first == expected.size()) return ::testing::AssertionSuccess();
  const auto around = [first](const std::vector<int32_t>& ids) {
    std::string s;
    for (size_t i = first > 3 ? first - 3 : 0; i < std::min(ids.size(), first + 4); ++i) {
      s += (i == first ? "[" : "") + std::to_string(ids[i]) + (i == first ? "] " : " ");
    }
    return s;
  };
  return ::testing::AssertionFailure() << "ids differ first at position " << first << " (sizes " << actual.size()
                                       << " vs " << expected.size() << "): got ... " << around(actual)
                                       << "..., expected ... " << around(expected) << "...";
}

bool isValidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    size_t length = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xE ? 3 : (lead >> 3) == 0x1E ? 4 : 0;
    if (length == 0 || i + length > text.size()) return false;
    for (size_t k = 1; k < length; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return false;
    }
    i += length;
  }
  return true;
}

}  // namespace glm::test
