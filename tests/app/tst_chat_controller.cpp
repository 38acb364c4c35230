// ChatController with the tiny model: send and stream into the store, stop, regenerate and edit
// (branches you can switch between), Markdown blocks, documents against the context budget.
#include <QDir>
#include <QQmlComponent>
#include <QQmlEngine>
#include <QTemporaryDir>
#include <QtTest>

#include "chatcontroller.h"
#include "modelcatalog.h"

class ChatControllerTest : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;
  std::unique_ptr<ChatController> controller_;

  bool waitReply(int timeout = 30000) {
    QSignalSpy finished(controller_.get(), &ChatController::replyFinished);
    return QTest::qWaitFor([&] { return !finished.isEmpty(); }, timeout) || !controller_->generating();
  }

 private slots:
  void initTestCase() {
    controller_ = std::make_unique<ChatController>(dir_.path());
    QVERIFY(controller_->storeError().isEmpty());
    controller_->settings()->setBackend("cpu");
    controller_->settings()->setContextLength(2048);
    QSignalSpy ready(controller_.get(), &ChatController::modelReady);
    controller_->loadModel(QStringLiteral(GLM_TINY_MODEL));
    QCOMPARE(controller_->modelState(), QStringLiteral("loading"));
    QVERIFY(QTest::qWaitFor([&] { return !ready.isEmpty(); }, 30000));
    QCOMPARE(controller_->modelState(), QStringLiteral("ready"));
    QCOMPARE(controller_->contextLength(), 2048);
    QCOMPARE(controller_->settings()->recentModels().first(), QStringLiteral(GLM_TINY_MODEL));
  }
  void cleanupTestCase() { controller_.reset(); }

  // The settings' GPU list: "Best GPU", then the Vulkan devices by index (lavapipe in CI); the choice is
  // kept in the settings and handed to the engine with the next load.
  void gpuChoicesListTheVulkanDevices() {
    qputenv("GLMCHAT_BACKEND_DIR", GLM_BACKEND_DIR);
    const QVariantList choices = controller_->gpuDevices();
    QVERIFY(!choices.isEmpty());
    QCOMPARE(choices.first().toMap().value("value").toInt(), -1);
    if (GLM_HAS_VULKAN_BACKEND) {
      QVERIFY2(choices.size() >= 2, qPrintable(choices.first().toMap().value("label").toString()));
      const QVariantMap first = choices.at(1).toMap();
      QCOMPARE(first.value("value").toInt(), 0);
      QVERIFY2(first.value("label").toString().startsWith(QStringLiteral("0: ")), qPrintable(first.value("label").toString()));
    } else {
      QCOMPARE(choices.size(), 1);
      QVERIFY(choices.first().toMap().value("label").toString().contains(QStringLiteral("Vulkan")));
    }
    QCOMPARE(controller_->settings()->gpuDevice(), -1);
    controller_->settings()->setGpuDevice(0);
    QCOMPARE(controller_->settings()->gpuDevice(), 0);
    controller_->settings()->setGpuDevice(-1);
  }

  void sendStreamsTheReplyIntoTheStore() {
    QVERIFY(controller_->send(QStringLiteral("Hello, who are you?")));
    QVERIFY(controller_->generating());
    QVERIFY(waitReply());
    QVERIFY(!controller_->generating());
    const qint64 c = controller_->currentConversationId();
    QCOMPARE(controller_->currentTitle(), QStringLiteral("Hello, who are you?"));
    const auto path = controller_->store()->path(controller_->store()->conversation(c)->currentLeafId);
    QCOMPARE(path.size(), 2);
    QCOMPARE(path[1].role, QStringLiteral("assistant"));
    QCOMPARE(path[1].state, QStringLiteral("done"));
    QVERIFY(path[1].tokenCount > 0);
    QCOMPARE(controller_->messages()->rowCount(), 2);
    QVERIFY(controller_->contextUsed() > 0);
  }

  void regenerateAndEditMakeBranchesYouCanSwitch() {
    const qint64 c = controller_->currentConversationId();
    const auto before = controller_->messages()->messages();
    const qint64 firstReply = before.last().id;
    controller_->regenerate(firstReply);
    QVERIFY(waitReply());
    QCOMPARE(controller_->messages()->rowCount(), 2);
    QModelIndex reply = controller_->messages()->index(1);
    QCOMPARE(reply.data(MessageListModel::BranchCountRole).toInt(), 2);
    QCOMPARE(reply.data(MessageListModel::BranchIndexRole).toInt(), 1);
    controller_->switchBranch(reply.data(MessageListModel::IdRole).toLongLong(), -1);
    QCOMPARE(controller_->messages()->index(1).data(MessageListModel::IdRole).toLongLong(), firstReply);

    const qint64 userId = controller_->messages()->messages().first().id;
    controller_->editMessage(userId, QStringLiteral("Edited question"));
    QVERIFY(waitReply());
    QCOMPARE(controller_->messages()->messages().first().content, QStringLiteral("Edited question"));
    QCOMPARE(controller_->messages()->index(0).data(MessageListModel::BranchCountRole).toInt(), 2);
    controller_->switchBranch(controller_->messages()->messages().first().id, -1);
    QCOMPARE(controller_->messages()->messages().first().content, QStringLiteral("Hello, who are you?"));
    QCOMPARE(controller_->store()->messages(c).size(), 5);  // u1, a1, regenerated a1, edited u1, its reply
  }

  void stopKeepsThePartialReplyMarkedStopped() {
    // The fixture's output is random: some seeds end at once, so try seeds until one is stoppable.
    for (int seed = 1; seed <= 20; ++seed) {
      controller_->newConversation();
      SamplingSettings s;
      s.maxTokens = 100000;
      s.seed = seed;
      controller_->store()->setSamplingSettings(controller_->currentConversationId(), s);
      QVERIFY(controller_->send(QStringLiteral("Write forever")));
      QVERIFY(QTest::qWaitFor([&] { return !controller_->messages()->messages().last().content.isEmpty() ||
                                           !controller_->generating(); }, 30000));
      controller_->stop();
      QVERIFY(QTest::qWaitFor([&] { return !controller_->generating(); }, 10000));
      const StoredMessage last = controller_->messages()->messages().last();
      if (last.state == QLatin1String("done")) continue;  // it ended on its own before the stop
      QCOMPARE(last.state, QStringLiteral("stopped"));
      QVERIFY(!last.content.isEmpty());
      QCOMPARE(controller_->store()->message(last.id)->content, last.content);
      QCOMPARE(controller_->store()->message(last.id)->state, QStringLiteral("stopped"));
      return;
    }
    QFAIL("no seed gave a reply long enough to stop");
  }

  void markdownBlocksSplitOutCode() {
    const QVariantList blocks = controller_->markdownBlocks(
        QStringLiteral("Intro\n\n```python\nprint('hi')\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```\nopen"));
    QCOMPARE(blocks.size(), 4);
    QCOMPARE(blocks[0].toMap().value("kind").toString(), QStringLiteral("text"));
    QCOMPARE(blocks[1].toMap().value("language").toString(), QStringLiteral("python"));
    QCOMPARE(blocks[1].toMap().value("text").toString(), QStringLiteral("print('hi')"));
    QVERIFY(blocks[2].toMap().value("text").toString().contains(QStringLiteral("| 1 | 2 |")));
    QCOMPARE(blocks[3].toMap().value("kind").toString(), QStringLiteral("code"));  // still streaming
  }

  void aDocumentOverTheBudgetIsNeverCutSilently() {
    controller_->newConversation();
    const QString path = dir_.filePath(QStringLiteral("long.txt"));
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    for (int i = 0; i < 400; ++i) f.write(QByteArray("Paragraph ") + QByteArray::number(i) + " about nothing much.\n\n");
    f.close();
    controller_->attachDocument(QUrl::fromLocalFile(path));
    QCOMPARE(controller_->documentState(), QStringLiteral("reading"));
    QVERIFY(QTest::qWaitFor([&] { return controller_->documentState() == QLatin1String("ready"); }, 20000));
    QVERIFY(controller_->documentTokensExact());
    QVERIFY(controller_->documentTokens() > controller_->documentBudget());
    QVERIFY(controller_->documentOverBudget());

    // Without a choice nothing is sent.
    const int before = controller_->messages()->rowCount();
    controller_->useDocument("summarize", QString(), QString());
    QCOMPARE(controller_->messages()->rowCount(), before);
    QVERIFY(!controller_->lastError().isEmpty());

    // Summarize in parts: each part summarized, then the summaries combined into one question.
    controller_->useDocument("summarize", QString(), "parts");
    QCOMPARE(controller_->documentState(), QStringLiteral("summarizing"));
    QVERIFY(QTest::qWaitFor([&] { return controller_->messages()->rowCount() == 2 && !controller_->generating(); }, 50000));
    const QString sent = controller_->messages()->messages().first().content;
    QVERIFY2(sent.contains(QStringLiteral("long.txt")), qPrintable(sent.left(200)));
    QVERIFY(sent.contains(QStringLiteral("Part 1:")));
    QCOMPARE(controller_->documentState(), QString());
  }

  void anUnreadableDocumentShowsItsError() {
    controller_->attachDocument(QUrl::fromLocalFile(dir_.filePath("nope.pdf")));
    QVERIFY(QTest::qWaitFor([&] { return controller_->documentState() == QLatin1String("error"); }, 10000));
    QVERIFY(controller_->documentError().contains(QStringLiteral("nope.pdf")));
    controller_->clearDocument();
  }

  void theLanguageSwitchesWhileRunning() {
    QQmlEngine engine;
    controller_->setQmlEngine(&engine);
    QQmlComponent component(&engine);
    component.setData("import QtQml\nQtObject { property string label: qsTr(\"Settings\") }",
                      QUrl(QStringLiteral("file:///app/SettingsDialog.qml")));  // the .ts context is the file name
    std::unique_ptr<QObject> object(component.create());
    QVERIFY2(object, qPrintable(component.errorString()));
    controller_->setLanguage(QStringLiteral("en"));
    QCOMPARE(object->property("label").toString(), QStringLiteral("Settings"));
    controller_->setLanguage(QStringLiteral("zh_CN"));
    QCOMPARE(object->property("label").toString(), QStringLiteral("设置"));
    QCOMPARE(controller_->settings()->language(), QStringLiteral("zh_CN"));
    controller_->setLanguage(QStringLiteral("en"));
    QCOMPARE(object->property("label").toString(), QStringLiteral("Settings"));
    controller_->setQmlEngine(nullptr);
  }

  void deleteCanBeUndone() {
    const qint64 c = controller_->currentConversationId();
    const int count = controller_->conversations()->rowCount();
    controller_->deleteConversation(c);
    QCOMPARE(controller_->conversations()->rowCount(), count - 1);
    QCOMPARE(controller_->deletedConversationId(), c);
    controller_->undoDelete();
    QCOMPARE(controller_->conversations()->rowCount(), count);
    QCOMPARE(controller_->currentConversationId(), c);
  }

  // The weight format: the picker lists the memory of every format at the chosen context, the chosen one
  // drives its "needs" figure, and a reload quantizes the model (and caches it) through the engine.
  void weightFormatChoiceReachesThePickerAndTheEngine() {
    qputenv("GLMCHAT_CACHE_DIR", dir_.filePath(QStringLiteral("cache")).toUtf8());
    ModelCatalog* catalog = controller_->modelCatalog();
    const FoundModel tiny = inspectModelFolder(QStringLiteral(GLM_TINY_MODEL));
    QVERIFY2(tiny.error.isEmpty(), qPrintable(tiny.error));
    const QString byFormat = catalog->memoryByWeightsText(tiny);
    for (const char* f : {"bf16 ", "int8 ", "int4 ", "int4-g128 "}) QVERIFY2(byFormat.contains(QLatin1String(f)), qPrintable(byFormat));
    QVERIFY(tiny.weightBytesByFormat.value("int8") < tiny.weightBytesByFormat.value("bf16"));
    QVERIFY(tiny.weightBytesByFormat.value("int4") < tiny.weightBytesByFormat.value("int8"));
    const QString bf16Memory = catalog->memoryText(QStringLiteral(GLM_TINY_MODEL));
    controller_->settings()->setWeights(QStringLiteral("int4"));
    QCOMPARE(catalog->weights(), QStringLiteral("int4"));
    QVERIFY2(catalog->memoryText(QStringLiteral(GLM_TINY_MODEL)) != bf16Memory, qPrintable(bf16Memory));

    controller_->settings()->setWeights(QStringLiteral("int8"));
    QSignalSpy ready(controller_.get(), &ChatController::modelReady);
    controller_->reloadModel();
    QVERIFY(QTest::qWaitFor([&] { return !ready.isEmpty(); }, 30000));
    QCOMPARE(controller_->modelState(), QStringLiteral("ready"));
    const QStringList cached = QDir(dir_.filePath(QStringLiteral("cache/quantized"))).entryList({QStringLiteral("*-int8.glmq")});
    QCOMPARE(cached.size(), 1);
    controller_->settings()->setWeights(QStringLiteral("bf16"));
    QSignalSpy readyAgain(controller_.get(), &ChatController::modelReady);
    controller_->reloadModel();
    QVERIFY(QTest::qWaitFor([&] { return !readyAgain.isEmpty(); }, 30000));
    QCOMPARE(controller_->modelState(), QStringLiteral("ready"));
  }

  // The KV cache type: the picker lists the memory of every type, the chosen one drives its "needs" figure,
  // and a reload opens the model with that cache (the engine reports it back).
  void kvCacheChoiceReachesThePickerAndTheEngine() {
    ModelCatalog* catalog = controller_->modelCatalog();
    const FoundModel tiny = inspectModelFolder(QStringLiteral(GLM_TINY_MODEL));
    QVERIFY2(tiny.error.isEmpty(), qPrintable(tiny.error));
    const QString byType = catalog->memoryByKvCacheText(tiny);
    for (const char* t : {"f32 ", "bf16 ", "int8 "}) QVERIFY2(byType.contains(QLatin1String(t)), qPrintable(byType));
    QVERIFY(tiny.kvBytesPerTokenByType.value("int8") < tiny.kvBytesPerTokenByType.value("bf16"));
    QVERIFY(tiny.kvBytesPerTokenByType.value("bf16") < tiny.kvBytesPerTokenByType.value("f32"));
    const QString before = catalog->memoryText(QStringLiteral(GLM_TINY_MODEL));
    controller_->settings()->setKvCache(QStringLiteral("f32"));
    QCOMPARE(catalog->kvCache(), QStringLiteral("f32"));
    QVERIFY2(catalog->memoryText(QStringLiteral(GLM_TINY_MODEL)) != before, qPrintable(before));

    controller_->settings()->setKvCache(QStringLiteral("int8"));
    QSignalSpy ready(controller_.get(), &ChatController::modelReady);
    controller_->reloadModel();
    QVERIFY(QTest::qWaitFor([&] { return !ready.isEmpty(); }, 30000));
    QCOMPARE(controller_->modelState(), QStringLiteral("ready"));
    QCOMPARE(controller_->modelKvCache(), QStringLiteral("int8"));
    controller_->settings()->setKvCache(QStringLiteral("bf16"));
  }
};

QTEST_MAIN(ChatControllerTest)
#include "tst_chat_controller.moc"
