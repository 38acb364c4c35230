// ToolHost: the built-in tools (calculator parser, date and time, allowed files, conversation
// search), per-tool policies and consent, result caps, and the rule that no tool runs without a
// recorded allow decision, on every path (once, always, stored always, deny, stored deny, cancel,
// unknown tool).
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QtTest>

#include "calculator.h"
#include "conversationstore.h"
#include "toolhost.h"

class ToolHostTest : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;
  ConversationStore store_;
  std::unique_ptr<ToolHost> host_;
  qint64 conversation_ = 0;

  struct Outcome {
    QString status, text;
  };
  Outcome waitFor(quint64 callId) {
    Outcome o;
    bool done = false;
    auto c = connect(host_.get(), &ToolHost::callFinished, this, [&](quint64 id, const QString& s, const QString& t) {
      if (id == callId) {
        o = {s, t};
        done = true;
      }
    });
    if (!QTest::qWaitFor([&] { return done; }, 10000)) o = {QStringLiteral("timeout"), {}};
    disconnect(c);
    return o;
  }
  QString decisionOf(qint64 consentId) {
    QSqlQuery q(store_.database());
    q.prepare("SELECT decision FROM tool_consents WHERE id=?");
    q.addBindValue(consentId);
    return q.exec() && q.next() ? q.value(0).toString() : QString();
  }
  int consentRows() {
    QSqlQuery q(store_.database());
    return q.exec("SELECT COUNT(*) FROM tool_consents") && q.next() ? q.value(0).toInt() : -1;
  }
  qint64 builtin(const char* name) { return host_->pluginId(QString::fromLatin1(name)); }

 private slots:
  void initTestCase() {
    QVERIFY(store_.open(dir_.filePath("db.sqlite")));
    host_ = std::make_unique<ToolHost>(&store_, dir_.filePath("logs"));
    conversation_ = store_.createConversation("Tools");
    for (const char* name : {ToolHost::kCalculator, ToolHost::kDateTime, ToolHost::kFiles, ToolHost::kConversationSearch})
      QVERIFY(host_->setPluginEnabled(conversation_, builtin(name), true));
    QStringList names;
    for (const ToolInfo& t : host_->tools(conversation_)) names << t.name;
    QCOMPARE(names, QStringList({"calculator", "get_current_time", "read_file", "search_conversations"}));
  }

  void calculatorParsesRealExpressions_data() {
    QTest::addColumn<QString>("expression");
    QTest::addColumn<QString>("expected");
    QTest::newRow("precedence") << "2+3*4" << "14";
    QTest::newRow("parentheses") << "(2+3)*4" << "20";
    QTest::newRow("power right-assoc") << "2^3^2" << "512";
    QTest::newRow("unary minus vs power") << "-2^2" << "-4";
    QTest::newRow("functions") << "sqrt(16)+abs(-3)+max(1,2)" << "9";
    QTest::newRow("float") << "1/3" << "0.333333333333333";
    QTest::newRow("constants") << "round(pi*1000)" << "3142";
    QTest::newRow("exponent literal") << "1.5e3 % 7" << "2";
    QTest::newRow("division by zero") << "1/0" << "error";
    QTest::newRow("no eval") << "require('fs')" << "error";
    QTest::newRow("unbalanced") << "(1+2" << "error";
    QTest::newRow("trailing") << "1+2)" << "error";
    QTest::newRow("deep") << QString(1000, '(') + "1" + QString(1000, ')') << "error";
  }
  void calculatorParsesRealExpressions() {
    QFETCH(QString, expression);
    QFETCH(QString, expected);
    const CalculatorResult r = evaluateExpression(expression);
    if (expected == "error") {
      QVERIFY(!r.value);
      QVERIFY(!r.error.isEmpty());
    } else {
      QVERIFY2(r.value, qPrintable(r.error));
      QCOMPARE(formatCalculatorValue(*r.value), expected);
    }
  }

  void allowOnceRunsAndRecordsTheConsentFirst() {
    QSignalSpy asked(host_.get(), &ToolHost::consentRequested);
    const quint64 id = host_->requestCall(conversation_, "calculator", R"({"expression":"6*7"})");
    QCOMPARE(asked.size(), 1);
    QCOMPARE(host_->pendingConsents().size(), 1);
    const QVariantMap card = host_->pendingConsents().first().toMap();
    QCOMPARE(card["tool"].toString(), QStringLiteral("calculator"));
    QCOMPARE(card["source"].toString(), QStringLiteral("built-in"));
    QCOMPARE(card["arguments"].toString(), QStringLiteral(R"({"expression":"6*7"})"));
    QTest::qWait(50);
    QVERIFY(host_->executedConsentIds().isEmpty());  // nothing runs while the user is asked
    host_->answerConsent(id, "once");
    const Outcome o = waitFor(id);
    QCOMPARE(o.status, QStringLiteral("ok"));
    QCOMPARE(o.text, QStringLiteral("42"));
    QCOMPARE(decisionOf(host_->executedConsentIds().last()), QStringLiteral("allow_once"));
    QCOMPARE(host_->toolPolicy(builtin(ToolHost::kCalculator), "calculator"), QStringLiteral("ask"));
  }

  // A write the database refuses (a trigger stands in for a full disk) is reported, not silently lost;
  // the setting still holds for the session and the tool still answers.
  void refusedWritesAreReported() {
    QSqlQuery q(store_.database());
    QVERIFY(q.exec("CREATE TEMP TRIGGER refuse_settings BEFORE INSERT ON tool_settings "
                   "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"));
    QTest::ignoreMessage(QtWarningMsg,
                         QRegularExpression("Cannot save the tool setting max_tool_rounds .*disk is full"));
    const int before = host_->maxToolRounds();
    host_->setMaxToolRounds(before + 1);
    QCOMPARE(host_->maxToolRounds(), before + 1);
    QVERIFY(q.exec("DROP TRIGGER refuse_settings"));
    host_->setMaxToolRounds(before);

    QVERIFY(q.exec("CREATE TEMP TRIGGER refuse_outcomes BEFORE UPDATE OF outcome ON tool_consents "
                   "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"));
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression("Cannot record the outcome 'ok' of tool consent .*disk is full"));
    const quint64 id = host_->requestCall(conversation_, "calculator", R"({"expression":"1+1"})");
    host_->answerConsent(id, "once");
    const Outcome o = waitFor(id);
    QVERIFY(q.exec("DROP TRIGGER refuse_outcomes"));
    QCOMPARE(o.status, QStringLiteral("ok"));
    QCOMPARE(o.text, QStringLiteral("2"));
  }

  void denyTellsTheModelAndRunsNothing() {
    const int ran = host_->executedConsentIds().size();
    const quint64 id = host_->requestCall(conversation_, "calculator", R"({"expression":"1"})");
    host_->answerConsent(id, "deny");
    const Outcome o = waitFor(id);
    QCOMPARE(o.status, QStringLiteral("denied"));
    QVERIFY(o.text.contains(QStringLiteral("denied")));
    QCOMPARE(host_->executedConsentIds().size(), ran);
  }

  void alwaysAllowStoresThePolicy() {
    const quint64 id = host_->requestCall(conversation_, "get_current_time", "{}");
    host_->answerConsent(id, "always");
    const Outcome o = waitFor(id);
    QCOMPARE(o.status, QStringLiteral("ok"));
    const QJsonObject now = QJsonDocument::fromJson(o.text.toUtf8()).object();
    QCOMPARE(QDateTime::fromString(now["datetime"].toString(), Qt::ISODate).date(), QDate::currentDate());
    QCOMPARE(host_->toolPolicy(builtin(ToolHost::kDateTime), "get_current_time"), QStringLiteral("always"));
    QSignalSpy asked(host_.get(), &ToolHost::consentRequested);
    const quint64 next = host_->requestCall(conversation_, "get_current_time", "{}");
    QCOMPARE(waitFor(next).status, QStringLiteral("ok"));
    QCOMPARE(asked.size(), 0);
    QCOMPARE(decisionOf(host_->executedConsentIds().last()), QStringLiteral("policy_always"));
  }

  void storedDenyPolicyHidesAndRefusesTheTool() {
    const qint64 plugin = builtin(ToolHost::kConversationSearch);
    QVERIFY(host_->setToolPolicy(plugin, "search_conversations", "deny"));
    QVERIFY(!host_->setToolPolicy(plugin, "search_conversations", "maybe"));
    for (const ToolInfo& t : host_->tools(conversation_)) QVERIFY(t.name != "search_conversations");
    const int ran = host_->executedConsentIds().size();
    const Outcome o = waitFor(host_->requestCall(conversation_, "search_conversations", R"({"query":"x"})"));
    QCOMPARE(o.status, QStringLiteral("unknown"));  // not offered, so not callable
    QCOMPARE(host_->executedConsentIds().size(), ran);
    QVERIFY(host_->setToolPolicy(plugin, "search_conversations", "ask"));
  }

  void unknownToolListsTheToolsWithoutRunning() {
    const int rows = consentRows();
    const Outcome o = waitFor(host_->requestCall(conversation_, "rm_rf", "{}"));
    QCOMPARE(o.status, QStringLiteral("unknown"));
    QVERIFY(o.text.contains(QStringLiteral("no tool named \"rm_rf\"")));
    QVERIFY(o.text.contains(QStringLiteral("calculator")));
    QCOMPARE(consentRows(), rows);
  }

  void cancelWhileAskingRecordsCancelled() {
    const int ran = host_->executedConsentIds().size();
    const quint64 id = host_->requestCall(conversation_, "calculator", R"({"expression":"1"})");
    host_->cancelCall(id);
    QCOMPARE(waitFor(id).status, QStringLiteral("cancelled"));
    QVERIFY(host_->pendingConsents().isEmpty());
    host_->answerConsent(id, "once");  // too late: nothing happens
    QTest::qWait(50);
    QCOMPARE(host_->executedConsentIds().size(), ran);
  }

  void readFileOnlyFromAllowedPaths() {
    QTemporaryDir folder;
    QDir(folder.path()).mkdir("sub");
    QFile inside(folder.filePath("sub/a.txt"));
    QVERIFY(inside.open(QIODevice::WriteOnly));
    inside.write("hello from a file");
    inside.close();
    QFile outside(dir_.filePath("secret.txt"));
    QVERIFY(outside.open(QIODevice::WriteOnly));
    outside.write("secret");
    outside.close();
    QVERIFY(host_->setToolPolicy(builtin(ToolHost::kFiles), "read_file", "always"));
    auto read = [&](const QString& path) {
      return waitFor(host_->requestCall(conversation_, "read_file",
                                        QString::fromUtf8(QJsonDocument(QJsonObject{{"path", path}}).toJson())));
    };
    QCOMPARE(read(inside.fileName()).status, QStringLiteral("error"));  // nothing allowed yet
    QVERIFY(host_->addAllowedPath(QUrl::fromLocalFile(folder.path()).toString()));
    const Outcome ok = read(inside.fileName());
    QCOMPARE(ok.status, QStringLiteral("ok"));
    QCOMPARE(ok.text, QStringLiteral("hello from a file"));
    const Outcome escape = read(folder.path() + "/sub/../../" + QFileInfo(dir_.path()).fileName() + "/secret.txt");
    QCOMPARE(escape.status, QStringLiteral("error"));
    QVERIFY(!escape.text.contains("secret\""));
    QVERIFY(host_->addAllowedPath(outside.fileName()));  // a single picked file
    QCOMPARE(read(outside.fileName()).text, QStringLiteral("secret"));
    QVERIFY(host_->removeAllowedPath(QFileInfo(outside.fileName()).canonicalFilePath()));
  }

  void longResultsAreTruncatedWithANote() {
    QTemporaryDir folder;
    QFile big(folder.filePath("big.txt"));
    QVERIFY(big.open(QIODevice::WriteOnly));
    big.write(QByteArray(5000, 'y'));
    big.close();
    QVERIFY(host_->addAllowedPath(folder.path()));
    host_->setMaxResultChars(1000);
    const Outcome o = waitFor(host_->requestCall(conversation_, "read_file",
                                                 QString(R"({"path":"%1"})").arg(big.fileName())));
    QCOMPARE(o.status, QStringLiteral("ok"));
    QVERIFY(o.text.startsWith(QString(1000, 'y') + "\n[The result was truncated: 1000 of "));
    host_->setMaxResultChars(16000);
  }

  void searchFindsTheUsersConversations() {
    const qint64 c = store_.createConversation("Walrus notes");
    store_.appendMessage(c, 0, "user", "I am the walrus, goo goo g'joob");
    const quint64 id = host_->requestCall(conversation_, "search_conversations", R"({"query":"walrus"})");
    host_->answerConsent(id, "once");
    const Outcome o = waitFor(id);
    QCOMPARE(o.status, QStringLiteral("ok"));
    QVERIFY2(o.text.contains("Walrus notes") && o.text.contains("goo goo"), qPrintable(o.text));
  }

  void mcpServersArePluginsWithPerConversationTools() {
    const qint64 id = host_->addMcpServerFromText("hostile", NODE_EXECUTABLE, QString("\"%1\" crashy").arg(HOSTILE_SERVER),
                                                  "GREETING=hello world\n", dir_.path());
    QVERIFY(id > 0);
    const QVariantMap p = host_->plugins().last().toMap();
    QCOMPARE(p["arguments"].toStringList(), QStringList({HOSTILE_SERVER, "crashy"}));
    QCOMPARE(p["environment"].toMap()["GREETING"].toString(), QStringLiteral("hello world"));
    const qint64 other = store_.createConversation("Other");
    QVERIFY(host_->setPluginEnabled(conversation_, id, true));
    bool prepared = false;
    host_->prepare(conversation_, this, [&] { prepared = true; });
    QVERIFY(QTest::qWaitFor([&] { return prepared; }, 15000));
    QStringList names;
    for (const ToolInfo& t : host_->tools(conversation_)) names << t.name;
    QVERIFY(names.contains("work"));
    names.clear();
    for (const ToolInfo& t : host_->tools(other)) names << t.name;
    QVERIFY(!names.contains("work"));
    const quint64 call = host_->requestCall(conversation_, "work", "{}");
    QCOMPARE(host_->describeCall(call)["source"].toString(), QStringLiteral("hostile"));
    host_->answerConsent(call, "once");
    const Outcome o = waitFor(call);
    QCOMPARE(o.status, QStringLiteral("ok"));
    QCOMPARE(o.text, QStringLiteral("done"));
    QVERIFY(host_->logText(id).contains("hostile server (crashy) started"));
    QVERIFY(host_->removePlugin(id));
    QVERIFY(!host_->removePlugin(builtin(ToolHost::kCalculator)));  // built-ins stay
  }

  void everyToolThatRanHasARecordedAllowDecision() {
    QVERIFY(!host_->executedConsentIds().isEmpty());
    for (qint64 consent : host_->executedConsentIds())
      QVERIFY(QStringList({"allow_once", "allow_always", "policy_always"}).contains(decisionOf(consent)));
    QSqlQuery q(store_.database());
    // And every recorded deny or cancel has no "ok" outcome.
    QVERIFY(q.exec("SELECT COUNT(*) FROM tool_consents WHERE decision IN ('deny','policy_deny','cancelled')"
                   " AND outcome='ok'") && q.next());
    QCOMPARE(q.value(0).toInt(), 0);
  }
};

QTEST_GUILESS_MAIN(ToolHostTest)
#include "tst_tool_host.moc"
