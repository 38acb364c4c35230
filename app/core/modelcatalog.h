// ModelCatalog: GLM model folders found on disk (the Hugging Face cache, ~/models, folders the user
// opened before), each with what it needs in memory at the chosen context length, before loading.
// The scan runs off the GUI thread.
#pragma once
#include <QAbstractListModel>
#include <QFutureWatcher>
#include <QtQml/qqmlregistration.h>

struct FoundModel {
  QString name;
  QString path;
  QString family;          // "glm-4", "chatglm3", ...
  qint64 parameterCount = 0;
  qint64 contextLength = 0;  // the model's maximum
  qint64 weightBytes = 0;  // bf16 (+ scratch); by format: weightBytesByFormat
  QHash<QString, qint64> weightBytesByFormat;  // "bf16", "int8", "int4", "int4-g128" -> weights + scratch
  qint64 kvBytesPerToken = 0;                  // f32; by type: kvBytesPerTokenByType
  QHash<QString, qint64> kvBytesPerTokenByType;  // "f32", "bf16", "int8" -> KV cache bytes per token
  QHash<QString, qint64> bytesPerTokenByType;    // ... and everything per token (int8: + the prefill widening)
  bool recent = false;
  QString error;           // why it cannot be used ("" when fine)
};

// Reads one folder's config.json; error is set when it is not a model the engine can run.
FoundModel inspectModelFolder(const QString& path);
// The folders searched: $GLMCHAT_MODEL_DIRS (':'-separated), the Hugging Face hub cache
// ($HF_HUB_CACHE, $HF_HOME/hub, ~/.cache/huggingface/hub) and ~/models.
QStringList defaultModelSearchRoots();
QList<FoundModel> discoverModels(const QStringList& roots, const QStringList& recent);

class ModelCatalog : public QAbstractListModel {
  Q_OBJECT
  QML_ELEMENT
  QML_UNCREATABLE("owned by ChatController")
  Q_PROPERTY(int count READ rowCount NOTIFY countChanged)
  Q_PROPERTY(bool scanning READ scanning NOTIFY scanningChanged)
  Q_PROPERTY(int contextLength READ contextLength WRITE setContextLength NOTIFY contextLengthChanged)
  Q_PROPERTY(QString weights READ weights WRITE setWeights NOTIFY weightsChanged)
  Q_PROPERTY(QString kvCache READ kvCache WRITE setKvCache NOTIFY kvCacheChanged)
 public:
  enum Role {
    NameRole = Qt::UserRole + 1, PathRole, FamilyRole, ParametersRole, MemoryRole, RecentRole, ErrorRole,
    MemoryByWeightsRole,  // "bf16 22.6 GB · int8 14.6 GB · ..." at the chosen context and KV cache type
    MemoryByKvCacheRole   // "f32 ... · bf16 ... · int8 ..." at the chosen context and weight format
  };
  explicit ModelCatalog(QObject* parent = nullptr);

  int rowCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role) const override;
  QHash<int, QByteArray> roleNames() const override;

  bool scanning() const { return watcher_.isRunning(); }
  int contextLength() const { return contextLength_; }
  void setContextLength(int tokens);
  QString weights() const { return weights_; }
  void setWeights(const QString& format);
  QString kvCache() const { return kvCache_; }
  void setKvCache(const QString& type);
  // The memory of every weight format (KV cache type) at the chosen context and KV cache type (weight
  // format), as text.
  QString memoryByWeightsText(const FoundModel& m) const;
  QString memoryByKvCacheText(const FoundModel& m) const;
  Q_INVOKABLE void refresh(const QStringList& recent);
  // Bytes a model folder needs at the chosen context (weights + KV cache), as text ("4.2 GB").
  Q_INVOKABLE QString memoryText(const QString& path) const;
  static QString formatBytes(qint64 bytes);

 signals:
  void countChanged();
  void scanningChanged();
  void contextLengthChanged();
  void weightsChanged();
  void kvCacheChanged();

 private:
  qint64 memoryBytes(const FoundModel& m, const QString& format, const QString& kvCache) const;
  QFutureWatcher<QList<FoundModel>> watcher_;
  QList<FoundModel> rows_;
  int contextLength_ = 8192;
  QString weights_ = QStringLiteral("bf16");
  QString kvCache_ = QStringLiteral("bf16");
};
