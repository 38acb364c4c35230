// glmchat-cli: the engine from the command line (chat, run, tokenize, logits, info, bench, selftest,
// devices, bench-ops).
#include <cstdio>

#include <CLI/CLI.hpp>

#include "cli_common.h"
#include "glmengine/error.h"

int main(int argc, char** argv) {
  CLI::App app{"glmchat-cli: GLM Chat's engine on the command line"};
  app.set_version_flag("--version", std::string("glmchat-cli ") + GLMCHAT_VERSION);
  app.require_subcommand(1);
  glmcli::addChatCommand(app);
  glmcli::addRunCommand(app);
  glmcli::addTokenizeCommand(app);
  glmcli::addLogitsCommand(app);
  glmcli::addInfoCommand(app);
  glmcli::addBenchCommand(app);
  glmcli::addSelftestCommand(app);
  glmcli::addDevicesCommand(app);
  glmcli::addBenchOpsCommand(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const glm::Cancelled&) {
    std::fprintf(stderr, "\ncancelled\n");
    return 130;
  } catch (const glm::Error& e) {
    std::fprintf(stderr, "\nerror: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "\nerror: %s\n", e.what());
    return 1;
  }
  return 0;
}
