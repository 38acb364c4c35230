// glmchat-cli tokenize: text to token ids with a model folder's tokenizer or a tokenizer file.
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "glmengine/error.h"
#include "glmengine/tokenizer.h"

namespace glmcli {

void addTokenizeCommand(CLI::App& app) {
  struct Opts {
    std::string model, tokenizer, prompt, file;
    bool json = false, decode = false, showPieces = false;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("tokenize", "Turn text into token ids (or ids back into text with --decode)");
  cmd->add_option("-m,--model", o->model, "Model folder whose tokenizer to use");
  cmd->add_option("--tokenizer", o->tokenizer, "A tokenizer file given alone (tokenizer.model or tokenizer.json)");
  cmd->add_option("-p,--prompt", o->prompt, "Text to tokenize");
  cmd->add_option("-f,--file", o->file, "File whose text to tokenize ('-' = standard input)");
  cmd->add_flag("--json", o->json, "Print a JSON object instead of space-separated ids");
  cmd->add_flag("--decode", o->decode, "Input is token ids; print the text");
  cmd->add_flag("--pieces", o->showPieces, "Also print each token's text (JSON output)");
  cmd->callback([o] {
    if (o->model.empty() == o->tokenizer.empty()) throw glm::Error("give exactly one of --model or --tokenizer");
    if (o->prompt.empty() == o->file.empty() && !(o->prompt.empty() && o->file.empty()))
      throw glm::Error("give one of -p TEXT or -f FILE");
    auto tok = o->model.empty() ? glm::Tokenizer::loadFile(o->tokenizer) : glm::Tokenizer::loadFromModelDir(o->model);
    std::string text = o->prompt;
    if (!o->file.empty())
      text = o->file == "-" ? std::string(std::istreambuf_iterator<char>(std::cin), {}) : readTextFile(o->file);
    if (o->decode) {
      const auto ids = parseIds(text, o->file.empty() ? "--prompt" : o->file);
      std::cout << tok->decode(ids);
      if (!o->json) std::cout << "\n";
      return;
    }
    const auto ids = tok->encode(text);
    if (o->json) {
      nlohmann::json j;
      j["tokenizer"] = tok->kind();
      j["count"] = ids.size();
      j["ids"] = ids;
      if (o->showPieces) {
        nlohmann::json pieces = nlohmann::json::array();
        for (int32_t id : ids) {
          const int32_t one[1] = {id};
          pieces.push_back(tok->decode(one));  // a piece may be part of a UTF-8 character: dumped with U+FFFD
        }
        j["pieces"] = pieces;
      }
      std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    } else {
      for (size_t i = 0; i < ids.size(); ++i) std::cout << (i ? " " : "") << ids[i];
      std::cout << "\n";
    }
  });
}

}  // namespace glmcli
