// ConversationStore: schema and migrations, CRUD, branches, FTS search, export/import, crash safety
// while streaming, and the list models (QAbstractItemModelTester).
#include <QAbstractItemModelTester>
#include <QJsonDocument>
#include <QProcess>
#include <QSqlError>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QtTest>
#include <csignal>

#include "conversationstore.h"
#include "listmodels.h"

class ConversationStoreTest : public QObject {
  Q_OBJECT

 private:
  QTemporaryDir dir_;
  int counter_ = 0;
  QString freshPath() { return dir_.filePath(QStringLiteral("store-%1.sqlite").arg(++counter_)); }
  static QString scalar(ConversationStore& s, const QString& sql) {
    QSqlQuery q(s.database());
    if (!q.exec(sql) || !q.next()) return QStringLiteral("<error>");
    return q.value(0).toString();
  }

 private slots:
  void opensEmptyFileAtLatestVersionWithWalAndForeignKeys() {
    ConversationStore store;
    QVERIFY2(store.open(freshPath()), qPrintable(store.lastError()));
    QCOMPARE(store.schemaVersion(), ConversationStore::kLatestVersion);
    QCOMPARE(scalar(store, "PRAGMA journal_mode"), QStringLiteral("wal"));
    QCOMPARE(scalar(store, "PRAGMA foreign_keys"), QStringLiteral("1"));
    for (const char* table : {"conversations", "messages", "system_prompts", "conversation_settings", "plugins",
                              "messages_fts", "conversations_fts"})
      QCOMPARE(scalar(store, QStringLiteral("SELECT count(*) FROM sqlite_master WHERE name='%1'").arg(table)),
               QStringLiteral("1"));
  }

  void migratesFromEveryEarlierVersion_data() {
    QTest::addColumn<int>("fromVersion");
    for (int v = 0; v < ConversationStore::kLatestVersion; ++v) QTest::addRow("v%d", v) << v;
  }
  void migratesFromEveryEarlierVersion() {
    QFETCH(int, fromVersion);
    const QString path = freshPath();
    qint64 conversationId = 0, replyId = 0;
    {
      ConversationStore old;
      QVERIFY2(old.open(path, fromVersion), qPrintable(old.lastError()));
      QCOMPARE(old.schemaVersion(), fromVersion);
      if (fromVersion >= 1) {  // rows written by the old schema must survive and be searchable
        conversationId = old.createConversation(QStringLiteral("Old chat"));
        const qint64 user = old.appendMessage(conversationId, 0, "user", QStringLiteral("remember the walrus"));
        replyId = old.appendMessage(conversationId, user, "assistant", QStringLiteral("I am the walrus"));
        QVERIFY(replyId > 0);
      }
    }
    ConversationStore store;
    QVERIFY2(store.open(path), qPrintable(store.lastError()));
    QCOMPARE(store.schemaVersion(), ConversationStore::kLatestVersion);
    if (fromVersion >= 1) {
      QCOMPARE(store.conversations().size(), 1);
      QCOMPARE(store.path(replyId).size(), 2);
      QCOMPARE(store.search(QStringLiteral("walrus")), QList<qint64>{conversationId});
      QCOMPARE(store.search(QStringLiteral("Old ch")), QList<qint64>{conversationId});
    }
    QCOMPARE(scalar(store, "PRAGMA integrity_check"), QStringLiteral("ok"));
  }

  void refusesADatabaseFromANewerApp() {
    const QString path = freshPath();
    {
      ConversationStore s;
      QVERIFY(s.open(path));
      QSqlQuery(s.database()).exec(QStringLiteral("PRAGMA user_version=99"));
    }
    ConversationStore store;
    QVERIFY(!store.open(path));
    QVERIFY2(store.lastError().contains(QStringLiteral("99")), qPrintable(store.lastError()));
  }

  void conversationsCreateRenamePinDeleteUndo() {
    ConversationStore store;
    QVERIFY(store.open(freshPath()));
    QSignalSpy changed(&store, &ConversationStore::conversationsChanged);
    const qint64 a = store.createConversation("A");
    QTest::qWait(2);
    const qint64 b = store.createConversation("B");
    QCOMPARE(store.conversations().first().id, b);  // newest first
    QVERIFY(store.setPinned(a, true));
    QCOMPARE(store.conversations().first().id, a);  // pinned first
    QVERIFY(store.renameConversation(b, "Renamed"));
    QCOMPARE(store.conversation(b)->title, QStringLiteral("Renamed"));
    QVERIFY(store.deleteConversation(b));
    QVERIFY(!store.conversation(b));
    QCOMPARE(store.conversations().size(), 1);
    QVERIFY(store.undoDelete(b));
    QCOMPARE(store.conversations().size(), 2);
    QVERIFY(store.deleteConversation(b));
    const qint64 m = store.appendMessage(b, 0, "user", "gone");
    QVERIFY(m > 0);
    QCOMPARE(store.purgeDeleted(), 1);
    QVERIFY(!store.message(m));  // messages go with their conversation (ON DELETE CASCADE)
    QVERIFY(changed.count() >= 6);
  }

  void messagesFormBranchesAndTheOldOneStaysReachable() {
    ConversationStore store;
    QVERIFY(store.open(freshPath()));
    const qint64 c = store.createConversation("Branches");
    const qint64 u1 = store.appendMessage(c, 0, "user", "first question");
    const qint64 a1 = store.appendMessage(c, u1, "assistant", "first answer");
    const qint64 u2 = store.appendMessage(c, a1, "user", "follow-up");
    const qint64 a2 = store.appendMessage(c, u2, "assistant", "follow-up answer");
    QCOMPARE(store.conversation(c)->currentLeafId, a2);
    // Edit the follow-up: a sibling of u2 starts a new branch.
    const qint64 u2b = store.appendMessage(c, a1, "user", "edited follow-up");
    const qint64 a2b = store.appendMessage(c, u2b, "assistant", "another answer");
    QCOMPARE(store.siblings(u2), (QList<qint64>{u2, u2b}));
    QCOMPARE(store.conversation(c)->currentLeafId, a2b);
    QList<qint64> ids;
    for (const auto& m : store.path(a2b)) ids << m.id;
    QCOMPARE(ids, (QList<qint64>{u1, a1, u2b, a2b}));
    // The old branch is still there: switch back by its first message.
    QCOMPARE(store.deepestLeaf(u2), a2);
    QVERIFY(store.setCurrentLeaf(c, store.deepestLeaf(u2)));
    QCOMPARE(store.path(store.conversation(c)->currentLeafId).last().content, QStringLiteral("follow-up answer"));
    QCOMPARE(store.messages(c).size(), 6);
    // Streaming updates and per-message token counts.
    QVERIFY(store.updateMessage(a2b, "another answer, longer", "done", 7));
    QCOMPARE(store.message(a2b)->tokenCount, 7);
    QCOMPARE(store.message(a2b)->state, QStringLiteral("done"));
  }

  void fullTextSearchCoversTitlesAndMessagesInAnyScript() {
    ConversationStore store;
    QVERIFY(store.open(freshPath()));
    const qint64 travel = store.createConversation(QStringLiteral("Trip to Hangzhou"));
    store.appendMessage(travel, 0, "user", QStringLiteral("西湖边有什么好吃的？"));
    const qint64 code = store.createConversation(QStringLiteral("Sorting"));
    store.appendMessage(code, 0, "user", QStringLiteral("How does std::stable_sort differ?"));
    QCOMPARE(store.search(QStringLiteral("hangzhou")), QList<qint64>{travel});  // case-insensitive
    QCOMPARE(store.search(QStringLiteral("好吃的")), QList<qint64>{travel});    // CJK substring
    QCOMPARE(store.search(QStringLiteral("西湖")), QList<qint64>{travel});      // 2 chars: LIKE path
    QCOMPARE(store.search(QStringLiteral("stable_sort")), QList<qint64>{code});
    QCOMPARE(store.search(QStringLiteral("table_so")), QList<qint64>{code});    // inside a word
    QCOMPARE(store.search(QStringLiteral("\"quoted")).size(), 0);              // no FTS syntax error
    QVERIFY(store.search(QStringLiteral("nothing like this")).isEmpty());
    store.deleteConversation(code);
    QVERIFY(store.search(QStringLiteral("stable_sort")).isEmpty());
    store.undoDelete(code);
    const qint64 m = store.messages(code).first().id;
    store.updateMessage(m, QStringLiteral("now about quicksort"), "done", 0);
    QVERIFY(store.search(QStringLiteral("stable_sort")).isEmpty());
    QCOMPARE(store.search(QStringLiteral("quicksort")), QList<qint64>{code});
  }

  void systemPromptPresetsDefaultsAndOverrides() {
    ConversationStore store;
    QVERIFY(store.open(freshPath()));
    const qint64 terse = store.createSystemPrompt("Terse", "Answer in one sentence.");
    const qint64 teacher = store.createSystemPrompt("Teacher", "Explain step by step.");
    QVERIFY(store.setDefaultSystemPrompt(teacher));
    QCOMPARE(store.defaultSystemPrompt()->id, teacher);
    const qint64 c = store.createConversation("uses the default");
    QCOMPARE(*store.conversation(c)->systemPromptId, teacher);
    QCOMPARE(store.effectiveSystemPrompt(c), QStringLiteral("Explain step by step."));
    QVERIFY(store.setConversationSystemPrompt(c, terse, QString()));
    QCOMPARE(store.effectiveSystemPrompt(c), QStringLiteral("Answer in one sentence."));
    QVERIFY(store.setConversationSystemPrompt(c, terse, QStringLiteral("Only this chat: be a pirate.")));
    QCOMPARE(store.effectiveSystemPrompt(c), QStringLiteral("Only this chat: be a pirate."));
    QVERIFY(store.updateSystemPrompt(terse, "Terse", "Two sentences at most."));
    QVERIFY(store.setConversationSystemPrompt(c, terse, QString()));
    QCOMPARE(store.effectiveSystemPrompt(c), QStringLiteral("Two sentences at most."));
    QVERIFY(store.deleteSystemPrompt(terse));
    QVERIFY(!store.conversation(c)->systemPromptId);  // ON DELETE SET NULL
    QCOMPARE(store.effectiveSystemPrompt(c), QString());
    QCOMPARE(store.systemPrompts().size(), 1);
  }

  void samplingSettingsPerConversation() {
    ConversationStore store;
    QVERIFY(store.open(freshPath()));
    const qint64 c = store.createConversation("s");
    QCOMPARE(store.samplingSettings(c).temperature, 0.8);
    SamplingSettings s;
    s.temperature = 0.2;
    s.topK = 40;
    s.maxTokens = 77;
    s.seed = 5;
    QVERIFY(store.setSamplingSettings(c, s));
    const SamplingSettings back = store.samplingSettings(c);
    QCOMPARE(back.temperature, 0.2);
    QCOMPARE(back.topK, 40);
    QCOMPARE(back.maxTokens, 77);
    QCOMPARE(back.seed, qint64(5));
  }

  void exportsMarkdownAndJsonAndImportsJsonRoundTrip() {
    ConversationStore store;
    QVERIFY(store.open(freshPath()));
    const qint64 c = store.createConversation(QStringLiteral("Export me 导出"));
    store.setConversationSystemPrompt(c, std::nullopt, "Be brief.");
    const qint64 u1 = store.appendMessage(c, 0, "user", "question", "done", 3);
    store.appendMessage(c, u1, "assistant", "old answer", "done", 4);
    const qint64 a1b = store.appendMessage(c, u1, "assistant", "new answer with ```code```", "stopped", 9);
    SamplingSettings s;
    s.temperature = 0.3;
    store.setSamplingSettings(c, s);

    const QString md = store.exportMarkdown(c);
    QVERIFY(md.startsWith(QStringLiteral("# Export me 导出")));
    QVERIFY(md.contains(QStringLiteral("new answer")));
    QVERIFY(!md.contains(QStringLiteral("old answer")));  // Markdown is the branch on screen
    QVERIFY(md.contains(QStringLiteral("Be brief.")));

    const QJsonObject json = store.exportJson(c);
    QCOMPARE(json.value("messages").toArray().size(), 3);  // JSON keeps every branch
    // Through text, as a file would.
    const QJsonObject reread = QJsonDocument::fromJson(QJsonDocument(json).toJson()).object();
    ConversationStore other;
    QVERIFY(other.open(freshPath()));
    QString error;
    const qint64 imported = other.importJson(reread, &error);
    QVERIFY2(imported > 0, qPrintable(error));
    QCOMPARE(other.conversation(imported)->title, QStringLiteral("Export me 导出"));
    QCOMPARE(other.effectiveSystemPrompt(imported), QStringLiteral("Be brief."));
    QCOMPARE(other.samplingSettings(imported).temperature, 0.3);
    const auto path = other.path(other.conversation(imported)->currentLeafId);
    QCOMPARE(path.size(), 2);
    QCOMPARE(path.last().content, store.message(a1b)->content);
    QCOMPARE(path.last().state, QStringLiteral("stopped"));
    QCOMPARE(path.last().tokenCount, 9);
    QCOMPARE(other.siblings(path.last().id).size(), 2);
    // Exporting the import gives the same document, ids aside.
    QJsonObject again = other.exportJson(imported);
    QCOMPARE(again.value("title"), json.value("title"));
    QCOMPARE(again.value("sampling"), json.value("sampling"));

    // Bad input is refused with a reason and leaves nothing behind.
    const int before = other.conversations().size();
    QVERIFY(!other.importJson(QJsonObject{{"format", "something-else"}}, &error));
    QVERIFY(error.contains(QStringLiteral("format")));
    QJsonObject broken = reread;
    QJsonArray msgs = broken.value("messages").toArray();
    QJsonObject orphan = msgs.at(1).toObject();
    orphan.insert("parent", 424242);
    msgs.replace(1, orphan);
    broken.insert("messages", msgs);
    QVERIFY(!other.importJson(broken, &error));
    QVERIFY2(error.contains(QStringLiteral("424242")), qPrintable(error));
    QCOMPARE(other.conversations().size(), before);
  }

  // A child process streams into the database and is killed with SIGKILL mid-stream: the file must
  // pass integrity_check and hold every message committed before the kill.
  void sigkillWhileStreamingKeepsEveryCommittedMessage() {
    const QString path = freshPath();
    QProcess writer;
    writer.start(QStringLiteral(GLM_STREAM_WRITER), {path});
    QVERIFY(writer.waitForStarted());
    QHash<qint64, qint64> committed;  // message id -> characters committed
    QByteArray buffer;
    QElapsedTimer clock;
    clock.start();
    int lines = 0;
    while (lines < 150 && clock.elapsed() < 20000) {
      writer.waitForReadyRead(100);
      buffer += writer.readAllStandardOutput();
      int nl;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const QList<QByteArray> parts = buffer.left(nl).split(' ');
        buffer.remove(0, nl + 1);
        if (parts.size() == 3 && parts[0] == "committed") {
          committed[parts[1].toLongLong()] = parts[2].toLongLong();
          ++lines;
        }
      }
    }
    QVERIFY2(lines >= 150, "the writer did not commit enough");
    ::kill(pid_t(writer.processId()), SIGKILL);
    QVERIFY(writer.waitForFinished(5000));
    QCOMPARE(writer.exitStatus(), QProcess::CrashExit);

    ConversationStore store;
    QVERIFY2(store.open(path), qPrintable(store.lastError()));
    QCOMPARE(scalar(store, "PRAGMA integrity_check"), QStringLiteral("ok"));
    for (auto it = committed.cbegin(); it != committed.cend(); ++it) {
      const auto m = store.message(it.key());
      QVERIFY2(m.has_value(), qPrintable(QStringLiteral("message %1 is missing").arg(it.key())));
      QVERIFY2(m->content.size() >= it.value(),
               qPrintable(QStringLiteral("message %1 has %2 characters, %3 were committed")
                              .arg(it.key())
                              .arg(m->content.size())
                              .arg(it.value())));
    }
    // The FTS index is consistent with the table too (SQLite fails this statement otherwise).
    QSqlQuery q(store.database());
    QVERIFY2(q.exec("INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)"),
             qPrintable(q.lastError().text()));
  }

  void listModelsPassTheModelTester() {
    ConversationStore store;
    QVERIFY(store.open(freshPath()));
    ConversationListModel conversations(&store);
    SystemPromptListModel prompts(&store);
    MessageListModel messages(&store);
    QAbstractItemModelTester t1(&conversations, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QAbstractItemModelTester t2(&prompts, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QAbstractItemModelTester t3(&messages, QAbstractItemModelTester::FailureReportingMode::QtTest);

    const qint64 a = store.createConversation("Alpha");
    const qint64 b = store.createConversation("Beta");
    QCOMPARE(conversations.rowCount(), 2);
    const qint64 u = store.appendMessage(a, 0, "user", "needle in a haystack");
    const qint64 r1 = store.appendMessage(a, u, "assistant", "first");
    store.appendMessage(a, u, "assistant", "second");
    conversations.setSearchText("needle");
    QCOMPARE(conversations.rowCount(), 1);
    QCOMPARE(conversations.data(conversations.index(0), ConversationListModel::IdRole).toLongLong(), a);
    conversations.setSearchText("");
    QCOMPARE(conversations.rowCount(), 2);
    store.setPinned(b, true);
    QCOMPARE(conversations.rowOf(b), 0);

    messages.setConversation(a);
    QCOMPARE(messages.rowCount(), 2);
    const QModelIndex reply = messages.index(1);
    QCOMPARE(reply.data(MessageListModel::ContentRole).toString(), QStringLiteral("second"));
    QCOMPARE(reply.data(MessageListModel::BranchIndexRole).toInt(), 1);
    QCOMPARE(reply.data(MessageListModel::BranchCountRole).toInt(), 2);
    QSignalSpy dataChanged(&messages, &QAbstractItemModel::dataChanged);
    messages.updateMessage(reply.data(MessageListModel::IdRole).toLongLong(), "second, streamed", "streaming", 3);
    QCOMPARE(dataChanged.count(), 1);
    QCOMPARE(reply.data(MessageListModel::ContentRole).toString(), QStringLiteral("second, streamed"));
    store.setCurrentLeaf(a, r1);
    messages.reload();
    QCOMPARE(messages.index(1).data(MessageListModel::ContentRole).toString(), QStringLiteral("first"));

    const qint64 p = store.createSystemPrompt("Zed", "z");
    store.createSystemPrompt("Ann", "a");
    QCOMPARE(prompts.rowCount(), 2);
    QCOMPARE(prompts.rowOf(p), 1);  // sorted by name
    store.deleteSystemPrompt(p);
    QCOMPARE(prompts.rowCount(), 1);
    store.deleteConversation(b);
    QCOMPARE(conversations.rowCount(), 1);
  }
};

QTEST_GUILESS_MAIN(ConversationStoreTest)
#include "tst_conversation_store.moc"
