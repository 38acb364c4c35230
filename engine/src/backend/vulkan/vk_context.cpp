#include "backend/vulkan/vk_context.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "backend/vulkan/vk_shaders.h"
#include "glmengine/error.h"

namespace glm::vk {
namespace {

const char* resultName(VkResult r) {
  switch (r) {
    case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY";
    case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
    case VK_ERROR_INITIALIZATION_FAILED: return "VK_ERROR_INITIALIZATION_FAILED";
    case VK_ERROR_DEVICE_LOST: return "VK_ERROR_DEVICE_LOST";
    case VK_ERROR_EXTENSION_NOT_PRESENT: return "VK_ERROR_EXTENSION_NOT_PRESENT";
    case VK_ERROR_FEATURE_NOT_PRESENT: return "VK_ERROR_FEATURE_NOT_PRESENT";
    case VK_ERROR_INCOMPATIBLE_DRIVER: return "VK_ERROR_INCOMPATIBLE_DRIVER (no Vulkan driver for this machine)";
    case VK_ERROR_LAYER_NOT_PRESENT: return "VK_ERROR_LAYER_NOT_PRESENT";
    case VK_ERROR_TOO_MANY_OBJECTS: return "VK_ERROR_TOO_MANY_OBJECTS";
    case VK_TIMEOUT: return "VK_TIMEOUT";
    default: return "VkResult";
  }
}

void check(VkResult r, const std::string& what) {
  if (r != VK_SUCCESS) throw Error(fmt::format("Vulkan: {} failed: {} ({})", what, resultName(r), int(r)));
}

double gib(int64_t b) { return double(b) / double(1ll << 30); }

VkInstance createInstance() {
  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = "GLM Chat";
  app.pEngineName = "glmengine";
  app.apiVersion = VK_API_VERSION_1_2;
  VkInstanceCreateInfo ci{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  ci.pApplicationInfo = &app;
  VkInstance inst = VK_NULL_HANDLE;
  const VkResult r = vkCreateInstance(&ci, nullptr, &inst);
  if (r != VK_SUCCESS)
    throw Error(fmt::format("Vulkan is not usable here: vkCreateInstance failed with {} — install the GPU's Vulkan "
                            "driver (on Debian: mesa-vulkan-drivers, or NVIDIA's driver with libvulkan1)",
                            resultName(r)));
  return inst;
}

std::string typeName(VkPhysicalDeviceType t) {
  switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "cpu";
    default: return "other";
  }
}

std::vector<VkPhysicalDevice> physicalDevices(VkInstance inst) {
  uint32_t n = 0;
  check(vkEnumeratePhysicalDevices(inst, &n, nullptr), "vkEnumeratePhysicalDevices");
  std::vector<VkPhysicalDevice> devs(n);
  if (n) check(vkEnumeratePhysicalDevices(inst, &n, devs.data()), "vkEnumeratePhysicalDevices");
  return devs;
}

int64_t largestDeviceHeap(VkPhysicalDevice d) {
  VkPhysicalDeviceMemoryProperties mp{};
  vkGetPhysicalDeviceMemoryProperties(d, &mp);
  int64_t best = 0;
  for (uint32_t i = 0; i < mp.memoryHeapCount; ++i)
    if (mp.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) best = std::max<int64_t>(best, int64_t(mp.memoryHeaps[i].size));
  return best;
}

bool hasExtension(VkPhysicalDevice d, const char* name) {
  uint32_t n = 0;
  vkEnumerateDeviceExtensionProperties(d, nullptr, &n, nullptr);
  std::vector<VkExtensionProperties> ext(n);
  vkEnumerateDeviceExtensionProperties(d, nullptr, &n, ext.data());
  for (const auto& e : ext)
    if (std::strcmp(e.extensionName, name) == 0) return true;
  return false;
}

// Shader name -> number of storage-buffer bindings (set 0, bindings 0..n-1).
// A quantized-weight variant (name_int8 / name_int4 of gemv and embed) binds its scales after the others.
// The integer dot-product variants (name_dot) bind as their fp32 counterparts (the input's int8 copy for x).
int bindingCount(const std::string& shader) {
  if (shader.size() > 4 && shader.compare(shader.size() - 4, 4, "_dot") == 0)
    return bindingCount(shader.substr(0, shader.size() - 4));
  for (const char* suffix : {"_int8", "_int4"})
    if (shader.size() > 5 && shader.compare(shader.size() - 5, 5, suffix) == 0)
      return bindingCount(shader.substr(0, shader.size() - 5)) + 1;
  static const std::map<std::string, int> counts = {
      {"embed", 3},           {"rms_norm", 4},          {"add", 2},           {"swiglu", 2},
      {"argmax", 2},          {"argmax_final", 2},      {"gemv", 4},          {"gemv_add_norm", 7},
      {"gemv_normed", 5},     {"gemv_swiglu", 4},       {"gemv_normed_swiglu", 5},     {"scale_normed", 2},      {"gemm", 5},          {"gemm_cm", 5},
      {"rope_append", 5},     {"rope_append_fp64", 5},  {"attention_prefill", 6}, {"flash_attn_cm", 4},
      {"attention_decode", 5}, {"attention_combine", 3}, {"attention_combine_rows", 2},
      {"dequantize", 3},      {"kv_dequantize", 2},      {"quantize_x", 2}};
  const auto it = counts.find(shader);
  if (it == counts.end()) throw Error(fmt::format("Vulkan backend: no binding table for shader '{}'", shader));
  return it->second;
}

}  // namespace

std::vector<DeviceListing> Context::listDevices() {
  VkInstance inst = createInstance();
  std::vector<DeviceListing> out;
  try {
    const auto devs = physicalDevices(inst);
    for (size_t i = 0; i < devs.size(); ++i) {
      VkPhysicalDeviceProperties p{};
      vkGetPhysicalDeviceProperties(devs[i], &p);
      DeviceListing l;
      l.index = int(i);
      l.name = p.deviceName;
      l.type = typeName(p.deviceType);
      l.memoryBytes = largestDeviceHeap(devs[i]);
      l.api = fmt::format("{}.{}.{}", VK_API_VERSION_MAJOR(p.apiVersion), VK_API_VERSION_MINOR(p.apiVersion),
                          VK_API_VERSION_PATCH(p.apiVersion));
      out.push_back(l);
    }
  } catch (...) {
    vkDestroyInstance(inst, nullptr);
    throw;
  }
  vkDestroyInstance(inst, nullptr);
  return out;
}

Context::Context(int device) {
  instance_ = createInstance();
  try {
    const auto devs = physicalDevices(instance_);
    if (devs.empty()) throw Error("Vulkan: no device found (the loader lists none)");
    if (device >= int(devs.size()))
      throw Error(fmt::format("Vulkan: device {} does not exist; this machine has {} (see `glmchat-cli devices`)", device,
                              devs.size()));
    if (device < 0) {  // discrete, then integrated, then anything
      int best = 0, bestRank = 99;
      for (size_t i = 0; i < devs.size(); ++i) {
        VkPhysicalDeviceProperties p{};
        vkGetPhysicalDeviceProperties(devs[i], &p);
        const int rank = p.deviceType == VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU     ? 0
                         : p.deviceType == VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU ? 1
                         : p.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU            ? 3
                                                                                  : 2;
        if (rank < bestRank) bestRank = rank, best = int(i);
      }
      device = best;
    }
    deviceIndex_ = device;
    physical_ = devs[size_t(device)];
    vkGetPhysicalDeviceProperties(physical_, &props_);
    vkGetPhysicalDeviceMemoryProperties(physical_, &memProps_);
    deviceName_ = props_.deviceName;
    deviceType_ = typeName(props_.deviceType);
    features_.isCpu = props_.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU;

    // Features the shaders need: 16-bit storage and int16 (bf16 words), subgroup arithmetic and
    // shuffles in compute, push descriptors.
    VkPhysicalDeviceVulkan11Features f11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
    VkPhysicalDeviceFeatures2 f2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
    f2.pNext = &f11;
    vkGetPhysicalDeviceFeatures2(physical_, &f2);
    VkPhysicalDeviceSubgroupProperties sg{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
    VkPhysicalDeviceProperties2 p2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
    p2.pNext = &sg;
    vkGetPhysicalDeviceProperties2(physical_, &p2);
    std::vector<std::string> missing;
    if (!f11.storageBuffer16BitAccess) missing.push_back("storageBuffer16BitAccess");
    if (!f2.features.shaderInt16) missing.push_back("shaderInt16");
    const VkSubgroupFeatureFlags needOps =
        VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_ARITHMETIC_BIT | VK_SUBGROUP_FEATURE_SHUFFLE_BIT;
    if ((sg.supportedOperations & needOps) != needOps || !(sg.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT))
      missing.push_back("subgroup arithmetic and shuffle in compute shaders");
    if (!hasExtension(physical_, VK_KHR_PUSH_DESCRIPTOR_EXTENSION_NAME)) missing.push_back(VK_KHR_PUSH_DESCRIPTOR_EXTENSION_NAME);
    if (props_.apiVersion < VK_API_VERSION_1_2) missing.push_back("Vulkan 1.2");
    if (!missing.empty()) {
      std::string list;
      for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
      throw Error(fmt::format("Vulkan device {} ({}) lacks what the backend needs: {}", device, deviceName_, list));
    }
    features_.fp64 = f2.features.shaderFloat64;
    features_.subgroupSize = sg.subgroupSize;
    features_.maxSharedMemory = props_.limits.maxComputeSharedMemorySize;
    for (int i = 0; i < 3; ++i) features_.maxWorkGroupCount[i] = props_.limits.maxComputeWorkGroupCount[i];
    VkPhysicalDeviceMaintenance3Properties m3{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
    VkPhysicalDeviceProperties2 p3{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
    p3.pNext = &m3;
    vkGetPhysicalDeviceProperties2(physical_, &p3);
    features_.maxBufferBytes =
        std::min<int64_t>(int64_t(props_.limits.maxStorageBufferRange), int64_t(m3.maxMemoryAllocationSize));
    features_.memoryBudget = hasExtension(physical_, VK_EXT_MEMORY_BUDGET_EXTENSION_NAME);

    // NV cooperative matrix with the 16x16x16 fp16 x fp16 -> fp32 shape the tensor-core shaders use.
    const bool wantCoopmat = std::getenv("GLMCHAT_VULKAN_NO_COOPMAT") == nullptr;
    // The tensor-core shaders are written for 32-wide subgroups (NVIDIA's warps) and use 40 KiB of
    // shared memory (kernels/vulkan/README-coopmat.md).
    if (wantCoopmat && sg.subgroupSize == 32 && props_.limits.maxComputeSharedMemorySize >= 40960 && hasExtension(physical_, VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME) &&
        hasShader("gemm_cm") && hasShader("flash_attn_cm")) {
      auto getProps = reinterpret_cast<PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesNV>(
          vkGetInstanceProcAddr(instance_, "vkGetPhysicalDeviceCooperativeMatrixPropertiesNV"));
      if (getProps) {
        uint32_t n = 0;
        getProps(physical_, &n, nullptr);
        std::vector<VkCooperativeMatrixPropertiesNV> cm(n, {VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_NV});
        getProps(physical_, &n, cm.data());
        for (const auto& c : cm)
          if (c.MSize == 16 && c.NSize == 16 && c.KSize == 16 && c.AType == VK_COMPONENT_TYPE_FLOAT16_NV &&
              c.BType == VK_COMPONENT_TYPE_FLOAT16_NV && c.CType == VK_COMPONENT_TYPE_FLOAT32_NV &&
              c.DType == VK_COMPONENT_TYPE_FLOAT32_NV && c.scope == VK_SCOPE_SUBGROUP_NV)
            features_.nvCooperativeMatrix = true;
      }
    }

    // Packed 4x8-bit integer dot products for the quantized GEMVs (VK_KHR_shader_integer_dot_product, core in
    // Vulkan 1.3; queried through the extension, as the instance asks for Vulkan 1.2).
    VkPhysicalDeviceShaderIntegerDotProductFeaturesKHR dotFeatures{
        VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES_KHR};
    VkPhysicalDeviceShaderIntegerDotProductPropertiesKHR dotProps{
        VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_PROPERTIES_KHR};
    if (hasExtension(physical_, VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME)) {
      VkPhysicalDeviceFeatures2 fd{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
      fd.pNext = &dotFeatures;
      vkGetPhysicalDeviceFeatures2(physical_, &fd);
      VkPhysicalDeviceProperties2 pd{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
      pd.pNext = &dotProps;
      vkGetPhysicalDeviceProperties2(physical_, &pd);
    }
    if (std::getenv("GLMCHAT_VULKAN_NO_INT_DOT"))  // tests and diagnosis: the fp32 widening on any device
      features_.integerDotNote = "fp32, GLMCHAT_VULKAN_NO_INT_DOT is set";
    else if (!dotFeatures.shaderIntegerDotProduct)
      features_.integerDotNote = "fp32, the device has no shaderIntegerDotProduct";
    else if (!hasShader("quantize_x") || !hasShader("gemv_int4_dot"))
      features_.integerDotNote = "fp32, this build's glslc could not compile the integer dot-product shaders";
    else {
      features_.integerDot = true;
      features_.integerDotNote = dotProps.integerDotProduct4x8BitPackedSignedAccelerated
                                     ? "int8 dot products"
                                     : "int8 dot products, not accelerated by the driver";
    }

    uint32_t qn = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(physical_, &qn, nullptr);
    std::vector<VkQueueFamilyProperties> qf(qn);
    vkGetPhysicalDeviceQueueFamilyProperties(physical_, &qn, qf.data());
    bool found = false;
    for (uint32_t i = 0; i < qn && !found; ++i)
      if (qf[i].queueFlags & VK_QUEUE_COMPUTE_BIT) queueFamily_ = i, found = true;
    if (!found) throw Error(fmt::format("Vulkan device {} ({}) has no compute queue", device, deviceName_));

    const float prio = 1.0f;
    VkDeviceQueueCreateInfo qci{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
    qci.queueFamilyIndex = queueFamily_;
    qci.queueCount = 1;
    qci.pQueuePriorities = &prio;
    std::vector<const char*> exts = {VK_KHR_PUSH_DESCRIPTOR_EXTENSION_NAME};
    if (features_.memoryBudget) exts.push_back(VK_EXT_MEMORY_BUDGET_EXTENSION_NAME);
    // GLMCHAT_VULKAN_PIPELINE_STATS=1: the driver's statistics of every pipeline (registers, spills).
    VkPhysicalDevicePipelineExecutablePropertiesFeaturesKHR pexe{
        VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PIPELINE_EXECUTABLE_PROPERTIES_FEATURES_KHR};
    pipelineStats_ = std::getenv("GLMCHAT_VULKAN_PIPELINE_STATS") &&
                     hasExtension(physical_, VK_KHR_PIPELINE_EXECUTABLE_PROPERTIES_EXTENSION_NAME);
    if (pipelineStats_) {
      exts.push_back(VK_KHR_PIPELINE_EXECUTABLE_PROPERTIES_EXTENSION_NAME);
      pexe.pipelineExecutableInfo = VK_TRUE;
    }
    VkPhysicalDeviceCooperativeMatrixFeaturesNV coop{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV};
    VkPhysicalDeviceVulkan11Features e11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
    e11.storageBuffer16BitAccess = VK_TRUE;
    VkPhysicalDeviceVulkan12Features e12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
    VkPhysicalDeviceVulkan12Features has12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
    VkPhysicalDeviceFeatures2 q12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
    q12.pNext = &has12;
    vkGetPhysicalDeviceFeatures2(physical_, &q12);
    e12.shaderFloat16 = has12.shaderFloat16;  // the tensor-core shaders convert to fp16
    e12.vulkanMemoryModel = has12.vulkanMemoryModel;
    e11.pNext = &e12;
    if (features_.nvCooperativeMatrix) {
      if (!has12.shaderFloat16) features_.nvCooperativeMatrix = false;
    }
    if (features_.nvCooperativeMatrix) {
      exts.push_back(VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME);
      coop.cooperativeMatrix = VK_TRUE;
      e12.pNext = &coop;
    }
    if (pipelineStats_) {
      pexe.pNext = e11.pNext;
      e11.pNext = &pexe;
    }
    VkPhysicalDeviceShaderIntegerDotProductFeaturesKHR dotEnable{
        VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES_KHR};
    if (features_.integerDot) {
      exts.push_back(VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME);
      dotEnable.shaderIntegerDotProduct = VK_TRUE;
      dotEnable.pNext = e11.pNext;
      e11.pNext = &dotEnable;
    }
    VkPhysicalDeviceFeatures2 enable{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
    enable.features.shaderInt16 = VK_TRUE;
    enable.features.shaderFloat64 = features_.fp64 ? VK_TRUE : VK_FALSE;
    enable.pNext = &e11;
    VkDeviceCreateInfo dci{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
    dci.pNext = &enable;
    dci.queueCreateInfoCount = 1;
    dci.pQueueCreateInfos = &qci;
    dci.enabledExtensionCount = uint32_t(exts.size());
    dci.ppEnabledExtensionNames = exts.data();
    check(vkCreateDevice(physical_, &dci, nullptr, &device_), fmt::format("vkCreateDevice ({})", deviceName_));
    vkGetDeviceQueue(device_, queueFamily_, 0, &queue_);
    pushDescriptorSet_ =
        reinterpret_cast<PFN_vkCmdPushDescriptorSetKHR>(vkGetDeviceProcAddr(device_, "vkCmdPushDescriptorSetKHR"));
    if (!pushDescriptorSet_) throw Error("Vulkan: vkCmdPushDescriptorSetKHR is missing");

    VkCommandPoolCreateInfo pci{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
    pci.queueFamilyIndex = queueFamily_;
    pci.flags = VK_COMMAND_POOL_CREATE_TRANSIENT_BIT;
    check(vkCreateCommandPool(device_, &pci, nullptr, &pool_), "vkCreateCommandPool");
    pci.flags = 0;
    check(vkCreateCommandPool(device_, &pci, nullptr, &stepPool_), "vkCreateCommandPool");
    const char* profile = std::getenv("GLMCHAT_VULKAN_PROFILE");
    countRecorded_ = profile != nullptr;
    if (profile && props_.limits.timestampComputeAndGraphics) {
      VkQueryPoolCreateInfo qp{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
      qp.queryType = VK_QUERY_TYPE_TIMESTAMP;
      qp.queryCount = 65536;
      check(vkCreateQueryPool(device_, &qp, nullptr, &queryPool_), "vkCreateQueryPool");
      profileByGrid_ = std::string(profile) == "grid";
    }

    // Memory types: device-local for tensors and weights; host-visible (cached if possible) for staging.
    bool haveLocal = false;
    for (uint32_t i = 0; i < memProps_.memoryTypeCount && !haveLocal; ++i)
      if (memProps_.memoryTypes[i].propertyFlags & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT)
        deviceLocalType_ = i, haveLocal = true;
    if (!haveLocal) deviceLocalType_ = 0;
    deviceHeap_ = memProps_.memoryTypes[deviceLocalType_].heapIndex;
    const VkMemoryPropertyFlags hv = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    stagingType_ = UINT32_MAX;
    for (uint32_t i = 0; i < memProps_.memoryTypeCount; ++i) {
      const auto f = memProps_.memoryTypes[i].propertyFlags;
      if ((f & hv) == hv && (f & VK_MEMORY_PROPERTY_HOST_CACHED_BIT)) {
        stagingType_ = i;
        break;
      }
    }
    for (uint32_t i = 0; i < memProps_.memoryTypeCount && stagingType_ == UINT32_MAX; ++i)
      if ((memProps_.memoryTypes[i].propertyFlags & hv) == hv) stagingType_ = i;
    if (stagingType_ == UINT32_MAX) throw Error(fmt::format("Vulkan device {} has no host-visible memory", deviceName_));
  } catch (...) {
    if (device_) vkDestroyDevice(device_, nullptr);
    vkDestroyInstance(instance_, nullptr);
    throw;
  }
}

Context::~Context() {
  if (device_) {
    vkDeviceWaitIdle(device_);
    if (queryPool_) {
      collectProfile();
      double total = 0;
      for (const auto& [name, e] : profile_) total += e.first;
      std::vector<std::pair<double, std::string>> rows;
      for (const auto& [name, e] : profile_)
        rows.push_back({e.first, fmt::format("{:>10.3f} ms {:5.1f}% {:>8} x {:>9.2f} us  {}", e.first,
                                             100.0 * e.first / std::max(total, 1e-9), e.second,
                                             1e3 * e.first / double(e.second), name)});
      std::sort(rows.rbegin(), rows.rend());
      std::fprintf(stderr, "Vulkan profile (GPU time per shader, outside step recordings):\n");
      for (const auto& r : rows) std::fprintf(stderr, "  %s\n", r.second.c_str());
      vkDestroyQueryPool(device_, queryPool_, nullptr);
    }
    for (auto& f : inFlight_) vkDestroyFence(device_, f.fence, nullptr);
    staging_.clear();
    for (auto& [name, p] : pipelines_) {
      vkDestroyPipeline(device_, p.pipeline, nullptr);
      vkDestroyPipelineLayout(device_, p.layout, nullptr);
      vkDestroyDescriptorSetLayout(device_, p.setLayout, nullptr);
    }
    vkDestroyCommandPool(device_, pool_, nullptr);
    vkDestroyCommandPool(device_, stepPool_, nullptr);
    vkDestroyDevice(device_, nullptr);
  }
  if (instance_) vkDestroyInstance(instance_, nullptr);
}

std::string Context::describe() const {
  int64_t freeB = 0, totalB = 0;
  memoryInfo(freeB, totalB);
  return fmt::format("Vulkan device {}: {} ({}, API {}.{}.{}, subgroup {}, {} path{}, quantized GEMVs: {}, {:.1f} GiB, "
                     "{:.1f} GiB free)",
                     deviceIndex_, deviceName_, deviceType_, VK_API_VERSION_MAJOR(props_.apiVersion),
                     VK_API_VERSION_MINOR(props_.apiVersion), VK_API_VERSION_PATCH(props_.apiVersion),
                     features_.subgroupSize,
                     features_.nvCooperativeMatrix ? "NV cooperative-matrix (tensor core)" : "portable fp32",
                     features_.fp64 ? ", fp64 rope" : "", features_.integerDotNote, gib(totalB), gib(freeB));
}

void Context::memoryInfo(int64_t& freeBytes, int64_t& totalBytes) const {
  totalBytes = int64_t(memProps_.memoryHeaps[deviceHeap_].size);
  freeBytes = totalBytes;
  if (features_.memoryBudget) {
    VkPhysicalDeviceMemoryBudgetPropertiesEXT budget{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT};
    VkPhysicalDeviceMemoryProperties2 mp{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2};
    mp.pNext = &budget;
    vkGetPhysicalDeviceMemoryProperties2(physical_, &mp);
    freeBytes = int64_t(budget.heapBudget[deviceHeap_]) - int64_t(budget.heapUsage[deviceHeap_]);
  }
}

uint32_t Context::memoryType(uint32_t bits, VkMemoryPropertyFlags want) const {
  for (uint32_t i = 0; i < memProps_.memoryTypeCount; ++i)
    if ((bits & (1u << i)) && (memProps_.memoryTypes[i].propertyFlags & want) == want) return i;
  return UINT32_MAX;
}

std::unique_ptr<Buffer> Context::createBuffer(int64_t bytes, bool deviceLocal, const std::string& what) {
  auto b = std::make_unique<Buffer>();
  bytes = std::max<int64_t>(bytes, 16);
  if (deviceLocal && bytes > features_.maxBufferBytes)
    throw Error(fmt::format("Vulkan device {}: {} needs one buffer of {:.2f} GiB but the device allows {:.2f} GiB per "
                            "storage buffer",
                            deviceName_, what, gib(bytes), gib(features_.maxBufferBytes)));
  VkBufferCreateInfo bci{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  bci.size = VkDeviceSize(bytes);
  bci.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  bci.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  check(vkCreateBuffer(device_, &bci, nullptr, &b->buffer), fmt::format("vkCreateBuffer ({})", what));
  VkMemoryRequirements req{};
  vkGetBufferMemoryRequirements(device_, b->buffer, &req);
  uint32_t type = deviceLocal ? memoryType(req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT) : stagingType_;
  if (type == UINT32_MAX || !(req.memoryTypeBits & (1u << type)))
    type = memoryType(req.memoryTypeBits, deviceLocal ? 0 : VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
  VkMemoryAllocateInfo mai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  mai.allocationSize = req.size;
  mai.memoryTypeIndex = type;
  const VkResult r = vkAllocateMemory(device_, &mai, nullptr, &b->memory);
  if (r != VK_SUCCESS) {
    vkDestroyBuffer(device_, b->buffer, nullptr);
    int64_t freeB = 0, totalB = 0;
    memoryInfo(freeB, totalB);
    throw Error(fmt::format("out of GPU memory on {}: {} needs {:.2f} GiB, {:.2f} GiB of {:.2f} GiB are free ({})",
                            deviceName_, what, gib(bytes), gib(freeB), gib(totalB), resultName(r)));
  }
  check(vkBindBufferMemory(device_, b->buffer, b->memory, 0), "vkBindBufferMemory");
  if (!deviceLocal) check(vkMapMemory(device_, b->memory, 0, VK_WHOLE_SIZE, 0, &b->mapped), "vkMapMemory");
  b->bytes = bytes;
  b->owner = this;
  return b;
}

Buffer::~Buffer() {
  if (owner) owner->destroyBuffer(*this);
}

void Context::destroyBuffer(Buffer& b) {
  // A device buffer may be named by recorded or in-flight commands: let them finish first.
  if (!b.mapped && (cmd_ || !inFlight_.empty())) {
    try {
      finish();
    } catch (...) {
      vkDeviceWaitIdle(device_);
    }
  }
  if (b.mapped) vkUnmapMemory(device_, b.memory);
  if (b.buffer) vkDestroyBuffer(device_, b.buffer, nullptr);
  if (b.memory) vkFreeMemory(device_, b.memory, nullptr);
  b.mapped = nullptr;
  b.buffer = VK_NULL_HANDLE;
  b.memory = VK_NULL_HANDLE;
  b.owner = nullptr;
}

bool Context::hasShader(const std::string& shader) const {
  for (const auto& s : embeddedShaders())
    if (shader == s.name) return true;
  return false;
}

Pipeline& Context::pipeline(const std::string& shader, std::vector<uint32_t> spec) {
  std::string key = shader;
  for (uint32_t v : spec) key += fmt::format(":{}", v);
  if (auto it = pipelines_.find(key); it != pipelines_.end()) return it->second;
  const SpirvShader* code = nullptr;
  for (const auto& s : embeddedShaders())
    if (shader == s.name) code = &s;
  if (!code) throw Error(fmt::format("Vulkan backend: shader '{}' is not part of this build", shader));
  Pipeline p;
  p.bindings = bindingCount(shader);
  std::vector<VkDescriptorSetLayoutBinding> binds(size_t(p.bindings));
  for (int i = 0; i < p.bindings; ++i) {
    binds[size_t(i)].binding = uint32_t(i);
    binds[size_t(i)].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    binds[size_t(i)].descriptorCount = 1;
    binds[size_t(i)].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
  }
  VkDescriptorSetLayoutCreateInfo dl{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
  dl.flags = VK_DESCRIPTOR_SET_LAYOUT_CREATE_PUSH_DESCRIPTOR_BIT_KHR;
  dl.bindingCount = uint32_t(binds.size());
  dl.pBindings = binds.data();
  check(vkCreateDescriptorSetLayout(device_, &dl, nullptr, &p.setLayout), "vkCreateDescriptorSetLayout");
  VkPushConstantRange pcr{VK_SHADER_STAGE_COMPUTE_BIT, 0, 128};
  VkPipelineLayoutCreateInfo pl{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
  pl.setLayoutCount = 1;
  pl.pSetLayouts = &p.setLayout;
  pl.pushConstantRangeCount = 1;
  pl.pPushConstantRanges = &pcr;
  check(vkCreatePipelineLayout(device_, &pl, nullptr, &p.layout), "vkCreatePipelineLayout");
  VkShaderModuleCreateInfo sm{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
  sm.codeSize = code->count * 4;
  sm.pCode = code->words;
  VkShaderModule module = VK_NULL_HANDLE;
  check(vkCreateShaderModule(device_, &sm, nullptr, &module), fmt::format("vkCreateShaderModule ({})", shader));
  std::vector<VkSpecializationMapEntry> entries(spec.size());
  for (size_t i = 0; i < spec.size(); ++i) entries[i] = {uint32_t(i), uint32_t(i * 4), 4};
  VkSpecializationInfo si{uint32_t(entries.size()), entries.data(), spec.size() * 4, spec.data()};
  VkComputePipelineCreateInfo cp{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
  cp.stage = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO};
  cp.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
  cp.stage.module = module;
  cp.stage.pName = "main";
  cp.stage.pSpecializationInfo = spec.empty() ? nullptr : &si;
  cp.layout = p.layout;
  if (pipelineStats_) cp.flags |= VK_PIPELINE_CREATE_CAPTURE_STATISTICS_BIT_KHR;
  const VkResult r = vkCreateComputePipelines(device_, VK_NULL_HANDLE, 1, &cp, nullptr, &p.pipeline);
  vkDestroyShaderModule(device_, module, nullptr);
  check(r, fmt::format("vkCreateComputePipelines ({})", key));
  if (pipelineStats_) printPipelineStatistics(p.pipeline, key);
  p.name = key;
  return pipelines_.emplace(key, p).first->second;
}

void Context::printPipelineStatistics(VkPipeline pipeline, const std::string& name) {
  auto getStats = reinterpret_cast<PFN_vkGetPipelineExecutableStatisticsKHR>(
      vkGetDeviceProcAddr(device_, "vkGetPipelineExecutableStatisticsKHR"));
  if (!getStats) return;
  VkPipelineExecutableInfoKHR info{VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_INFO_KHR};
  info.pipeline = pipeline;
  info.executableIndex = 0;
  uint32_t n = 0;
  getStats(device_, &info, &n, nullptr);
  std::vector<VkPipelineExecutableStatisticKHR> st(n, {VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_STATISTIC_KHR});
  getStats(device_, &info, &n, st.data());
  std::string line;
  for (const auto& x : st) {
    std::string v;
    switch (x.format) {
      case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_BOOL32_KHR: v = x.value.b32 ? "yes" : "no"; break;
      case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_INT64_KHR: v = std::to_string(x.value.i64); break;
      case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_UINT64_KHR: v = std::to_string(x.value.u64); break;
      case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_FLOAT64_KHR: v = fmt::format("{:.3g}", x.value.f64); break;
      default: break;
    }
    line += fmt::format("{}{}={}", line.empty() ? "" : ", ", x.name, v);
  }
  std::fprintf(stderr, "pipeline %s: %s\n", name.c_str(), line.c_str());
}

VkCommandBuffer Context::beginCommandBuffer(VkCommandPool pool, VkCommandBufferUsageFlags flags) {
  VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  ai.commandPool = pool;
  ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  ai.commandBufferCount = 1;
  VkCommandBuffer cb = VK_NULL_HANDLE;
  check(vkAllocateCommandBuffers(device_, &ai, &cb), "vkAllocateCommandBuffers");
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  bi.flags = flags;
  const VkResult r = vkBeginCommandBuffer(cb, &bi);
  if (r != VK_SUCCESS) vkFreeCommandBuffers(device_, pool, 1, &cb);
  check(r, "vkBeginCommandBuffer");
  return cb;
}

VkCommandBuffer Context::current() {
  if (!cmd_) cmd_ = beginCommandBuffer(pool_, VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT);
  return cmd_;
}

// Every command depends on the one before (a single in-order stream, as the forward pass is): the
// writes of a dispatch (or of a copy) are made visible to the next dispatches and copies.
void Context::barrier(VkCommandBuffer cb, bool afterTransfer) {
  VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  mb.srcAccessMask = afterTransfer ? VK_ACCESS_TRANSFER_WRITE_BIT : VK_ACCESS_SHADER_WRITE_BIT;
  mb.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT |
                     VK_ACCESS_TRANSFER_WRITE_BIT;
  vkCmdPipelineBarrier(cb, afterTransfer ? VK_PIPELINE_STAGE_TRANSFER_BIT : VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                       VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &mb, 0, nullptr, 0,
                       nullptr);
}

// Before the host reads what a copy wrote (only downloads need it: a host barrier after every
// dispatch costs the GPU a full flush each time).
void Context::hostBarrier(VkCommandBuffer cb) {
  VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  mb.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
  mb.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
  vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, nullptr, 0, nullptr);
}

void Context::dispatch(Pipeline& p, std::initializer_list<VkBuffer> buffers, const void* push, uint32_t pushBytes,
                       uint32_t gx, uint32_t gy, uint32_t gz) {
  dispatch(p, std::span<const VkBuffer>(buffers.begin(), buffers.size()), push, pushBytes, gx, gy, gz);
}

void Context::dispatch(Pipeline& p, std::span<const VkBuffer> buffers, const void* push, uint32_t pushBytes,
                       uint32_t gx, uint32_t gy, uint32_t gz) {
  if (int(buffers.size()) != p.bindings)
    throw Error(fmt::format("Vulkan backend: {} buffers bound to a shader with {} bindings", buffers.size(), p.bindings));
  if (gx == 0 || gy == 0 || gz == 0) return;
  if (gx > features_.maxWorkGroupCount[0] || gy > features_.maxWorkGroupCount[1] || gz > features_.maxWorkGroupCount[2])
    throw Error(fmt::format("Vulkan backend: grid {} x {} x {} exceeds the device's {} x {} x {}", gx, gy, gz,
                            features_.maxWorkGroupCount[0], features_.maxWorkGroupCount[1],
                            features_.maxWorkGroupCount[2]));
  VkCommandBuffer cb = target();
  if (recording_ && countRecorded_) ++recordedDispatches_[p.name];
  const bool timed = queryPool_ && !recording_ && queriesUsed_ + 2 <= 65536;
  if (timed) {
    if (queriesUsed_ == 0) vkCmdResetQueryPool(cb, queryPool_, 0, 65536);
    // Bottom of pipe for the start too: written once everything before has finished, so a dispatch's
    // interval never includes the tail of the one before it.
    vkCmdWriteTimestamp(cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, queryPool_, queriesUsed_);
  }
  vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, p.pipeline);
  VkDescriptorBufferInfo infos[8];
  VkWriteDescriptorSet writes[8];
  uint32_t i = 0;
  for (VkBuffer b : buffers) {
    infos[i] = {b, 0, VK_WHOLE_SIZE};
    writes[i] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
    writes[i].dstBinding = i;
    writes[i].descriptorCount = 1;
    writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    writes[i].pBufferInfo = &infos[i];
    ++i;
  }
  pushDescriptorSet_(cb, VK_PIPELINE_BIND_POINT_COMPUTE, p.layout, 0, i, writes);
  if (pushBytes) vkCmdPushConstants(cb, p.layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, pushBytes, push);
  vkCmdDispatch(cb, gx, gy, gz);
  barrier(cb);
  if (timed) {
    vkCmdWriteTimestamp(cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, queryPool_, queriesUsed_ + 1);
    queriesUsed_ += 2;
    const uint64_t groups = uint64_t(gx) * gy * gz;
    if (profileByGrid_)
      queryNames_.push_back(fmt::format("{} [{} x {} x {}]", p.name, gx, gy, gz));
    else
      queryNames_.push_back(groups <= 64 ? p.name + " [<=64 workgroups]" : p.name);
  }
}

void Context::collectProfile() {
  if (!queryPool_ || queriesUsed_ == 0) return;
  std::vector<uint64_t> ts(queriesUsed_);
  if (vkGetQueryPoolResults(device_, queryPool_, 0, queriesUsed_, ts.size() * 8, ts.data(), 8,
                            VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT) == VK_SUCCESS)
    for (size_t i = 0; i < queryNames_.size(); ++i) {
      auto& e = profile_[queryNames_[i]];
      e.first += double(ts[2 * i + 1] - ts[2 * i]) * props_.limits.timestampPeriod * 1e-6;
      e.second += 1;
    }
  queriesUsed_ = 0;
  queryNames_.clear();
}

void Context::copy(VkBuffer src, VkBuffer dst, const std::vector<VkBufferCopy>& regions) {
  if (regions.empty()) return;
  VkCommandBuffer cb = target();
  vkCmdCopyBuffer(cb, src, dst, uint32_t(regions.size()), regions.data());
  barrier(cb, true);
}

void Context::fill(VkBuffer dst, int64_t offset, int64_t bytes, uint32_t value) {
  VkCommandBuffer cb = current();
  vkCmdFillBuffer(cb, dst, VkDeviceSize(offset), VkDeviceSize(bytes), value);
  barrier(cb, true);
}

void Context::update(VkBuffer dst, int64_t offset, const void* data, int64_t bytes) {
  VkCommandBuffer cb = current();
  vkCmdUpdateBuffer(cb, dst, VkDeviceSize(offset), VkDeviceSize(bytes), data);
  barrier(cb, true);
}

std::pair<Buffer*, int64_t> Context::stagingSlice(int64_t bytes) {
  bytes = (bytes + 255) / 256 * 256;
  for (auto& s : staging_)
    if (s.buffer->bytes - s.used >= bytes) {
      const int64_t off = s.used;
      s.used += bytes;
      return {s.buffer.get(), off};
    }
  Staging s;
  s.buffer = createBuffer(std::max<int64_t>(bytes, 256ll << 20), false, "staging memory");
  s.used = bytes;
  staging_.push_back(std::move(s));
  return {staging_.back().buffer.get(), 0};
}

void Context::upload(VkBuffer dst, int64_t offset, const void* data, int64_t bytes) {
  constexpr int64_t kPiece = 64ll << 20;
  const auto* src = static_cast<const char*>(data);
  for (int64_t done = 0; done < bytes; done += kPiece) {
    const int64_t n = std::min(kPiece, bytes - done);
    auto [buf, off] = stagingSlice(n);
    std::memcpy(static_cast<char*>(buf->mapped) + off, src + done, size_t(n));
    VkBufferCopy region{VkDeviceSize(off), VkDeviceSize(offset + done), VkDeviceSize(n)};
    VkCommandBuffer cb = current();
    vkCmdCopyBuffer(cb, buf->buffer, dst, 1, &region);
    barrier(cb, true);
    if (bytes > kPiece) finish();  // big uploads (weights): keep staging memory bounded
  }
}

void Context::download(VkBuffer src, int64_t offset, void* data, int64_t bytes) {
  auto [buf, off] = stagingSlice(bytes);
  VkBufferCopy region{VkDeviceSize(offset), VkDeviceSize(off), VkDeviceSize(bytes)};
  VkCommandBuffer cb = current();
  vkCmdCopyBuffer(cb, src, buf->buffer, 1, &region);
  hostBarrier(cb);
  submit();
  for (auto& f : inFlight_) check(vkWaitForFences(device_, 1, &f.fence, VK_TRUE, UINT64_MAX), "vkWaitForFences");
  std::memcpy(data, static_cast<const char*>(buf->mapped) + off, size_t(bytes));
  waitAll();
}

void Context::submit() {
  if (!cmd_) return;
  check(vkEndCommandBuffer(cmd_), "vkEndCommandBuffer");
  VkFenceCreateInfo fi{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  VkFence fence = VK_NULL_HANDLE;
  check(vkCreateFence(device_, &fi, nullptr, &fence), "vkCreateFence");
  VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  si.commandBufferCount = 1;
  si.pCommandBuffers = &cmd_;
  const VkResult r = vkQueueSubmit(queue_, 1, &si, fence);
  inFlight_.push_back({fence, cmd_});
  cmd_ = VK_NULL_HANDLE;
  check(r, "vkQueueSubmit");
}

void Context::waitAll() {
  for (auto& f : inFlight_) {
    const VkResult r = vkWaitForFences(device_, 1, &f.fence, VK_TRUE, UINT64_MAX);
    vkDestroyFence(device_, f.fence, nullptr);
    if (f.cmd) vkFreeCommandBuffers(device_, pool_, 1, &f.cmd);
    f.fence = VK_NULL_HANDLE;
    if (r != VK_SUCCESS) {
      inFlight_.clear();
      check(r, "vkWaitForFences");
    }
  }
  inFlight_.clear();
  collectProfile();
  for (auto& s : staging_) s.used = 0;
  // Keep one staging buffer of moderate size; drop the large ones a weight upload made.
  while (staging_.size() > 1) staging_.pop_back();
  if (!staging_.empty() && staging_[0].buffer->bytes > (256ll << 20)) staging_.clear();
}

void Context::finish() {
  submit();
  waitAll();
}

void Context::beginRecording() {
  dropRecording();
  stepCmd_ = beginCommandBuffer(stepPool_, 0);  // resubmitted for every token: not one-time
  barrier(stepCmd_, true);  // orders the recording after whatever was submitted before it (copies,
  barrier(stepCmd_, false);  // the step inputs' update, dispatches)
  recording_ = true;
  recordedDispatches_.clear();
}

void Context::endRecording() {
  recording_ = false;
  check(vkEndCommandBuffer(stepCmd_), "vkEndCommandBuffer (step recording)");
  if (countRecorded_) {
    int total = 0;
    std::string each;
    for (const auto& [name, n] : recordedDispatches_) {
      total += n;
      each += fmt::format("{}{} {}", each.empty() ? "" : ", ", name, n);
    }
    std::fprintf(stderr, "Vulkan step recording: %d dispatches (%s)\n", total, each.c_str());
  }
}

void Context::dropRecording() {
  if (!stepCmd_) return;
  if (recording_) vkEndCommandBuffer(stepCmd_);
  recording_ = false;
  finish();  // the recording may still be in flight
  vkFreeCommandBuffers(device_, stepPool_, 1, &stepCmd_);
  stepCmd_ = VK_NULL_HANDLE;
}

void Context::replayRecording() {
  // A recording may not be pending twice: wait for earlier work first (the host waits for every step's
  // token anyway, so this costs nothing in the decode loop).
  VkCommandBuffer cbs[2];
  uint32_t n = 0;
  if (cmd_) {
    check(vkEndCommandBuffer(cmd_), "vkEndCommandBuffer");
    cbs[n++] = cmd_;
  }
  for (auto& f : inFlight_) check(vkWaitForFences(device_, 1, &f.fence, VK_TRUE, UINT64_MAX), "vkWaitForFences");
  cbs[n++] = stepCmd_;
  VkFenceCreateInfo fi{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  VkFence fence = VK_NULL_HANDLE;
  check(vkCreateFence(device_, &fi, nullptr, &fence), "vkCreateFence");
  VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  si.commandBufferCount = n;
  si.pCommandBuffers = cbs;
  const VkResult r = vkQueueSubmit(queue_, 1, &si, fence);
  inFlight_.push_back({fence, cmd_});
  cmd_ = VK_NULL_HANDLE;
  check(r, "vkQueueSubmit (step recording)");
}

}  // namespace glm::vk
