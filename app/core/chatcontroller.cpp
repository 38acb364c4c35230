#include "chatcontroller.h"

#include "glmengine/model.h"

#include <QClipboard>
#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QGuiApplication>
#include <QJsonDocument>
#include <QLocale>
#include <QPalette>
#include <QQmlEngine>
#include <QRegularExpression>
#include <QStandardPaths>
#include <QtConcurrent/QtConcurrentRun>

namespace {

ChatController* g_instance = nullptr;
QTranslator* g_translator = nullptr;

// Streaming text is written to the database at most this often (and when the reply ends).
constexpr int kSaveEveryMs = 500;
// Tokens kept free for the reply when a document is checked against the context.
constexpr int kReplyReserve = 1024;
// Longest message text rendered in full; longer ones (documents) are shown shortened.
constexpr int kMaxRenderedChars = 6000;

QString defaultTitle() { return QCoreApplication::translate("ChatController", "New conversation"); }

QString titleFrom(const QString& text) {
  QString t = text.simplified();
  if (t.size() > 48) t = t.left(47) + QChar(0x2026);
  return t;
}

}  // namespace

ChatController::ChatController(const QString& dataDirectory, QObject* parent)
    : QObject(parent), engineThread_(std::make_unique<EngineThread>()) {
  const QString dir =
      dataDirectory.isEmpty() ? QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) : dataDirectory;
  QDir().mkpath(dir);
  settings_ = new AppSettings(dir + QStringLiteral("/settings.ini"), this);
  if (!store_.open(dir + QStringLiteral("/conversations.sqlite"))) storeError_ = store_.lastError();
  else store_.purgeDeleted();  // deletions not undone before the app closed are final
  if (store_.isOpen()) {
    toolHost_ = new ToolHost(&store_, dir + QStringLiteral("/logs"), this);
    connect(toolHost_, &ToolHost::callFinished, this, &ChatController::onToolFinished);
  }
  conversations_ = new ConversationListModel(&store_, this);
  messages_ = new MessageListModel(&store_, this);
  systemPrompts_ = new SystemPromptListModel(&store_, this);
  modelCatalog_ = new ModelCatalog(this);
  modelCatalog_->setContextLength(settings_->contextLength());
  modelCatalog_->setWeights(settings_->weights());
  modelCatalog_->setKvCache(settings_->kvCache());
  connect(settings_, &AppSettings::changed, this,
          [this] {
            modelCatalog_->setContextLength(settings_->contextLength());
            modelCatalog_->setWeights(settings_->weights());
            modelCatalog_->setKvCache(settings_->kvCache());
          });
  connect(&store_, &ConversationStore::conversationsChanged, this, &ChatController::currentConversationChanged);

  EngineWorker* w = worker();
  connect(w, &EngineWorker::loadProgress, this, [this](double f) {
    loadProgress_ = f;
    emit loadProgressChanged();
  });
  connect(w, &EngineWorker::modelLoaded, this, [this](const QVariantMap& info) {
    modelInfo_ = info;
    modelState_ = QStringLiteral("ready");
    setError({});
    emit modelChanged();
    emit modelReady();
    if (!document_.text.isEmpty() && !documentTokensExact_) {
      countRequestId_ = nextRequestId_++;
      QMetaObject::invokeMethod(worker(), "countTokens", Qt::QueuedConnection, Q_ARG(quint64, countRequestId_),
                                Q_ARG(QString, document_.text));
    }
  });
  connect(w, &EngineWorker::loadFailed, this, [this](const QString& message) {
    modelInfo_.clear();
    modelState_ = QStringLiteral("error");
    setError(message);
    emit modelChanged();
  });
  connect(w, &EngineWorker::prefillProgress, this, [this](quint64 id, qint64 done, qint64 total, double left) {
    if (id != activeRequestId_) return;
    prefilling_ = done < total;
    prefillFraction_ = total > 0 ? double(done) / double(total) : 0.0;
    prefillSecondsLeft_ = left;
    emit prefillChanged();
  });
  connect(w, &EngineWorker::prefillFinished, this, [this](quint64 id, qint64 reused, qint64 computed, double) {
    if (id != activeRequestId_) return;
    prefilling_ = false;
    reusedTokens_ = int(reused);
    computedTokens_ = int(computed);
    emit prefillChanged();
    emit statsChanged();
  });
  connect(w, &EngineWorker::textGenerated, this, &ChatController::onText);
  connect(w, &EngineWorker::replyParsed, this, [this](quint64 id, const QVariantList& calls, const QString& error) {
    if (id != activeRequestId_) return;
    parsedRequestId_ = id;
    parsedCalls_ = calls;
    parseError_ = error;
  });
  connect(w, &EngineWorker::generationFinished, this, &ChatController::onFinished);
  connect(w, &EngineWorker::generationFailed, this, &ChatController::onFailed);
  connect(w, &EngineWorker::tokensCounted, this, [this](quint64 id, int count) {
    if (id != countRequestId_ || count < 0) return;
    documentTokens_ = count;
    documentTokensExact_ = true;
    if (documentState_ == QLatin1String("counting")) documentState_ = QStringLiteral("ready");
    emit documentChanged();
  });
  connect(&documentWatcher_, &QFutureWatcher<ExtractedDocument>::finished, this, [this] {
    document_ = documentWatcher_.result();
    if (!document_.ok()) {
      setDocumentState(QStringLiteral("error"));
      return;
    }
    // An estimate at once (about 3 characters a token for mixed text), the exact count when the
    // worker has counted.
    documentTokens_ = int(document_.text.size() / 3);
    documentTokensExact_ = false;
    if (modelState_ == QLatin1String("ready")) {
      countRequestId_ = nextRequestId_++;
      QMetaObject::invokeMethod(worker(), "countTokens", Qt::QueuedConnection, Q_ARG(quint64, countRequestId_),
                                Q_ARG(QString, document_.text));
      setDocumentState(QStringLiteral("counting"));
    } else {
      setDocumentState(QStringLiteral("ready"));
    }
  });

  const QList<StoredConversation> existing = store_.conversations();
  if (!existing.isEmpty()) selectConversation(existing.first().id);
  modelCatalog_->refresh(settings_->recentModels());
}

ChatController::~ChatController() {
  if (generating_) {
    worker()->requestStop();
    saveStreaming(true);
  }
  engineThread_.reset();  // joins the worker thread before the store closes
  if (g_instance == this) g_instance = nullptr;
}

void ChatController::registerQmlSingleton() {
  g_instance = this;
  qmlRegisterSingletonInstance("GlmChatCore", 1, 0, "ChatController", this);
}

bool ChatController::installTranslation(const QString& code) {
  const QString language = code.isEmpty() ? QLocale::system().name() : code;
  if (g_translator) {
    QCoreApplication::removeTranslator(g_translator);
    delete g_translator;
    g_translator = nullptr;
  }
  auto* t = new QTranslator;
  if (!t->load(QStringLiteral(":/i18n/glmchat_%1").arg(language)) &&
      !t->load(QStringLiteral(":/i18n/glmchat_%1").arg(language.section(QLatin1Char('_'), 0, 0)))) {
    delete t;
    return false;
  }
  QCoreApplication::installTranslator(t);
  g_translator = t;
  return true;
}

void ChatController::setLanguage(const QString& code) {
  settings_->setLanguage(code);
  installTranslation(code);
  if (qmlEngine_) qmlEngine_->retranslate();
}

bool ChatController::systemIsDark() const {
  const QColor window = QGuiApplication::palette().color(QPalette::Window);
  return window.lightness() < 128;
}

void ChatController::setError(const QString& message) {
  if (message == lastError_) return;
  lastError_ = message;
  emit lastErrorChanged();
}

// ---- conversations ----

QString ChatController::currentTitle() const {
  const auto c = store_.conversation(currentConversationId_);
  return c ? c->title : QString();
}

qint64 ChatController::conversationSystemPromptId() const {
  const auto c = store_.conversation(currentConversationId_);
  return c && c->systemPromptId ? *c->systemPromptId : 0;
}

QString ChatController::conversationSystemPromptOverride() const {
  const auto c = store_.conversation(currentConversationId_);
  return c ? c->systemPromptOverride : QString();
}

qint64 ChatController::newConversation() {
  // An empty conversation on screen is reused rather than piling up empty ones.
  if (currentConversationId_ && messages_->rowCount() == 0 && store_.conversation(currentConversationId_))
    return currentConversationId_;
  const qint64 id = store_.createConversation(defaultTitle());
  if (id) selectConversation(id);
  return id;
}

void ChatController::selectConversation(qint64 id) {
  currentConversationId_ = id;
  messages_->setConversation(id);
  emit currentConversationChanged();
}

void ChatController::renameConversation(qint64 id, const QString& title) {
  if (!title.trimmed().isEmpty()) store_.renameConversation(id, title.trimmed());
}

void ChatController::deleteConversation(qint64 id) {
  if (generating_ && activeConversationId_ == id) stop();
  if (!store_.deleteConversation(id)) return;
  deletedConversationId_ = id;
  emit deletedConversationChanged();
  if (id == currentConversationId_) {
    const QList<StoredConversation> rest = store_.conversations();
    selectConversation(rest.isEmpty() ? 0 : rest.first().id);
  }
}

void ChatController::undoDelete() {
  if (!deletedConversationId_) return;
  const qint64 id = deletedConversationId_;
  store_.undoDelete(id);
  deletedConversationId_ = 0;
  emit deletedConversationChanged();
  selectConversation(id);
}

void ChatController::setPinned(qint64 id, bool pinned) { store_.setPinned(id, pinned); }

bool ChatController::exportConversation(qint64 id, const QUrl& file) {
  const QString path = file.isLocalFile() ? file.toLocalFile() : file.toString();
  QFile out(path);
  if (!out.open(QIODevice::WriteOnly | QIODevice::Truncate)) {
    setError(tr("Cannot write %1: %2").arg(path, out.errorString()));
    return false;
  }
  if (path.endsWith(QStringLiteral(".json"), Qt::CaseInsensitive))
    out.write(QJsonDocument(store_.exportJson(id)).toJson(QJsonDocument::Indented));
  else
    out.write(store_.exportMarkdown(id).toUtf8());
  return true;
}

bool ChatController::importConversation(const QUrl& file) {
  const QString path = file.isLocalFile() ? file.toLocalFile() : file.toString();
  QFile in(path);
  if (!in.open(QIODevice::ReadOnly)) {
    setError(tr("Cannot read %1: %2").arg(path, in.errorString()));
    return false;
  }
  QJsonParseError parseError;
  const QJsonDocument doc = QJsonDocument::fromJson(in.readAll(), &parseError);
  if (!doc.isObject()) {
    setError(tr("%1 is not valid JSON: %2").arg(path, parseError.errorString()));
    return false;
  }
  QString error;
  const qint64 id = store_.importJson(doc.object(), &error);
  if (!id) {
    setError(tr("Cannot import %1: %2").arg(path, error));
    return false;
  }
  selectConversation(id);
  return true;
}

// ---- messages ----

qint64 ChatController::leafOfCurrent() const {
  const auto& rows = messages_->messages();
  return rows.isEmpty() ? 0 : rows.last().id;
}

bool ChatController::send(const QString& text) {
  const QString content = text.trimmed();
  if (content.isEmpty() || generating_) return false;
  if (modelState_ != QLatin1String("ready")) {
    setError(tr("Load a model first."));
    return false;
  }
  if (!currentConversationId_ || !store_.conversation(currentConversationId_)) newConversation();
  if (!currentConversationId_) return false;
  if (currentTitle() == defaultTitle() && messages_->rowCount() == 0) {
    // Documents start with a header line; a title from the question reads better.
    const QString firstLine = content.section(QLatin1Char('\n'), 0, 0);
    store_.renameConversation(currentConversationId_, titleFrom(firstLine));
  }
  const qint64 userId = store_.appendMessage(currentConversationId_, leafOfCurrent(), QStringLiteral("user"), content);
  if (!userId) {
    setError(store_.lastError());
    return false;
  }
  messages_->reload();
  startReply(userId);
  return true;
}

void ChatController::startReply(qint64 userMessageId) {
  const qint64 assistantId = store_.appendMessage(currentConversationId_, userMessageId, QStringLiteral("assistant"),
                                                  QString(), QStringLiteral("streaming"));
  if (!assistantId) {
    setError(store_.lastError());
    return;
  }
  activeMessageId_ = assistantId;
  activeConversationId_ = currentConversationId_;
  activeText_.clear();
  activeTokens_ = 0;
  toolRounds_ = 0;
  messages_->reload();
  continueReply(userMessageId, true);
}

QList<ChatTurn> ChatController::turnsTo(qint64 leafId) const {
  QList<ChatTurn> turns;
  const QString system = store_.effectiveSystemPrompt(activeConversationId_);
  if (!system.trimmed().isEmpty()) turns << ChatTurn{QStringLiteral("system"), system, {}};
  for (const StoredMessage& m : store_.path(leafId)) {
    if (m.role == QLatin1String("assistant") && m.content.isEmpty()) continue;
    if (m.role == QLatin1String("assistant") && !m.metadata.isEmpty()) {
      // A tool call goes back as GLM-4 wrote it: <|assistant|>name\n{arguments}.
      const QString body = m.content.startsWith(QLatin1Char('\n')) ? m.content.mid(1) : m.content;
      turns << ChatTurn{m.role, body.section(QLatin1Char('\n'), 1), body.section(QLatin1Char('\n'), 0, 0)};
      continue;
    }
    turns << ChatTurn{m.role, m.content, {}};
  }
  return turns;
}

// Starts (or, after an observation, resumes) the reply to the path ending at leafId. Tools are
// offered when the conversation enables plugins; their MCP servers are started first.
void ChatController::continueReply(qint64 leafId, bool offerTools) {
  const QList<ChatTurn> turns = turnsTo(leafId);
  toolsOffered_ = false;
  if (!offerTools || !toolHost_ || toolHost_->enabledPlugins(activeConversationId_).isEmpty()) {
    startRequest(Purpose::Reply, turns);
    return;
  }
  generating_ = true;
  preparingTools_ = true;
  emit generatingChanged();
  const quint64 waitingFor = nextRequestId_;
  const qint64 messageId = activeMessageId_;
  toolHost_->prepare(activeConversationId_, this, [this, turns, waitingFor, messageId] {
    if (!preparingTools_ || activeMessageId_ != messageId || nextRequestId_ != waitingFor) return;  // stopped meanwhile
    preparingTools_ = false;
    QVariantList tools;
    for (const ToolInfo& t : toolHost_->tools(activeConversationId_))
      tools << QVariantMap{{"name", t.name}, {"description", t.description}, {"parameters", t.parametersJson}};
    toolsOffered_ = !tools.isEmpty();
    startRequest(Purpose::Reply, turns, tools);
  });
}

QString ChatController::messageMetadata(qint64 messageId) const {
  const auto m = store_.message(messageId);
  return m ? m->metadata : QString();
}

bool ChatController::handleToolCall() {
  if (!toolsOffered_ || !toolHost_ || parsedRequestId_ != activeRequestId_) return false;
  QString name, arguments;
  QString error = parseError_;
  if (!parsedCalls_.isEmpty()) {
    name = parsedCalls_.first().toMap().value("name").toString();
    arguments = parsedCalls_.first().toMap().value("arguments").toString();
  } else {
    // "name\n{...}" naming a tool that was not offered: still a call, answered with an error.
    static const QRegularExpression call(QStringLiteral("^\\n?([A-Za-z_][\\w.\\-]*)\\n\\s*\\{"));
    const QRegularExpressionMatch match = call.match(activeText_);
    if (!match.hasMatch() && error.isEmpty()) return false;
    name = match.hasMatch() ? match.captured(1) : activeText_.trimmed().section(QLatin1Char('\n'), 0, 0);
    arguments = activeText_.trimmed().section(QLatin1Char('\n'), 1);
  }
  if (error.isEmpty() && parsedCalls_.isEmpty()) error.clear();
  store_.setMessageMetadata(activeMessageId_, name.isEmpty() ? QStringLiteral("?") : name);
  const qint64 assistantId = activeMessageId_;
  Q_UNUSED(assistantId);
  ++toolRounds_;
  if (toolRounds_ > toolHost_->maxToolRounds()) {
    appendObservationAndContinue(name,
                                 QStringLiteral("Error: the limit of %1 tool calls in a row was reached. "
                                                "Answer the user without calling tools.")
                                     .arg(toolHost_->maxToolRounds()),
                                 QStringLiteral("error"), false);
    return true;
  }
  if (!error.isEmpty()) {
    appendObservationAndContinue(name, QStringLiteral("Error: %1. Call the tool again with a valid JSON object.").arg(error),
                                 QStringLiteral("error"), true);
    return true;
  }
  if (parsedCalls_.isEmpty()) {
    // Unknown tool: the host answers with the list of tools, without running anything.
    activeToolName_ = name;
    activeToolCallId_ = toolHost_->requestCall(activeConversationId_, name, arguments);
    emit toolCallChanged();
    return true;
  }
  activeToolName_ = name;
  activeToolCallId_ = toolHost_->requestCall(activeConversationId_, name, arguments);
  emit toolCallChanged();
  return true;
}

void ChatController::onToolFinished(quint64 callId, const QString& status, const QString& text) {
  if (callId != activeToolCallId_) return;
  activeToolCallId_ = 0;
  emit toolCallChanged();
  const QString state = status == QLatin1String("ok")          ? QStringLiteral("done")
                        : status == QLatin1String("cancelled") ? QStringLiteral("stopped")
                                                               : QStringLiteral("error");
  if (status == QLatin1String("cancelled")) {
    // Stop: the observation says so, and the turn ends here.
    const qint64 parent = activeMessageId_;
    const qint64 id = store_.appendMessage(activeConversationId_, parent, QStringLiteral("observation"), text, state, 0,
                                           activeToolName_);
    if (messages_->conversationId() == activeConversationId_) messages_->reload();
    activeMessageId_ = 0;
    generating_ = false;
    emit generatingChanged();
    emit replyFinished(id, text);
    return;
  }
  appendObservationAndContinue(activeToolName_, text, state, true);
}

void ChatController::appendObservationAndContinue(const QString& tool, const QString& text, const QString& state,
                                                  bool offerTools) {
  const qint64 observationId =
      store_.appendMessage(activeConversationId_, activeMessageId_, QStringLiteral("observation"), text, state, 0, tool);
  const qint64 assistantId = store_.appendMessage(activeConversationId_, observationId, QStringLiteral("assistant"),
                                                  QString(), QStringLiteral("streaming"));
  if (!observationId || !assistantId) {
    setError(store_.lastError());
    generating_ = false;
    activeMessageId_ = 0;
    emit generatingChanged();
    return;
  }
  activeMessageId_ = assistantId;
  activeText_.clear();
  activeTokens_ = 0;
  if (messages_->conversationId() == activeConversationId_) messages_->reload();
  continueReply(observationId, offerTools);
}

void ChatController::startRequest(Purpose purpose, const QList<ChatTurn>& turns, const QVariantList& tools) {
  activePurpose_ = purpose;
  activeRequestId_ = nextRequestId_++;
  activeText_.clear();
  activeTokens_ = 0;
  sinceSave_.start();
  generating_ = true;
  prefilling_ = true;
  prefillFraction_ = 0.0;
  prefillSecondsLeft_ = -1.0;
  setError({});
  emit generatingChanged();
  emit prefillChanged();
  SamplingSettings sampling = store_.samplingSettings(activeConversationId_);
  QMetaObject::invokeMethod(worker(), "generateWithTools", Qt::QueuedConnection, Q_ARG(quint64, activeRequestId_),
                            Q_ARG(QList<ChatTurn>, turns), Q_ARG(QVariantList, tools), Q_ARG(SamplingSettings, sampling));
}

void ChatController::onText(quint64 requestId, const QString& text, int tokens) {
  if (requestId != activeRequestId_) return;
  activeText_ += text;
  activeTokens_ = tokens;
  if (activePurpose_ != Purpose::Reply) return;
  if (messages_->conversationId() == activeConversationId_)
    messages_->updateMessage(activeMessageId_, activeText_, QStringLiteral("streaming"), activeTokens_);
  saveStreaming(false);
}

void ChatController::saveStreaming(bool force) {
  if (activePurpose_ != Purpose::Reply || !activeMessageId_) return;
  if (!force && sinceSave_.elapsed() < kSaveEveryMs) return;
  store_.updateMessage(activeMessageId_, activeText_, QStringLiteral("streaming"), activeTokens_);
  sinceSave_.restart();
}

void ChatController::onFinished(quint64 requestId, const QString& reason, int tokens, double tokensPerSecond,
                                qint64 contextUsed) {
  if (requestId != activeRequestId_) return;
  activeTokens_ = tokens;
  tokensPerSecond_ = tokensPerSecond;
  contextUsed_ = int(contextUsed);
  emit statsChanged();
  generating_ = false;
  prefilling_ = false;
  emit prefillChanged();
  if (activePurpose_ == Purpose::PartSummary) {
    if (reason == QLatin1String("cancelled")) {
      documentParts_.clear();
      setDocumentState(QStringLiteral("ready"));
      emit generatingChanged();
      return;
    }
    partSummaries_ << activeText_.trimmed();
    emit generatingChanged();
    summarizeNextPart();
    return;
  }
  const QString state = reason == QLatin1String("cancelled") ? QStringLiteral("stopped") : QStringLiteral("done");
  store_.updateMessage(activeMessageId_, activeText_, state, activeTokens_);
  if (messages_->conversationId() == activeConversationId_)
    messages_->updateMessage(activeMessageId_, activeText_, state, activeTokens_);
  if (reason == QLatin1String("stop") && handleToolCall()) {
    generating_ = true;  // the loop goes on: a tool runs, then the model continues
    return;
  }
  const qint64 finishedId = activeMessageId_;
  activeMessageId_ = 0;
  emit generatingChanged();
  emit replyFinished(finishedId, activeText_);
}

void ChatController::onFailed(quint64 requestId, const QString& message) {
  if (requestId != activeRequestId_) return;
  generating_ = false;
  prefilling_ = false;
  setError(message);
  if (activePurpose_ == Purpose::Reply && activeMessageId_) {
    store_.updateMessage(activeMessageId_, activeText_, QStringLiteral("error"), activeTokens_);
    if (messages_->conversationId() == activeConversationId_)
      messages_->updateMessage(activeMessageId_, activeText_, QStringLiteral("error"), activeTokens_);
    activeMessageId_ = 0;
  } else if (activePurpose_ == Purpose::PartSummary) {
    documentParts_.clear();
    setDocumentState(QStringLiteral("ready"));
  }
  emit prefillChanged();
  emit generatingChanged();
}

void ChatController::stop() {
  if (activeToolCallId_ && toolHost_) {
    toolHost_->cancelCall(activeToolCallId_);
    return;
  }
  if (preparingTools_) {  // still starting the conversation's MCP servers: nothing was generated
    preparingTools_ = false;
    const qint64 id = activeMessageId_;
    store_.updateMessage(id, QString(), QStringLiteral("stopped"), 0);
    if (messages_->conversationId() == activeConversationId_) messages_->reload();
    activeMessageId_ = 0;
    generating_ = false;
    emit generatingChanged();
    emit replyFinished(id, QString());
    return;
  }
  if (generating_) worker()->requestStop();
}

void ChatController::regenerate(qint64 assistantMessageId) {
  if (generating_ || modelState_ != QLatin1String("ready")) return;
  const auto m = store_.message(assistantMessageId);
  if (!m || m->role != QLatin1String("assistant") || !m->parentId) return;
  startReply(m->parentId);  // a new sibling: the old reply stays reachable as another branch
}

void ChatController::editMessage(qint64 userMessageId, const QString& text) {
  if (generating_ || text.trimmed().isEmpty()) return;
  if (modelState_ != QLatin1String("ready")) {
    setError(tr("Load a model first."));
    return;
  }
  const auto m = store_.message(userMessageId);
  if (!m || m->role != QLatin1String("user")) return;
  const qint64 id = store_.appendMessage(m->conversationId, m->parentId, QStringLiteral("user"), text.trimmed());
  if (!id) return;
  startReply(id);
}

void ChatController::switchBranch(qint64 messageId, int delta) {
  if (generating_) return;
  const QList<qint64> sib = store_.siblings(messageId);
  const int i = int(sib.indexOf(messageId)) + delta;
  if (i < 0 || i >= sib.size()) return;
  store_.setCurrentLeaf(currentConversationId_, store_.deepestLeaf(sib.at(i)));
  messages_->reload();
}

void ChatController::copyText(const QString& text) {
  if (auto* clipboard = QGuiApplication::clipboard()) clipboard->setText(text);
}

QVariantList ChatController::markdownBlocks(const QString& markdown) const {
  QString text = markdown;
  QString tail;
  if (text.size() > kMaxRenderedChars) {
    tail = tr("… %n more characters (copy the message to see all of it)", nullptr, int(text.size() - kMaxRenderedChars));
    text = text.left(kMaxRenderedChars);
  }
  QVariantList blocks;
  static const QRegularExpression fence(QStringLiteral("^(```|~~~)\\s*([\\w+#.-]*)\\s*$"));
  QStringList prose, code;
  QString language, marker;
  bool inCode = false;
  auto flushProse = [&] {
    if (!prose.isEmpty() && !prose.join(QLatin1Char('\n')).trimmed().isEmpty())
      blocks << QVariantMap{{"kind", "text"}, {"text", prose.join(QLatin1Char('\n'))}, {"language", QString()}};
    prose.clear();
  };
  for (const QString& line : text.split(QLatin1Char('\n'))) {
    const auto match = fence.match(line.trimmed());
    if (!inCode && match.hasMatch()) {
      flushProse();
      inCode = true;
      marker = match.captured(1);
      language = match.captured(2);
      code.clear();
    } else if (inCode && line.trimmed() == marker) {
      blocks << QVariantMap{{"kind", "code"}, {"text", code.join(QLatin1Char('\n'))}, {"language", language}};
      inCode = false;
    } else if (inCode) {
      code << line;
    } else {
      prose << line;
    }
  }
  // A fence still open while the reply streams is shown as code already.
  if (inCode) blocks << QVariantMap{{"kind", "code"}, {"text", code.join(QLatin1Char('\n'))}, {"language", language}};
  flushProse();
  if (!tail.isEmpty()) blocks << QVariantMap{{"kind", "text"}, {"text", QStringLiteral("*%1*").arg(tail)}, {"language", QString()}};
  return blocks;
}

// ---- system prompts ----

qint64 ChatController::createSystemPrompt(const QString& name, const QString& text) {
  return store_.createSystemPrompt(name.trimmed().isEmpty() ? tr("Untitled prompt") : name.trimmed(), text);
}
void ChatController::updateSystemPrompt(qint64 id, const QString& name, const QString& text) {
  store_.updateSystemPrompt(id, name, text);
}
void ChatController::deleteSystemPrompt(qint64 id) { store_.deleteSystemPrompt(id); }
void ChatController::setDefaultSystemPrompt(qint64 id) { store_.setDefaultSystemPrompt(id); }
void ChatController::setConversationSystemPrompt(qint64 promptId, const QString& overrideText) {
  if (!currentConversationId_) newConversation();
  store_.setConversationSystemPrompt(currentConversationId_, promptId > 0 ? std::optional<qint64>(promptId) : std::nullopt,
                                     overrideText);
}

QVariantMap ChatController::conversationSampling() const {
  const SamplingSettings s = store_.samplingSettings(currentConversationId_);
  return {{"temperature", s.temperature}, {"topP", s.topP}, {"topK", s.topK}, {"maxTokens", s.maxTokens},
          {"seed", s.seed}};
}

void ChatController::setConversationSampling(const QVariantMap& values) {
  if (!currentConversationId_) newConversation();
  SamplingSettings s = store_.samplingSettings(currentConversationId_);
  s.temperature = values.value("temperature", s.temperature).toDouble();
  s.topP = values.value("topP", s.topP).toDouble();
  s.topK = values.value("topK", s.topK).toInt();
  s.maxTokens = values.value("maxTokens", s.maxTokens).toInt();
  s.seed = values.value("seed", s.seed).toLongLong();
  store_.setSamplingSettings(currentConversationId_, s);
}

// ---- model ----

QString ChatController::modelMemory() const {
  const qint64 bytes = modelInfo_.value("memoryBytes").toLongLong();
  return bytes > 0 ? ModelCatalog::formatBytes(bytes) : QString();
}

void ChatController::loadModel(const QString& path) {
  if (path.isEmpty()) return;
  if (generating_) stop();
  settings_->setModelPath(path);
  modelState_ = QStringLiteral("loading");
  loadProgress_ = 0.0;
  modelInfo_ = QVariantMap{{"name", QDir(path).dirName()}, {"path", path}};
  setError({});
  emit modelChanged();
  emit loadProgressChanged();
  LoadRequest request{path, settings_->backend(), settings_->contextLength(), 0, settings_->gpuDevice(),
                      settings_->weights(), settings_->kvCache()};
  QMetaObject::invokeMethod(worker(), "loadModel", Qt::QueuedConnection, Q_ARG(LoadRequest, request));
}

void ChatController::loadModelFromUrl(const QUrl& folder) { loadModel(folder.toLocalFile()); }

void ChatController::reloadModel() {
  if (!settings_->modelPath().isEmpty()) loadModel(settings_->modelPath());
}

// ---- documents ----

void ChatController::setDocumentState(const QString& state) {
  documentState_ = state;
  emit documentChanged();
}

int ChatController::documentBudget() const {
  const int context = contextLength() > 0 ? contextLength() : settings_->contextLength();
  return std::max(0, context - kReplyReserve - (messages_->rowCount() > 0 ? contextUsed_ : 0));
}

void ChatController::attachDocument(const QUrl& file) {
  if (documentWatcher_.isRunning()) return;
  const QString path = file.isLocalFile() ? file.toLocalFile() : file.toString();
  document_ = ExtractedDocument{path, QFileInfo(path).fileName(), {}, {}, {}};
  documentTokens_ = 0;
  documentTokensExact_ = false;
  setDocumentState(QStringLiteral("reading"));
  documentWatcher_.setFuture(QtConcurrent::run([path] { return extractDocumentText(path); }));
}

void ChatController::clearDocument() {
  document_ = {};
  documentTokens_ = 0;
  documentParts_.clear();
  partSummaries_.clear();
  documentProgress_.clear();
  setDocumentState({});
}

QString ChatController::documentPrompt(const QString& body, const QString& question, const QString& note) const {
  QString prompt = tr("Document: %1").arg(document_.name);
  if (!note.isEmpty()) prompt += QStringLiteral(" (%1)").arg(note);
  prompt += QStringLiteral("\n\n\"\"\"\n%1\n\"\"\"\n\n%2").arg(body.trimmed(), question);
  return prompt;
}

void ChatController::useDocument(const QString& action, const QString& question, const QString& overflow) {
  if (document_.text.isEmpty() || generating_) return;
  const QString ask = action == QLatin1String("summarize") || question.trimmed().isEmpty()
                          ? tr("Summarize this document.")
                          : question.trimmed();
  if (!documentOverBudget() || overflow.isEmpty()) {
    if (documentOverBudget()) {
      setError(tr("The document needs about %1 tokens but only %2 are free: choose Truncate or Summarize in parts.")
                   .arg(documentTokens_)
                   .arg(documentBudget()));
      return;
    }
    if (send(documentPrompt(document_.text, ask, {}))) clearDocument();
    return;
  }
  const double charsPerToken = double(document_.text.size()) / std::max(1, documentTokens_);
  if (overflow == QLatin1String("truncate")) {
    const int keepChars = int(documentBudget() * 0.95 * charsPerToken);
    const int percent = int(100.0 * keepChars / document_.text.size());
    if (send(documentPrompt(document_.text.left(keepChars), ask,
                            tr("truncated by the user to its first %1%").arg(percent))))
      clearDocument();
    return;
  }
  // Summarize in parts: each part (sized to fit with room for its summary) is summarized on its own,
  // then the summaries go into the conversation with the question.
  if (modelState_ != QLatin1String("ready")) {
    setError(tr("Load a model first."));
    return;
  }
  if (!currentConversationId_) newConversation();
  activeConversationId_ = currentConversationId_;
  const int partChars = std::max(1000, int(documentBudget() * 0.6 * charsPerToken));
  documentParts_ = splitIntoParts(document_.text, partChars);
  partSummaries_.clear();
  pendingQuestion_ = ask;
  setDocumentState(QStringLiteral("summarizing"));
  summarizeNextPart();
}

void ChatController::summarizeNextPart() {
  const int done = int(partSummaries_.size());
  const int total = int(documentParts_.size());
  if (total == 0) return;
  if (done < total) {
    documentProgress_ = tr("Summarizing part %1 of %2").arg(done + 1).arg(total);
    emit documentChanged();
    const QString prompt = tr("This is part %1 of %2 of the document \"%3\". Summarize it, keeping every fact, "
                              "name and number that matters.\n\n\"\"\"\n%4\n\"\"\"")
                               .arg(done + 1)
                               .arg(total)
                               .arg(document_.name, documentParts_.at(done));
    startRequest(Purpose::PartSummary, {ChatTurn{QStringLiteral("user"), prompt}});
    return;
  }
  QString combined;
  for (int i = 0; i < total; ++i) combined += tr("Part %1: %2").arg(i + 1).arg(partSummaries_.at(i)) + QStringLiteral("\n\n");
  const QString prompt = documentPrompt(combined, pendingQuestion_, tr("summarized in %n parts", nullptr, total));
  documentParts_.clear();
  documentProgress_.clear();
  if (send(prompt)) clearDocument();
  else setDocumentState(QStringLiteral("ready"));
}

QVariantList ChatController::gpuDevices() const {
  QVariantList out;
  try {
    const auto devices = glm::listVulkanDevices();
    out.append(QVariantMap{{"label", tr("Best GPU")}, {"value", -1}});
    for (const auto& d : devices)
      out.append(QVariantMap{{"label", QStringLiteral("%1: %2 (%3, %4 GiB)")
                                           .arg(d.index)
                                           .arg(QString::fromStdString(d.name), QString::fromStdString(d.type))
                                           .arg(double(d.memoryBytes) / double(1ll << 30), 0, 'f', 1)},
                             {"value", d.index}});
  } catch (const std::exception& e) {
    out.append(QVariantMap{{"label", tr("Best GPU (Vulkan: %1)").arg(QString::fromStdString(e.what()))}, {"value", -1}});
  }
  return out;
}
