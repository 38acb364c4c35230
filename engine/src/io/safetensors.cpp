#include "io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include <fmt/format.h>

#include "glmengine/error.h"

namespace glm {

namespace {

// The reference implementation refuses headers above 100 MB; a real header is a few hundred KB
// (glm-4-9b: ~40 KB per shard), so anything larger is a corrupt length field.
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

struct DTypeSpelling {
  std::string_view name;
  DType dtype;
};
constexpr DTypeSpelling kDTypes[] = {
    {"F32", DType::F32},   {"F16", DType::F16},         {"BF16", DType::BF16},
    {"I32", DType::I32},   {"I64", DType::I64},         {"I8", DType::I8},
    {"U8", DType::U8},     {"F64", DType::F64},         {"F8_E4M3", DType::F8_E4M3},
    {"F8_E5M2", DType::F8_E5M2}, {"BOOL", DType::BOOL}, {"I16", DType::I16},
    {"U16", DType::U16},   {"U32", DType::U32},         {"U64", DType::U64},
};

uint64_t readLittleEndian64(const std::byte* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | uint64_t(p[i]);
  return v;
}

// numel * elementSize, or an error when it does not fit in 64 bits.
uint64_t checkedByteCount(const std::vector<int64_t>& shape, size_t elementSize,
                          const std::string& context) {
  uint64_t n = elementSize;
  for (int64_t d : shape) {
    if (__builtin_mul_overflow(n, uint64_t(d), &n))
      throw Error(fmt::format("{}: shape {} is too large", context, shapeToString(shape)));
  }
  return n;
}

int64_t readNonNegativeInteger(const nlohmann::json& v, const std::string& context,
                               std::string_view what) {
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    if (u > uint64_t(INT64_MAX))
      throw Error(fmt::format("{}: {} value {} is out of range", context, what, u));
    return int64_t(u);
  }
  if (v.is_number_integer()) {
    throw Error(fmt::format("{}: {} must be non-negative, found {}", context, what, v.get<int64_t>()));
  }
  throw Error(fmt::format("{}: {} must be an integer, found {}", context, what, v.dump()));
}

std::string errnoText() { return std::strerror(errno); }

}  // namespace

int64_t TensorView::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string shapeToString(const std::vector<int64_t>& shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

DType parseDTypeName(std::string_view name, const std::string& context) {
  for (const auto& s : kDTypes)
    if (s.name == name) return s.dtype;
  std::vector<std::string_view> known;
  for (const auto& s : kDTypes) known.push_back(s.name);
  throw Error(fmt::format("{}: unknown dtype '{}' (known: {})", context, name, fmt::join(known, ", ")));
}

std::unique_ptr<SafetensorsFile> SafetensorsFile::open(const std::filesystem::path& path) {
  const std::string file = path.string();
  std::unique_ptr<SafetensorsFile> st(new SafetensorsFile());
  st->path_ = path;

  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(fmt::format("{}: cannot open: {}", file, errnoText()));
  struct stat info {};
  if (fstat(fd, &info) != 0) {
    std::string why = errnoText();
    ::close(fd);
    throw Error(fmt::format("{}: cannot stat: {}", file, why));
  }
  if (!S_ISREG(info.st_mode)) {
    ::close(fd);
    throw Error(fmt::format("{}: not a regular file", file));
  }
  st->fileSize_ = size_t(info.st_size);
  if (st->fileSize_ < 8) {
    ::close(fd);
    throw Error(fmt::format("{}: file is {} bytes, too short for the 8-byte header length",
                            file, st->fileSize_));
  }
  void* mapping = mmap(nullptr, st->fileSize_, PROT_READ, MAP_PRIVATE, fd, 0);
  std::string mmapError = mapping == MAP_FAILED ? errnoText() : std::string();
  ::close(fd);  // the mapping keeps the file alive
  if (mapping == MAP_FAILED) throw Error(fmt::format("{}: mmap failed: {}", file, mmapError));
  st->mapping_ = mapping;  // from here on the destructor unmaps, also when validation throws

  const auto* base = static_cast<const std::byte*>(mapping);
  const uint64_t headerBytes = readLittleEndian64(base);
  if (headerBytes > st->fileSize_ - 8)
    throw Error(fmt::format("{}: header length {} is larger than the file allows ({} bytes after the "
                            "8-byte length field; truncated or not a safetensors file)",
                            file, headerBytes, st->fileSize_ - 8));
  if (headerBytes > kMaxHeaderBytes)
    throw Error(fmt::format("{}: header length {} exceeds the {} byte limit", file, headerBytes,
                            kMaxHeaderBytes));

  const char* headerBegin = reinterpret_cast<const char*>(base + 8);
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(headerBegin, headerBegin + headerBytes);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(fmt::format("{}: header is not valid JSON: {}", file, e.what()));
  }
  if (!header.is_object())
    throw Error(fmt::format("{}: header must be a JSON object, found {}", file, header.type_name()));

  const std::byte* dataSection = base + 8 + headerBytes;
  const uint64_t dataBytes = st->fileSize_ - 8 - headerBytes;

  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object())
        throw Error(fmt::format("{}: __metadata__ must be an object, found {}", file, entry.type_name()));
      for (const auto& [key, value] : entry.items()) {
        if (!value.is_string())
          throw Error(fmt::format("{}: __metadata__ '{}' must be a string, found {}", file, key,
                                  value.dump()));
        st->metadata_[key] = value.get<std::string>();
      }
      continue;
    }
    const std::string context = fmt::format("{}: tensor '{}'", file, name);
    if (!entry.is_object())
      throw Error(fmt::format("{}: entry must be an object, found {}", context, entry.type_name()));
    for (const char* field : {"dtype", "shape", "data_offsets"})
      if (!entry.contains(field)) throw Error(fmt::format("{}: missing field '{}'", context, field));

    TensorView view;
    view.name = name;
    view.file = file;
    const auto& dtype = entry["dtype"];
    if (!dtype.is_string())
      throw Error(fmt::format("{}: dtype must be a string, found {}", context, dtype.dump()));
    view.dtype = parseDTypeName(dtype.get<std::string>(), context);

    const auto& shape = entry["shape"];
    if (!shape.is_array())
      throw Error(fmt::format("{}: shape must be an array, found {}", context, shape.dump()));
    for (const auto& d : shape) view.shape.push_back(readNonNegativeInteger(d, context, "shape entry"));

    const auto& offsets = entry["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2)
      throw Error(fmt::format("{}: data_offsets must be [begin, end], found {}", context, offsets.dump()));
    const uint64_t begin = uint64_t(readNonNegativeInteger(offsets[0], context, "data_offsets begin"));
    const uint64_t end = uint64_t(readNonNegativeInteger(offsets[1], context, "data_offsets end"));
    if (begin > end)
      throw Error(fmt::format("{}: data_offsets [{}, {}] end before they begin", context, begin, end));
    if (end > dataBytes)
      throw Error(fmt::format("{}: data_offsets [{}, {}] extend past the data section ({} bytes; "
                              "file truncated?)",
                              context, begin, end, dataBytes));
    const uint64_t expected = checkedByteCount(view.shape, dtypeSize(view.dtype), context);
    if (end - begin != expected)
      throw Error(fmt::format("{}: data_offsets [{}, {}] hold {} bytes, but {} {} needs {}", context,
                              begin, end, end - begin, dtypeName(view.dtype),
                              shapeToString(view.shape), expected));
    view.data = dataSection + begin;
    view.bytes = size_t(expected);
    st->tensors_.push_back(std::move(view));
  }

  // nlohmann orders object keys by name; file order (by offset) is more useful to callers.
  std::stable_sort(st->tensors_.begin(), st->tensors_.end(),
                   [](const TensorView& a, const TensorView& b) { return a.data < b.data; });
  for (size_t i = 0; i < st->tensors_.size(); ++i) st->index_.emplace(st->tensors_[i].name, i);
  return st;
}

SafetensorsFile::~SafetensorsFile() {
  if (mapping_) munmap(mapping_, fileSize_);
}

const TensorView* SafetensorsFile::find(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

void writeSafetensors(const std::filesystem::path& path, const std::vector<TensorView>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  const std::string file = path.string();
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::set<std::string_view> seen;
  uint64_t offset = 0;
  for (const auto& t : tensors) {
    const std::string context = fmt::format("{}: tensor '{}'", file, t.name);
    if (t.name == "__metadata__" || !seen.insert(t.name).second)
      throw Error(fmt::format("{}: duplicate or reserved name", context));
    const uint64_t expected = checkedByteCount(t.shape, dtypeSize(t.dtype), context);
    if (t.bytes != expected)
      throw Error(fmt::format("{}: view has {} bytes, but {} {} needs {}", context, t.bytes,
                              dtypeName(t.dtype), shapeToString(t.shape), expected));
    if (t.bytes > 0 && !t.data) throw Error(fmt::format("{}: view has no data", context));
    header[t.name] = {{"dtype", dtypeName(t.dtype)},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + t.bytes}}};
    offset += t.bytes;
  }
  std::string headerText = header.dump();
  headerText.append((8 - headerText.size() % 8) % 8, ' ');  // keeps the data section 8-byte aligned

  std::filesystem::path tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(fmt::format("{}: cannot create: {}", tmp.string(), errnoText()));
    char lengthField[8];
    for (int i = 0; i < 8; ++i) lengthField[i] = char((uint64_t(headerText.size()) >> (8 * i)) & 0xff);
    out.write(lengthField, 8);
    out.write(headerText.data(), std::streamsize(headerText.size()));
    for (const auto& t : tensors)
      if (t.bytes > 0) out.write(reinterpret_cast<const char*>(t.data), std::streamsize(t.bytes));
    out.flush();
    if (!out) {
      std::string why = errnoText();
      out.close();
      std::error_code ignored;
      std::filesystem::remove(tmp, ignored);
      throw Error(fmt::format("{}: write failed: {}", tmp.string(), why));
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw Error(fmt::format("{}: cannot rename {} into place: {}", file, tmp.string(), ec.message()));
}

}  // namespace glm
