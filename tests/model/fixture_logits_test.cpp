// The whole model against transformers: every fixture's logits through `glmchat-cli logits` (the tool
// the parity checks use), relative error < 1e-4 and the same top-1 token at every position.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include <nlohmann/json.hpp>

#include "io/safetensors.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace glmtest;

namespace {

template <typename T>
std::vector<T> values(const glm::TensorView& t) {
  std::vector<T> v(size_t(t.numel()));
  std::memcpy(v.data(), t.data, t.bytes);
  return v;
}

}  // namespace

TEST(FixtureLogits, AllFixturesPresent) {
  const auto dirs = fixtureDirs();
  std::vector<std::string> names;
  for (const auto& d : dirs) names.push_back(d.filename().string());
  for (const char* want : {"glm-bf16", "chatglm-f16", "glm4-f32-sharded", "glm4-yarn-bf16", "glm-llama3-bf16"})
    EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << "missing fixture " << want;
}

TEST(FixtureLogits, CliMatchesTransformersWithinOneInTenThousand) {
  const fs::path tmp = makeTempDir("fixture");
  int cases = 0;
  for (const auto& dir : fixtureDirs()) {
    auto expected = glm::SafetensorsFile::open(dir / "expected.safetensors");
    for (int c = 0;; ++c) {
      const auto* idsT = expected->find("case" + std::to_string(c) + ".ids");
      if (!idsT) break;
      const auto ids = values<int32_t>(*idsT);
      const auto positions = values<int32_t>(*expected->find("case" + std::to_string(c) + ".positions"));
      const auto want = values<float>(*expected->find("case" + std::to_string(c) + ".logits"));
      const fs::path idsFile = tmp / "ids.txt", out = tmp / "logits.json";
      {
        std::ofstream f(idsFile);
        for (int32_t id : ids) f << id << "\n";
      }
      std::string pos;
      for (int32_t p : positions) pos += (pos.empty() ? "" : ",") + std::to_string(p);
      const auto r = runCommand(quote(GLM_CLI_PATH) + " logits -q -b cpu -m " + quote(dir.string()) + " -i " +
                                quote(idsFile.string()) + " --positions " + pos + " -o " + quote(out.string()));
      ASSERT_EQ(r.exitCode, 0) << r.output;
      std::ifstream in(out);
      const auto j = nlohmann::json::parse(in);
      ASSERT_EQ(j["positions"].size(), positions.size());
      std::vector<float> got;
      for (const auto& row : j["logits"])
        for (const auto& v : row) got.push_back(v.get<float>());
      const double err = relativeError(got, want);
      EXPECT_LT(err, 1e-4) << dir.filename() << " case" << c;
      const size_t vocab = want.size() / positions.size();
      for (size_t p = 0; p < positions.size(); ++p) {
        const auto g = got.cbegin() + std::ptrdiff_t(p * vocab);
        const auto w = want.cbegin() + std::ptrdiff_t(p * vocab);
        EXPECT_EQ(std::max_element(g, g + std::ptrdiff_t(vocab)) - g, std::max_element(w, w + std::ptrdiff_t(vocab)) - w)
            << dir.filename() << " case" << c << " position " << positions[p];
      }
      std::printf("%-18s case%d: %5zu tokens, rel error %.3g\n", dir.filename().c_str(), c, ids.size(), err);
      ++cases;
    }
  }
  EXPECT_GE(cases, 15);
  fs::remove_all(tmp);
}
