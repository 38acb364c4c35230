// EngineWorker: the one object that owns the loaded model. It lives on its own QThread; the GUI
// talks to it only through queued signals and slots (and requestStop(), an atomic flag, because a
// busy worker cannot process a queued call until the current request ends).
//
// Token text is batched: at most one textGenerated signal every kBatchMs, so the GUI thread is never
// flooded however fast the model runs.
#pragma once
#include <QElapsedTimer>
#include <QObject>
#include <QString>
#include <QThread>
#include <QVariantMap>
#include <QMutex>
#include <QStringList>
#include <QVariantList>
#include <atomic>
#include <memory>

#include "conversationstore.h"

namespace glm {
class Model;
class Session;
}  // namespace glm

struct ChatTurn {
  QString role;  // "system", "user", "assistant", "observation"
  QString content;
  QString metadata;  // GLM-4: after the role token (an assistant turn's tool call: the tool name)
};

struct LoadRequest {
  QString path;
  QString backend = QStringLiteral("auto");  // auto, cpu, cuda, vulkan
  int contextLength = 0;                     // 0: the engine's default
  int threads = 0;                           // 0: all cores
  int gpuDevice = -1;                        // Vulkan device index; -1: the best GPU
  QString weights = QStringLiteral("bf16");  // bf16, int8, int4, int4-g128 (quantized on load, cached)
  QString kvCache = QStringLiteral("bf16");  // f32, bf16, int8 (GPU backends store f32 as bf16)
};

class EngineWorker : public QObject {
  Q_OBJECT
 public:
  static constexpr int kBatchMs = 30;
  explicit EngineWorker(QObject* parent = nullptr);
  ~EngineWorker() override;

  // Thread-safe: asks the running load, prefill or generation to stop at the next token or chunk.
  void requestStop() { stopRequested_.store(true); }

  // Test engine (thread-safe): while replies are queued, generate() renders the real prompt (tools
  // included) and then "generates" the next queued text instead of sampling, so the chat loop runs
  // through the real template and parser with scripted model output.
  void queueScriptedReplies(const QStringList& replies);
  QString lastRenderedPrompt() const;  // the decoded prompt of the last generate()

 public slots:
  void loadModel(const LoadRequest& request);
  void unloadModel();
  // Renders the conversation with the model's chat format, prefills (reusing the cached prefix) and
  // streams the reply.
  void generate(quint64 requestId, const QList<ChatTurn>& turns, const SamplingSettings& sampling);
  // The same, with tools offered in the system turn ({name, description, parameters: JSON text});
  // the finished reply is parsed (replyParsed) before generationFinished.
  void generateWithTools(quint64 requestId, const QList<ChatTurn>& turns, const QVariantList& tools,
                         const SamplingSettings& sampling);
  // Counts the tokens of a text (a document) without touching the KV cache.
  void countTokens(quint64 requestId, const QString& text);

 signals:
  void loadProgress(double fraction);
  // info: name, path, backend, backendReason, contextLength, parameterCount, memoryBytes, family
  void modelLoaded(const QVariantMap& info);
  void loadFailed(const QString& message);
  void prefillProgress(quint64 requestId, qint64 done, qint64 total, double secondsLeft);
  void prefillFinished(quint64 requestId, qint64 reusedTokens, qint64 computedTokens, double seconds);
  void textGenerated(quint64 requestId, const QString& text, int tokensSoFar);
  // reason: "stop" (end of turn), "length" (max tokens or context full), "cancelled"
  void generationFinished(quint64 requestId, const QString& reason, int tokens, double tokensPerSecond,
                          qint64 contextUsed);
  void generationFailed(quint64 requestId, const QString& message);
  void tokensCounted(quint64 requestId, int count);
  // The reply parsed by the model's chat format: toolCalls as [{name, arguments}], parseError when
  // it looked like a call but was malformed. Emitted just before generationFinished when tools were offered.
  void replyParsed(quint64 requestId, const QVariantList& toolCalls, const QString& parseError);

 private:
  std::unique_ptr<glm::Model> model_;
  std::unique_ptr<glm::Session> session_;
  std::atomic<bool> stopRequested_{false};
  mutable QMutex scriptMutex_;
  QStringList scriptedReplies_;
  QString lastRenderedPrompt_;
};

// Owns the worker's thread; deleting it stops the thread after the current request.
class EngineThread : public QObject {
  Q_OBJECT
 public:
  explicit EngineThread(QObject* parent = nullptr);
  ~EngineThread() override;
  EngineWorker* worker() const { return worker_; }

 private:
  QThread thread_;
  EngineWorker* worker_;
};

Q_DECLARE_METATYPE(ChatTurn)
Q_DECLARE_METATYPE(LoadRequest)
Q_DECLARE_METATYPE(SamplingSettings)
