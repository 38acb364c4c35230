#include "engineworker.h"

#include <QThread>
#include <algorithm>

#include <QDir>
#include <QRandomGenerator>
#include <algorithm>
#include <vector>

#include "glmengine/model.h"

namespace {

glm::Role roleOf(const QString& role) {
  if (role == QLatin1String("system")) return glm::Role::System;
  if (role == QLatin1String("assistant")) return glm::Role::Assistant;
  if (role == QLatin1String("observation")) return glm::Role::Observation;
  return glm::Role::User;
}

QString fromStd(const std::string& s) { return QString::fromUtf8(s.data(), qsizetype(s.size())); }

}  // namespace

EngineWorker::EngineWorker(QObject* parent) : QObject(parent) {
  qRegisterMetaType<ChatTurn>();
  qRegisterMetaType<QList<ChatTurn>>();
  qRegisterMetaType<LoadRequest>();
  qRegisterMetaType<SamplingSettings>();
}

EngineWorker::~EngineWorker() = default;

void EngineWorker::loadModel(const LoadRequest& request) {
  stopRequested_.store(false);
  session_.reset();
  model_.reset();
  glm::LoadOptions options;
  options.path = std::filesystem::path(QDir::toNativeSeparators(request.path).toStdString());
  options.contextLength = request.contextLength;
  options.gpuDevice = request.gpuDevice;
  // 0 = automatic: every core but one when there are four or more, so the GUI thread (and the rest of
  // the desktop) always has a core to answer on; on smaller machines every core.
  const int cores = std::max(1, QThread::idealThreadCount());
  options.threads = request.threads > 0 ? request.threads : (cores >= 4 ? cores - 1 : cores);
  QElapsedTimer sinceEmit;
  sinceEmit.start();
  try {
    options.backend = glm::parseBackendKind(request.backend.toLower().toStdString());
    options.weights = glm::parseWeightFormat(request.weights.toLower().toStdString());
    options.kvCacheType = glm::parseKvCacheType(request.kvCache.toLower().toStdString());
    // The context the user chose applies to every model; a model trained for fewer positions gets
    // its own maximum instead of an error.
    if (options.contextLength > 0 && std::filesystem::exists(options.path / "config.json")) {
      const int64_t maximum = glm::parseConfigFile(options.path / "config.json").maxPositions;
      if (maximum > 0 && options.contextLength > maximum) options.contextLength = maximum;
    }
    auto progress = [&](int64_t done, int64_t total) {
      if (total > 0 && (sinceEmit.elapsed() >= kBatchMs || done == total)) {
        emit loadProgress(double(done) / double(total));
        sinceEmit.restart();
      }
      return !stopRequested_.load();
    };
    model_ = glm::Model::load(options, progress);
    if (!model_->hasTokenizer()) throw glm::Error("the model folder has no tokenizer (tokenizer.model or tokenizer.json)");
    session_ = model_->newSession();
  } catch (const glm::Cancelled&) {
    model_.reset();
    emit loadFailed(tr("Loading was cancelled."));
    return;
  } catch (const std::exception& e) {
    model_.reset();
    session_.reset();
    emit loadFailed(tr("Could not load the model from %1: %2").arg(request.path, fromStd(e.what())));
    return;
  }
  const glm::ModelInfo& info = model_->info();
  emit loadProgress(1.0);
  emit modelLoaded(QVariantMap{{"name", QDir(request.path).dirName()},
                               {"path", request.path},
                               {"backend", fromStd(info.backend)},
                               {"backendReason", fromStd(info.backendReason)},
                               {"contextLength", qint64(info.contextLength)},
                               {"parameterCount", qint64(info.parameterCount)},
                               {"memoryBytes", qint64(info.memory.total())},
                               {"weights", fromStd(std::string(glm::weightFormatName(info.weights)))},
                               {"kvCache", fromStd(std::string(glm::kvCacheName(info.kvCacheType)))},
                               {"family", fromStd(std::string(glm::familyName(info.config.family)))}});
}

void EngineWorker::unloadModel() {
  session_.reset();
  model_.reset();
}

void EngineWorker::countTokens(quint64 requestId, const QString& text) {
  if (!model_) {
    emit tokensCounted(requestId, -1);
    return;
  }
  const QByteArray utf8 = text.toUtf8();
  emit tokensCounted(requestId, int(model_->tokenizer().encode(std::string_view(utf8.data(), utf8.size())).size()));
}

void EngineWorker::queueScriptedReplies(const QStringList& replies) {
  QMutexLocker lock(&scriptMutex_);
  scriptedReplies_ += replies;
}

QString EngineWorker::lastRenderedPrompt() const {
  QMutexLocker lock(&scriptMutex_);
  return lastRenderedPrompt_;
}

void EngineWorker::generate(quint64 requestId, const QList<ChatTurn>& turns, const SamplingSettings& sampling) {
  generateWithTools(requestId, turns, {}, sampling);
}

void EngineWorker::generateWithTools(quint64 requestId, const QList<ChatTurn>& turns, const QVariantList& toolList,
                                     const SamplingSettings& sampling) {
  stopRequested_.store(false);
  if (!model_ || !session_) {
    emit generationFailed(requestId, tr("No model is loaded."));
    return;
  }
  try {
    std::vector<glm::ChatMessage> messages;
    messages.reserve(turns.size());
    for (const ChatTurn& t : turns) {
      if (t.role == QLatin1String("system") && t.content.trimmed().isEmpty()) continue;
      messages.push_back({roleOf(t.role), t.content.toStdString(), t.metadata.toStdString()});
    }
    std::vector<glm::ToolSpec> tools;
    for (const QVariant& v : toolList) {
      const QVariantMap m = v.toMap();
      tools.push_back({m.value("name").toString().toStdString(), m.value("description").toString().toStdString(),
                       m.value("parameters", QStringLiteral("{}")).toString().toStdString()});
    }
    const std::vector<int32_t> prompt = model_->chatFormat().render(messages, tools);
    QString scripted;
    bool hasScript = false;
    {
      QMutexLocker lock(&scriptMutex_);
      lastRenderedPrompt_ = fromStd(model_->tokenizer().decode(prompt));
      if (!scriptedReplies_.isEmpty()) {
        scripted = scriptedReplies_.takeFirst();
        hasScript = true;
      }
    }
    auto emitParsed = [&](const std::string& text) {
      if (tools.empty()) return;
      const glm::AssistantReply reply = model_->chatFormat().parseReply(text, tools);
      QVariantList calls;
      for (const glm::ToolCall& c : reply.toolCalls)
        calls << QVariantMap{{"name", fromStd(c.name)}, {"arguments", fromStd(c.argumentsJson)}};
      emit replyParsed(requestId, calls, fromStd(reply.parseError));
    };
    if (hasScript) {
      const int tokens = int(model_->tokenizer().encode(scripted.toStdString()).size());
      emit textGenerated(requestId, scripted, tokens);
      emitParsed(scripted.toStdString());
      emit generationFinished(requestId, QStringLiteral("stop"), tokens, 0.0, qint64(prompt.size()) + tokens);
      return;
    }
    const int64_t context = session_->contextLength();
    if (int64_t(prompt.size()) >= context) {
      emit generationFailed(requestId, tr("The conversation needs %1 tokens, more than the context of %2 tokens. "
                                          "Start a new conversation or load the model with a longer context.")
                                           .arg(prompt.size())
                                           .arg(context));
      return;
    }

    // Prefill: progress at most every kBatchMs, with an estimate of the time left.
    QElapsedTimer prefillClock, sinceEmit;
    prefillClock.start();
    sinceEmit.start();
    auto progress = [&](int64_t done, int64_t total) {
      if (sinceEmit.elapsed() >= kBatchMs || done == total) {
        const double elapsed = prefillClock.elapsed() / 1000.0;
        const double left = done > 0 ? elapsed / double(done) * double(total - done) : -1.0;
        emit prefillProgress(requestId, done, total, left);
        sinceEmit.restart();
      }
      return !stopRequested_.load();
    };
    glm::PrefillStats stats;
    try {
      stats = session_->prefill(prompt, progress);
    } catch (const glm::Cancelled&) {
      emit generationFinished(requestId, QStringLiteral("cancelled"), 0, 0.0, qint64(session_->tokens().size()));
      return;
    }
    emit prefillFinished(requestId, stats.reusedTokens, stats.computedTokens, prefillClock.elapsed() / 1000.0);

    glm::SamplingParams params;
    params.temperature = float(sampling.temperature);
    params.topP = float(sampling.topP);
    params.topK = sampling.topK;
    params.minP = float(sampling.minP);
    params.repetitionPenalty = float(sampling.repetitionPenalty);
    params.seed = sampling.seed != 0 ? quint64(sampling.seed) : QRandomGenerator::global()->generate64();
    glm::Sampler sampler(params);
    const std::vector<int32_t> stops = model_->chatFormat().stopTokens();
    glm::StreamingDecoder decoder(model_->tokenizer());

    QElapsedTimer decodeClock;
    decodeClock.start();
    sinceEmit.restart();
    std::string pending;
    int generated = 0;
    QString reason = QStringLiteral("length");
    const int maxTokens = sampling.maxTokens > 0 ? sampling.maxTokens : INT32_MAX;
    while (generated < maxTokens && int64_t(session_->tokens().size()) < context) {
      if (stopRequested_.load()) {
        reason = QStringLiteral("cancelled");
        break;
      }
      const int32_t token = session_->sample(sampler);
      if (std::find(stops.begin(), stops.end(), token) != stops.end()) {
        reason = QStringLiteral("stop");
        break;
      }
      ++generated;
      pending += decoder.push(token);
      // The token goes into the cache now, so the next turn's prefill can reuse the whole reply.
      session_->append(token);
      if (sinceEmit.elapsed() >= kBatchMs && !pending.empty()) {
        emit textGenerated(requestId, fromStd(pending), generated);
        pending.clear();
        sinceEmit.restart();
      }
    }
    pending += decoder.flush();
    if (!pending.empty()) emit textGenerated(requestId, fromStd(pending), generated);
    if (!tools.empty()) {
      const std::vector<int32_t>& all = session_->tokens();
      const size_t replyStart = std::min(all.size(), prompt.size());
      emitParsed(model_->tokenizer().decode(std::span<const int32_t>(all).subspan(replyStart)));
    }
    const double seconds = decodeClock.elapsed() / 1000.0;
    emit generationFinished(requestId, reason, generated, seconds > 0 ? generated / seconds : 0.0,
                            qint64(session_->tokens().size()));
  } catch (const std::exception& e) {
    emit generationFailed(requestId, tr("Generation failed: %1").arg(fromStd(e.what())));
  }
}

// ---- EngineThread ----

EngineThread::EngineThread(QObject* parent) : QObject(parent), worker_(new EngineWorker) {
  thread_.setObjectName(QStringLiteral("EngineWorker"));
  worker_->moveToThread(&thread_);
  connect(&thread_, &QThread::finished, worker_, &QObject::deleteLater);
  thread_.start();
}

EngineThread::~EngineThread() {
  worker_->requestStop();
  thread_.quit();
  thread_.wait();
}
