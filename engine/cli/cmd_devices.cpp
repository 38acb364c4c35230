// glmchat-cli devices: the GPUs the Vulkan backend can use, with the index --device takes.
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "glmengine/error.h"
#include "glmengine/model.h"

namespace glmcli {

void addDevicesCommand(CLI::App& app) {
  auto json = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("devices", "List the Vulkan devices (the index is what --device takes)");
  cmd->add_flag("--json", *json, "Print JSON");
  cmd->callback([json] {
    const auto devs = glm::listVulkanDevices();
    if (*json) {
      nlohmann::json j = nlohmann::json::array();
      for (const auto& d : devs)
        j.push_back({{"index", d.index}, {"name", d.name}, {"type", d.type}, {"memory_bytes", d.memoryBytes},
                     {"api", d.api}});
      std::cout << j.dump(2) << "\n";
      return;
    }
    if (devs.empty()) std::cout << "no Vulkan devices\n";
    for (const auto& d : devs)
      std::cout << fmt::format("{}: {} ({}, Vulkan {}, {:.1f} GiB)\n", d.index, d.name, d.type, d.api,
                               double(d.memoryBytes) / double(1ll << 30));
  });
}

}  // namespace glmcli
