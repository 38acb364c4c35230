// The Vulkan backend against the CPU backend on the same quantized model: a fixture's logits through
// `glmchat-cli logits` on both backends, with --weights int8 / int4 / int4-g128 (the same quantized weights
// on both sides: the quantization runs once on the host) and with the 8-bit KV cache. On lavapipe in CI.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include <nlohmann/json.hpp>

#include "io/safetensors.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace glmtest;

namespace {

struct Logits {
  std::vector<float> values;  // positions x vocab
  size_t vocab = 0;
};

class VulkanVsCpuLogits : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_ = makeTempDir("vulkan-logits");
    // 300 tokens of the fixture's second case: two prefill chunks on lavapipe (256), logits every 13th position.
    auto expected = glm::SafetensorsFile::open(fixturesDir() / "glm-bf16" / "expected.safetensors");
    const glm::TensorView* ids = expected->find("case1.ids");
    ASSERT_NE(ids, nullptr);
    std::vector<int32_t> v(size_t(ids->numel()));
    std::memcpy(v.data(), ids->data, ids->bytes);
    std::ofstream f(tmp_ / "ids.txt");
    for (int32_t id : v) f << id << "\n";
    for (size_t p = 0; p < v.size(); p += 13) positions_ += (positions_.empty() ? "" : ",") + std::to_string(p);
    positions_ += ",-1";
  }
  void TearDown() override { fs::remove_all(tmp_); }

  // The logits of `fixture` on `backend` with extra options and environment (the quantized-weights cache in the
  // temporary folder).
  Logits run(const std::string& fixture, const std::string& backend, const std::string& options,
             const std::string& env = "") {
    const fs::path out = tmp_ / ("logits-" + backend + ".json");
    const auto r = runCommand(env + " GLMCHAT_CACHE_DIR=" + quote((tmp_ / "cache").string()) + " " + quote(GLM_CLI_PATH) +
                              " logits -q -b " + backend + " -m " + quote((fixturesDir() / fixture).string()) + " " +
                              options + " -i " + quote((tmp_ / "ids.txt").string()) + " --positions " + positions_ +
                              " -o " + quote(out.string()));
    EXPECT_EQ(r.exitCode, 0) << r.output;
    Logits l;
    if (r.exitCode != 0) return l;
    std::ifstream in(out);
    const auto j = nlohmann::json::parse(in);
    l.vocab = j["vocab"].get<size_t>();
    for (const auto& row : j["logits"])
      for (const auto& x : row) l.values.push_back(x.get<float>());
    return l;
  }

  // Vulkan against the CPU: relative error below `tolerance` and the same top-1 token at every position.
  void expectVulkanMatchesCpu(const std::string& fixture, const std::string& options, double tolerance,
                              const std::string& vulkanEnv = "") {
    const Logits cpu = run(fixture, "cpu", options), vk = run(fixture, "vulkan", options, vulkanEnv);
    ASSERT_FALSE(cpu.values.empty());
    ASSERT_EQ(cpu.values.size(), vk.values.size());
    const double err = relativeError(vk.values, cpu.values);
    EXPECT_LT(err, tolerance) << fixture << " " << options;
    int topDiffers = 0;
    const size_t rows = cpu.values.size() / cpu.vocab;
    for (size_t p = 0; p < rows; ++p) {
      const auto c = cpu.values.cbegin() + std::ptrdiff_t(p * cpu.vocab), g = vk.values.cbegin() + std::ptrdiff_t(p * cpu.vocab);
      topDiffers += std::max_element(c, c + std::ptrdiff_t(cpu.vocab)) - c != std::max_element(g, g + std::ptrdiff_t(cpu.vocab)) - g;
    }
    EXPECT_EQ(topDiffers, 0) << fixture << " " << options << ": top-1 differs at " << topDiffers << " of " << rows
                             << " positions";
    std::printf("%-18s %s%s: %zu positions, Vulkan vs CPU rel error %.3g, top-1 differs at %d\n", fixture.c_str(),
                options.c_str(), vulkanEnv.empty() ? "" : (" (" + vulkanEnv + ")").c_str(), rows, err, topDiffers);
  }

  fs::path tmp_;
  std::string positions_;
};

}  // namespace

// Tolerances: the prefill GEMM runs on the weight widened to bf16 (q * s rounded to 8 bits, as on CUDA) where
// the CPU multiplies q * s in fp32, and these random fixtures' logits are nearly flat (relative error 1e-3 to
// 1.2e-2 measured on lavapipe), so the GPU tolerance of the selftest, 2e-2. The bf16 KV cache on both sides (the
// GPU backends store f32 as bf16), so only the weights' paths differ.
TEST_F(VulkanVsCpuLogits, Int8WeightsMatchCpu) {
  expectVulkanMatchesCpu("glm-bf16", "--weights int8 --kv-cache bf16", 2e-2);
  expectVulkanMatchesCpu("glm4-f32-sharded", "--weights int8 --kv-cache bf16", 2e-2);
}

TEST_F(VulkanVsCpuLogits, Int4WeightsMatchCpu) {
  expectVulkanMatchesCpu("glm-bf16", "--weights int4 --kv-cache bf16", 2e-2);
  expectVulkanMatchesCpu("glm-llama3-bf16", "--weights int4-g128 --kv-cache bf16", 2e-2);
}

// The paths for devices whose buffers are small and weights too large to widen (GLM-4-9B's output layer):
// weights and the int8 embedding in row blocks of 20,000 bytes; with GLMCHAT_VULKAN_QUANT_GEMM_ROWS=1 the
// prefill GEMM's widened weight in slices, the output layer (256 KB as bf16) on its packed tiles (the decode
// rows on lavapipe's integer dot-product GEMVs, whose int8 rounding of x adds ~3e-3: 5.2-5.4e-3 measured);
// without, every block's GEMM on its packed tiles.
TEST_F(VulkanVsCpuLogits, QuantizedWeightsInSmallBuffersMatchCpu) {
  for (const char* rows : {"", " GLMCHAT_VULKAN_QUANT_GEMM_ROWS=1"}) {
    const std::string env =
        std::string("GLMCHAT_VULKAN_MAX_WEIGHT_BUFFER_BYTES=20000 GLMCHAT_VULKAN_MAX_WIDEN_BYTES=200000") + rows;
    expectVulkanMatchesCpu("glm-bf16", "--weights int8 --kv-cache bf16", 2e-2, env.c_str());
    expectVulkanMatchesCpu("glm-bf16", "--weights int4 --kv-cache bf16", 2e-2, env.c_str());
  }
}

// With bf16 weights both sides read the same int8 cache values (8.5e-5 measured); widened to bf16 for prefill
// attention (the tensor-core path's way, here on the portable shaders) 1.5e-3.
TEST_F(VulkanVsCpuLogits, Int8KvCacheMatchesCpu) {
  expectVulkanMatchesCpu("glm-bf16", "--kv-cache int8", 1e-3);
  expectVulkanMatchesCpu("glm-bf16", "--kv-cache int8", 5e-3, "GLMCHAT_VULKAN_WIDEN_KV=1");
  expectVulkanMatchesCpu("glm4-yarn-bf16", "--kv-cache int8 --weights int4", 2e-2);
}
