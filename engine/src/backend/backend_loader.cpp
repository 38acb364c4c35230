// Loads GPU backends that live in their own shared libraries, so the engine (and the app) start on
// machines without a GPU runtime and can say why a backend is not used. The engine never links CUDA.
#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <vector>

#include <fmt/format.h>

#include "backend/backend.h"

namespace fs = std::filesystem;

namespace glm {
namespace {

constexpr const char* kCudaLibrary = "libglmchat-backend-cuda.so";

fs::path executableDir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : exe.parent_path();
}

// Where a backend library is looked for, in order.
std::vector<fs::path> searchDirs() {
  std::vector<fs::path> dirs;
  if (const char* env = std::getenv("GLMCHAT_BACKEND_DIR"); env && *env) dirs.emplace_back(env);
  const fs::path exe = executableDir();
  if (!exe.empty()) {
    dirs.push_back(exe);
    dirs.push_back((exe / ".." / "lib" / "glmchat").lexically_normal());
  }
  return dirs;
}

}  // namespace

std::unique_ptr<Backend> loadCudaBackend(std::string& reason) {
  const auto dirs = searchDirs();
  fs::path found;
  for (const auto& d : dirs) {
    std::error_code ec;
    if (fs::exists(d / kCudaLibrary, ec)) {
      found = d / kCudaLibrary;
      break;
    }
  }
  if (found.empty()) {
    std::string where;
    for (const auto& d : dirs) where += (where.empty() ? "" : ", ") + d.string();
    reason = fmt::format("CUDA backend library not found at {} (looked for {})", where.empty() ? "(nowhere)" : where,
                         kCudaLibrary);
    return nullptr;
  }
  // Kept loaded for the life of the process: backend objects run its code until exit.
  void* handle = dlopen(found.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* err = dlerror();
    reason = fmt::format("CUDA backend library {} could not be loaded: {}", found.string(), err ? err : "unknown error");
    return nullptr;
  }
  using CreateFn = Backend* (*)(int, char*, size_t);
  auto create = reinterpret_cast<CreateFn>(dlsym(handle, "glmchat_create_cuda_backend"));
  if (!create) {
    reason = fmt::format("{} has no glmchat_create_cuda_backend entry point", found.string());
    return nullptr;
  }
  char why[1024] = {0};
  Backend* backend = create(kBackendAbiVersion, why, sizeof why);
  if (!backend) {
    reason = why[0] ? why : "the CUDA backend could not start";
    return nullptr;
  }
  reason = fmt::format("CUDA backend from {}", found.string());
  return std::unique_ptr<Backend>(backend);
}

}  // namespace glm
