#include "toolhost.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QRegularExpression>
#include <QSqlError>
#include <QSqlQuery>
#include <QTimeZone>
#include <QUrl>

#include "calculator.h"
#include "conversationstore.h"

namespace {

QString json(const QJsonObject& o) { return QString::fromUtf8(QJsonDocument(o).toJson(QJsonDocument::Compact)); }

// Single-quoted shell-like splitting for the page's argument line; nothing is ever run by a shell.
QStringList splitArguments(const QString& line) {
  QStringList out;
  QString current;
  bool inWord = false;
  QChar quote;
  for (const QChar c : line) {
    if (!quote.isNull()) {
      if (c == quote) quote = QChar();
      else current += c;
    } else if (c == '"' || c == '\'') {
      quote = c;
      inWord = true;
    } else if (c.isSpace()) {
      if (inWord) out << current;
      current.clear();
      inWord = false;
    } else {
      current += c;
      inWord = true;
    }
  }
  if (inWord) out << current;
  return out;
}

}  // namespace

ToolHost::ToolHost(ConversationStore* store, const QString& logDirectory, QObject* parent)
    : QObject(parent), store_(store), logDirectory_(logDirectory) {
  seedBuiltins();
  maxToolRounds_ = setting(QStringLiteral("max_tool_rounds"), QStringLiteral("5")).toInt();
  maxResultChars_ = setting(QStringLiteral("max_result_chars"), QStringLiteral("16000")).toInt();
}

ToolHost::~ToolHost() {
  const QList<quint64> ids = calls_.keys();
  for (quint64 id : ids) cancelCall(id);
  clients_.clear();  // kills the servers
}

void ToolHost::seedBuiltins() {
  for (const char* name : {kCalculator, kDateTime, kFiles, kConversationSearch}) {
    QSqlQuery q(store_->database());
    q.prepare(QStringLiteral("INSERT OR IGNORE INTO plugins(name, kind, created_at) VALUES (?, 'builtin', ?)"));
    q.addBindValue(QString::fromLatin1(name));
    q.addBindValue(QDateTime::currentMSecsSinceEpoch());
    if (!q.exec()) qWarning("Cannot register the built-in tool %s: %s", name, qPrintable(q.lastError().text()));
  }
}

QString ToolHost::setting(const QString& key, const QString& fallback) const {
  QSqlQuery q(store_->database());
  q.prepare(QStringLiteral("SELECT value FROM tool_settings WHERE key=?"));
  q.addBindValue(key);
  return q.exec() && q.next() ? q.value(0).toString() : fallback;
}

void ToolHost::setSetting(const QString& key, const QString& value) {
  QSqlQuery q(store_->database());
  q.prepare(QStringLiteral("INSERT OR REPLACE INTO tool_settings(key, value) VALUES (?, ?)"));
  q.addBindValue(key);
  q.addBindValue(value);
  if (!q.exec())
    qWarning("Cannot save the tool setting %s (it holds for this session only): %s", qPrintable(key),
             qPrintable(q.lastError().text()));
}

void ToolHost::setMaxToolRounds(int rounds) {
  rounds = std::clamp(rounds, 1, 50);
  if (rounds == maxToolRounds_) return;
  maxToolRounds_ = rounds;
  setSetting(QStringLiteral("max_tool_rounds"), QString::number(rounds));
  emit settingsChanged();
}

void ToolHost::setMaxResultChars(int chars) {
  chars = std::clamp(chars, 200, 1000000);
  if (chars == maxResultChars_) return;
  maxResultChars_ = chars;
  setSetting(QStringLiteral("max_result_chars"), QString::number(chars));
  emit settingsChanged();
}

// ---- plugins ----

QList<ToolHost::Plugin> ToolHost::loadPlugins() const {
  QList<Plugin> out;
  QSqlQuery q(store_->database());
  if (!q.exec(QStringLiteral("SELECT id, name, kind, command, arguments, environment, working_dir, timeout_ms"
                             " FROM plugins ORDER BY kind, id")))
    return out;
  while (q.next()) {
    Plugin p;
    p.id = q.value(0).toLongLong();
    p.name = q.value(1).toString();
    p.kind = q.value(2).toString();
    p.command = q.value(3).toString();
    for (const QJsonValue& v : QJsonDocument::fromJson(q.value(4).toString().toUtf8()).array()) p.arguments << v.toString();
    p.environment = QJsonDocument::fromJson(q.value(5).toString().toUtf8()).object().toVariantMap();
    p.workingDirectory = q.value(6).toString();
    p.timeoutMs = q.value(7).toInt();
    out << p;
  }
  return out;
}

std::optional<ToolHost::Plugin> ToolHost::plugin(qint64 id) const {
  for (const Plugin& p : loadPlugins())
    if (p.id == id) return p;
  return std::nullopt;
}

qint64 ToolHost::pluginId(const QString& name) const {
  for (const Plugin& p : loadPlugins())
    if (p.name == name) return p.id;
  return 0;
}

QVariantList ToolHost::plugins() const {
  QVariantList out;
  for (const Plugin& p : loadPlugins()) {
    QVariantList tools;
    QString state = QStringLiteral("ready"), error;
    QList<ToolInfo> infos;
    if (p.kind == QLatin1String("builtin")) {
      infos = builtinTools(p);
    } else {
      McpClient* c = clients_.value(p.id).get();
      state = !c ? QStringLiteral("stopped")
                 : c->state() == McpClient::State::Ready  ? QStringLiteral("ready")
                 : c->state() == McpClient::State::Starting ? QStringLiteral("starting")
                                                           : QStringLiteral("stopped");
      error = c ? c->lastError() : QString();
      if (c)
        for (const McpTool& t : c->tools()) infos << ToolInfo{p.id, p.name, p.kind, t.name, t.description, t.inputSchemaJson};
    }
    for (const ToolInfo& t : infos)
      tools << QVariantMap{{"name", t.name}, {"description", t.description}, {"policy", toolPolicy(p.id, t.name)}};
    out << QVariantMap{{"id", p.id},
                       {"name", p.name},
                       {"kind", p.kind},
                       {"command", p.command},
                       {"arguments", p.arguments},
                       {"environment", p.environment},
                       {"workingDirectory", p.workingDirectory},
                       {"timeoutMs", p.timeoutMs},
                       {"state", state},
                       {"error", error},
                       {"logPath", p.kind == QLatin1String("mcp") ? logPath(p.id) : QString()},
                       {"tools", tools}};
  }
  return out;
}

qint64 ToolHost::addMcpServer(const QString& name, const QString& command, const QStringList& arguments,
                              const QVariantMap& environment, const QString& workingDirectory, int timeoutMs) {
  if (name.trimmed().isEmpty() || command.trimmed().isEmpty()) return 0;
  QSqlQuery q(store_->database());
  q.prepare(QStringLiteral("INSERT INTO plugins(name, kind, command, arguments, environment, working_dir, timeout_ms,"
                           " created_at) VALUES (?, 'mcp', ?, ?, ?, ?, ?, ?)"));
  q.addBindValue(name.trimmed());
  q.addBindValue(command.trimmed());
  q.addBindValue(QString::fromUtf8(QJsonDocument(QJsonArray::fromStringList(arguments)).toJson(QJsonDocument::Compact)));
  q.addBindValue(json(QJsonObject::fromVariantMap(environment)));
  q.addBindValue(workingDirectory.isNull() ? QStringLiteral("") : workingDirectory);
  q.addBindValue(std::max(100, timeoutMs));
  q.addBindValue(QDateTime::currentMSecsSinceEpoch());
  if (!q.exec()) {
    qWarning("Cannot add the MCP server %s: %s", qPrintable(name), qPrintable(q.lastError().text()));
    return 0;
  }
  const qint64 id = q.lastInsertId().toLongLong();
  emit pluginsChanged();
  return id;
}

qint64 ToolHost::addMcpServerFromText(const QString& name, const QString& command, const QString& argumentLine,
                                      const QString& environmentLines, const QString& workingDirectory) {
  QVariantMap env;
  for (const QString& line : environmentLines.split(QLatin1Char('\n'), Qt::SkipEmptyParts)) {
    const qsizetype eq = line.indexOf(QLatin1Char('='));
    if (eq > 0) env.insert(line.left(eq).trimmed(), line.mid(eq + 1).trimmed());
  }
  return addMcpServer(name, command, splitArguments(argumentLine), env, workingDirectory);
}

bool ToolHost::removePlugin(qint64 pluginId) {
  QSqlQuery q(store_->database());
  q.prepare(QStringLiteral("DELETE FROM plugins WHERE id=? AND kind='mcp'"));
  q.addBindValue(pluginId);
  if (!q.exec() || q.numRowsAffected() != 1) return false;
  clients_.remove(pluginId);
  emit pluginsChanged();
  return true;
}

bool ToolHost::setPluginTimeout(qint64 pluginId, int timeoutMs) {
  QSqlQuery q(store_->database());
  q.prepare(QStringLiteral("UPDATE plugins SET timeout_ms=? WHERE id=?"));
  q.addBindValue(std::max(100, timeoutMs));
  q.addBindValue(pluginId);
  const bool ok = q.exec() && q.numRowsAffected() == 1;
  if (ok) emit pluginsChanged();
  return ok;
}

QString ToolHost::logPath(qint64 pluginId) const {
  return QDir(logDirectory_).filePath(QStringLiteral("mcp-%1.log").arg(pluginId));
}

QString ToolHost::logText(qint64 pluginId) const {
  QFile f(logPath(pluginId));
  if (!f.open(QIODevice::ReadOnly)) return {};
  if (f.size() > 64 * 1024) f.seek(f.size() - 64 * 1024);
  return QString::fromUtf8(f.readAll());
}

McpClient* ToolHost::ensureClient(const Plugin& p) {
  auto& slot = clients_[p.id];
  if (!slot) {
    McpServerConfig config;
    config.program = p.command;
    config.arguments = p.arguments;
    for (auto it = p.environment.cbegin(); it != p.environment.cend(); ++it) config.environment.insert(it.key(), it.value().toString());
    config.workingDirectory = p.workingDirectory;
    config.logPath = logPath(p.id);
    slot = std::make_shared<McpClient>(config);
    McpClient* c = slot.get();
    connect(c, &McpClient::ready, this, &ToolHost::pluginsChanged);
    connect(c, &McpClient::stopped, this, &ToolHost::pluginsChanged);
    connect(c, &McpClient::callFinished, this, [this](quint64 mcpCallId, bool ok, const QString& text, const QString& error) {
      for (auto it = calls_.begin(); it != calls_.end(); ++it) {
        if (it->mcpCallId != mcpCallId) continue;
        const quint64 id = it->id;
        finish(id, ok ? QStringLiteral("ok") : QStringLiteral("error"), ok ? text : error);
        return;
      }
    });
  }
  return slot.get();
}

void ToolHost::refreshPlugin(qint64 pluginId) {
  const auto p = plugin(pluginId);
  if (!p || p->kind != QLatin1String("mcp")) return;
  McpClient* c = ensureClient(*p);
  c->stop();
  c->start();
  emit pluginsChanged();
}

// ---- policies and conversations ----

QString ToolHost::toolPolicy(qint64 pluginId, const QString& tool) const {
  QSqlQuery q(store_->database());
  q.prepare(QStringLiteral("SELECT policy FROM tool_policies WHERE plugin_id=? AND tool=?"));
  q.addBindValue(pluginId);
  q.addBindValue(tool);
  return q.exec() && q.next() ? q.value(0).toString() : QStringLiteral("ask");
}

bool ToolHost::setToolPolicy(qint64 pluginId, const QString& tool, const QString& policy) {
  if (policy != QLatin1String("ask") && policy != QLatin1String("always") && policy != QLatin1String("deny")) return false;
  QSqlQuery q(store_->database());
  q.prepare(QStringLiteral("INSERT OR REPLACE INTO tool_policies(plugin_id, tool, policy) VALUES (?, ?, ?)"));
  q.addBindValue(pluginId);
  q.addBindValue(tool);
  q.addBindValue(policy);
  const bool ok = q.exec();
  if (ok) emit pluginsChanged();
  return ok;
}

bool ToolHost::isPluginEnabled(qint64 conversationId, qint64 pluginId) const {
  return enabledPlugins(conversationId).contains(pluginId);
}

bool ToolHost::setPluginEnabled(qint64 conversationId, qint64 pluginId, bool enabled) {
  QSqlQuery q(store_->database());
  q.prepare(enabled ? QStringLiteral("INSERT OR IGNORE INTO conversation_plugins(conversation_id, plugin_id) VALUES (?, ?)")
                    : QStringLiteral("DELETE FROM conversation_plugins WHERE conversation_id=? AND plugin_id=?"));
  q.addBindValue(conversationId);
  q.addBindValue(pluginId);
  const bool ok = q.exec();
  if (ok) emit pluginsChanged();
  return ok;
}

QList<qint64> ToolHost::enabledPlugins(qint64 conversationId) const {
  QList<qint64> out;
  QSqlQuery q(store_->database());
  q.prepare(QStringLiteral("SELECT plugin_id FROM conversation_plugins WHERE conversation_id=? ORDER BY plugin_id"));
  q.addBindValue(conversationId);
  if (q.exec())
    while (q.next()) out << q.value(0).toLongLong();
  return out;
}

QList<ToolInfo> ToolHost::builtinTools(const Plugin& p) const {
  auto schema = [](const QJsonObject& properties, const QStringList& required) {
    return json(QJsonObject{{"type", "object"}, {"properties", properties}, {"required", QJsonArray::fromStringList(required)}});
  };
  auto str = [](const char* description) { return QJsonObject{{"type", "string"}, {"description", description}}; };
  if (p.name == QLatin1String(kCalculator))
    return {{p.id, p.name, p.kind, QStringLiteral("calculator"),
             QStringLiteral("Evaluates an arithmetic expression: + - * / % ^, parentheses, pi, e, sqrt, abs, sin, cos, "
                            "tan, asin, acos, atan, ln, log, log2, exp, floor, ceil, round, min, max, pow."),
             schema({{"expression", str("the expression, e.g. (2+3)*4^2")}}, {"expression"})}};
  if (p.name == QLatin1String(kDateTime))
    return {{p.id, p.name, p.kind, QStringLiteral("get_current_time"),
             QStringLiteral("Returns the current local date, time, weekday and time zone."), schema({}, {})}};
  if (p.name == QLatin1String(kFiles))
    return {{p.id, p.name, p.kind, QStringLiteral("read_file"),
             QStringLiteral("Reads a text file the user allowed (a picked file, or a file inside an allowed folder). "
                            "Allowed: ") + allowedPaths().join(QStringLiteral(", ")),
             schema({{"path", str("absolute path of the file")}}, {"path"})}};
  if (p.name == QLatin1String(kConversationSearch))
    return {{p.id, p.name, p.kind, QStringLiteral("search_conversations"),
             QStringLiteral("Searches the user's saved conversations and returns matching titles and excerpts."),
             schema({{"query", str("words to look for")}}, {"query"})}};
  return {};
}

QList<ToolInfo> ToolHost::tools(qint64 conversationId) const {
  QList<ToolInfo> out;
  QSet<QString> names;
  const QList<qint64> enabled = enabledPlugins(conversationId);
  for (const Plugin& p : loadPlugins()) {
    if (!enabled.contains(p.id)) continue;
    QList<ToolInfo> infos;
    if (p.kind == QLatin1String("builtin")) infos = builtinTools(p);
    else if (McpClient* c = clients_.value(p.id).get())
      for (const McpTool& t : c->tools()) infos << ToolInfo{p.id, p.name, p.kind, t.name, t.description, t.inputSchemaJson};
    for (const ToolInfo& t : infos) {
      if (names.contains(t.name) || toolPolicy(p.id, t.name) == QLatin1String("deny")) continue;
      names.insert(t.name);
      out << t;
    }
  }
  return out;
}

void ToolHost::prepare(qint64 conversationId, QObject* context, std::function<void()> done) {
  QList<McpClient*> waiting;
  const QList<qint64> enabled = enabledPlugins(conversationId);
  for (const Plugin& p : loadPlugins()) {
    if (p.kind != QLatin1String("mcp") || !enabled.contains(p.id)) continue;
    McpClient* c = ensureClient(p);
    if (c->isReady()) continue;
    c->start();
    waiting << c;
  }
  if (waiting.isEmpty()) {
    QMetaObject::invokeMethod(context, [done] { done(); }, Qt::QueuedConnection);
    return;
  }
  auto left = std::make_shared<int>(int(waiting.size()));
  auto connections = std::make_shared<QList<QMetaObject::Connection>>();
  auto settle = [left, connections, done] {
    if (--*left > 0) return;
    for (const auto& c : *connections) QObject::disconnect(c);
    done();
  };
  for (McpClient* c : waiting) {
    auto once = std::make_shared<bool>(false);
    auto settleOnce = [once, settle] {
      if (*once) return;
      *once = true;
      settle();
    };
    *connections << connect(c, &McpClient::ready, context, settleOnce, Qt::QueuedConnection)
                 << connect(c, &McpClient::startFailed, context, settleOnce, Qt::QueuedConnection);
  }
}

// ---- allowed paths ----

QStringList ToolHost::allowedPaths() const {
  QStringList out;
  for (const Plugin& p : loadPlugins())
    if (p.name == QLatin1String(kFiles) && p.kind == QLatin1String("builtin")) return p.arguments;
  return out;
}

bool ToolHost::addAllowedPath(const QString& pathOrUrl) {
  const QUrl url(pathOrUrl);
  const QString path = QFileInfo(url.isLocalFile() ? url.toLocalFile() : pathOrUrl).canonicalFilePath();
  if (path.isEmpty()) return false;
  QStringList paths = allowedPaths();
  if (paths.contains(path)) return true;
  paths << path;
  QSqlQuery q(store_->database());
  q.prepare(QStringLiteral("UPDATE plugins SET arguments=? WHERE name=? AND kind='builtin'"));
  q.addBindValue(QString::fromUtf8(QJsonDocument(QJsonArray::fromStringList(paths)).toJson(QJsonDocument::Compact)));
  q.addBindValue(QString::fromLatin1(kFiles));
  const bool ok = q.exec();
  if (ok) emit pluginsChanged();
  return ok;
}

bool ToolHost::removeAllowedPath(const QString& path) {
  QStringList paths = allowedPaths();
  if (!paths.removeAll(path)) return false;
  QSqlQuery q(store_->database());
  q.prepare(QStringLiteral("UPDATE plugins SET arguments=? WHERE name=? AND kind='builtin'"));
  q.addBindValue(QString::fromUtf8(QJsonDocument(QJsonArray::fromStringList(paths)).toJson(QJsonDocument::Compact)));
  q.addBindValue(QString::fromLatin1(kFiles));
  const bool ok = q.exec();
  if (ok) emit pluginsChanged();
  return ok;
}

// ---- calls ----

quint64 ToolHost::requestCall(qint64 conversationId, const QString& toolName, const QString& argumentsJson) {
  Call call;
  call.id = nextCallId_++;
  call.conversationId = conversationId;
  call.argumentsJson = argumentsJson;
  const QList<ToolInfo> offered = tools(conversationId);
  const auto it = std::find_if(offered.begin(), offered.end(), [&](const ToolInfo& t) { return t.name == toolName; });
  if (it == offered.end()) {
    QStringList names;
    for (const ToolInfo& t : offered) names << t.name;
    calls_.insert(call.id, call);
    finish(call.id, QStringLiteral("unknown"),
           QStringLiteral("Error: there is no tool named \"%1\". Available tools: %2.")
               .arg(toolName, names.isEmpty() ? QStringLiteral("none") : names.join(QStringLiteral(", "))));
    return call.id;
  }
  call.tool = *it;
  calls_.insert(call.id, call);
  const QString policy = toolPolicy(call.tool.pluginId, call.tool.name);
  if (policy == QLatin1String("always")) {
    calls_[call.id].consentId = recordConsent(call, QStringLiteral("policy_always"));
    QMetaObject::invokeMethod(this, [this, id = call.id] { execute(id); }, Qt::QueuedConnection);
  } else if (policy == QLatin1String("deny")) {
    calls_[call.id].consentId = recordConsent(call, QStringLiteral("policy_deny"));
    finish(call.id, QStringLiteral("denied"), QStringLiteral("The user does not allow the tool \"%1\".").arg(toolName));
  } else {
    calls_[call.id].awaitingConsent = true;
    consentOrder_ << call.id;
    emit pendingConsentsChanged();
    emit consentRequested(call.id);
  }
  return call.id;
}

void ToolHost::answerConsent(quint64 callId, const QString& decision) {
  const auto it = calls_.find(callId);
  if (it == calls_.end() || !it->awaitingConsent) return;
  it->awaitingConsent = false;
  consentOrder_.removeAll(callId);
  emit pendingConsentsChanged();
  if (decision == QLatin1String("once") || decision == QLatin1String("always")) {
    if (decision == QLatin1String("always")) setToolPolicy(it->tool.pluginId, it->tool.name, QStringLiteral("always"));
    it->consentId = recordConsent(*it, decision == QLatin1String("always") ? QStringLiteral("allow_always")
                                                                          : QStringLiteral("allow_once"));
    execute(callId);
  } else {
    it->consentId = recordConsent(*it, QStringLiteral("deny"));
    finish(callId, QStringLiteral("denied"),
           QStringLiteral("The user denied the call to \"%1\". Do not call it again; answer without it.").arg(it->tool.name));
  }
}

void ToolHost::cancelCall(quint64 callId) {
  const auto it = calls_.find(callId);
  if (it == calls_.end()) return;
  if (it->awaitingConsent) {
    it->awaitingConsent = false;
    consentOrder_.removeAll(callId);
    it->consentId = recordConsent(*it, QStringLiteral("cancelled"));
    emit pendingConsentsChanged();
  } else if (it->mcpCallId) {
    if (McpClient* c = clients_.value(it->tool.pluginId).get()) c->cancelCall(it->mcpCallId);
  }
  finish(callId, QStringLiteral("cancelled"), QStringLiteral("The user stopped the call."));
}

QVariantList ToolHost::pendingConsents() const {
  QVariantList out;
  for (quint64 id : consentOrder_) out << describeCall(id);
  return out;
}

QVariantMap ToolHost::describeCall(quint64 callId) const {
  const Call c = calls_.value(callId);
  return {{"callId", callId},
          {"tool", c.tool.name},
          {"source", c.tool.kind == QLatin1String("mcp") ? c.tool.pluginName : QStringLiteral("built-in")},
          {"arguments", c.argumentsJson}};
}

qint64 ToolHost::recordConsent(const Call& call, const QString& decision) {
  QSqlQuery q(store_->database());
  q.prepare(QStringLiteral("INSERT INTO tool_consents(conversation_id, plugin, tool, arguments, decision, created_at)"
                           " VALUES (?, ?, ?, ?, ?, ?)"));
  q.addBindValue(call.conversationId);
  q.addBindValue(call.tool.pluginName);
  q.addBindValue(call.tool.name);
  q.addBindValue(call.argumentsJson);
  q.addBindValue(decision);
  q.addBindValue(QDateTime::currentMSecsSinceEpoch());
  if (!q.exec()) return 0;
  return q.lastInsertId().toLongLong();
}

void ToolHost::recordOutcome(qint64 consentId, const QString& outcome) {
  if (!consentId) return;
  QSqlQuery q(store_->database());
  q.prepare(QStringLiteral("UPDATE tool_consents SET outcome=? WHERE id=?"));
  q.addBindValue(outcome);
  q.addBindValue(consentId);
  if (!q.exec())
    qWarning("Cannot record the outcome '%s' of tool consent %lld: %s", qPrintable(outcome), consentId,
             qPrintable(q.lastError().text()));
}

void ToolHost::execute(quint64 callId) {
  const auto it = calls_.find(callId);
  if (it == calls_.end()) return;
  // The gate: the recorded decision, read back from the database, must allow this call.
  QSqlQuery q(store_->database());
  q.prepare(QStringLiteral("SELECT decision FROM tool_consents WHERE id=? AND tool=?"));
  q.addBindValue(it->consentId);
  q.addBindValue(it->tool.name);
  const QString decision = q.exec() && q.next() ? q.value(0).toString() : QString();
  if (decision != QLatin1String("allow_once") && decision != QLatin1String("allow_always") &&
      decision != QLatin1String("policy_always")) {
    finish(callId, QStringLiteral("denied"), QStringLiteral("Error: no consent is recorded for this call."));
    return;
  }
  executedConsentIds_ << it->consentId;
  const QJsonObject arguments = QJsonDocument::fromJson(it->argumentsJson.toUtf8()).object();
  if (it->tool.kind == QLatin1String("builtin")) {
    bool ok = false;
    const QString text = runBuiltin(it->tool.name, arguments, &ok);
    finish(callId, ok ? QStringLiteral("ok") : QStringLiteral("error"), text);
    return;
  }
  const auto p = plugin(it->tool.pluginId);
  if (!p) {
    finish(callId, QStringLiteral("error"), QStringLiteral("Error: the plugin was removed."));
    return;
  }
  it->mcpCallId = ensureClient(*p)->callTool(it->tool.name, arguments, p->timeoutMs);
}

void ToolHost::finish(quint64 callId, const QString& status, const QString& text) {
  const auto it = calls_.find(callId);
  if (it == calls_.end()) return;
  const qint64 consentId = it->consentId;
  calls_.erase(it);
  recordOutcome(consentId, status);
  const QString result = capped(status == QLatin1String("error") && !text.startsWith(QLatin1String("Error"))
                                    ? QStringLiteral("Error: ") + text
                                    : text);
  QMetaObject::invokeMethod(this, [this, callId, status, result] { emit callFinished(callId, status, result); },
                            Qt::QueuedConnection);
}

QString ToolHost::capped(const QString& text) const {
  if (text.size() <= maxResultChars_) return text;
  return text.left(maxResultChars_) +
         QStringLiteral("\n[The result was truncated: %1 of %2 characters shown.]").arg(maxResultChars_).arg(text.size());
}

// ---- built-in tools ----

QString ToolHost::runBuiltin(const QString& tool, const QJsonObject& arguments, bool* ok) const {
  *ok = false;
  if (tool == QLatin1String("calculator")) {
    const CalculatorResult r = evaluateExpression(arguments.value("expression").toString());
    if (!r.value) return QStringLiteral("Error: %1").arg(r.error);
    *ok = true;
    return formatCalculatorValue(*r.value);
  }
  if (tool == QLatin1String("get_current_time")) {
    const QDateTime now = QDateTime::currentDateTime();
    *ok = true;
    return json(QJsonObject{{"datetime", now.toString(Qt::ISODate)},
                            {"weekday", QLocale::c().dayName(now.date().dayOfWeek())},
                            {"timezone", QString::fromUtf8(now.timeZone().id())}});
  }
  if (tool == QLatin1String("read_file")) return readAllowedFile(arguments, ok);
  if (tool == QLatin1String("search_conversations")) return searchConversations(arguments, ok);
  return QStringLiteral("Error: unknown built-in tool");
}

QString ToolHost::readAllowedFile(const QJsonObject& arguments, bool* ok) const {
  const QString requested = arguments.value("path").toString();
  const QString path = QFileInfo(requested).canonicalFilePath();  // resolves .. and symlinks
  if (path.isEmpty()) return QStringLiteral("Error: no such file: %1").arg(requested);
  bool allowed = false;
  for (const QString& a : allowedPaths()) {
    if (path == a || path.startsWith(a.endsWith(QLatin1Char('/')) ? a : a + QLatin1Char('/'))) allowed = true;
  }
  if (!allowed) return QStringLiteral("Error: %1 is not in a file or folder the user allowed.").arg(requested);
  QFile f(path);
  if (!f.open(QIODevice::ReadOnly)) return QStringLiteral("Error: cannot read %1: %2").arg(requested, f.errorString());
  const QByteArray bytes = f.read(qint64(maxResultChars_) * 4 + 4);
  if (bytes.contains('\0')) return QStringLiteral("Error: %1 is not a text file.").arg(requested);
  *ok = true;
  return QString::fromUtf8(bytes);
}

QString ToolHost::searchConversations(const QJsonObject& arguments, bool* ok) const {
  const QString query = arguments.value("query").toString().trimmed();
  if (query.isEmpty()) return QStringLiteral("Error: the query is empty.");
  QJsonArray hits;
  for (qint64 id : store_->search(query)) {
    const auto c = store_->conversation(id);
    if (!c) continue;
    QString excerpt;
    for (const StoredMessage& m : store_->messages(id)) {
      const qsizetype at = m.content.indexOf(query, 0, Qt::CaseInsensitive);
      if (at < 0) continue;
      excerpt = m.content.mid(std::max<qsizetype>(0, at - 80), 200).simplified();
      break;
    }
    hits << QJsonObject{{"title", c->title}, {"excerpt", excerpt}};
    if (hits.size() >= 10) break;
  }
  *ok = true;
  return QString::fromUtf8(QJsonDocument(hits).toJson(QJsonDocument::Compact));
}
