// glmchat-cli bench-ops: single operations of a GPU backend (attention prefill and decode, GEMV, GEMM)
// on GLM-4-9B's shapes, through the same harness for CUDA and Vulkan, as JSON.
#include <fstream>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "glmengine/error.h"
#include "glmengine/selftest.h"

namespace glmcli {

void addBenchOpsCommand(CLI::App& app) {
  struct Opts {
    std::string backend = "cuda", output;
    int device = -1, repeats = 5;
    std::vector<int> lengths{4096, 16384, 32768};
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("bench-ops", "Time a GPU backend's attention, GEMV and GEMM on GLM-4-9B shapes (JSON)");
  cmd->add_option("-b,--backend", o->backend, "Backend: cuda, vulkan (or cpu)")->capture_default_str();
  cmd->add_option("--device", o->device, "Vulkan device index")->capture_default_str();
  cmd->add_option("--lengths", o->lengths, "Attention lengths")->delimiter(',')->capture_default_str();
  cmd->add_option("-r,--repeats", o->repeats, "Timed repeats per operation")->capture_default_str();
  cmd->add_option("-o,--output", o->output, "Also write the JSON to this file");
  cmd->callback([o] {
    glm::OpBenchOptions bo;
    bo.backend = glm::parseBackendKind(o->backend);
    bo.gpuDevice = o->device;
    bo.attentionLengths = o->lengths;
    bo.repeats = o->repeats;
    std::string desc;
    const auto results = glm::runOpBenchmarks(bo, desc);
    nlohmann::json j;
    j["backend"] = o->backend;
    j["device"] = desc;
    for (const auto& r : results)
      j["ops"].push_back({{"op", r.op}, {"shape", r.shape}, {"ms", r.ms}, {"TFLOPs", r.tflops}, {"GBps", r.gbps}});
    std::cout << j.dump(2) << "\n";
    if (!o->output.empty()) std::ofstream(o->output) << j.dump(2) << "\n";
  });
}

}  // namespace glmcli
