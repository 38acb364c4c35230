// glmchat-cli selftest: a backend against the float64 reference and the transformers fixtures.
// Exits non-zero on any mismatch.
#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>

#include "cli_common.h"
#include "glmengine/error.h"
#include "glmengine/selftest.h"

namespace glmcli {

void addSelftestCommand(CLI::App& app) {
  struct Opts {
    std::string backend = "cpu", fixtures;
    bool quick = false, noFixtures = false;
    uint64_t seed = 0;
    int threads = 0, device = -1;
    bool noSkip = false;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("selftest", "Check a backend against the reference on random inputs and fixtures");
  cmd->add_option("-b,--backend", o->backend, "Backend to check: cpu, cuda, vulkan")->capture_default_str();
  cmd->add_option("--fixtures", o->fixtures,
                  "Folder of reference fixtures (default: the source tree's tests/data/fixtures when present)");
  cmd->add_flag("--no-fixtures", o->noFixtures, "Only the operation checks");
  cmd->add_flag("--quick", o->quick, "Skip the attention check past 64K tokens");
  cmd->add_option("--seed", o->seed, "Seed of the random inputs (default: fresh, printed)");
  cmd->add_option("-t,--threads", o->threads, "CPU threads (0 = all cores)");
  cmd->add_option("--device", o->device, "Vulkan device index (see `glmchat-cli devices`)")->capture_default_str();
  cmd->add_flag("--no-skip", o->noSkip, "Fail instead of skipping when the backend has no device");
  cmd->callback([o] {
    glm::SelftestOptions so;
    so.backend = glm::parseBackendKind(o->backend);
    so.quick = o->quick;
    so.seed = o->seed;
    so.threads = o->threads;
    so.gpuDevice = o->device;
    so.noSkip = o->noSkip;
    if (!o->noFixtures) {
      so.fixturesDir = o->fixtures.empty() ? std::filesystem::path(GLMCHAT_SOURCE_DIR) / "tests/data/fixtures"
                                           : std::filesystem::path(o->fixtures);
      if (o->fixtures.empty() && !std::filesystem::exists(so.fixturesDir))
        throw glm::Error(fmt::format("{}: no fixtures here; pass --fixtures DIR or --no-fixtures", so.fixturesDir.string()));
    }
    int failed = 0, count = 0;
    const auto report = glm::runSelftest(so, [&](const glm::SelftestCheck& c) {
      ++count;
      if (!c.passed) ++failed;
      std::printf("%s  %-62s err %.3g (tol %.3g)%s%s\n", c.passed ? "PASS" : "FAIL", c.name.c_str(), c.error,
                  c.tolerance, c.detail.empty() ? "" : "  ", c.detail.c_str());
      std::fflush(stdout);
    });
    for (const auto& n : report.notChecked) std::printf("NOT CHECKED  %s\n", n.c_str());
    std::printf("selftest on %s, seed %llu: %d checks, %d passed, %d failed\n", report.backend.c_str(),
                (unsigned long long)report.seed, count, count - failed, failed);
    if (!report.passed()) std::exit(1);
  });
}

}  // namespace glmcli
