// The compute shaders of the Vulkan backend, compiled from kernels/vulkan/*.comp to SPIR-V at build
// time and embedded (generated vk_shaders.cpp).
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>

namespace glm::vk {

struct SpirvShader {
  const char* name;  // file name without .comp, plus a variant suffix (rope_append_fp64)
  const uint32_t* words;
  size_t count;
};

std::span<const SpirvShader> embeddedShaders();

}  // namespace glm::vk
