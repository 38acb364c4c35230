#include "mcpclient.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonParseError>
#include <QProcessEnvironment>

quint64 McpClient::nextCallId_ = 1;

namespace {
constexpr auto kProtocolVersion = "2025-06-18";

QString snippet(const QByteArray& bytes) {
  QString s = QString::fromUtf8(bytes.left(120)).simplified();
  if (bytes.size() > 120) s += QStringLiteral("…");
  return s;
}
}  // namespace

McpClient::McpClient(const McpServerConfig& config, QObject* parent) : QObject(parent), config_(config) {
  startTimer_.setSingleShot(true);
  connect(&startTimer_, &QTimer::timeout, this, [this] {
    failStart(QStringLiteral("the server did not finish starting (initialize, tools/list) within %1 s")
                  .arg(config_.startTimeoutMs / 1000.0));
  });
  graceTimer_.setSingleShot(true);
  connect(&graceTimer_, &QTimer::timeout, this, [this] {
    stop(QStringLiteral("the server did not respond after a cancellation and was stopped"));
  });
}

McpClient::~McpClient() {
  if (process_) {
    process_->disconnect(this);
    process_->kill();
    process_->waitForFinished(1000);
    delete process_;
  }
}

void McpClient::start() {
  if (state_ != State::Stopped) return;
  state_ = State::Starting;
  lastError_.clear();
  stdoutBuffer_.clear();
  pendingTools_.clear();
  ++starts_;
  process_ = new QProcess(this);
  process_->setProgram(config_.program);
  process_->setArguments(config_.arguments);
  QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
  for (auto it = config_.environment.cbegin(); it != config_.environment.cend(); ++it) env.insert(it.key(), it.value());
  process_->setProcessEnvironment(env);
  if (!config_.workingDirectory.isEmpty()) process_->setWorkingDirectory(config_.workingDirectory);
  connect(process_, &QProcess::readyReadStandardOutput, this, &McpClient::onStdout);
  connect(process_, &QProcess::readyReadStandardError, this, &McpClient::onStderr);
  connect(process_, &QProcess::finished, this, &McpClient::onFinished);
  connect(process_, &QProcess::errorOccurred, this, &McpClient::onError);
  log(QStringLiteral("starting: %1 %2").arg(config_.program, config_.arguments.join(QLatin1Char(' '))));
  startTimer_.start(config_.startTimeoutMs);
  process_->start();
  send(QStringLiteral("initialize"),
       QJsonObject{{"protocolVersion", kProtocolVersion},
                   {"capabilities", QJsonObject{}},
                   {"clientInfo", QJsonObject{{"name", "GLM Chat"}, {"version", "1.0"}}}},
       Kind::Initialize);
}

void McpClient::stop(const QString& reason) {
  startTimer_.stop();
  graceTimer_.stop();
  requests_.clear();
  if (process_) {
    QProcess* p = process_;
    process_ = nullptr;
    p->disconnect(this);
    if (p->state() != QProcess::NotRunning) {
      log(QStringLiteral("stopping: %1").arg(reason.isEmpty() ? QStringLiteral("requested") : reason));
      p->kill();
      // Reap it off the GUI thread's critical path: the QProcess goes away once it has exited.
      connect(p, &QProcess::finished, p, &QObject::deleteLater);
    } else {
      p->deleteLater();
    }
  }
  const bool wasStarting = state_ == State::Starting;
  state_ = State::Stopped;
  if (!reason.isEmpty()) lastError_ = reason;
  const QList<quint64> ids = calls_.keys();
  for (quint64 id : ids) finishCall(id, false, {}, reason.isEmpty() ? QStringLiteral("the server was stopped") : reason);
  if (wasStarting) emit startFailed(lastError_);
  emit stopped();
}

quint64 McpClient::callTool(const QString& name, const QJsonObject& arguments, int timeoutMs) {
  Call call;
  call.id = nextCallId_++;
  call.tool = name;
  call.arguments = arguments;
  call.timeoutMs = timeoutMs;
  call.timer = new QTimer(this);
  call.timer->setSingleShot(true);
  const quint64 id = call.id;
  connect(call.timer, &QTimer::timeout, this, [this, id, timeoutMs] {
    const auto it = calls_.find(id);
    if (it == calls_.end()) return;
    const QString why = QStringLiteral("the tool did not answer within %1 s; the call was cancelled and the server stopped")
                            .arg(timeoutMs / 1000.0);
    if (it->requestId) notify(QStringLiteral("notifications/cancelled"),
                              QJsonObject{{"requestId", it->requestId}, {"reason", "timeout"}});
    finishCall(id, false, {}, why);
    stop(why);
  });
  call.timer->start(timeoutMs);
  calls_.insert(id, call);
  if (state_ == State::Ready) sendCall(calls_[id]);
  else start();
  return id;
}

void McpClient::cancelCall(quint64 callId, const QString& reason) {
  const auto it = calls_.find(callId);
  if (it == calls_.end()) return;
  const qint64 requestId = it->requestId;
  finishCall(callId, false, {}, reason);
  if (!requestId || !process_) return;
  notify(QStringLiteral("notifications/cancelled"), QJsonObject{{"requestId", requestId}, {"reason", reason}});
  // A server that honours cancellation still answers pings; a stuck one is stopped.
  gracePingId_ = send(QStringLiteral("ping"), {}, Kind::Ping);
  graceTimer_.start(config_.cancelGraceMs);
}

qint64 McpClient::send(const QString& method, const QJsonObject& params, Kind kind, quint64 callId) {
  const qint64 id = nextRequestId_++;
  requests_.insert(id, Request{kind, callId});
  QJsonObject message{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}};
  if (!params.isEmpty() || kind != Kind::Ping) message.insert("params", params);
  write(message);
  return id;
}

void McpClient::notify(const QString& method, const QJsonObject& params) {
  QJsonObject message{{"jsonrpc", "2.0"}, {"method", method}};
  if (!params.isEmpty()) message.insert("params", params);
  write(message);
}

void McpClient::write(const QJsonObject& message) {
  if (!process_) return;
  process_->write(QJsonDocument(message).toJson(QJsonDocument::Compact) + '\n');
}

void McpClient::onStdout() {
  if (!process_) return;
  stdoutBuffer_ += process_->readAllStandardOutput();
  for (;;) {
    if (!process_) return;  // a message may have stopped the server
    const qsizetype newline = stdoutBuffer_.indexOf('\n');
    if (newline < 0) break;
    const QByteArray line = stdoutBuffer_.left(newline).trimmed();
    stdoutBuffer_.remove(0, newline + 1);
    if (line.isEmpty()) continue;
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(line, &error);
    if (error.error != QJsonParseError::NoError || !doc.isObject()) {
      protocolError(QStringLiteral("the server wrote something that is not a JSON-RPC message: \"%1\"").arg(snippet(line)));
      return;
    }
    handleMessage(doc.object());
  }
  if (stdoutBuffer_.size() > config_.maxLineBytes)
    protocolError(QStringLiteral("the server wrote more than %1 MB without ending a message")
                      .arg(double(config_.maxLineBytes) / (1024 * 1024), 0, 'f', 1));
}

void McpClient::onStderr() {
  if (process_) logBytes(process_->readAllStandardError());
}

void McpClient::onFinished(int exitCode, QProcess::ExitStatus status) {
  if (process_) onStderr();
  const QString how = status == QProcess::CrashExit ? QStringLiteral("the server crashed")
                                                    : QStringLiteral("the server exited with code %1").arg(exitCode);
  log(how);
  stop(calls_.isEmpty() && state_ == State::Ready ? QString() : how);
}

void McpClient::onError(QProcess::ProcessError error) {
  if (error != QProcess::FailedToStart || !process_) return;
  failStart(QStringLiteral("cannot start \"%1\": %2").arg(config_.program, process_->errorString()));
}

void McpClient::failStart(const QString& error) {
  log(error);
  stop(error);
}

void McpClient::protocolError(const QString& what) {
  log(what);
  stop(what);
}

void McpClient::handleMessage(const QJsonObject& message) {
  const QJsonValue id = message.value("id");
  if (message.contains("method")) {
    const QString method = message.value("method").toString();
    if (id.isUndefined() || id.isNull()) {
      if (method == QLatin1String("notifications/tools/list_changed") && state_ == State::Ready) requestToolsPage({});
      return;  // other notifications (progress, logging) are not needed
    }
    // Requests from the server: answer ping, refuse the rest (we offer no client capabilities).
    QJsonObject reply{{"jsonrpc", "2.0"}, {"id", id}};
    if (method == QLatin1String("ping")) reply.insert("result", QJsonObject{});
    else reply.insert("error", QJsonObject{{"code", -32601}, {"message", "method not supported by this client"}});
    write(reply);
    return;
  }
  if (!id.isDouble()) {
    if (message.contains("error"))
      log(QStringLiteral("server error without id: %1").arg(message.value("error").toObject().value("message").toString()));
    return;
  }
  const auto it = requests_.find(qint64(id.toDouble()));
  if (it == requests_.end()) return;  // a late answer to a cancelled or timed-out request
  const Request request = *it;
  requests_.erase(it);
  handleResponse(request, message);
}

void McpClient::handleResponse(const Request& request, const QJsonObject& message) {
  const QJsonObject error = message.value("error").toObject();
  const QJsonObject result = message.value("result").toObject();
  const bool failed = message.contains("error") || !message.contains("result");
  const QString errorText = failed ? QStringLiteral("%1 (code %2)")
                                         .arg(error.value("message").toString(QStringLiteral("no result")))
                                         .arg(error.value("code").toInt())
                                   : QString();
  switch (request.kind) {
    case Kind::Initialize:
      if (failed) {
        failStart(QStringLiteral("initialize failed: %1").arg(errorText));
        return;
      }
      serverName_ = result.value("serverInfo").toObject().value("name").toString();
      notify(QStringLiteral("notifications/initialized"), {});
      requestToolsPage({});
      return;
    case Kind::ToolsList: {
      if (failed) {
        if (state_ == State::Starting) failStart(QStringLiteral("tools/list failed: %1").arg(errorText));
        return;
      }
      for (const QJsonValue& v : result.value("tools").toArray()) {
        const QJsonObject t = v.toObject();
        McpTool tool;
        tool.name = t.value("name").toString();
        tool.description = t.value("description").toString();
        const QJsonObject schema = t.value("inputSchema").toObject();
        tool.inputSchemaJson = QString::fromUtf8(QJsonDocument(schema).toJson(QJsonDocument::Compact));
        if (!tool.name.isEmpty()) pendingTools_ << tool;
      }
      const QString cursor = result.value("nextCursor").toString();
      if (!cursor.isEmpty() && pendingTools_.size() < 1000) {
        requestToolsPage(cursor);
        return;
      }
      tools_ = pendingTools_;
      pendingTools_.clear();
      if (state_ == State::Starting) {
        startTimer_.stop();
        state_ = State::Ready;
        log(QStringLiteral("ready: %1 tools").arg(tools_.size()));
        emit ready();
        for (auto it = calls_.begin(); it != calls_.end(); ++it)
          if (!it->requestId) sendCall(*it);
      }
      return;
    }
    case Kind::Call: {
      if (!calls_.contains(request.callId)) return;
      if (failed) {
        finishCall(request.callId, false, {}, errorText);
        return;
      }
      QStringList parts;
      for (const QJsonValue& v : result.value("content").toArray()) {
        const QJsonObject c = v.toObject();
        const QString type = c.value("type").toString();
        if (type == QLatin1String("text")) parts << c.value("text").toString();
        else if (type == QLatin1String("resource"))
          parts << c.value("resource").toObject().value("text").toString(QStringLiteral("[resource]"));
        else parts << QStringLiteral("[%1]").arg(type);
      }
      if (parts.isEmpty() && result.contains("structuredContent"))
        parts << QString::fromUtf8(QJsonDocument(result.value("structuredContent").toObject()).toJson(QJsonDocument::Compact));
      const QString text = parts.join(QLatin1Char('\n'));
      const bool isError = result.value("isError").toBool();
      finishCall(request.callId, !isError, text, isError ? text : QString());
      return;
    }
    case Kind::Ping:
      if (qint64(message.value("id").toDouble()) == gracePingId_) graceTimer_.stop();
      return;
  }
}

void McpClient::requestToolsPage(const QString& cursor) {
  QJsonObject params;
  if (!cursor.isEmpty()) params.insert("cursor", cursor);
  send(QStringLiteral("tools/list"), params, Kind::ToolsList);
}

void McpClient::sendCall(Call& call) {
  call.requestId = send(QStringLiteral("tools/call"), QJsonObject{{"name", call.tool}, {"arguments", call.arguments}},
                        Kind::Call, call.id);
}

void McpClient::finishCall(quint64 callId, bool ok, const QString& text, const QString& error) {
  const auto it = calls_.find(callId);
  if (it == calls_.end()) return;
  if (it->timer) it->timer->deleteLater();
  if (it->requestId) requests_.remove(it->requestId);
  calls_.erase(it);
  // Always asynchronous, so callers never re-enter their own callTool().
  QMetaObject::invokeMethod(this, [this, callId, ok, text, error] { emit callFinished(callId, ok, text, error); },
                            Qt::QueuedConnection);
}

void McpClient::log(const QString& line) {
  logBytes(QStringLiteral("[%1] -- %2\n").arg(QDateTime::currentDateTime().toString(Qt::ISODate), line).toUtf8());
}

void McpClient::logBytes(const QByteArray& bytes) {
  if (config_.logPath.isEmpty() || bytes.isEmpty()) return;
  QFile file(config_.logPath);
  if (file.size() > config_.maxLogBytes) {
    QFile::remove(config_.logPath + QStringLiteral(".1"));
    QFile::rename(config_.logPath, config_.logPath + QStringLiteral(".1"));
  }
  QDir().mkpath(QFileInfo(config_.logPath).absolutePath());
  if (file.open(QIODevice::Append)) file.write(bytes.left(config_.maxLogBytes));
}
