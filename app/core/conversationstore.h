// ConversationStore: the app's one SQLite database (QtSql, QSQLITE) in the user's data directory.
//
// Tables: conversations, messages (a tree: parent_id, so an edited message starts a branch and the
// old one stays reachable), system_prompts, conversation_settings (sampling), plugins with
// tool policies, conversation_plugins and tool_consents (tool calls), and FTS5 indexes over message text and titles. Opened with WAL and
// foreign keys; versioned with PRAGMA user_version and forward-only migrations (see migrations()).
//
// A connection is used only on the thread that opened it (the GUI thread in the app).
#pragma once
#include <QJsonObject>
#include <QList>
#include <QObject>
#include <QSqlDatabase>
#include <QString>
#include <optional>

struct SamplingSettings {
  double temperature = 0.8;
  double topP = 0.8;
  int topK = 0;
  double minP = 0.0;
  double repetitionPenalty = 1.0;
  int maxTokens = 1024;
  qint64 seed = 0;  // 0 = a new seed for every reply
};

struct StoredConversation {
  qint64 id = 0;
  QString title;
  bool pinned = false;
  std::optional<qint64> systemPromptId;  // the preset it uses (null: none / the override)
  QString systemPromptOverride;          // non-empty: this text instead of the preset
  qint64 currentLeafId = 0;              // the last message of the branch on screen (0: empty)
  QString model;
  qint64 createdAt = 0;
  qint64 updatedAt = 0;
};

struct StoredMessage {
  qint64 id = 0;
  qint64 conversationId = 0;
  qint64 parentId = 0;  // 0: first message of the conversation
  QString role;         // "user", "assistant", "system", "observation"
  QString content;
  int tokenCount = 0;
  QString state;        // "done", "streaming", "stopped", "error"
  qint64 createdAt = 0;
  QString metadata;     // assistant: the tool it calls; observation: the tool that answered
};

struct StoredSystemPrompt {
  qint64 id = 0;
  QString name;
  QString text;
  bool isDefault = false;
};

class ConversationStore : public QObject {
  Q_OBJECT
 public:
  static constexpr int kLatestVersion = 3;

  explicit ConversationStore(QObject* parent = nullptr);
  ~ConversationStore() override;

  // Opens (creating if needed) and migrates to targetVersion (tests pass an earlier version to build
  // old databases). Returns false and sets lastError() on failure.
  bool open(const QString& path, int targetVersion = kLatestVersion);
  void close();
  bool isOpen() const;
  QString lastError() const { return lastError_; }
  int schemaVersion() const;
  QSqlDatabase database() const;
  // The default location: <AppDataLocation>/conversations.sqlite
  static QString defaultPath();

  // Conversations (deleted ones are hidden until purged; undoDelete brings one back).
  qint64 createConversation(const QString& title, std::optional<qint64> systemPromptId = std::nullopt);
  std::optional<StoredConversation> conversation(qint64 id) const;
  QList<StoredConversation> conversations() const;  // pinned first, then most recent
  bool renameConversation(qint64 id, const QString& title);
  bool setPinned(qint64 id, bool pinned);
  bool setConversationSystemPrompt(qint64 id, std::optional<qint64> promptId, const QString& overrideText);
  bool setCurrentLeaf(qint64 conversationId, qint64 messageId);
  bool deleteConversation(qint64 id);  // soft: undoDelete() or purgeDeleted()
  bool undoDelete(qint64 id);
  int purgeDeleted();
  // Conversation ids whose title or message text contains `text` (FTS5 trigram; LIKE for < 3 chars).
  QList<qint64> search(const QString& text) const;

  // Messages.
  qint64 appendMessage(qint64 conversationId, qint64 parentId, const QString& role, const QString& content,
                       const QString& state = QStringLiteral("done"), int tokenCount = 0,
                       const QString& metadata = {});
  bool setMessageMetadata(qint64 id, const QString& metadata);
  bool updateMessage(qint64 id, const QString& content, const QString& state, int tokenCount);
  std::optional<StoredMessage> message(qint64 id) const;
  QList<StoredMessage> messages(qint64 conversationId) const;  // every branch, in id order
  QList<StoredMessage> path(qint64 leafId) const;               // root .. leaf
  QList<qint64> siblings(qint64 messageId) const;               // same parent, id order (includes itself)
  qint64 deepestLeaf(qint64 messageId) const;                   // follows the newest child down

  // System prompt presets.
  qint64 createSystemPrompt(const QString& name, const QString& text);
  bool updateSystemPrompt(qint64 id, const QString& name, const QString& text);
  bool deleteSystemPrompt(qint64 id);
  bool setDefaultSystemPrompt(qint64 id);  // 0 = none
  QList<StoredSystemPrompt> systemPrompts() const;
  std::optional<StoredSystemPrompt> systemPrompt(qint64 id) const;
  std::optional<StoredSystemPrompt> defaultSystemPrompt() const;
  // The system text a conversation uses: its override, else its preset, else empty.
  QString effectiveSystemPrompt(qint64 conversationId) const;

  // Sampling settings of a conversation (defaults when none saved).
  SamplingSettings samplingSettings(qint64 conversationId) const;
  bool setSamplingSettings(qint64 conversationId, const SamplingSettings& s);

  // Export / import.
  QString exportMarkdown(qint64 conversationId) const;   // the branch on screen
  QJsonObject exportJson(qint64 conversationId) const;   // every message and branch
  qint64 importJson(const QJsonObject& json, QString* error = nullptr);

 signals:
  void conversationsChanged();
  void messagesChanged(qint64 conversationId);
  void systemPromptsChanged();

 private:
  bool exec(const QString& sql) const;
  bool migrate(int from, int to);
  bool touch(qint64 conversationId);
  bool begin();
  bool commit();
  void rollback();

  int transactionDepth_ = 0;
  bool rollbackRequested_ = false;

  QString connectionName_;
  mutable QString lastError_;
};
