// McpClient: one MCP server over the stdio transport. The server is a child process started from a
// program and its arguments (never through a shell); messages are newline-delimited JSON-RPC 2.0 on
// its stdin/stdout; its stderr is appended to a log file the user can open.
//
// Life cycle: start() -> initialize -> notifications/initialized -> tools/list (every page) ->
// ready(). A call made while the server is stopped (never started, crashed, killed) starts it again
// first. Every call has a time limit counted from callTool(); on timeout the call is cancelled
// (notifications/cancelled) and the server killed, because a server that ignores a request is stuck.
// A server that breaks the protocol (invalid JSON, a line over maxLineBytes) is killed at once and
// its calls fail with the reason. Nothing here blocks: everything is signals and timers.
#pragma once
#include <QElapsedTimer>
#include <QHash>
#include <QJsonObject>
#include <QList>
#include <QMap>
#include <QObject>
#include <QPointer>
#include <QProcess>
#include <QStringList>
#include <QTimer>

struct McpServerConfig {
  QString program;
  QStringList arguments;
  QMap<QString, QString> environment;  // added to (or replacing in) the app's environment
  QString workingDirectory;
  QString logPath;                     // stderr and life-cycle events; "" = no log
  int startTimeoutMs = 20000;          // initialize + tools/list
  int cancelGraceMs = 2000;            // after a cancellation, the server must answer a ping by then
  qint64 maxLineBytes = 8 * 1024 * 1024;
  qint64 maxLogBytes = 1024 * 1024;    // then the log rotates to <log>.1
};

struct McpTool {
  QString name;
  QString description;
  QString inputSchemaJson = QStringLiteral("{}");
};

class McpClient : public QObject {
  Q_OBJECT
 public:
  enum class State { Stopped, Starting, Ready };
  explicit McpClient(const McpServerConfig& config, QObject* parent = nullptr);
  ~McpClient() override;

  void start();             // no-op unless stopped
  void stop(const QString& reason = {});  // kills the process; pending calls fail with reason
  State state() const { return state_; }
  bool isReady() const { return state_ == State::Ready; }
  QList<McpTool> tools() const { return tools_; }
  QString lastError() const { return lastError_; }
  QString serverName() const { return serverName_; }
  const McpServerConfig& config() const { return config_; }
  int restarts() const { return starts_ > 0 ? starts_ - 1 : 0; }

  // Starts the call (starting the server first if needed); callFinished follows, always
  // asynchronously, exactly once per id.
  quint64 callTool(const QString& name, const QJsonObject& arguments, int timeoutMs);
  void cancelCall(quint64 callId, const QString& reason = QStringLiteral("cancelled by the user"));

 signals:
  void ready();
  void startFailed(const QString& error);
  void stopped();
  // ok: the server answered without isError. text: the content (text parts joined); error: why not.
  void callFinished(quint64 callId, bool ok, const QString& text, const QString& error);

 private:
  enum class Kind { Initialize, ToolsList, Call, Ping };
  struct Request {
    Kind kind;
    quint64 callId = 0;
  };
  struct Call {
    quint64 id = 0;
    QString tool;
    QJsonObject arguments;
    qint64 requestId = 0;  // 0 while waiting for the server to be ready
    QTimer* timer = nullptr;
    int timeoutMs = 0;
  };

  qint64 send(const QString& method, const QJsonObject& params, Kind kind, quint64 callId = 0);
  void notify(const QString& method, const QJsonObject& params);
  void write(const QJsonObject& message);
  void onStdout();
  void onStderr();
  void onFinished(int exitCode, QProcess::ExitStatus status);
  void onError(QProcess::ProcessError error);
  void handleMessage(const QJsonObject& message);
  void handleResponse(const Request& request, const QJsonObject& message);
  void requestToolsPage(const QString& cursor);
  void sendCall(Call& call);
  void finishCall(quint64 callId, bool ok, const QString& text, const QString& error);
  void failStart(const QString& error);
  void protocolError(const QString& what);
  void log(const QString& line);
  void logBytes(const QByteArray& bytes);

  McpServerConfig config_;
  QProcess* process_ = nullptr;
  State state_ = State::Stopped;
  QString lastError_;
  QString serverName_;
  QByteArray stdoutBuffer_;
  qint64 nextRequestId_ = 1;
  QHash<qint64, Request> requests_;
  QMap<quint64, Call> calls_;
  QList<McpTool> tools_;
  QList<McpTool> pendingTools_;
  QTimer startTimer_;
  QTimer graceTimer_;
  qint64 gracePingId_ = 0;
  int starts_ = 0;
  static quint64 nextCallId_;
};
