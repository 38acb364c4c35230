// McpClient against real MCP servers from npm (server-everything, server-filesystem confined to a
// temporary folder) and against hostile servers written for these tests: each bad behaviour ends
// within its limit with a clear error, and the client keeps working (restarts on the next call).
#include <QFile>
#include <QJsonObject>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include "mcpclient.h"

namespace {
struct Result {
  bool finished = false;
  bool ok = false;
  QString text, error;
  qint64 ms = 0;
};

Result waitCall(McpClient& c, quint64 id, int timeoutMs = 25000) {
  Result r;
  QElapsedTimer clock;
  clock.start();
  auto connection = QObject::connect(&c, &McpClient::callFinished, &c,
                                     [&](quint64 callId, bool ok, const QString& text, const QString& error) {
                                       if (callId != id) return;
                                       r = {true, ok, text, error, clock.elapsed()};
                                     });
  (void)QTest::qWaitFor([&] { return r.finished; }, timeoutMs);  // r.finished stays false on a timeout
  QObject::disconnect(connection);
  return r;
}

QString npmServer(const QString& package, const QString& script) {
  const QString path = QStringLiteral(NODE_MODULES "/@modelcontextprotocol/%1/dist/%2").arg(package, script);
  return QFile::exists(path) ? path : QString();
}
}  // namespace

class McpClientTest : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;

  McpServerConfig hostile(const QString& mode) {
    McpServerConfig c;
    c.program = QStringLiteral(NODE_EXECUTABLE);
    c.arguments = {QStringLiteral(HOSTILE_SERVER), mode};
    c.logPath = dir_.filePath(mode + QStringLiteral(".log"));
    c.cancelGraceMs = 500;
    c.maxLineBytes = 1024 * 1024;
    return c;
  }

 private slots:
  void everythingServerListsAndCallsEchoAndAdd() {
    const QString script = npmServer(QStringLiteral("server-everything"), QStringLiteral("index.js"));
    if (script.isEmpty()) QSKIP("run `npm ci --prefix tests` for @modelcontextprotocol/server-everything");
    McpServerConfig config;
    config.program = QStringLiteral(NODE_EXECUTABLE);
    config.arguments = {script, QStringLiteral("stdio")};
    config.logPath = dir_.filePath(QStringLiteral("everything.log"));
    McpClient client(config);
    QSignalSpy ready(&client, &McpClient::ready);
    client.start();
    QVERIFY(QTest::qWaitFor([&] { return !ready.isEmpty(); }, 20000));
    QStringList names;
    for (const McpTool& t : client.tools()) names << t.name;
    QVERIFY2(names.contains(QStringLiteral("echo")), qPrintable(names.join(',')));
    const QString add = names.contains(QStringLiteral("get-sum")) ? QStringLiteral("get-sum") : QStringLiteral("add");
    QVERIFY2(names.contains(add), qPrintable(names.join(',')));

    Result echo = waitCall(client, client.callTool(QStringLiteral("echo"), {{"message", "hi 你好"}}, 10000));
    QVERIFY(echo.finished);
    QVERIFY2(echo.ok, qPrintable(echo.error));
    QCOMPARE(echo.text, QStringLiteral("Echo: hi 你好"));
    Result sum = waitCall(client, client.callTool(add, {{"a", 2}, {"b", 40}}, 10000));
    QVERIFY2(sum.ok, qPrintable(sum.error));
    QVERIFY2(sum.text.contains(QStringLiteral("42")), qPrintable(sum.text));
    // A bad argument is the tool's error, not a crash.
    Result bad = waitCall(client, client.callTool(add, {{"a", "two"}}, 10000));
    QVERIFY(bad.finished);
    QVERIFY(!bad.ok);
    QVERIFY(client.isReady());
  }

  void filesystemServerIsConfinedToItsFolder() {
    const QString script = npmServer(QStringLiteral("server-filesystem"), QStringLiteral("index.js"));
    if (script.isEmpty()) QSKIP("run `npm ci --prefix tests` for @modelcontextprotocol/server-filesystem");
    QTemporaryDir allowed, outside;
    QFile f(allowed.filePath(QStringLiteral("note.txt")));
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("the walrus was Paul\n");
    f.close();
    QFile secret(outside.filePath(QStringLiteral("secret.txt")));
    QVERIFY(secret.open(QIODevice::WriteOnly));
    secret.write("do not read\n");
    secret.close();
    McpServerConfig config;
    config.program = QStringLiteral(NODE_EXECUTABLE);
    config.arguments = {script, allowed.path()};
    config.workingDirectory = allowed.path();
    config.logPath = dir_.filePath(QStringLiteral("filesystem.log"));
    McpClient client(config);
    QSignalSpy ready(&client, &McpClient::ready);
    client.start();
    QVERIFY(QTest::qWaitFor([&] { return !ready.isEmpty(); }, 20000));
    QStringList names;
    for (const McpTool& t : client.tools()) names << t.name;
    const QString read = names.contains(QStringLiteral("read_text_file")) ? QStringLiteral("read_text_file")
                                                                           : QStringLiteral("read_file");
    QVERIFY2(names.contains(read), qPrintable(names.join(',')));
    Result inside = waitCall(client, client.callTool(read, {{"path", f.fileName()}}, 10000));
    QVERIFY2(inside.ok, qPrintable(inside.error));
    QVERIFY(inside.text.contains(QStringLiteral("the walrus was Paul")));
    Result escape = waitCall(client, client.callTool(read, {{"path", secret.fileName()}}, 10000));
    QVERIFY(escape.finished);
    QVERIFY(!escape.ok);
    QVERIFY(!escape.text.contains(QStringLiteral("do not read")));
    QVERIFY(QFileInfo(config.logPath).size() > 0);  // its stderr banner and our life-cycle lines
  }

  void silentServerTimesOutIsKilledAndRestarts() {
    McpClient client(hostile(QStringLiteral("silent")));
    Result r = waitCall(client, client.callTool(QStringLiteral("work"), {}, 1500));
    QVERIFY(r.finished);
    QVERIFY(!r.ok);
    QVERIFY2(r.error.contains(QStringLiteral("did not answer within 1.5 s")), qPrintable(r.error));
    QVERIFY(r.ms < 5000);
    QCOMPARE(client.state(), McpClient::State::Stopped);
    // The next call starts it again (and times out again, promptly).
    Result again = waitCall(client, client.callTool(QStringLiteral("work"), {}, 1000));
    QVERIFY(again.finished && !again.ok);
    QCOMPARE(client.restarts(), 1);
  }

  void stopCancelsAndKillsAStuckServer() {
    McpClient client(hostile(QStringLiteral("silent")));
    QSignalSpy ready(&client, &McpClient::ready);
    const quint64 id = client.callTool(QStringLiteral("work"), {}, 20000);
    QVERIFY(QTest::qWaitFor([&] { return !ready.isEmpty(); }, 10000));
    QTest::qWait(200);
    QSignalSpy stopped(&client, &McpClient::stopped);
    QElapsedTimer clock;
    clock.start();
    client.cancelCall(id);
    Result r = waitCall(client, id, 100);  // already finished: the spy below checks the kill
    Q_UNUSED(r);
    QVERIFY(QTest::qWaitFor([&] { return !stopped.isEmpty(); }, 5000));  // no ping answer: killed
    QVERIFY(clock.elapsed() < 3000);
    QVERIFY(client.lastError().contains(QStringLiteral("did not respond after a cancellation")));
  }

  void floodingServerIsStoppedWithAClearError() {
    McpClient client(hostile(QStringLiteral("flood")));
    Result r = waitCall(client, client.callTool(QStringLiteral("work"), {}, 10000));
    QVERIFY(r.finished);
    QVERIFY(!r.ok);
    QVERIFY2(r.error.contains(QStringLiteral("without ending a message")), qPrintable(r.error));
    QVERIFY(r.ms < 10000);
  }

  void invalidJsonIsAProtocolError() {
    McpClient client(hostile(QStringLiteral("garbage")));
    Result r = waitCall(client, client.callTool(QStringLiteral("work"), {}, 10000));
    QVERIFY(r.finished && !r.ok);
    QVERIFY2(r.error.contains(QStringLiteral("not a JSON-RPC message")), qPrintable(r.error));
    QVERIFY(r.error.contains(QStringLiteral("this is not json")));
  }

  void exitMidCallFailsTheCallAndLogsStderr() {
    McpServerConfig config = hostile(QStringLiteral("exit"));
    McpClient client(config);
    Result r = waitCall(client, client.callTool(QStringLiteral("work"), {}, 10000));
    QVERIFY(r.finished && !r.ok);
    QVERIFY2(r.error.contains(QStringLiteral("exited with code 3")), qPrintable(r.error));
    QFile log(config.logPath);
    QVERIFY(log.open(QIODevice::ReadOnly));
    const QByteArray text = log.readAll();
    QVERIFY(text.contains("exiting mid-call"));
    QVERIFY(text.contains("hostile server (exit) started"));
  }

  void aServerThatDiesIsRestartedOnTheNextUse() {
    McpClient client(hostile(QStringLiteral("crashy")));
    for (int i = 0; i < 3; ++i) {
      Result r = waitCall(client, client.callTool(QStringLiteral("work"), {}, 10000));
      QVERIFY2(r.ok, qPrintable(r.error));
      QCOMPARE(r.text, QStringLiteral("done"));
      QVERIFY(QTest::qWaitFor([&] { return client.state() == McpClient::State::Stopped; }, 5000));
    }
    QCOMPARE(client.restarts(), 2);
  }

  void aProgramThatCannotStartFailsClearly() {
    McpServerConfig config;
    config.program = dir_.filePath(QStringLiteral("no-such-server"));
    McpClient client(config);
    Result r = waitCall(client, client.callTool(QStringLiteral("x"), {}, 5000));
    QVERIFY(r.finished && !r.ok);
    QVERIFY2(r.error.contains(QStringLiteral("cannot start")), qPrintable(r.error));
  }
};

QTEST_GUILESS_MAIN(McpClientTest)
#include "tst_mcp_client.moc"
