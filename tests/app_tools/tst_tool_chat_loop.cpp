// The chat loop with the tiny model's real GLM-4 template and parser, and scripted model output
// (EngineWorker::queueScriptedReplies): one call, several calls, a denied call, an unknown tool,
// malformed JSON, the round limit, and Stop while the user is asked. Each bad call becomes an
// error observation the model sees; every tool that ran has a recorded consent.
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QtTest>

#include "chatcontroller.h"

class ToolChatLoopTest : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;
  std::unique_ptr<ChatController> c_;
  QString consentAnswer_ = "once";

  QList<StoredMessage> run(const QString& prompt, const QStringList& script) {
    c_->newConversation();
    const qint64 conv = c_->currentConversationId();
    for (const QVariant& p : c_->toolHost()->plugins())
      if (p.toMap()["kind"] == "builtin") c_->toolHost()->setPluginEnabled(conv, p.toMap()["id"].toLongLong(), true);
    c_->worker()->queueScriptedReplies(script);
    QSignalSpy finished(c_.get(), &ChatController::replyFinished);
    if (!c_->send(prompt)) return {};
    if (!QTest::qWaitFor([&] { return !finished.isEmpty(); }, 20000)) return {};
    return c_->store()->path(c_->store()->conversation(conv)->currentLeafId);
  }
  QStringList roles(const QList<StoredMessage>& path) {
    QStringList out;
    for (const StoredMessage& m : path) out << m.role;
    return out;
  }

 private slots:
  void initTestCase() {
    c_ = std::make_unique<ChatController>(dir_.path());
    QVERIFY(c_->toolHost());
    c_->settings()->setBackend("cpu");
    c_->settings()->setContextLength(2048);
    QSignalSpy ready(c_.get(), &ChatController::modelReady);
    c_->loadModel(QStringLiteral(GLM_TINY_MODEL));
    QVERIFY(QTest::qWaitFor([&] { return !ready.isEmpty(); }, 30000));
    // The test plays the user at the consent card.
    connect(c_->toolHost(), &ToolHost::consentRequested, this, [this](quint64 id) {
      if (consentAnswer_ != "wait") c_->toolHost()->answerConsent(id, consentAnswer_);
    });
  }
  void cleanupTestCase() { c_.reset(); }

  void oneCallRunsAndTheModelContinues() {
    const auto path = run("What is 6 times 7?", {"calculator\n{\"expression\": \"6*7\"}", "It is 42."});
    QCOMPARE(roles(path), QStringList({"user", "assistant", "observation", "assistant"}));
    QCOMPARE(path[1].metadata, QStringLiteral("calculator"));
    QCOMPARE(path[2].content, QStringLiteral("42"));
    QCOMPARE(path[2].state, QStringLiteral("done"));
    QCOMPARE(path[3].content, QStringLiteral("It is 42."));
    QVERIFY(!c_->generating());
    // The tools went into the system turn and the call and its result back in GLM-4's format.
    const QString prompt = c_->worker()->lastRenderedPrompt();
    QVERIFY2(prompt.contains("calculator") && prompt.contains("get_current_time"), qPrintable(prompt.left(400)));
    QVERIFY2(prompt.contains("<|assistant|>calculator\n{\"expression\": \"6*7\"}<|observation|>\n42<|assistant|>"),
             qPrintable(prompt.right(120)));
  }

  void severalCallsInARow() {
    const auto path = run("Time and sum?", {"get_current_time\n{}", "calculator\n{\"expression\":\"1+1\"}", "Done."});
    QCOMPARE(roles(path), QStringList({"user", "assistant", "observation", "assistant", "observation", "assistant"}));
    QVERIFY(path[2].content.contains("datetime"));
    QCOMPARE(path[4].content, QStringLiteral("2"));
    QCOMPARE(path[5].content, QStringLiteral("Done."));
  }

  void deniedCallTellsTheModel() {
    consentAnswer_ = "deny";
    const auto path = run("Compute", {"calculator\n{\"expression\":\"2\"}", "OK, I won't."});
    consentAnswer_ = "once";
    QCOMPARE(roles(path), QStringList({"user", "assistant", "observation", "assistant"}));
    QVERIFY(path[2].content.contains("denied"));
    QCOMPARE(path[2].state, QStringLiteral("error"));
    QCOMPARE(path[3].content, QStringLiteral("OK, I won't."));
  }

  void unknownToolGivesAnErrorObservation() {
    const auto path = run("Browse", {"simple_browser\n{\"url\":\"x\"}", "Sorry."});
    QCOMPARE(roles(path), QStringList({"user", "assistant", "observation", "assistant"}));
    QVERIFY(path[2].content.contains("no tool named \"simple_browser\""));
    QCOMPARE(path[3].content, QStringLiteral("Sorry."));
  }

  void malformedJsonGivesAnErrorObservation() {
    const auto path = run("Compute", {"calculator\n{\"expression\": 6*7", "Fixed: 42."});
    QCOMPARE(roles(path), QStringList({"user", "assistant", "observation", "assistant"}));
    QVERIFY2(path[2].content.contains("not valid JSON"), qPrintable(path[2].content));
    QCOMPARE(path[3].content, QStringLiteral("Fixed: 42."));
  }

  void theRoundLimitEndsTheLoop() {
    c_->toolHost()->setMaxToolRounds(2);
    QStringList script(3, "calculator\n{\"expression\":\"1\"}");
    script << "Giving up.";
    const auto path = run("Loop", script);
    c_->toolHost()->setMaxToolRounds(5);
    QCOMPARE(roles(path).count("observation"), 3);
    QVERIFY(path[path.size() - 2].content.contains("limit of 2 tool calls"));
    QCOMPARE(path.last().content, QStringLiteral("Giving up."));
    // The last request offered no tools.
    QVERIFY(!c_->worker()->lastRenderedPrompt().contains("get_current_time"));
  }

  void stopWhileAskingCancelsTheCall() {
    consentAnswer_ = "wait";
    c_->newConversation();
    const qint64 conv = c_->currentConversationId();
    c_->toolHost()->setPluginEnabled(conv, c_->toolHost()->pluginId("calculator"), true);
    c_->worker()->queueScriptedReplies({"calculator\n{\"expression\":\"3\"}"});
    QSignalSpy asked(c_->toolHost(), &ToolHost::consentRequested);
    QSignalSpy finished(c_.get(), &ChatController::replyFinished);
    QVERIFY(c_->send("Compute"));
    QVERIFY(QTest::qWaitFor([&] { return !asked.isEmpty(); }, 20000));
    QVERIFY(c_->generating());
    QVERIFY(c_->toolCallActive());
    c_->stop();
    QVERIFY(QTest::qWaitFor([&] { return !finished.isEmpty(); }, 5000));
    consentAnswer_ = "once";
    QVERIFY(!c_->generating());
    const auto path = c_->store()->path(c_->store()->conversation(conv)->currentLeafId);
    QCOMPARE(path.last().role, QStringLiteral("observation"));
    QCOMPARE(path.last().state, QStringLiteral("stopped"));
    // The app keeps working.
    QCOMPARE(roles(run("Again", {"Plain answer."})).last(), QStringLiteral("assistant"));
  }

  void noToolRanWithoutARecordedConsent() {
    QSqlQuery q(c_->store()->database());
    QVERIFY(q.exec("SELECT COUNT(*) FROM tool_consents WHERE outcome IN ('ok','error')"
                   " AND decision NOT IN ('allow_once','allow_always','policy_always')") && q.next());
    QCOMPARE(q.value(0).toInt(), 0);
    const QList<qint64> ran = c_->toolHost()->executedConsentIds();
    QCOMPARE(ran.size(), 5);  // 1 + 2 + 2 (the third call hit the round limit); the others ran nothing
    for (qint64 id : ran) {
      QSqlQuery d(c_->store()->database());
      d.prepare("SELECT decision FROM tool_consents WHERE id=?");
      d.addBindValue(id);
      QVERIFY(d.exec() && d.next());
      QCOMPARE(d.value(0).toString(), QStringLiteral("allow_once"));
    }
  }
};

QTEST_MAIN(ToolChatLoopTest)
#include "tst_tool_chat_loop.moc"
