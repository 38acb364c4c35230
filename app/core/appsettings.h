// AppSettings: the user's choices that are not part of a conversation (theme, language, backend,
// context length, the model and the recent ones), in settings.ini beside the database.
#pragma once
#include <QObject>
#include <QSettings>
#include <QStringList>
#include <QtQml/qqmlregistration.h>
#include <memory>

class AppSettings : public QObject {
  Q_OBJECT
  QML_ELEMENT
  QML_UNCREATABLE("owned by ChatController")
  Q_PROPERTY(QString theme READ theme WRITE setTheme NOTIFY changed)          // system, light, dark
  Q_PROPERTY(QString language READ language WRITE setLanguage NOTIFY changed) // "" (system), en, zh_CN
  Q_PROPERTY(QString backend READ backend WRITE setBackend NOTIFY changed)    // auto, cuda, vulkan, cpu
  Q_PROPERTY(int contextLength READ contextLength WRITE setContextLength NOTIFY changed)
  Q_PROPERTY(QString weights READ weights WRITE setWeights NOTIFY changed)  // bf16, int8, int4, int4-g128
  Q_PROPERTY(QString kvCache READ kvCache WRITE setKvCache NOTIFY changed)  // f32, bf16, int8
  Q_PROPERTY(int gpuDevice READ gpuDevice WRITE setGpuDevice NOTIFY changed)  // Vulkan device; -1 = best GPU
  Q_PROPERTY(QString modelPath READ modelPath WRITE setModelPath NOTIFY changed)
  Q_PROPERTY(QStringList recentModels READ recentModels NOTIFY changed)
 public:
  explicit AppSettings(const QString& file, QObject* parent = nullptr);

  QString theme() const;
  void setTheme(const QString& v);
  QString language() const;
  void setLanguage(const QString& v);
  QString backend() const;
  void setBackend(const QString& v);
  int contextLength() const;
  QString weights() const;
  void setWeights(const QString& v);
  QString kvCache() const;
  void setKvCache(const QString& v);
  void setContextLength(int v);
  int gpuDevice() const;
  void setGpuDevice(int v);
  QString modelPath() const;
  void setModelPath(const QString& v);  // also puts it first in recentModels
  QStringList recentModels() const;

 signals:
  void changed();

 private:
  void set(const QString& key, const QVariant& value);
  std::unique_ptr<QSettings> settings_;
};
