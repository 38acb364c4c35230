#include "quant/quant_store.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "glmengine/error.h"

namespace glm {
namespace fs = std::filesystem;

namespace {

constexpr char kMagic[8] = {'G', 'L', 'M', 'Q', 'U', 'A', 'N', 'T'};
constexpr uint32_t kVersion = 2;  // 2: the embedding table int8 as well
constexpr int64_t kAlign = 64;

int64_t alignUp(int64_t v) { return (v + kAlign - 1) / kAlign * kAlign; }

// A 64-bit hash of a byte range (8 bytes at a time, multiply-xorshift; not cryptographic: it finds
// truncation and corruption, not tampering).
uint64_t hashBytes(const uint8_t* p, int64_t n) {
  uint64_t h = 0x9e3779b97f4a7c15ull ^ uint64_t(n);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = (h ^ (w * 0xff51afd7ed558ccdull)) * 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 29;
  }
  for (; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h ^ (h >> 32);
}

uint64_t hashView(const QuantizedView& v) {
  return hashBytes(v.data, v.dataBytes) * 31 + hashBytes(static_cast<const uint8_t*>(v.scales), v.scaleBytes);
}

}  // namespace

fs::path quantCacheDir() {
  if (const char* d = std::getenv("GLMCHAT_CACHE_DIR"); d && *d) return fs::path(d) / "quantized";
  if (const char* d = std::getenv("XDG_CACHE_HOME"); d && *d) return fs::path(d) / "glmchat" / "quantized";
  if (const char* h = std::getenv("HOME"); h && *h) return fs::path(h) / ".cache" / "glmchat" / "quantized";
  return fs::temp_directory_path() / "glmchat-quantized";
}

std::unique_ptr<QuantizedStore> quantizeModel(const ModelWeights& w, WeightFormat format, const ProgressFn& progress) {
  std::vector<std::pair<const LinearView*, WeightFormat>> todo;
  for (const LayerWeights& l : w.layers)
    for (const LinearView* v : {&l.qkv, &l.attnOut, &l.gateUp, &l.down}) todo.push_back({v, format});
  todo.push_back({&w.output, WeightFormat::Int8});
  const LinearView embedding = embeddingAsLinear(w);
  todo.push_back({&embedding, WeightFormat::Int8});
  int64_t total = 0, done = 0;
  for (const auto& [v, f] : todo) total += v->outFeatures;
  auto store = std::make_unique<QuantizedStore>(format);
  for (const auto& [v, f] : todo) {
    store->add(quantKey(*v, f), quantizeLinear(*v, f));
    done += v->outFeatures;
    if (progress && !progress(done, total)) throw Cancelled();
  }
  return store;
}

LinearView embeddingAsLinear(const ModelWeights& w) {
  LinearView v;
  v.parts = {w.embedding};
  v.outFeatures = w.embedding->shape[0];
  v.inFeatures = w.embedding->shape[1];
  return v;
}

std::string quantKey(const LinearView& view, WeightFormat format) {
  return fmt::format("{}@{}", view.parts.empty() ? std::string("?") : view.parts[0]->name, weightFormatName(format));
}

std::string sourceIdentity(const fs::path& modelDir) {
  std::vector<std::string> parts;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(modelDir, ec)) {
    if (e.path().extension() != ".safetensors") continue;
    struct stat st {};
    if (::stat(e.path().c_str(), &st) != 0) continue;
    parts.push_back(fmt::format("{}:{}:{}.{:09}", fs::absolute(e.path()).lexically_normal().string(), st.st_size,
                                st.st_mtim.tv_sec, st.st_mtim.tv_nsec));
  }
  std::sort(parts.begin(), parts.end());
  std::string id;
  for (const auto& p : parts) id += p + "\n";
  return id;
}

QuantizedStore::~QuantizedStore() {
  if (map_) ::munmap(map_, mapBytes_);
}

const QuantizedView* QuantizedStore::find(const std::string& key) const {
  const auto it = views_.find(key);
  return it == views_.end() ? nullptr : &it->second;
}

const QuantizedView& QuantizedStore::add(const std::string& key, QuantizedMatrix m) {
  auto& slot = owned_[key];
  slot = std::move(m);
  slot.view.data = slot.data.data();  // the vectors moved: point the view at their buffers again
  slot.view.scales = slot.scales.data();
  return views_[key] = slot.view;
}

int64_t QuantizedStore::bytes() const {
  int64_t b = 0;
  for (const auto& [k, v] : views_) b += v.bytes();
  return b;
}

void QuantizedStore::write(const fs::path& file, const std::string& identity) const {
  nlohmann::json tensors = nlohmann::json::array();
  int64_t offset = 0;
  for (const auto& [key, v] : views_) {
    const int64_t dataOff = offset, scaleOff = alignUp(dataOff + v.dataBytes);
    offset = alignUp(scaleOff + v.scaleBytes);
    tensors.push_back({{"key", key}, {"name", v.name}, {"format", std::string(weightFormatName(v.format))}, {"rows", v.rows}, {"cols", v.cols}, {"group", v.group},
                       {"data_offset", dataOff}, {"data_bytes", v.dataBytes}, {"scale_offset", scaleOff},
                       {"scale_bytes", v.scaleBytes}, {"hash", hashView(v)}});
  }
  const nlohmann::json header = {{"identity", identity}, {"format", std::string(weightFormatName(format_))},
                                 {"payload_bytes", offset}, {"tensors", tensors}};
  const std::string text = header.dump();
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  const fs::path tmp = file.string() + fmt::format(".tmp{}", ::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(fmt::format("{}: cannot write the quantized-weights cache", tmp.string()));
    const uint32_t version = kVersion, hbytes = uint32_t(text.size());
    out.write(kMagic, 8);
    out.write(reinterpret_cast<const char*>(&version), 4);
    out.write(reinterpret_cast<const char*>(&hbytes), 4);
    out.write(text.data(), std::streamsize(text.size()));
    const int64_t headerEnd = 16 + int64_t(text.size());
    std::vector<char> zeros(kAlign, 0);
    out.write(zeros.data(), alignUp(headerEnd) - headerEnd);
    int64_t at = 0;
    auto put = [&](const void* p, int64_t n, int64_t off) {
      out.write(zeros.data(), off - at);
      out.write(static_cast<const char*>(p), n);
      at = off + n;
    };
    size_t i = 0;
    for (const auto& [key, v] : views_) {  // the same order as `tensors`
      const auto& t = tensors[i++];
      put(v.data, v.dataBytes, t["data_offset"].get<int64_t>());
      put(v.scales, v.scaleBytes, t["scale_offset"].get<int64_t>());
    }
    out.write(zeros.data(), offset - at);
    out.flush();
    if (!out) {
      out.close();
      fs::remove(tmp, ec);
      throw Error(fmt::format("{}: writing the quantized-weights cache failed (disk full?)", tmp.string()));
    }
  }
  fs::rename(tmp, file, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw Error(fmt::format("{}: cannot move the quantized-weights cache into place: {}", file.string(), ec.message()));
  }
}

std::unique_ptr<QuantizedStore> QuantizedStore::open(const fs::path& file, const std::string& identity,
                                                     WeightFormat format, std::string& why) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    why = "no cache yet";
    return nullptr;
  }
  struct stat st {};
  ::fstat(fd, &st);
  const int64_t size = st.st_size;
  if (size < 16) {
    ::close(fd);
    why = "the cache file is truncated";
    return nullptr;
  }
  void* map = ::mmap(nullptr, size_t(size), PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) {
    why = "the cache file cannot be mapped";
    return nullptr;
  }
  auto store = std::make_unique<QuantizedStore>(format);
  store->map_ = map;
  store->mapBytes_ = size_t(size);
  const auto* base = static_cast<const uint8_t*>(map);
  uint32_t version = 0, hbytes = 0;
  std::memcpy(&version, base + 8, 4);
  std::memcpy(&hbytes, base + 12, 4);
  if (std::memcmp(base, kMagic, 8) != 0) {
    why = "not a quantized-weights cache file";
    return nullptr;
  }
  if (version != kVersion) {
    why = fmt::format("cache version {} (this build writes {})", version, kVersion);
    return nullptr;
  }
  if (16 + int64_t(hbytes) > size) {
    why = "the cache file is truncated";
    return nullptr;
  }
  nlohmann::json h;
  try {
    h = nlohmann::json::parse(std::string(reinterpret_cast<const char*>(base + 16), hbytes));
    if (h.at("format").get<std::string>() != weightFormatName(format)) {
      why = fmt::format("the cache holds {} weights, not {}", h.at("format").get<std::string>(), weightFormatName(format));
      return nullptr;
    }
    if (h.at("identity").get<std::string>() != identity) {
      why = "the model files changed since the cache was made (stale)";
      return nullptr;
    }
    const int64_t payload = alignUp(16 + int64_t(hbytes));
    if (payload + h.at("payload_bytes").get<int64_t>() != size) {
      why = fmt::format("the cache file has {} bytes, its header says {} (truncated?)", size,
                        payload + h.at("payload_bytes").get<int64_t>());
      return nullptr;
    }
    const int64_t payloadBytes = h.at("payload_bytes").get<int64_t>();
    std::vector<std::pair<std::string, QuantizedView>> views;
    for (const auto& t : h.at("tensors")) {
      QuantizedView v;
      v.format = parseWeightFormat(t.at("format").get<std::string>());
      v.name = t.at("name").get<std::string>();
      v.rows = t.at("rows").get<int64_t>();
      v.cols = t.at("cols").get<int64_t>();
      v.group = t.at("group").get<int>();
      const int64_t dOff = t.at("data_offset").get<int64_t>(), sOff = t.at("scale_offset").get<int64_t>();
      v.dataBytes = t.at("data_bytes").get<int64_t>();
      v.scaleBytes = t.at("scale_bytes").get<int64_t>();
      const bool shapeOk = v.format != WeightFormat::Native && v.group == int4Group(v.format) && v.rows > 0 && v.cols > 0 &&
                           v.dataBytes == quantizedDataBytes(v.format, v.rows, v.cols) &&
                           v.scaleBytes == quantizedScaleBytes(v.format, v.rows, v.cols);
      if (!shapeOk || dOff < 0 || sOff < 0 || dOff + v.dataBytes > payloadBytes || sOff + v.scaleBytes > payloadBytes) {
        why = fmt::format("tensor {} in the cache has inconsistent sizes", v.name);
        return nullptr;
      }
      v.data = base + payload + dOff;
      v.scales = base + payload + sOff;
      views.emplace_back(t.at("key").get<std::string>(), v);
    }
    // Every tensor's bytes against its hash (in parallel: this reads the whole file once).
    std::vector<uint64_t> want(views.size()), got(views.size());
    for (size_t i = 0; i < views.size(); ++i) want[i] = h.at("tensors")[i].at("hash").get<uint64_t>();
#pragma omp parallel for schedule(dynamic, 1)
    for (size_t i = 0; i < views.size(); ++i) got[i] = hashView(views[i].second);
    for (size_t i = 0; i < views.size(); ++i)
      if (got[i] != want[i]) {
        why = fmt::format("tensor {} in the cache is corrupt (hash mismatch)", views[i].second.name);
        return nullptr;
      }
    for (auto& [k, v] : views) store->views_[k] = v;
  } catch (const std::exception& e) {  // JSON errors, an unknown format name
    why = fmt::format("the cache header is unreadable ({})", e.what());
    return nullptr;
  }
  return store;
}

}  // namespace glm
