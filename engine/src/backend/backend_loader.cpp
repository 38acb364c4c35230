// Loads GPU backends that live in their own shared libraries, so the engine (and the app) start on
// machines without a GPU runtime and can say why a backend is not used. The engine never links CUDA.
#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <vector>

#include <fmt/format.h>

#include "backend/backend.h"
#include "glmengine/error.h"

namespace fs = std::filesystem;

namespace glm {
namespace {

constexpr const char* kCudaLibrary = "libglmchat-backend-cuda.so";
constexpr const char* kVulkanLibrary = "libglmchat-backend-vulkan.so";

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

// Finds and opens a backend library (kept loaded for the life of the process: backend objects run
// its code until exit). Returns nullptr with the reason.
void* openLibrary(const char* file, const char* label, std::string& reason, fs::path& found) {
  const auto dirs = searchDirs();
  for (const auto& d : dirs) {
    std::error_code ec;
    if (fs::exists(d / file, ec)) {
      found = d / file;
      break;
    }
  }
  if (found.empty()) {
    std::string where;
    for (const auto& d : dirs) where += (where.empty() ? "" : ", ") + d.string();
    reason = fmt::format("{} backend library not found at {} (looked for {})", label, where.empty() ? "(nowhere)" : where,
                         file);
    return nullptr;
  }
  void* handle = dlopen(found.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* err = dlerror();
    reason = fmt::format("{} backend library {} could not be loaded: {}", label, found.string(), err ? err : "unknown error");
    return nullptr;
  }
  return handle;
}

}  // namespace

std::unique_ptr<Backend> loadCudaBackend(std::string& reason) {
  fs::path found;
  void* handle = openLibrary(kCudaLibrary, "CUDA", reason, found);
  if (!handle) return nullptr;
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

std::unique_ptr<Backend> loadVulkanBackend(int device, std::string& reason) {
  fs::path found;
  void* handle = openLibrary(kVulkanLibrary, "Vulkan", reason, found);
  if (!handle) return nullptr;
  using CreateFn = Backend* (*)(int, int, char*, size_t);
  auto create = reinterpret_cast<CreateFn>(dlsym(handle, "glmchat_create_vulkan_backend"));
  if (!create) {
    reason = fmt::format("{} has no glmchat_create_vulkan_backend entry point", found.string());
    return nullptr;
  }
  char why[1024] = {0};
  Backend* backend = create(kBackendAbiVersion, device, why, sizeof why);
  if (!backend) {
    reason = why[0] ? why : "the Vulkan backend could not start";
    return nullptr;
  }
  reason = fmt::format("Vulkan backend from {}", found.string());
  return std::unique_ptr<Backend>(backend);
}

std::vector<VulkanDeviceInfo> listVulkanDevices() {
  std::string reason;
  fs::path found;
  void* handle = openLibrary(kVulkanLibrary, "Vulkan", reason, found);
  if (!handle) throw Error(reason);
  using ListFn = int (*)(char*, size_t);
  auto list = reinterpret_cast<ListFn>(dlsym(handle, "glmchat_list_vulkan_devices"));
  if (!list) throw Error(fmt::format("{} has no glmchat_list_vulkan_devices entry point", found.string()));
  std::vector<char> text(1 << 16);
  const int n = list(text.data(), text.size());
  if (n < 0) throw Error(text.data());
  std::vector<VulkanDeviceInfo> out;
  std::string all(text.data());
  size_t pos = 0;
  while (pos < all.size()) {
    const size_t end = all.find('\n', pos);
    const std::string line = all.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    pos = end == std::string::npos ? all.size() : end + 1;
    std::vector<std::string> f;
    size_t p = 0;
    for (;;) {
      const size_t tab = line.find('\t', p);
      f.push_back(line.substr(p, tab == std::string::npos ? std::string::npos : tab - p));
      if (tab == std::string::npos) break;
      p = tab + 1;
    }
    if (f.size() != 5) continue;
    VulkanDeviceInfo d;
    d.index = std::atoi(f[0].c_str());
    d.name = f[1];
    d.type = f[2];
    d.memoryBytes = std::atoll(f[3].c_str());
    d.api = f[4];
    out.push_back(d);
  }
  return out;
}

}  // namespace glm
