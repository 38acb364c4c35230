#include "appsettings.h"

AppSettings::AppSettings(const QString& file, QObject* parent)
    : QObject(parent), settings_(std::make_unique<QSettings>(file, QSettings::IniFormat)) {}

void AppSettings::set(const QString& key, const QVariant& value) {
  if (settings_->value(key) == value) return;
  settings_->setValue(key, value);
  settings_->sync();
  emit changed();
}

QString AppSettings::theme() const { return settings_->value("ui/theme", "system").toString(); }
void AppSettings::setTheme(const QString& v) { set("ui/theme", v); }
QString AppSettings::language() const { return settings_->value("ui/language", "").toString(); }
void AppSettings::setLanguage(const QString& v) { set("ui/language", v); }
QString AppSettings::backend() const { return settings_->value("engine/backend", "auto").toString(); }
void AppSettings::setBackend(const QString& v) { set("engine/backend", v); }
int AppSettings::contextLength() const { return settings_->value("engine/contextLength", 8192).toInt(); }
void AppSettings::setContextLength(int v) { set("engine/contextLength", v); }
QString AppSettings::weights() const { return settings_->value("engine/weights", "bf16").toString(); }
void AppSettings::setWeights(const QString& v) { set("engine/weights", v); }
QString AppSettings::kvCache() const { return settings_->value("engine/kvCache", "bf16").toString(); }
void AppSettings::setKvCache(const QString& v) { set("engine/kvCache", v); }
int AppSettings::gpuDevice() const { return settings_->value("engine/gpuDevice", -1).toInt(); }
void AppSettings::setGpuDevice(int v) { set("engine/gpuDevice", v); }
QString AppSettings::modelPath() const { return settings_->value("engine/modelPath").toString(); }
QStringList AppSettings::recentModels() const { return settings_->value("engine/recentModels").toStringList(); }

void AppSettings::setModelPath(const QString& v) {
  QStringList recent = recentModels();
  recent.removeAll(v);
  if (!v.isEmpty()) recent.prepend(v);
  while (recent.size() > 8) recent.removeLast();
  settings_->setValue("engine/recentModels", recent);
  set("engine/modelPath", v);
  emit changed();
}
