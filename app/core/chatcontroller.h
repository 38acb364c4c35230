// ChatController: what the QML window binds to. It owns the store, the list models and the engine
// thread, and turns user actions (send, stop, regenerate, edit, switch branch, attach a document)
// into store writes and queued requests to the EngineWorker. No QML logic beyond bindings.
#pragma once
#include <QElapsedTimer>
#include <QFutureWatcher>
#include <QObject>
#include <QPointer>
#include <QTranslator>
#include <QUrl>
#include <QVariantList>
#include <QtQml/qqmlregistration.h>
#include <memory>

#include "appsettings.h"
#include "conversationstore.h"
#include "documentimport.h"
#include "engineworker.h"
#include "listmodels.h"
#include "modelcatalog.h"
#include "tools/toolhost.h"

#include <QQmlEngine>
class QJSEngine;

// Exposed to QML as the singleton GlmChatCore.ChatController through registerQmlSingleton() (Qt 6.4
// has no QML_SINGLETON factory taking an existing instance).
class ChatController : public QObject {
  Q_OBJECT
  Q_PROPERTY(ConversationListModel* conversations READ conversations CONSTANT)
  Q_PROPERTY(MessageListModel* messages READ messages CONSTANT)
  Q_PROPERTY(SystemPromptListModel* systemPrompts READ systemPrompts CONSTANT)
  Q_PROPERTY(ModelCatalog* modelCatalog READ modelCatalog CONSTANT)
  Q_PROPERTY(AppSettings* settings READ settings CONSTANT)
  Q_PROPERTY(QString storeError READ storeError CONSTANT)

  Q_PROPERTY(qint64 currentConversationId READ currentConversationId NOTIFY currentConversationChanged)
  Q_PROPERTY(QString currentTitle READ currentTitle NOTIFY currentConversationChanged)
  Q_PROPERTY(qint64 conversationSystemPromptId READ conversationSystemPromptId NOTIFY currentConversationChanged)
  Q_PROPERTY(QString conversationSystemPromptOverride READ conversationSystemPromptOverride NOTIFY currentConversationChanged)
  Q_PROPERTY(qint64 deletedConversationId READ deletedConversationId NOTIFY deletedConversationChanged)

  // Model and engine state for the status line.
  Q_PROPERTY(QString modelState READ modelState NOTIFY modelChanged)  // none, loading, ready, error
  Q_PROPERTY(double loadProgress READ loadProgress NOTIFY loadProgressChanged)
  Q_PROPERTY(QString modelName READ modelName NOTIFY modelChanged)
  Q_PROPERTY(QString modelPath READ modelPath NOTIFY modelChanged)
  Q_PROPERTY(QString backend READ backend NOTIFY modelChanged)
  Q_PROPERTY(QString modelWeights READ modelWeights NOTIFY modelChanged)
  Q_PROPERTY(QString modelKvCache READ modelKvCache NOTIFY modelChanged)
  Q_PROPERTY(QString backendReason READ backendReason NOTIFY modelChanged)
  Q_PROPERTY(QString modelMemory READ modelMemory NOTIFY modelChanged)
  Q_PROPERTY(int contextLength READ contextLength NOTIFY modelChanged)
  Q_PROPERTY(QString lastError READ lastError NOTIFY lastErrorChanged)

  // Generation.
  Q_PROPERTY(bool generating READ generating NOTIFY generatingChanged)
  Q_PROPERTY(bool prefilling READ prefilling NOTIFY prefillChanged)
  Q_PROPERTY(double prefillFraction READ prefillFraction NOTIFY prefillChanged)
  Q_PROPERTY(double prefillSecondsLeft READ prefillSecondsLeft NOTIFY prefillChanged)
  Q_PROPERTY(double tokensPerSecond READ tokensPerSecond NOTIFY statsChanged)
  Q_PROPERTY(int contextUsed READ contextUsed NOTIFY statsChanged)
  Q_PROPERTY(int reusedTokens READ reusedTokens NOTIFY statsChanged)
  Q_PROPERTY(int computedTokens READ computedTokens NOTIFY statsChanged)

  // The attached document.
  Q_PROPERTY(QString documentState READ documentState NOTIFY documentChanged)  // "", reading, counting, ready, summarizing, error
  Q_PROPERTY(QString documentName READ documentName NOTIFY documentChanged)
  Q_PROPERTY(QString documentError READ documentError NOTIFY documentChanged)
  Q_PROPERTY(int documentTokens READ documentTokens NOTIFY documentChanged)
  Q_PROPERTY(bool documentTokensExact READ documentTokensExact NOTIFY documentChanged)
  Q_PROPERTY(int documentBudget READ documentBudget NOTIFY documentChanged)
  Q_PROPERTY(bool documentOverBudget READ documentOverBudget NOTIFY documentChanged)
  Q_PROPERTY(QString documentProgress READ documentProgress NOTIFY documentChanged)
  Q_PROPERTY(QStringList documentPatterns READ documentPatterns CONSTANT)

  Q_PROPERTY(bool systemIsDark READ systemIsDark CONSTANT)
  // Tool calls: the plugins and consents (null when the store could not open), and the call running now.
  Q_PROPERTY(ToolHost* toolHost READ toolHost CONSTANT)
  Q_PROPERTY(bool toolCallActive READ toolCallActive NOTIFY toolCallChanged)

 public:
  // dataDirectory: where the database and settings live ("" = the user's data directory).
  explicit ChatController(const QString& dataDirectory = {}, QObject* parent = nullptr);
  ~ChatController() override;

  // Makes this instance the QML singleton GlmChatCore.ChatController (call before loading QML).
  void registerQmlSingleton();

  ConversationStore* store() { return &store_; }
  ToolHost* toolHost() const { return toolHost_; }
  bool toolCallActive() const { return activeToolCallId_ != 0; }
  // A tool-call card's data for a message: {tool, status} from its metadata and state ("" when none).
  Q_INVOKABLE QString messageMetadata(qint64 messageId) const;
  // The GPU choices of the settings: {label, value} with value -1 for "the best GPU", then one entry per
  // Vulkan device ("0: NVIDIA H200 (discrete, 140.4 GiB)"). Without Vulkan, only the first entry, whose
  // label then says why.
  Q_INVOKABLE QVariantList gpuDevices() const;
  EngineWorker* worker() const { return engineThread_->worker(); }
  ConversationListModel* conversations() { return conversations_; }
  MessageListModel* messages() { return messages_; }
  SystemPromptListModel* systemPrompts() { return systemPrompts_; }
  ModelCatalog* modelCatalog() { return modelCatalog_; }
  AppSettings* settings() { return settings_; }
  QString storeError() const { return storeError_; }

  qint64 currentConversationId() const { return currentConversationId_; }
  QString currentTitle() const;
  qint64 conversationSystemPromptId() const;
  QString conversationSystemPromptOverride() const;
  qint64 deletedConversationId() const { return deletedConversationId_; }

  QString modelState() const { return modelState_; }
  double loadProgress() const { return loadProgress_; }
  QString modelName() const { return modelInfo_.value("name").toString(); }
  QString modelPath() const { return modelInfo_.value("path").toString(); }
  QString backend() const { return modelInfo_.value("backend").toString(); }
  QString backendReason() const { return modelInfo_.value("backendReason").toString(); }
  // The loaded model's weight format and KV cache type as the engine reports them ("int4", "int8").
  QString modelWeights() const { return modelInfo_.value("weights").toString(); }
  QString modelKvCache() const { return modelInfo_.value("kvCache").toString(); }
  QString modelMemory() const;
  int contextLength() const { return modelInfo_.value("contextLength").toInt(); }
  QString lastError() const { return lastError_; }

  bool generating() const { return generating_; }
  bool prefilling() const { return prefilling_; }
  double prefillFraction() const { return prefillFraction_; }
  double prefillSecondsLeft() const { return prefillSecondsLeft_; }
  double tokensPerSecond() const { return tokensPerSecond_; }
  int contextUsed() const { return contextUsed_; }
  int reusedTokens() const { return reusedTokens_; }
  int computedTokens() const { return computedTokens_; }

  QString documentState() const { return documentState_; }
  QString documentName() const { return document_.name; }
  QString documentError() const { return document_.error; }
  int documentTokens() const { return documentTokens_; }
  bool documentTokensExact() const { return documentTokensExact_; }
  int documentBudget() const;
  bool documentOverBudget() const { return documentTokens_ > documentBudget(); }
  QString documentProgress() const { return documentProgress_; }
  QStringList documentPatterns() const { return supportedDocumentPatterns(); }
  bool systemIsDark() const;

  // Conversations.
  Q_INVOKABLE qint64 newConversation();
  Q_INVOKABLE void selectConversation(qint64 id);
  Q_INVOKABLE void renameConversation(qint64 id, const QString& title);
  Q_INVOKABLE void deleteConversation(qint64 id);
  Q_INVOKABLE void undoDelete();
  Q_INVOKABLE void setPinned(qint64 id, bool pinned);
  Q_INVOKABLE bool exportConversation(qint64 id, const QUrl& file);
  Q_INVOKABLE bool importConversation(const QUrl& file);

  // Messages.
  Q_INVOKABLE bool send(const QString& text);
  Q_INVOKABLE void stop();
  Q_INVOKABLE void regenerate(qint64 assistantMessageId);
  Q_INVOKABLE void editMessage(qint64 userMessageId, const QString& text);
  Q_INVOKABLE void switchBranch(qint64 messageId, int delta);
  Q_INVOKABLE void copyText(const QString& text);
  // Splits Markdown into text and fenced-code blocks ({kind, text, language}) so code gets a copy
  // button; very long messages are shown shortened.
  Q_INVOKABLE QVariantList markdownBlocks(const QString& markdown) const;

  // System prompts.
  Q_INVOKABLE qint64 createSystemPrompt(const QString& name, const QString& text);
  Q_INVOKABLE void updateSystemPrompt(qint64 id, const QString& name, const QString& text);
  Q_INVOKABLE void deleteSystemPrompt(qint64 id);
  Q_INVOKABLE void setDefaultSystemPrompt(qint64 id);
  Q_INVOKABLE void setConversationSystemPrompt(qint64 promptId, const QString& overrideText);
  // Sampling of the conversation on screen: {temperature, topP, topK, maxTokens, seed}.
  Q_INVOKABLE QVariantMap conversationSampling() const;
  Q_INVOKABLE void setConversationSampling(const QVariantMap& values);

  // Model.
  Q_INVOKABLE void loadModel(const QString& path);
  Q_INVOKABLE void loadModelFromUrl(const QUrl& folder);
  Q_INVOKABLE void reloadModel();  // after a backend or context change
  Q_INVOKABLE QString memoryNeeded(const QString& path) const { return modelCatalog_->memoryText(path); }

  // Documents.
  Q_INVOKABLE void attachDocument(const QUrl& file);
  Q_INVOKABLE void clearDocument();
  // action: "summarize" or "ask" (with question); overflow: "" when it fits, "truncate" or "parts".
  Q_INVOKABLE void useDocument(const QString& action, const QString& question, const QString& overflow);

  // Interface language, switched while running.
  Q_INVOKABLE void setLanguage(const QString& code);
  static bool installTranslation(const QString& code);  // "" = the system's language
  void setQmlEngine(QQmlEngine* engine) { qmlEngine_ = engine; }

 signals:
  void currentConversationChanged();
  void deletedConversationChanged();
  void modelChanged();
  void loadProgressChanged();
  void lastErrorChanged();
  void generatingChanged();
  void prefillChanged();
  void statsChanged();
  void documentChanged();
  void replyFinished(qint64 messageId, const QString& text);
  void toolCallChanged();
  void modelReady();

 private:
  enum class Purpose { Reply, PartSummary };
  void startReply(qint64 userMessageId);
  void startRequest(Purpose purpose, const QList<ChatTurn>& turns, const QVariantList& tools = {});
  QList<ChatTurn> turnsTo(qint64 leafId) const;
  void continueReply(qint64 leafId, bool offerTools);
  bool handleToolCall();  // after a reply that called a tool: true when the loop goes on
  void onToolFinished(quint64 callId, const QString& status, const QString& text);
  void appendObservationAndContinue(const QString& tool, const QString& text, const QString& state, bool offerTools);
  void onText(quint64 requestId, const QString& text, int tokens);
  void onFinished(quint64 requestId, const QString& reason, int tokens, double tokensPerSecond, qint64 contextUsed);
  void onFailed(quint64 requestId, const QString& message);
  void saveStreaming(bool force);
  void setError(const QString& message);
  void setDocumentState(const QString& state);
  QString documentPrompt(const QString& body, const QString& question, const QString& note) const;
  void summarizeNextPart();
  qint64 leafOfCurrent() const;

  ConversationStore store_;
  QString storeError_;
  ToolHost* toolHost_ = nullptr;
  // The tool loop of the active reply.
  int toolRounds_ = 0;
  bool toolsOffered_ = false;
  bool preparingTools_ = false;
  quint64 activeToolCallId_ = 0;
  QString activeToolName_;
  quint64 parsedRequestId_ = 0;
  QVariantList parsedCalls_;
  QString parseError_;
  AppSettings* settings_ = nullptr;
  ConversationListModel* conversations_ = nullptr;
  MessageListModel* messages_ = nullptr;
  SystemPromptListModel* systemPrompts_ = nullptr;
  ModelCatalog* modelCatalog_ = nullptr;
  std::unique_ptr<EngineThread> engineThread_;
  QPointer<QQmlEngine> qmlEngine_;

  qint64 currentConversationId_ = 0;
  qint64 deletedConversationId_ = 0;

  QString modelState_ = QStringLiteral("none");
  double loadProgress_ = 0.0;
  QVariantMap modelInfo_;
  QString lastError_;

  quint64 nextRequestId_ = 1;
  quint64 activeRequestId_ = 0;
  Purpose activePurpose_ = Purpose::Reply;
  qint64 activeMessageId_ = 0;
  qint64 activeConversationId_ = 0;
  QString activeText_;
  int activeTokens_ = 0;
  QElapsedTimer sinceSave_;
  bool generating_ = false;
  bool prefilling_ = false;
  double prefillFraction_ = 0.0;
  double prefillSecondsLeft_ = -1.0;
  double tokensPerSecond_ = 0.0;
  int contextUsed_ = 0;
  int reusedTokens_ = 0;
  int computedTokens_ = 0;

  ExtractedDocument document_;
  QFutureWatcher<ExtractedDocument> documentWatcher_;
  QString documentState_;
  int documentTokens_ = 0;
  bool documentTokensExact_ = false;
  quint64 countRequestId_ = 0;
  QString documentProgress_;
  QStringList documentParts_;
  QStringList partSummaries_;
  QString pendingQuestion_;
};
