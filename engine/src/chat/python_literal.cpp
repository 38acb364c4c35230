#include "chat/python_literal.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>

#include <fmt/format.h>

#include "glmengine/error.h"

namespace glm::chat {
namespace {

using Json = nlohmann::ordered_json;

// Deep enough for any real argument list, shallow enough that "[[[[..." cannot exhaust the stack.
constexpr int kMaxNesting = 64;

void appendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

bool isIdentStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;  // Python 3 allows non-ASCII identifiers
}
bool isIdentChar(char c) { return isIdentStart(c) || (c >= '0' && c <= '9'); }
bool isDigit(char c) { return c >= '0' && c <= '9'; }
int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

class LiteralParser {
 public:
  explicit LiteralParser(std::string_view src) : src_(src) {}

  Json parseToolCall() {
    skipSpace();
    const std::string callee = parseIdentifier("the call 'tool_call('");
    if (callee != "tool_call") fail(fmt::format("expected a call of 'tool_call', found a call of '{}'", callee));
    skipSpace();
    expect('(');
    Json args = Json::object();
    skipSpace();
    while (peek() != ')') {
      const size_t argStart = pos_;
      if (!isIdentStart(peek())) {
        fail("expected a keyword argument 'name=value' (tool_call takes keyword arguments only)");
      }
      const std::string key = parseIdentifier("an argument name");
      skipSpace();
      if (peek() != '=' || peekAt(1) == '=') {
        pos_ = argStart;
        fail("expected a keyword argument 'name=value' (tool_call takes keyword arguments only)");
      }
      ++pos_;
      skipSpace();
      if (args.contains(key)) {
        pos_ = argStart;
        fail(fmt::format("argument '{}' is given twice", key));
      }
      args[key] = parseValue(0);
      skipSpace();
      if (peek() == ',') {
        ++pos_;
        skipSpace();
      } else if (peek() != ')') {
        fail("expected ',' or ')' after an argument");
      }
    }
    ++pos_;  // ')'
    expectEnd();
    return args;
  }

  Json parseSingleLiteral() {
    skipSpace();
    Json value = parseValue(0);
    expectEnd();
    return value;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    std::string found = pos_ < src_.size() ? fmt::format("'{}'", src_.substr(pos_, 12)) : std::string("the end");
    throw Error(fmt::format("Python literal: {} at offset {}, found {}", what, pos_, found));
  }

  char peek() const { return pos_ < src_.size() ? src_[pos_] : '\0'; }
  char peekAt(size_t ahead) const { return pos_ + ahead < src_.size() ? src_[pos_ + ahead] : '\0'; }
  bool atEnd() const { return pos_ >= src_.size(); }

  void skipSpace() {
    while (!atEnd()) {
      const char c = src_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
        ++pos_;
      } else if (c == '\\' && peekAt(1) == '\n') {  // explicit line continuation
        pos_ += 2;
      } else {
        break;
      }
    }
  }

  void expect(char c) {
    if (peek() != c || atEnd()) fail(fmt::format("expected '{}'", c));
    ++pos_;
  }

  void expectEnd() {
    skipSpace();
    if (!atEnd()) fail("expected the end of the expression");
  }

  std::string parseIdentifier(const char* what) {
    if (!isIdentStart(peek()) || atEnd()) fail(fmt::format("expected {}", what));
    const size_t start = pos_;
    while (!atEnd() && isIdentChar(src_[pos_])) ++pos_;
    return std::string(src_.substr(start, pos_ - start));
  }

  Json parseValue(int depth) {
    if (depth > kMaxNesting) fail(fmt::format("nesting deeper than {} levels", kMaxNesting));
    skipSpace();
    const char c = peek();
    if (atEnd()) fail("expected a value");
    if (c == '\'' || c == '"') return parseStrings();
    if (isDigit(c) || c == '.' || c == '-' || c == '+') return parseNumber();
    if (c == '[') return parseSequence('[', ']', depth);
    if (c == '(') return parseSequence('(', ')', depth);
    if (c == '{') return parseDict(depth);
    if (isIdentStart(c)) {
      const size_t start = pos_;
      const std::string word = parseIdentifier("a value");
      if (word == "True") return true;
      if (word == "False") return false;
      if (word == "None") return nullptr;
      pos_ = start;
      fail(fmt::format("only literals are allowed, not the name '{}'", word));
    }
    fail("expected a literal (number, string, True, False, None, list, tuple or dict)");
  }

  Json parseSequence(char open, char close, int depth) {
    expect(open);
    Json items = Json::array();
    skipSpace();
    bool sawComma = false;
    while (peek() != close) {  // peek() is '\0' at the end
      if (atEnd()) fail(fmt::format("expected '{}'", close));
      items.push_back(parseValue(depth + 1));
      skipSpace();
      sawComma = false;
      if (peek() == ',') {
        ++pos_;
        sawComma = true;
        skipSpace();
      } else if (peek() != close) {
        fail(fmt::format("expected ',' or '{}'", close));
      }
    }
    ++pos_;
    // "(x)" is a parenthesised value in Python, not a tuple; only "(x,)" and "()" are tuples.
    if (open == '(' && items.size() == 1 && !sawComma) return items[0];
    return items;
  }

  Json parseDict(int depth) {
    expect('{');
    Json object = Json::object();
    skipSpace();
    while (peek() != '}') {
      if (atEnd()) fail("expected '}'");
      const size_t keyStart = pos_;
      Json key = parseValue(depth + 1);
      if (!key.is_string()) {
        pos_ = keyStart;
        fail("expected a string dict key (JSON objects have string keys)");
      }
      skipSpace();
      expect(':');
      object[key.get<std::string>()] = parseValue(depth + 1);
      skipSpace();
      if (peek() == ',') {
        ++pos_;
        skipSpace();
      } else if (peek() != '}') {
        fail("expected ',' or '}'");
      }
    }
    ++pos_;
    return object;
  }

  // Adjacent literals concatenate, as in Python: 'a' "b" == 'ab'.
  Json parseStrings() {
    std::string text = parseOneString();
    for (;;) {
      const size_t save = pos_;
      skipSpace();
      if (peek() == '\'' || peek() == '"') {
        text += parseOneString();
      } else {
        pos_ = save;
        break;
      }
    }
    return text;
  }

  std::string parseOneString() {
    const char quote = src_[pos_];
    const bool triple = peekAt(1) == quote && peekAt(2) == quote;
    const size_t opening = pos_;
    pos_ += triple ? 3 : 1;
    std::string out;
    for (;;) {
      if (atEnd()) {
        pos_ = opening;
        fail("unterminated string");
      }
      const char c = src_[pos_];
      if (c == quote) {
        if (!triple) {
          ++pos_;
          return out;
        }
        if (peekAt(1) == quote && peekAt(2) == quote) {
          pos_ += 3;
          return out;
        }
        out += c;
        ++pos_;
      } else if (c == '\n' && !triple) {
        fail("line break inside a single-quoted string");
      } else if (c == '\\') {
        ++pos_;
        parseEscape(out);
      } else {
        out += c;
        ++pos_;
      }
    }
  }

  uint32_t readHex(int digits) {
    uint32_t value = 0;
    for (int i = 0; i < digits; ++i) {
      const int h = hexValue(peek());
      if (h < 0 || atEnd()) fail(fmt::format("expected {} hex digits in an escape", digits));
      value = value * 16 + static_cast<uint32_t>(h);
      ++pos_;
    }
    return value;
  }

  void appendCodePoint(std::string& out, uint32_t cp) {
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      fail(fmt::format("escape U+{:04X} is not a Unicode scalar value", cp));
    }
    appendUtf8(out, cp);
  }

  void parseEscape(std::string& out) {
    if (atEnd()) fail("unterminated escape");
    const char e = src_[pos_++];
    switch (e) {
      case '\n': return;  // backslash-newline continues the string
      case '\\': out += '\\'; return;
      case '\'': out += '\''; return;
      case '"': out += '"'; return;
      case 'n': out += '\n'; return;
      case 't': out += '\t'; return;
      case 'r': out += '\r'; return;
      case 'a': out += '\a'; return;
      case 'b': out += '\b'; return;
      case 'f': out += '\f'; return;
      case 'v': out += '\v'; return;
      case 'x': appendCodePoint(out, readHex(2)); return;
      case 'u': appendCodePoint(out, readHex(4)); return;
      case 'U': appendCodePoint(out, readHex(8)); return;
      default: break;
    }
    if (e >= '0' && e <= '7') {  // octal: up to three digits
      uint32_t value = static_cast<uint32_t>(e - '0');
      for (int i = 0; i < 2 && peek() >= '0' && peek() <= '7'; ++i) {
        value = value * 8 + static_cast<uint32_t>(src_[pos_++] - '0');
      }
      appendCodePoint(out, value);
      return;
    }
    // Python keeps unknown escapes such as "\d" literally.
    out += '\\';
    out += e;
  }

  Json parseNumber() {
    const size_t start = pos_;
    bool negative = false;
    while (peek() == '-' || peek() == '+') {  // Python allows repeated unary signs: --1 == 1
      if (peek() == '-') negative = !negative;
      ++pos_;
      skipSpace();
    }
    std::string digits;  // the number without underscores, in a form from_chars accepts
    bool isFloat = false;
    auto readDigits = [&] {
      size_t n = 0;
      while (isDigit(peek()) || (peek() == '_' && n > 0 && isDigit(peekAt(1)))) {
        if (peek() != '_') digits += peek();
        ++pos_;
        ++n;
      }
      return n;
    };
    const size_t intDigits = readDigits();
    size_t fracDigits = 0;
    if (peek() == '.') {
      isFloat = true;
      digits += '.';
      ++pos_;
      fracDigits = readDigits();
    }
    if (intDigits == 0 && fracDigits == 0) {
      pos_ = start;
      fail("expected a number");
    }
    if (peek() == 'e' || peek() == 'E') {
      isFloat = true;
      digits += 'e';
      ++pos_;
      if (peek() == '+' || peek() == '-') digits += src_[pos_++];
      if (readDigits() == 0) fail("expected exponent digits");
    }
    if (isIdentChar(peek())) fail("unsupported number syntax (only decimal integers and floats)");
    if (digits.front() == '.') digits.insert(digits.begin(), '0');
    if (digits.back() == '.') digits += '0';

    const char* first = digits.data();
    const char* last = digits.data() + digits.size();
    if (!isFloat) {
      uint64_t magnitude = 0;
      auto [ptr, ec] = std::from_chars(first, last, magnitude);
      if (ec == std::errc() && ptr == last) {
        if (!negative) return magnitude;
        if (magnitude <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + 1) {
          return static_cast<int64_t>(0 - magnitude);
        }
      }
      // Too large for 64 bits: carried as a double (magnitude kept, the last digits rounded).
    }
    double value = 0.0;
    auto [ptr, ec] = std::from_chars(first, last, value);
    if (ptr != last || ec != std::errc() || !std::isfinite(value)) {
      pos_ = start;
      fail("number out of range for JSON");
    }
    return negative ? -value : value;
  }

  std::string_view src_;
  size_t pos_ = 0;
};

void writePythonString(std::string& out, const std::string& s) {
  // repr() picks single quotes unless the text contains ' and no ".
  const bool hasSingle = s.find('\'') != std::string::npos;
  const bool hasDouble = s.find('"') != std::string::npos;
  const char quote = (hasSingle && !hasDouble) ? '"' : '\'';
  out += quote;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == quote || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7F) {
      out += fmt::format("\\x{:02x}", u);
    } else {
      out += c;  // UTF-8 passes through, as Python 3 prints printable non-ASCII text
    }
  }
  out += quote;
}

void writePython(std::string& out, const Json& v) {
  switch (v.type()) {
    case Json::value_t::null: out += "None"; break;
    case Json::value_t::boolean: out += v.get<bool>() ? "True" : "False"; break;
    case Json::value_t::string: writePythonString(out, v.get_ref<const std::string&>()); break;
    case Json::value_t::array: {
      out += '[';
      bool first = true;
      for (const auto& item : v) {
        if (!first) out += ", ";
        first = false;
        writePython(out, item);
      }
      out += ']';
      break;
    }
    case Json::value_t::object: {
      out += '{';
      bool first = true;
      for (const auto& [key, item] : v.items()) {
        if (!first) out += ", ";
        first = false;
        writePythonString(out, key);
        out += ": ";
        writePython(out, item);
      }
      out += '}';
      break;
    }
    default: out += v.dump(); break;  // numbers: JSON and Python spell them alike
  }
}

}  // namespace

Json parsePythonToolCall(std::string_view source) { return LiteralParser(source).parseToolCall(); }

Json parsePythonLiteral(std::string_view source) { return LiteralParser(source).parseSingleLiteral(); }

std::string toPythonLiteral(const Json& value) {
  std::string out;
  writePython(out, value);
  return out;
}

}  // namespace glm::chat
