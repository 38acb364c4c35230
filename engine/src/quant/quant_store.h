// The quantized weights of one model in one format, and their cache file.
//
// The first load with --weights int8/int4 quantizes every linear layer on all cores and writes the result
// to the user's cache folder (quantCacheDir()); later loads map that file instead, so they cost what a
// plain load costs. A cache file is used only if everything checks out: magic and version, the format,
// the identity of the source files (each safetensors file's path, size and modification time), the
// size of the file (a truncated file is refused), and a 64-bit hash of every tensor. Anything else —
// truncated, stale, another format, corrupt — is reported (`why`) and the file rebuilt; a cache that
// cannot be written (read-only folder, full disk) only costs the next load the quantization again.
// Files are written to a temporary name and renamed, so a crash never leaves a half-written cache.
//
// Layout (little-endian): "GLMQUANT", u32 version, u32 header bytes H, H bytes of JSON (identity,
// format, payload bytes, and per tensor: key, name, rows, cols, group, data/scale offsets and sizes,
// hash), zero padding to a multiple of 64, then the payload (each array 64-byte aligned).
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "quant/quant.h"

namespace glm {

// $GLMCHAT_CACHE_DIR, else $XDG_CACHE_HOME/glmchat, else ~/.cache/glmchat; quantized weights go into its
// "quantized" subfolder.
std::filesystem::path quantCacheDir();

class QuantizedStore {
 public:
  explicit QuantizedStore(WeightFormat format) : format_(format) {}
  ~QuantizedStore();
  QuantizedStore(const QuantizedStore&) = delete;
  QuantizedStore& operator=(const QuantizedStore&) = delete;

  // Maps `file` if it is a valid cache of `identity` in `format`; otherwise returns nullptr and says why
  // (missing, truncated, stale, another format, corrupt).
  static std::unique_ptr<QuantizedStore> open(const std::filesystem::path& file, const std::string& identity,
                                              WeightFormat format, std::string& why);
  // Writes the store to `file` (through a temporary file and a rename). Throws glm::Error on failure.
  void write(const std::filesystem::path& file, const std::string& identity) const;

  WeightFormat format() const { return format_; }
  // The view stored under `key` (nullptr if none).
  const QuantizedView* find(const std::string& key) const;
  const QuantizedView& add(const std::string& key, QuantizedMatrix m);
  size_t size() const { return views_.size(); }
  int64_t bytes() const;

 private:
  WeightFormat format_;
  std::map<std::string, QuantizedView> views_;
  std::map<std::string, QuantizedMatrix> owned_;  // quantized in this process
  void* map_ = nullptr;                           // or mapped from a cache file
  size_t mapBytes_ = 0;
};

// Quantizes a model's linear layers on all cores: the four of every layer in `format`, the output layer
// and the embedding table int8 (see LoadOptions::weights). progress counts rows; returning false cancels
// (glm::Cancelled).
std::unique_ptr<QuantizedStore> quantizeModel(const ModelWeights& w, WeightFormat format, const ProgressFn& progress);

// The embedding table seen as a linear layer (one part, no bias), as the quantizer and quantKey take it.
LinearView embeddingAsLinear(const ModelWeights& w);

// The store's key of a linear layer quantized to `format` (its first tensor's name and the format).
std::string quantKey(const LinearView& view, WeightFormat format);

// The identity of a model folder's weights: every *.safetensors file's name, size and modification time.
std::string sourceIdentity(const std::filesystem::path& modelDir);

}  // namespace glm
