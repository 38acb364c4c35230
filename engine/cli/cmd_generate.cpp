// glmchat-cli run and chat: one reply to a prompt, or an interactive conversation, streamed.
#include <cstdio>
#include <iostream>

#include <fmt/format.h>

#include "cli_common.h"
#include "glmengine/error.h"

namespace glmcli {
namespace {

struct GenerationResult {
  std::string text;
  int tokens = 0;
  double prefillSeconds = 0, decodeSeconds = 0;
  int64_t prefillComputed = 0, prefillReused = 0;
  bool stopped = false;  // ended on a stop token (not the length limit)
};

// Prefills the rendered conversation and streams the reply to stdout until a stop token or maxTokens.
GenerationResult generate(glm::Model& model, glm::Session& session, const std::vector<int32_t>& prompt,
                          glm::Sampler& sampler, int maxTokens, bool showProgress) {
  GenerationResult r;
  const auto stops = model.chatFormat().stopTokens();
  auto t0 = std::chrono::steady_clock::now();
  glm::ProgressFn progress;
  if (showProgress)
    progress = [](int64_t done, int64_t total) {
      if (total > 512) std::fprintf(stderr, "\rprefill %lld/%lld", (long long)done, (long long)total);
      return true;
    };
  const auto stats = session.prefill(prompt, progress);
  if (showProgress && stats.computedTokens > 512) std::fprintf(stderr, "\r\033[K");
  r.prefillSeconds = secondsSince(t0);
  r.prefillComputed = stats.computedTokens;
  r.prefillReused = stats.reusedTokens;
  glm::StreamingDecoder decoder(model.tokenizer());
  t0 = std::chrono::steady_clock::now();
  bool leadingNewline = true;  // GLM-4 replies start with "\n", which the chat format strips
  for (int i = 0; i < maxTokens; ++i) {
    const int32_t t = session.sample(sampler);
    if (std::find(stops.begin(), stops.end(), t) != stops.end()) {
      r.stopped = true;
      break;
    }
    ++r.tokens;
    std::string piece = decoder.push(t);
    r.text += piece;
    if (leadingNewline && !piece.empty()) {
      if (piece[0] == '\n') piece.erase(0, 1);
      leadingNewline = piece.empty();
    }
    std::fwrite(piece.data(), 1, piece.size(), stdout);
    std::fflush(stdout);
    if (int64_t(session.tokens().size()) >= session.contextLength()) break;
    session.append(t);
  }
  const std::string tail = decoder.flush();
  r.text += tail;
  std::fwrite(tail.data(), 1, tail.size(), stdout);
  r.decodeSeconds = secondsSince(t0);
  return r;
}

void printStats(const GenerationResult& r) {
  std::fprintf(stderr, "[prefill %lld tokens (%lld reused) in %.2f s, %.1f tokens/s; %d tokens in %.2f s, %.2f tokens/s]\n",
               (long long)r.prefillComputed, (long long)r.prefillReused, r.prefillSeconds,
               r.prefillSeconds > 0 ? double(r.prefillComputed) / r.prefillSeconds : 0.0, r.tokens, r.decodeSeconds,
               r.decodeSeconds > 0 ? r.tokens / r.decodeSeconds : 0.0);
}

}  // namespace

void addRunCommand(CLI::App& app) {
  struct Opts {
    ModelOptions model;
    SamplingOptions sampling;
    std::string prompt, system;
    int maxTokens = 512;
    bool stats = false;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("run", "Generate one reply to a prompt, streamed to standard output");
  o->model.add(*cmd, false);
  o->sampling.add(*cmd);
  cmd->add_option("-p,--prompt", o->prompt, "The user's message")->required();
  cmd->add_option("-s,--system", o->system, "A system prompt");
  cmd->add_option("-n,--max-tokens", o->maxTokens, "Most tokens to generate")->capture_default_str();
  cmd->add_flag("--stats", o->stats, "Print timing on standard error");
  cmd->callback([o] {
    auto model = o->model.load();
    std::vector<glm::ChatMessage> messages;
    if (!o->system.empty()) messages.push_back({glm::Role::System, o->system, ""});
    messages.push_back({glm::Role::User, o->prompt, ""});
    const auto prompt = model->chatFormat().render(messages);
    auto session = model->newSession();
    glm::Sampler sampler(o->sampling.toParams());
    const auto r = generate(*model, *session, prompt, sampler, o->maxTokens, !o->model.quiet);
    std::cout << "\n";
    if (o->stats) printStats(r);
  });
}

void addChatCommand(CLI::App& app) {
  struct Opts {
    ModelOptions model;
    SamplingOptions sampling;
    std::string system;
    int maxTokens = 2048;
    bool stats = false;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("chat", "Chat interactively (/reset starts over, /exit or Ctrl-D quits)");
  o->model.add(*cmd, false);
  o->sampling.add(*cmd);
  cmd->add_option("-s,--system", o->system, "A system prompt");
  cmd->add_option("-n,--max-tokens", o->maxTokens, "Most tokens per reply")->capture_default_str();
  cmd->add_flag("--stats", o->stats, "Print timing after each reply");
  cmd->callback([o] {
    auto model = o->model.load();
    auto session = model->newSession();
    glm::Sampler sampler(o->sampling.toParams());
    std::vector<glm::ChatMessage> history;
    if (!o->system.empty()) history.push_back({glm::Role::System, o->system, ""});
    const auto initial = history;
    std::string line;
    for (;;) {
      std::fprintf(stderr, "> ");
      std::fflush(stderr);
      if (!std::getline(std::cin, line)) break;
      if (line == "/exit" || line == "/quit") break;
      if (line == "/reset") {
        history = initial;
        std::fprintf(stderr, "(conversation cleared)\n");
        continue;
      }
      if (line.empty()) continue;
      history.push_back({glm::Role::User, line, ""});
      const auto prompt = model->chatFormat().render(history);
      const auto r = generate(*model, *session, prompt, sampler, o->maxTokens, !o->model.quiet);
      std::cout << "\n";
      std::cout.flush();
      const auto reply = model->chatFormat().parseReply(r.text, {});
      history.push_back({glm::Role::Assistant, reply.text, ""});
      if (o->stats) printStats(r);
    }
  });
}

}  // namespace glmcli
