// Safetensors files, the weight store of a model folder, and a writer.
//
// File format (https://huggingface.co/docs/safetensors): 8-byte little-endian header length N, then N
// bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}, then
// the data section; offsets are relative to the start of the data section (byte 8 + N).
//
// Files are memory-mapped read-only (MAP_PRIVATE) and only the header is read while opening, so
// opening an 18.8 GB model costs no reads of weight data; pages come in when a backend touches them.
// Every byte range is checked against the file size before a TensorView is handed out.
#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "glmengine/types.h"

namespace glm {

// One tensor: a read-only view of bytes owned by a SafetensorsFile or a WeightStore.
// data is NOT guaranteed to be aligned to the element size (a file's header length need not be a
// multiple of 8); copy or use memcpy-style loads where alignment matters.
struct TensorView {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;  // row-major; [] is a scalar
  const std::byte* data = nullptr;
  size_t bytes = 0;            // == numel() * dtypeSize(dtype)
  std::string file;            // the .safetensors file it came from, or kOwnedTensorFile

  int64_t numel() const;
};

// TensorView::file of tensors a WeightStore owns (addOwned) rather than maps from a file.
inline constexpr std::string_view kOwnedTensorFile = "<owned>";

// "[151552, 4096]"
std::string shapeToString(const std::vector<int64_t>& shape);

// Safetensors dtype string ("BF16", "F8_E4M3", ...) to DType; throws glm::Error naming `context`
// (e.g. "model.safetensors: tensor 'x'") and the unknown string.
DType parseDTypeName(std::string_view name, const std::string& context);

class SafetensorsFile {
 public:
  // Maps the file and validates the header: header length within the file, every dtype known,
  // shapes non-negative, data_offsets inside the data section, end - begin == numel * dtype size.
  // Throws glm::Error naming the file (and the tensor) at fault.
  static std::unique_ptr<SafetensorsFile> open(const std::filesystem::path& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::filesystem::path& path() const { return path_; }
  size_t fileSize() const { return fileSize_; }
  const std::vector<TensorView>& tensors() const { return tensors_; }  // in file order
  const TensorView* find(std::string_view name) const;                   // nullptr when absent
  const std::map<std::string, std::string>& metadata() const { return metadata_; }  // __metadata__

 private:
  SafetensorsFile() = default;
  std::filesystem::path path_;
  void* mapping_ = nullptr;
  size_t fileSize_ = 0;
  std::vector<TensorView> tensors_;
  std::map<std::string, size_t, std::less<>> index_;
  std::map<std::string, std::string> metadata_;
};

// All tensors of a model: the mapped shards of a model folder, and/or owned in-memory tensors
// (random weights, tests). Lookups by name; a name appears once.
class WeightStore {
 public:
  // Opens every shard of a model folder. With model.safetensors.index.json, its weight_map
  // (tensor name -> shard file) decides: each shard it names must exist and contain the tensors it is
  // said to hold. Without an index, model.safetensors if present (other .safetensors files beside it
  // are ignored, as transformers does), else every *.safetensors file in the folder. A tensor found
  // in two files is an error. A folder with only PyTorch pickles (pytorch_model*.bin, *.pt, *.pth)
  // gets an error asking for a conversion (pickles are never opened); no weights at all: error.
  // progress(done, total) counts bytes of shards mapped and validated; returning false throws
  // glm::Cancelled.
  static std::unique_ptr<WeightStore> openDirectory(const std::filesystem::path& dir,
                                                    const ProgressFn& progress = {});

  WeightStore();  // empty, for owned tensors
  ~WeightStore();
  WeightStore(const WeightStore&) = delete;
  WeightStore& operator=(const WeightStore&) = delete;

  const TensorView* find(std::string_view name) const;     // nullptr when absent
  const TensorView& require(std::string_view name) const;  // throws glm::Error naming tensor + source
  std::vector<std::string> names() const;                   // sorted
  size_t totalBytes() const;                                 // sum of all tensors' bytes
  size_t size() const { return byName_.size(); }
  // The folder for a store from openDirectory, "in-memory weights" otherwise (for messages).
  const std::string& sourceName() const { return sourceName_; }

  // Adds an owned tensor and returns its view. The buffer is zero-filled: it comes from an anonymous
  // mmap, so the kernel supplies zero pages on first touch and pages never written cost no memory
  // (a filler that writes every byte touches each page once). Duplicate names throw glm::Error.
  const TensorView& addOwned(std::string name, DType dtype, std::vector<int64_t> shape);
  // Writable bytes of an owned tensor (nullptr if `name` is absent or belongs to a mapped file).
  std::byte* mutableData(std::string_view name);

 private:
  struct OwnedBuffer;
  void addView(const TensorView& view);
  std::string sourceName_ = "in-memory weights";
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::vector<std::unique_ptr<OwnedBuffer>> owned_;
  std::map<std::string, const TensorView*, std::less<>> byName_;
};

// Writes tensors (in the given order, back to back) to a .safetensors file, header padded with spaces
// to a multiple of 8 bytes so every tensor in the data section is 8-byte aligned in the file.
// metadata goes to "__metadata__" when not empty. Writes to "<path>.tmp" then renames, so a crash
// never leaves a half-written file under the real name. Throws glm::Error on I/O failure or when a
// view's bytes do not match its shape and dtype.
void writeSafetensors(const std::filesystem::path& path, const std::vector<TensorView>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace glm
