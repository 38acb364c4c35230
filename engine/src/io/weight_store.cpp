// WeightStore: the tensors of a model folder (mapped shards) and owned in-memory tensors.
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "glmengine/error.h"
#include "io/safetensors.h"

namespace glm {

namespace fs = std::filesystem;

namespace {

constexpr const char* kIndexFileName = "model.safetensors.index.json";
constexpr const char* kSingleFileName = "model.safetensors";

bool hasSuffix(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// PyTorch pickles: pytorch_model.bin, pytorch_model-00001-of-00002.bin, *.pt, *.pth.
bool isPickleWeightFile(const std::string& name) {
  return (name.rfind("pytorch_model", 0) == 0 && hasSuffix(name, ".bin")) || hasSuffix(name, ".pt") ||
         hasSuffix(name, ".pth");
}

std::vector<std::string> regularFileNames(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.is_regular_file(ec)) names.push_back(entry.path().filename().string());
  if (ec) throw Error(fmt::format("{}: cannot list the folder: {}", dir.string(), ec.message()));
  std::sort(names.begin(), names.end());
  return names;
}

// Shard file names from model.safetensors.index.json, plus which tensors each must hold.
struct ShardIndex {
  std::vector<std::string> shards;                      // in first-mention order
  std::map<std::string, std::string> shardOfTensor;     // tensor name -> shard file name
};

ShardIndex readShardIndex(const fs::path& indexPath) {
  const std::string file = indexPath.string();
  std::ifstream in(indexPath, std::ios::binary);
  if (!in) throw Error(fmt::format("{}: cannot open: {}", file, std::strerror(errno)));
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json index;
  try {
    index = nlohmann::json::parse(text.str());
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(fmt::format("{}: invalid JSON: {}", file, e.what()));
  }
  if (!index.is_object() || !index.contains("weight_map"))
    throw Error(fmt::format("{}: missing field 'weight_map'", file));
  const auto& weightMap = index["weight_map"];
  if (!weightMap.is_object())
    throw Error(fmt::format("{}: field 'weight_map' must be an object, found {}", file,
                            weightMap.type_name()));
  ShardIndex result;
  std::set<std::string> seen;
  for (const auto& [tensor, shard] : weightMap.items()) {
    if (!shard.is_string())
      throw Error(fmt::format("{}: weight_map['{}'] must be a file name, found {}", file, tensor,
                              shard.dump()));
    std::string shardName = shard.get<std::string>();
    // Shards live in the model folder; a path that climbs out of it is refused.
    fs::path p(shardName);
    if (shardName.empty() || p.is_absolute() ||
        std::any_of(p.begin(), p.end(), [](const fs::path& part) { return part == ".."; }))
      throw Error(fmt::format("{}: weight_map['{}'] names '{}', which is not a file inside the folder",
                              file, tensor, shardName));
    if (seen.insert(shardName).second) result.shards.push_back(shardName);
    result.shardOfTensor[tensor] = shardName;
  }
  if (result.shards.empty()) throw Error(fmt::format("{}: weight_map is empty", file));
  return result;
}

void reportProgress(const ProgressFn& progress, int64_t done, int64_t total) {
  if (progress && !progress(done, total)) throw Cancelled();
}

}  // namespace

struct WeightStore::OwnedBuffer {
  TensorView view;
  void* mapping = nullptr;
  size_t length = 0;
  ~OwnedBuffer() {
    if (mapping) munmap(mapping, length);
  }
};

WeightStore::WeightStore() = default;
WeightStore::~WeightStore() = default;

std::unique_ptr<WeightStore> WeightStore::openDirectory(const fs::path& dir, const ProgressFn& progress) {
  const std::string dirName = dir.string();
  std::error_code ec;
  if (!fs::exists(dir, ec)) throw Error(fmt::format("{}: model folder not found", dirName));
  if (!fs::is_directory(dir, ec)) throw Error(fmt::format("{}: not a folder", dirName));

  auto store = std::make_unique<WeightStore>();
  store->sourceName_ = dirName;

  std::vector<std::string> shardNames;
  std::optional<ShardIndex> index;
  const fs::path indexPath = dir / kIndexFileName;
  if (fs::exists(indexPath, ec)) {
    index = readShardIndex(indexPath);
    shardNames = index->shards;
    for (const auto& shard : shardNames) {
      if (!fs::is_regular_file(dir / shard, ec)) {
        auto firstTensor = std::find_if(index->shardOfTensor.begin(), index->shardOfTensor.end(),
                                        [&](const auto& kv) { return kv.second == shard; });
        throw Error(fmt::format("{}: shard '{}' (holding tensor '{}', among others) not found in {}",
                                indexPath.string(), shard, firstTensor->first, dirName));
      }
    }
  } else {
    std::vector<std::string> pickles;
    for (const auto& name : regularFileNames(dir)) {
      if (hasSuffix(name, ".safetensors")) shardNames.push_back(name);
      else if (isPickleWeightFile(name)) pickles.push_back(name);
    }
    // As transformers does, model.safetensors alone is the model when present; other .safetensors
    // files beside it (e.g. reference outputs) are not weights.
    if (std::find(shardNames.begin(), shardNames.end(), kSingleFileName) != shardNames.end())
      shardNames = {kSingleFileName};
    if (shardNames.empty() && !pickles.empty())
      throw Error(fmt::format(
          "{}: only PyTorch pickle weights ({}); GLM Chat reads .safetensors — convert them, e.g. with "
          "transformers: AutoModel.from_pretrained(dir, trust_remote_code=True)"
          ".save_pretrained(out_dir, safe_serialization=True)",
          dirName, fmt::join(pickles, ", ")));
    if (shardNames.empty())
      throw Error(fmt::format("{}: no weights found (expected *.safetensors files or {})", dirName,
                              kIndexFileName));
  }

  int64_t totalBytes = 0;
  for (const auto& shard : shardNames) totalBytes += int64_t(fs::file_size(dir / shard, ec));
  int64_t doneBytes = 0;
  reportProgress(progress, 0, totalBytes);

  std::map<std::string, std::string, std::less<>> fileOfTensor;
  for (const auto& shard : shardNames) {
    auto file = SafetensorsFile::open(dir / shard);
    for (const auto& t : file->tensors()) {
      auto [it, inserted] = fileOfTensor.emplace(t.name, shard);
      if (!inserted)
        throw Error(fmt::format("{}: tensor '{}' is in both {} and {}", dirName, t.name, it->second, shard));
      store->addView(t);
    }
    doneBytes += int64_t(file->fileSize());
    store->files_.push_back(std::move(file));
    reportProgress(progress, doneBytes, totalBytes);
  }

  if (index) {
    for (const auto& [tensor, shard] : index->shardOfTensor) {
      auto it = fileOfTensor.find(tensor);
      if (it == fileOfTensor.end())
        throw Error(fmt::format("{}: tensor '{}' is listed in shard '{}' but that file does not contain it",
                                indexPath.string(), tensor, shard));
      if (it->second != shard)
        throw Error(fmt::format("{}: tensor '{}' is listed in shard '{}' but found in '{}'",
                                indexPath.string(), tensor, shard, it->second));
    }
  }
  return store;
}

void WeightStore::addView(const TensorView& view) {
  // The views live inside SafetensorsFile / OwnedBuffer objects whose addresses never change.
  if (!byName_.emplace(view.name, &view).second)
    throw Error(fmt::format("{}: tensor '{}' added twice", sourceName_, view.name));
}

const TensorView* WeightStore::find(std::string_view name) const {
  auto it = byName_.find(name);
  return it == byName_.end() ? nullptr : it->second;
}

const TensorView& WeightStore::require(std::string_view name) const {
  if (const TensorView* t = find(name)) return *t;
  throw Error(fmt::format("{}: tensor '{}' not found", sourceName_, name));
}

std::vector<std::string> WeightStore::names() const {
  std::vector<std::string> result;
  result.reserve(byName_.size());
  for (const auto& [name, view] : byName_) result.push_back(name);
  return result;
}

size_t WeightStore::totalBytes() const {
  size_t sum = 0;
  for (const auto& [name, view] : byName_) sum += view->bytes;
  return sum;
}

const TensorView& WeightStore::addOwned(std::string name, DType dtype, std::vector<int64_t> shape) {
  if (find(name)) throw Error(fmt::format("{}: tensor '{}' added twice", sourceName_, name));
  auto buffer = std::make_unique<OwnedBuffer>();
  buffer->view.name = std::move(name);
  buffer->view.dtype = dtype;
  buffer->view.shape = std::move(shape);
  buffer->view.file = std::string(kOwnedTensorFile);
  uint64_t bytes = dtypeSize(dtype);
  for (int64_t d : buffer->view.shape) {
    if (d < 0 || __builtin_mul_overflow(bytes, uint64_t(d), &bytes))
      throw Error(fmt::format("{}: tensor '{}': invalid shape {}", sourceName_, buffer->view.name,
                              shapeToString(buffer->view.shape)));
  }
  buffer->view.bytes = size_t(bytes);
  if (bytes > 0) {
    // Anonymous mappings are zero pages until written: no second pass over memory the filler
    // overwrites anyway, and no commit for pages never touched.
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
      throw Error(fmt::format("{}: tensor '{}': cannot allocate {} bytes: {}", sourceName_,
                              buffer->view.name, bytes, std::strerror(errno)));
    buffer->mapping = p;
    buffer->length = bytes;
    buffer->view.data = static_cast<const std::byte*>(p);
  }
  const TensorView& view = buffer->view;
  owned_.push_back(std::move(buffer));
  addView(view);
  return view;
}

std::byte* WeightStore::mutableData(std::string_view name) {
  const TensorView* t = find(name);
  if (!t || t->file != kOwnedTensorFile) return nullptr;
  // Owned buffers are mapped PROT_WRITE, so writing through this pointer is well defined.
  return const_cast<std::byte*>(t->data);
}

}  // namespace glm
