// EngineWorker on its QThread with the tiny fixture model on the real CPU engine: a reply streams,
// can be stopped, the second turn reuses the KV cache, a load error reaches the GUI as text, and the
// GUI thread's event loop keeps answering within 50 ms during a long prefill.
#include <QtTest>

#include "engineworker.h"
#include "queued_spy.h"

namespace {

LoadRequest tinyModel() {
  LoadRequest r;
  r.path = QStringLiteral(GLM_TINY_MODEL);
  r.backend = QStringLiteral("cpu");
  r.contextLength = 4096;
  r.threads = 2;
  return r;
}

SamplingSettings sampling(int maxTokens) {
  SamplingSettings s;
  s.temperature = 1.0;
  s.topP = 1.0;
  s.seed = 1234;
  s.maxTokens = maxTokens;
  return s;
}

}  // namespace

class EngineWorkerTest : public QObject {
  Q_OBJECT
  std::unique_ptr<EngineThread> thread_;
  EngineWorker* worker() { return thread_->worker(); }

  // A user message of about `tokens` tokens in the fixture's tokenizer.
  QString promptOfAbout(int tokens) {
    const QString sentence = QStringLiteral("The quick brown fox jumps over the lazy dog. ");
    QueuedSpy counted(worker(), &EngineWorker::tokensCounted);
    QMetaObject::invokeMethod(worker(), "countTokens", Qt::QueuedConnection, Q_ARG(quint64, 1),
                              Q_ARG(QString, sentence.repeated(20)));
    if (!QTest::qWaitFor([&] { return !counted.isEmpty(); }, 10000)) return {};
    const int per20 = std::max(1, counted.first().at(1).toInt());
    return sentence.repeated(20 * tokens / per20);
  }

  void generate(quint64 id, const QList<ChatTurn>& turns, const SamplingSettings& s) {
    QMetaObject::invokeMethod(worker(), "generate", Qt::QueuedConnection, Q_ARG(quint64, id),
                              Q_ARG(QList<ChatTurn>, turns), Q_ARG(SamplingSettings, s));
  }
  bool load(const LoadRequest& r, QString* error = nullptr) {
    QueuedSpy loaded(worker(), &EngineWorker::modelLoaded);
    QueuedSpy failed(worker(), &EngineWorker::loadFailed);
    QMetaObject::invokeMethod(worker(), "loadModel", Qt::QueuedConnection, Q_ARG(LoadRequest, r));
    if (!QTest::qWaitFor([&] { return loaded.count() + failed.count() > 0; }, 30000)) return false;
    if (!failed.isEmpty() && error) *error = failed.first().first().toString();
    return !loaded.isEmpty();
  }

 private slots:
  void init() { thread_ = std::make_unique<EngineThread>(); }
  void cleanup() { thread_.reset(); }

  void aLoadErrorReachesTheGuiAsText() {
    QString error;
    LoadRequest r = tinyModel();
    r.path = QStringLiteral("/nonexistent/glm-model");
    QVERIFY(!load(r, &error));
    QVERIFY2(error.contains(QStringLiteral("/nonexistent/glm-model")), qPrintable(error));
    QVERIFY(error.size() > 40);  // says what is wrong, not just "failed"
    QueuedSpy failed(worker(), &EngineWorker::generationFailed);
    generate(1, {{"user", "hi"}}, sampling(4));
    QVERIFY(QTest::qWaitFor([&] { return !failed.isEmpty(); }, 5000));
    QVERIFY(!failed.first().at(1).toString().isEmpty());
  }

  void loadReportsProgressBackendAndReason() {
    QueuedSpy progress(worker(), &EngineWorker::loadProgress);
    QueuedSpy loaded(worker(), &EngineWorker::modelLoaded);
    QMetaObject::invokeMethod(worker(), "loadModel", Qt::QueuedConnection, Q_ARG(LoadRequest, tinyModel()));
    QVERIFY(QTest::qWaitFor([&] { return !loaded.isEmpty(); }, 30000));
    QVERIFY(!progress.isEmpty());
    QCOMPARE(progress.last().first().toDouble(), 1.0);
    const QVariantMap info = loaded.first().first().toMap();
    QCOMPARE(info.value("backend").toString(), QStringLiteral("cpu"));
    QVERIFY(!info.value("backendReason").toString().isEmpty());
    QCOMPARE(info.value("contextLength").toInt(), 4096);
    QVERIFY(info.value("memoryBytes").toLongLong() > 0);
  }

  void aReplyStreamsInBatches() {
    QVERIFY(load(tinyModel()));
    QueuedSpy text(worker(), &EngineWorker::textGenerated);
    QueuedSpy finished(worker(), &EngineWorker::generationFinished);
    QueuedSpy failed(worker(), &EngineWorker::generationFailed);
    generate(7, {{"system", "You are terse."}, {"user", "Hello there"}}, sampling(48));
    QVERIFY(QTest::qWaitFor([&] { return finished.count() + failed.count() > 0; }, 30000));
    QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed.first().at(1).toString()));
    QCOMPARE(finished.first().at(0).toULongLong(), quint64(7));
    const int tokens = finished.first().at(2).toInt();
    QVERIFY(tokens > 0);
    QVERIFY(!text.isEmpty());
    QString all;
    for (const auto& args : text) all += args.at(1).toString();
    QVERIFY(!all.isEmpty());
    QVERIFY(text.count() <= tokens);  // batched: never more signals than tokens
    QVERIFY(finished.first().at(4).toLongLong() > tokens);  // context used: prompt + reply
  }

  void aLongPrefillCanBeCancelled() {
    QVERIFY(load(tinyModel()));
    QueuedSpy progress(worker(), &EngineWorker::prefillProgress);
    QueuedSpy finished(worker(), &EngineWorker::generationFinished);
    generate(9, {{"user", promptOfAbout(2500)}}, sampling(8));
    QVERIFY(QTest::qWaitFor([&] { return !progress.isEmpty(); }, 30000));
    worker()->requestStop();  // thread-safe, from the GUI thread
    QVERIFY(QTest::qWaitFor([&] { return !finished.isEmpty(); }, 30000));
    QCOMPARE(finished.first().at(1).toString(), QStringLiteral("cancelled"));
    QCOMPARE(finished.first().at(2).toInt(), 0);
  }

  void aStreamingReplyCanBeStopped() {
    QVERIFY(load(tinyModel()));
    // The fixture's output is random: some seeds end the reply at once. Try seeds until a reply is
    // still streaming when the first text arrives, then stop it.
    for (int seed = 1; seed <= 20; ++seed) {
      QueuedSpy text(worker(), &EngineWorker::textGenerated);
      QueuedSpy finished(worker(), &EngineWorker::generationFinished);
      SamplingSettings s = sampling(100000);
      s.seed = seed;
      generate(100 + seed, {{"user", "Tell me a very long story"}}, s);
      QVERIFY(QTest::qWaitFor([&] { return !text.isEmpty() || !finished.isEmpty(); }, 30000));
      if (!finished.isEmpty()) continue;
      worker()->requestStop();
      QVERIFY(QTest::qWaitFor([&] { return !finished.isEmpty(); }, 10000));
      if (finished.first().at(1).toString() == QLatin1String("stop")) continue;  // ended on its own first
      QCOMPARE(finished.first().at(1).toString(), QStringLiteral("cancelled"));
      QVERIFY(finished.first().at(2).toInt() > 0);
      return;
    }
    QFAIL("no seed gave a reply long enough to stop");
  }

  void theSecondTurnReusesTheKvCache() {
    QVERIFY(load(tinyModel()));
    QueuedSpy prefill(worker(), &EngineWorker::prefillFinished);
    QueuedSpy text(worker(), &EngineWorker::textGenerated);
    QueuedSpy finished(worker(), &EngineWorker::generationFinished);
    const QList<ChatTurn> first = {{"user", "What is the capital of France?"}};
    generate(1, first, sampling(16));
    QVERIFY(QTest::qWaitFor([&] { return !finished.isEmpty(); }, 30000));
    QString reply;
    for (const auto& args : text) reply += args.at(1).toString();
    const qint64 firstComputed = prefill.first().at(2).toLongLong();
    QCOMPARE(prefill.first().at(1).toLongLong(), qint64(0));  // nothing cached before
    QVERIFY(firstComputed > 5);

    QList<ChatTurn> second = first;
    second << ChatTurn{"assistant", reply} << ChatTurn{"user", "And of Germany?"};
    generate(2, second, sampling(16));
    QVERIFY(QTest::qWaitFor([&] { return finished.count() == 2; }, 30000));
    const qint64 reused = prefill.at(1).at(1).toLongLong();
    const qint64 computed = prefill.at(1).at(2).toLongLong();
    qInfo("turn 1: %lld computed; turn 2: %lld reused, %lld computed", firstComputed, reused, computed);
    QVERIFY2(reused >= firstComputed, "the first turn's prompt was not reused");
  }

  void theGuiEventLoopAnswersWithin50msDuringALongPrefill() {
    // The engine gets every core but one, as the app's automatic setting does on larger machines: the
    // measurement is about the worker-thread design, not about the OS sharing two busy cores.
    LoadRequest request = tinyModel();
    request.threads = std::max(1, QThread::idealThreadCount() - 1);
    QVERIFY(load(request));
    const QString longText = promptOfAbout(3100);
    QueuedSpy prefillProgress(worker(), &EngineWorker::prefillProgress);
    QueuedSpy prefill(worker(), &EngineWorker::prefillFinished);
    QueuedSpy finished(worker(), &EngineWorker::generationFinished);
    QueuedSpy failed(worker(), &EngineWorker::generationFailed);

    // A 5 ms timer on the GUI thread; the longest gap between its ticks is how long the event loop
    // was unable to answer.
    QElapsedTimer clock;
    qint64 last = 0, worstGap = 0;
    int ticks = 0;
    QTimer probe;
    probe.setInterval(5);
    connect(&probe, &QTimer::timeout, this, [&] {
      const qint64 t = clock.elapsed();
      worstGap = std::max(worstGap, t - last);
      last = t;
      ++ticks;
    });
    clock.start();
    probe.start();
    generate(3, {{"user", longText}}, sampling(1));
    QVERIFY(QTest::qWaitFor([&] { return !finished.isEmpty() || !failed.isEmpty(); }, 50000));
    QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed.first().at(1).toString()));
    probe.stop();
    const qint64 computed = prefill.first().at(2).toLongLong();
    const double seconds = prefill.first().at(3).toDouble();
    qInfo("prefill of %lld tokens took %.2f s; %d probe ticks; worst event-loop gap %lld ms; %lld progress signals",
          computed, seconds, ticks, worstGap, qint64(prefillProgress.count()));
    QVERIFY(computed >= 3000);
    QVERIFY(prefillProgress.count() >= 2);
    QVERIFY2(worstGap < 50, qPrintable(QStringLiteral("the GUI thread was blocked for %1 ms").arg(worstGap)));
  }
};

QTEST_GUILESS_MAIN(EngineWorkerTest)
#include "tst_engine_worker.moc"
