// The Vulkan plumbing under the Vulkan backend: instance and device choice, memory, buffers, compute
// pipelines built from the embedded SPIR-V, and command recording with push descriptors. Work is
// recorded into a command buffer and submitted when the host needs a result (download, argmax,
// synchronize) or a recorded decode step is replayed.
#pragma once
#include <vulkan/vulkan.h>

#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace glm::vk {

// One Vulkan device as listed to the user.
struct DeviceListing {
  int index = 0;
  std::string name, type;  // type: discrete, integrated, virtual, cpu, other
  int64_t memoryBytes = 0; // largest device-local heap
  std::string api;
};

// What the chosen device offers the shaders.
struct DeviceFeatures {
  bool fp64 = false;               // rope angles reduced in fp64
  bool nvCooperativeMatrix = false;// 16x16x16 fp16 x fp16 -> fp32 tensor-core tiles
  bool memoryBudget = false;
  // Quantized decode GEMVs on an int8 copy of the input with packed 4x8-bit dot products (shaderIntegerDotProduct,
  // VK_KHR_shader_integer_dot_product); otherwise they widen the weights to fp32. integerDotNote names the path
  // for describe(): why fp32, or whether the driver reports the 4x8-bit packed signed dot product accelerated.
  bool integerDot = false;
  std::string integerDotNote;
  uint32_t subgroupSize = 0;
  uint32_t maxSharedMemory = 0;
  uint32_t maxWorkGroupCount[3] = {0, 0, 0};
  int64_t maxBufferBytes = 0;      // largest storage buffer a shader can see (and we allocate)
  bool isCpu = false;              // a software rasteriser (lavapipe)
};

// A buffer with its own memory. Device-local buffers get a "virtual address" (base) that Tensor
// handles carry as their data pointer: the backend maps such an address back to (buffer, offset).
class Context;
struct Buffer {
  Buffer() = default;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer();  // gives the memory back to its context
  Context* owner = nullptr;
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceMemory memory = VK_NULL_HANDLE;
  int64_t bytes = 0;
  void* mapped = nullptr;
  uintptr_t base = 0;
};

struct Pipeline {
  VkDescriptorSetLayout setLayout = VK_NULL_HANDLE;
  VkPipelineLayout layout = VK_NULL_HANDLE;
  VkPipeline pipeline = VK_NULL_HANDLE;
  int bindings = 0;
  std::string name;  // shader and specialization, for the profile
};

class Context {
 public:
  // Lists the devices of this machine; throws glm::Error when Vulkan itself is missing.
  static std::vector<DeviceListing> listDevices();
  // device < 0: the first discrete GPU, else integrated, else any. Throws glm::Error saying what is
  // missing (loader, device, extension, feature).
  explicit Context(int device);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  const DeviceFeatures& features() const { return features_; }
  const std::string& deviceName() const { return deviceName_; }
  std::string describe() const;
  // Free and total bytes of the device-local heap (budget extension where present).
  void memoryInfo(int64_t& freeBytes, int64_t& totalBytes) const;

  std::unique_ptr<Buffer> createBuffer(int64_t bytes, bool deviceLocal, const std::string& what);
  void destroyBuffer(Buffer& b);

  // The pipeline of an embedded shader with the given specialization constants (ids 0, 1, ...).
  Pipeline& pipeline(const std::string& shader, std::vector<uint32_t> spec = {});
  bool hasShader(const std::string& shader) const;

  // Records into the current command buffer (or the step recording, see beginRecording).
  void dispatch(Pipeline& p, std::initializer_list<VkBuffer> buffers, const void* push, uint32_t pushBytes,
                uint32_t gx, uint32_t gy = 1, uint32_t gz = 1);
  void dispatch(Pipeline& p, std::span<const VkBuffer> buffers, const void* push, uint32_t pushBytes, uint32_t gx,
                uint32_t gy = 1, uint32_t gz = 1);
  void copy(VkBuffer src, VkBuffer dst, const std::vector<VkBufferCopy>& regions);
  void fill(VkBuffer dst, int64_t offset, int64_t bytes, uint32_t value);
  // Small host data (<= 64 KiB, multiple of 4 bytes) written in command-buffer order. Always goes into
  // the current command buffer, never into a step recording.
  void update(VkBuffer dst, int64_t offset, const void* data, int64_t bytes);
  // Host bytes into a device buffer through staging memory, in command-buffer order (current buffer).
  void upload(VkBuffer dst, int64_t offset, const void* data, int64_t bytes);
  // Device bytes back to the host: submits and waits.
  void download(VkBuffer src, int64_t offset, void* data, int64_t bytes);

  void submit();    // submits the current command buffer (if any work is recorded)
  void finish();    // submits and waits for everything in flight

  // Step recording: commands go to a reusable command buffer until endRecording; replayRecording submits
  // the current command buffer and the recording, in that order.
  void beginRecording();
  void endRecording();
  void dropRecording();
  bool hasRecording() const { return stepCmd_ != VK_NULL_HANDLE && !recording_; }
  bool recording() const { return recording_; }
  void replayRecording();

  // GLMCHAT_VULKAN_PROFILE=1: GPU timestamps around every dispatch outside step recordings, summed
  // per shader (=grid: per shader and grid size); printed to stderr when the context is destroyed. And the
  // dispatches of each step recording, counted per shader, printed to stderr when the recording ends.
  bool profiling() const { return queryPool_ != VK_NULL_HANDLE; }

 private:
  VkCommandBuffer current();
  VkCommandBuffer target() { return recording_ ? stepCmd_ : current(); }
  void barrier(VkCommandBuffer cb, bool afterTransfer = false);
  void hostBarrier(VkCommandBuffer cb);
  uint32_t memoryType(uint32_t bits, VkMemoryPropertyFlags want) const;
  VkCommandBuffer beginCommandBuffer(VkCommandPool pool, VkCommandBufferUsageFlags flags);
  struct Staging {
    std::unique_ptr<Buffer> buffer;
    int64_t used = 0;
  };
  std::pair<Buffer*, int64_t> stagingSlice(int64_t bytes);
  void waitAll();

  VkInstance instance_ = VK_NULL_HANDLE;
  VkPhysicalDevice physical_ = VK_NULL_HANDLE;
  VkDevice device_ = VK_NULL_HANDLE;
  VkQueue queue_ = VK_NULL_HANDLE;
  uint32_t queueFamily_ = 0;
  VkCommandPool pool_ = VK_NULL_HANDLE, stepPool_ = VK_NULL_HANDLE;
  VkCommandBuffer cmd_ = VK_NULL_HANDLE, stepCmd_ = VK_NULL_HANDLE;
  bool recording_ = false;
  struct InFlight {
    VkFence fence;
    VkCommandBuffer cmd;  // freed when the fence signals (null for a replayed recording alone)
  };
  std::vector<InFlight> inFlight_;
  std::vector<Staging> staging_;
  VkPhysicalDeviceMemoryProperties memProps_{};
  VkPhysicalDeviceProperties props_{};
  DeviceFeatures features_;
  std::string deviceName_, deviceType_;
  int deviceIndex_ = 0;
  uint32_t deviceLocalType_ = 0, stagingType_ = 0, deviceHeap_ = 0;
  PFN_vkCmdPushDescriptorSetKHR pushDescriptorSet_ = nullptr;
  std::map<std::string, Pipeline> pipelines_;
  VkQueryPool queryPool_ = VK_NULL_HANDLE;
  uint32_t queriesUsed_ = 0;
  bool profileByGrid_ = false;  // GLMCHAT_VULKAN_PROFILE=grid: one line per shader and grid size
  bool countRecorded_ = false;  // GLMCHAT_VULKAN_PROFILE: count the step recording's dispatches
  std::map<std::string, int> recordedDispatches_;  // shader -> dispatches in the step being recorded
  std::vector<std::string> queryNames_;  // per pair of timestamps in the current submission(s)
  std::map<std::string, std::pair<double, int64_t>> profile_;  // name -> (milliseconds, dispatches)
  void collectProfile();
  bool pipelineStats_ = false;
  void printPipelineStatistics(VkPipeline pipeline, const std::string& name);
};

}  // namespace glm::vk
