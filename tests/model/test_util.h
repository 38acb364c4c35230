#pragma once
#include <filesystem>
#include <string>
#include <vector>

namespace glmtest {

std::filesystem::path fixturesDir();
std::vector<std::filesystem::path> fixtureDirs();  // every folder with expected.safetensors
std::filesystem::path makeTempDir(const std::string& tag);

struct ProcessResult {
  int exitCode = -1;
  std::string output;  // stdout and stderr together
};
// Runs a command through /bin/sh (arguments must be quoted by the caller), capturing its output.
ProcessResult runCommand(const std::string& command);
std::string quote(const std::string& s);

double relativeError(const std::vector<float>& got, const std::vector<float>& want);

}  // namespace glmtest
