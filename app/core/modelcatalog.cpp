#include "modelcatalog.h"

#include <QDir>
#include <QDirIterator>
#include <QFileInfo>
#include <QLocale>
#include <QtConcurrent/QtConcurrentRun>

#include "glmengine/config.h"
#include "glmengine/model.h"

FoundModel inspectModelFolder(const QString& path) {
  FoundModel m;
  m.path = QDir(path).absolutePath();
  m.name = QDir(path).dirName();
  // Hugging Face cache: .../models--THUDM--glm-4-9b-chat/snapshots/<hash> -> THUDM/glm-4-9b-chat
  if (m.path.contains(QStringLiteral("/snapshots/"))) {
    const QString repo = m.path.section(QStringLiteral("/snapshots/"), 0, 0).section(QLatin1Char('/'), -1);
    if (repo.startsWith(QStringLiteral("models--"))) m.name = repo.mid(8).replace(QStringLiteral("--"), QStringLiteral("/"));
  }
  try {
    const glm::ModelConfig config = glm::parseConfigFile((m.path + QStringLiteral("/config.json")).toStdString());
    m.family = QString::fromStdString(std::string(glm::familyName(config.family)));
    m.parameterCount = glm::parameterCount(config);
    m.contextLength = config.maxPositions;
    const glm::MemoryPlan onePlan = glm::planMemory(config, 1, glm::DType::F32, 256);
    const glm::MemoryPlan twoPlan = glm::planMemory(config, 2, glm::DType::F32, 256);
    m.kvBytesPerToken = twoPlan.kvCacheBytes - onePlan.kvCacheBytes;
    // Per token of context, as planMemory counts it: the cache, and what grows with it (the 8-bit cache's
    // prefill scratch).
    for (glm::DType t : {glm::DType::F32, glm::DType::BF16, glm::DType::I8}) {
      const QString name = QString::fromStdString(std::string(glm::kvCacheName(t)));
      const glm::MemoryPlan one = glm::planMemory(config, 1, t, 256), two = glm::planMemory(config, 2, t, 256);
      m.kvBytesPerTokenByType[name] = two.kvCacheBytes - one.kvCacheBytes;
      m.bytesPerTokenByType[name] = two.total() - one.total();
    }
    m.weightBytes = onePlan.weightBytes + onePlan.scratchBytes;
    for (glm::WeightFormat f : {glm::WeightFormat::Native, glm::WeightFormat::Int8, glm::WeightFormat::Int4G32,
                                glm::WeightFormat::Int4G128}) {
      const glm::MemoryPlan p = glm::planMemory(config, 1, glm::DType::F32, 256, f);
      m.weightBytesByFormat[QString::fromStdString(std::string(glm::weightFormatName(f)))] = p.weightBytes + p.scratchBytes;
    }
  } catch (const std::exception& e) {
    m.error = QString::fromUtf8(e.what());
  }
  return m;
}

QStringList defaultModelSearchRoots() {
  QStringList roots;
  for (const QString& d : qEnvironmentVariable("GLMCHAT_MODEL_DIRS").split(QLatin1Char(':'), Qt::SkipEmptyParts)) roots << d;
  const QString home = QDir::homePath();
  if (qEnvironmentVariableIsSet("HF_HUB_CACHE")) roots << qEnvironmentVariable("HF_HUB_CACHE");
  if (qEnvironmentVariableIsSet("HF_HOME")) roots << qEnvironmentVariable("HF_HOME") + QStringLiteral("/hub");
  roots << home + QStringLiteral("/.cache/huggingface/hub") << home + QStringLiteral("/models");
  return roots;
}

QList<FoundModel> discoverModels(const QStringList& roots, const QStringList& recent) {
  QList<FoundModel> found;
  QStringList seen;
  auto add = [&](const QString& dir, bool isRecent) {
    const QString canonical = QFileInfo(dir).canonicalFilePath();
    if (canonical.isEmpty() || seen.contains(canonical)) return;
    if (!QFileInfo::exists(dir + QStringLiteral("/config.json"))) return;
    seen << canonical;
    FoundModel m = inspectModelFolder(dir);
    m.recent = isRecent;
    if (isRecent || m.error.isEmpty()) found << m;  // unknown architectures found by scanning are skipped
  };
  for (const QString& r : recent) add(r, true);
  for (const QString& root : roots) {
    // A model folder is at most three levels down (hub: models--x--y/snapshots/<hash>).
    QDirIterator it(root, {QStringLiteral("config.json")}, QDir::Files, QDirIterator::Subdirectories);
    while (it.hasNext()) {
      const QString file = it.next();
      const QString rel = QDir(root).relativeFilePath(file);
      if (rel.count(QLatin1Char('/')) > 3) continue;
      add(QFileInfo(file).absolutePath(), false);
    }
  }
  return found;
}

ModelCatalog::ModelCatalog(QObject* parent) : QAbstractListModel(parent) {
  connect(&watcher_, &QFutureWatcher<QList<FoundModel>>::finished, this, [this] {
    const int before = rows_.size();
    beginResetModel();
    rows_ = watcher_.result();
    endResetModel();
    if (before != rows_.size()) emit countChanged();
    emit scanningChanged();
  });
}

int ModelCatalog::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : rows_.size(); }

qint64 ModelCatalog::memoryBytes(const FoundModel& m, const QString& format, const QString& kvCache) const {
  const qint64 ctx = m.contextLength > 0 ? std::min<qint64>(contextLength_, m.contextLength) : contextLength_;
  return m.weightBytesByFormat.value(format, m.weightBytes) + m.bytesPerTokenByType.value(kvCache, m.kvBytesPerToken) * ctx;
}

QString ModelCatalog::memoryByWeightsText(const FoundModel& m) const {
  if (!m.error.isEmpty()) return {};
  QStringList parts;
  for (const char* f : {"bf16", "int8", "int4", "int4-g128"})
    parts << QStringLiteral("%1 %2").arg(QLatin1String(f), formatBytes(memoryBytes(m, QLatin1String(f), kvCache_)));
  return parts.join(QStringLiteral(" · "));
}

QString ModelCatalog::memoryByKvCacheText(const FoundModel& m) const {
  if (!m.error.isEmpty()) return {};
  QStringList parts;
  for (const char* t : {"f32", "bf16", "int8"})
    parts << QStringLiteral("%1 %2").arg(QLatin1String(t), formatBytes(memoryBytes(m, weights_, QLatin1String(t))));
  return parts.join(QStringLiteral(" · "));
}

void ModelCatalog::setKvCache(const QString& type) {
  if (type == kvCache_) return;
  kvCache_ = type;
  emit kvCacheChanged();
  if (!rows_.isEmpty()) emit dataChanged(index(0), index(rows_.size() - 1), {MemoryRole, MemoryByWeightsRole});
}

void ModelCatalog::setWeights(const QString& format) {
  if (format == weights_) return;
  weights_ = format;
  emit weightsChanged();
  if (!rows_.isEmpty()) emit dataChanged(index(0), index(rows_.size() - 1), {MemoryRole, MemoryByKvCacheRole});
}

QString ModelCatalog::formatBytes(qint64 bytes) { return QLocale().formattedDataSize(bytes, 1, QLocale::DataSizeSIFormat); }

QVariant ModelCatalog::data(const QModelIndex& index, int role) const {
  if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) return {};
  const FoundModel& m = rows_.at(index.row());
  switch (role) {
    case Qt::DisplayRole:
    case NameRole: return m.name;
    case PathRole: return m.path;
    case FamilyRole: return m.family;
    case ParametersRole:
      return m.parameterCount >= 1'000'000'000 ? QStringLiteral("%1B").arg(m.parameterCount / 1e9, 0, 'f', 1)
                                               : QStringLiteral("%1M").arg(m.parameterCount / 1e6, 0, 'f', 1);
    case MemoryRole: return m.error.isEmpty() ? formatBytes(memoryBytes(m, weights_, kvCache_)) : QString();
    case MemoryByWeightsRole: return memoryByWeightsText(m);
    case MemoryByKvCacheRole: return memoryByKvCacheText(m);
    case RecentRole: return m.recent;
    case ErrorRole: return m.error;
  }
  return {};
}

QHash<int, QByteArray> ModelCatalog::roleNames() const {
  return {{NameRole, "name"},     {PathRole, "path"},     {FamilyRole, "family"}, {ParametersRole, "parameters"},
          {MemoryRole, "memory"}, {RecentRole, "recent"}, {ErrorRole, "error"},
          {MemoryByWeightsRole, "memoryByWeights"}, {MemoryByKvCacheRole, "memoryByKvCache"}};
}

void ModelCatalog::setContextLength(int tokens) {
  if (tokens == contextLength_) return;
  contextLength_ = tokens;
  emit contextLengthChanged();
  if (!rows_.isEmpty())
    emit dataChanged(index(0), index(rows_.size() - 1), {MemoryRole, MemoryByWeightsRole, MemoryByKvCacheRole});
}

void ModelCatalog::refresh(const QStringList& recent) {
  if (watcher_.isRunning()) return;
  const QStringList roots = defaultModelSearchRoots();
  watcher_.setFuture(QtConcurrent::run([roots, recent] { return discoverModels(roots, recent); }));
  emit scanningChanged();
}

QString ModelCatalog::memoryText(const QString& path) const {
  for (const FoundModel& m : rows_)
    if (m.path == path && m.error.isEmpty()) return formatBytes(memoryBytes(m, weights_, kvCache_));
  const FoundModel m = inspectModelFolder(path);
  return m.error.isEmpty() ? formatBytes(memoryBytes(m, weights_, kvCache_)) : QString();
}
