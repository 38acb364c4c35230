#include "tokenizer/regex_splitter.h"

#include <pcre2.h>

#include <fmt/format.h>

#include "glmengine/error.h"

namespace glm::tokenizer_detail {

struct RegexSplitter::Compiled {
  pcre2_code* code = nullptr;
  std::string pattern;
  std::string origin;
  ~Compiled() { pcre2_code_free(code); }
};

namespace {

std::string pcre2Message(int code) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(code, buffer, sizeof buffer);
  return reinterpret_cast<const char*>(buffer);
}

// Per-call match state: JIT stacks and match data may not be shared between threads.
struct MatchState {
  pcre2_match_data* data = nullptr;
  pcre2_match_context* context = nullptr;
  pcre2_jit_stack* jitStack = nullptr;
  explicit MatchState(const pcre2_code* code) {
    data = pcre2_match_data_create_from_pattern(code, nullptr);
    context = pcre2_match_context_create(nullptr);
    // Lookahead after a long whitespace run needs more than the 32 KiB default JIT stack.
    jitStack = pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, nullptr);
    if (data == nullptr || context == nullptr || jitStack == nullptr) throw Error("tokenizer: out of memory creating PCRE2 match state");
    pcre2_jit_stack_assign(context, nullptr, jitStack);
  }
  ~MatchState() {
    pcre2_jit_stack_free(jitStack);
    pcre2_match_context_free(context);
    pcre2_match_data_free(data);
  }
};

}  // namespace

RegexSplitter::RegexSplitter(std::string_view pattern, std::string_view origin)
    : compiled_(std::make_unique<Compiled>()) {
  compiled_->pattern = pattern;
  compiled_->origin = origin;
  int errorCode = 0;
  PCRE2_SIZE errorOffset = 0;
  compiled_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                  PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &errorCode,
                                  &errorOffset, nullptr);
  if (compiled_->code == nullptr) {
    throw Error(fmt::format("{}: pre-tokenizer regex does not compile at offset {}: {} (pattern: {})",
                            origin, errorOffset, pcre2Message(errorCode), pattern));
  }
  // JIT is a speed-up only; the interpreter gives the same matches if JIT is unavailable.
  pcre2_jit_compile(compiled_->code, PCRE2_JIT_COMPLETE);
}

RegexSplitter::~RegexSplitter() = default;
RegexSplitter::RegexSplitter(RegexSplitter&&) noexcept = default;
RegexSplitter& RegexSplitter::operator=(RegexSplitter&&) noexcept = default;

void RegexSplitter::split(std::string_view text, std::vector<std::string_view>& pieces) const {
  MatchState state(compiled_->code);
  const auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t offset = 0;
  size_t gapStart = 0;  // start of the not-yet-emitted text before the next match
  while (offset < text.size()) {
    const int rc = pcre2_match(compiled_->code, subject, text.size(), offset, 0, state.data, state.context);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      throw Error(fmt::format("{}: pre-tokenizer regex failed at byte {} of a {}-byte text: {}",
                              compiled_->origin, offset, text.size(), pcre2Message(rc)));
    }
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(state.data);
    const size_t begin = ovector[0];
    const size_t end = ovector[1];
    if (end == begin) {
      // An empty match cannot make a piece; step over one character (it stays in the gap).
      offset = begin + 1;
      while (offset < text.size() && (static_cast<unsigned char>(text[offset]) & 0xC0) == 0x80) ++offset;
      continue;
    }
    if (begin > gapStart) pieces.push_back(text.substr(gapStart, begin - gapStart));
    pieces.push_back(text.substr(begin, end - begin));
    offset = gapStart = end;
  }
  if (gapStart < text.size()) pieces.push_back(text.substr(gapStart));
}

}  // namespace glm::tokenizer_detail
