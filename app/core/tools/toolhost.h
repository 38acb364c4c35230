// ToolHost: the tools a conversation may offer the model, and the only place a tool runs.
//
// Plugins live in the store's plugins table: four built-ins (calculator, date and time, files the
// user allowed, search of the user's conversations) and MCP servers (McpClient each). A
// conversation enables plugins (conversation_plugins); each tool has a policy (tool_policies: ask,
// always, deny). requestCall() never runs anything by itself: it records a consent first
// (tool_consents: the user's answer, or the stored policy), and execute() refuses a call whose
// recorded decision is not an allow. Lives on the GUI thread; nothing here blocks (built-ins are
// quick, MCP servers are asynchronous).
#pragma once
#include <QHash>
#include <QObject>
#include <QPointer>
#include <QVariantList>
#include <QtQml/qqmlregistration.h>
#include <functional>
#include <optional>
#include <memory>

#include "mcpclient.h"

class ConversationStore;

struct ToolInfo {
  qint64 pluginId = 0;
  QString pluginName;
  QString kind;  // builtin, mcp
  QString name;  // as the model sees it
  QString description;
  QString parametersJson = QStringLiteral("{}");
};

class ToolHost : public QObject {
  Q_OBJECT
  QML_ELEMENT
  QML_UNCREATABLE("owned by ChatController")
  Q_PROPERTY(QVariantList plugins READ plugins NOTIFY pluginsChanged)
  Q_PROPERTY(QVariantList pendingConsents READ pendingConsents NOTIFY pendingConsentsChanged)
  Q_PROPERTY(QStringList allowedPaths READ allowedPaths NOTIFY pluginsChanged)
  Q_PROPERTY(int maxToolRounds READ maxToolRounds WRITE setMaxToolRounds NOTIFY settingsChanged)
  Q_PROPERTY(int maxResultChars READ maxResultChars WRITE setMaxResultChars NOTIFY settingsChanged)

 public:
  static constexpr auto kCalculator = "calculator";
  static constexpr auto kDateTime = "datetime";
  static constexpr auto kFiles = "files";
  static constexpr auto kConversationSearch = "conversation_search";

  // The store must be open (at schema 3 or later); logs go to <logDirectory>/mcp-<id>.log.
  ToolHost(ConversationStore* store, const QString& logDirectory, QObject* parent = nullptr);
  ~ToolHost() override;

  // Plugins, for the plugins page: [{id, name, kind, command, arguments, environment,
  // workingDirectory, timeoutMs, state, error, logPath, tools: [{name, description, policy}]}].
  QVariantList plugins() const;
  Q_INVOKABLE qint64 addMcpServer(const QString& name, const QString& command, const QStringList& arguments,
                                  const QVariantMap& environment = {}, const QString& workingDirectory = {},
                                  int timeoutMs = 30000);
  // Splits "VAR=value" lines and a space-separated argument line (quotes group words) for the page.
  Q_INVOKABLE qint64 addMcpServerFromText(const QString& name, const QString& command, const QString& argumentLine,
                                          const QString& environmentLines, const QString& workingDirectory);
  Q_INVOKABLE bool removePlugin(qint64 pluginId);  // MCP servers only
  Q_INVOKABLE bool setPluginTimeout(qint64 pluginId, int timeoutMs);
  Q_INVOKABLE void refreshPlugin(qint64 pluginId);  // (re)starts an MCP server to list its tools
  Q_INVOKABLE QString logPath(qint64 pluginId) const;
  Q_INVOKABLE QString logText(qint64 pluginId) const;  // the end of the log, for the page
  qint64 pluginId(const QString& name) const;

  // Per tool: "ask", "always", "deny".
  Q_INVOKABLE QString toolPolicy(qint64 pluginId, const QString& tool) const;
  Q_INVOKABLE bool setToolPolicy(qint64 pluginId, const QString& tool, const QString& policy);

  // Per conversation.
  Q_INVOKABLE bool isPluginEnabled(qint64 conversationId, qint64 pluginId) const;
  Q_INVOKABLE bool setPluginEnabled(qint64 conversationId, qint64 pluginId, bool enabled);
  QList<qint64> enabledPlugins(qint64 conversationId) const;
  // The tools offered to the model (MCP tools as last listed; call prepare() first).
  QList<ToolInfo> tools(qint64 conversationId) const;
  // Starts the conversation's MCP servers that are not ready, then calls done (also on failure:
  // a server that cannot start offers no tools).
  void prepare(qint64 conversationId, QObject* context, std::function<void()> done);

  // Files and folders the files tool may read.
  QStringList allowedPaths() const;
  Q_INVOKABLE bool addAllowedPath(const QString& pathOrUrl);
  Q_INVOKABLE bool removeAllowedPath(const QString& path);

  int maxToolRounds() const { return maxToolRounds_; }
  void setMaxToolRounds(int rounds);
  int maxResultChars() const { return maxResultChars_; }
  void setMaxResultChars(int chars);

  // Calls. requestCall() answers through callFinished (always later, exactly once per id).
  // status: ok, error, denied, cancelled, unknown.
  quint64 requestCall(qint64 conversationId, const QString& toolName, const QString& argumentsJson);
  // decision: "once", "always", "deny".
  Q_INVOKABLE void answerConsent(quint64 callId, const QString& decision);
  void cancelCall(quint64 callId);
  QVariantList pendingConsents() const;  // [{callId, tool, source, arguments}]
  // A description of a call for the card: {tool, source, arguments}.
  QVariantMap describeCall(quint64 callId) const;

  // For tests: the consent row of every tool actually run, in order.
  QList<qint64> executedConsentIds() const { return executedConsentIds_; }
  McpClient* client(qint64 pluginId) const { return clients_.value(pluginId).get(); }

 signals:
  void pluginsChanged();
  void pendingConsentsChanged();
  void settingsChanged();
  void consentRequested(quint64 callId);
  void callFinished(quint64 callId, const QString& status, const QString& text);

 private:
  struct Call {
    quint64 id = 0;
    qint64 conversationId = 0;
    ToolInfo tool;
    QString argumentsJson;
    qint64 consentId = 0;
    quint64 mcpCallId = 0;
    bool awaitingConsent = false;
  };
  struct Plugin {
    qint64 id = 0;
    QString name, kind, command, workingDirectory;
    QStringList arguments;
    QVariantMap environment;
    int timeoutMs = 30000;
  };
  QList<Plugin> loadPlugins() const;
  std::optional<Plugin> plugin(qint64 id) const;
  void seedBuiltins();
  McpClient* ensureClient(const Plugin& p);
  QList<ToolInfo> builtinTools(const Plugin& p) const;
  qint64 recordConsent(const Call& call, const QString& decision);
  void recordOutcome(qint64 consentId, const QString& outcome);
  void execute(quint64 callId);
  void finish(quint64 callId, const QString& status, const QString& text);
  QString runBuiltin(const QString& tool, const QJsonObject& arguments, bool* ok) const;
  QString readAllowedFile(const QJsonObject& arguments, bool* ok) const;
  QString searchConversations(const QJsonObject& arguments, bool* ok) const;
  QString capped(const QString& text) const;
  QString setting(const QString& key, const QString& fallback) const;
  void setSetting(const QString& key, const QString& value);  // a warning when it cannot be saved

  ConversationStore* store_;
  QString logDirectory_;
  QHash<qint64, std::shared_ptr<McpClient>> clients_;
  QHash<quint64, Call> calls_;
  QList<quint64> consentOrder_;
  QList<qint64> executedConsentIds_;
  quint64 nextCallId_ = 1;
  int maxToolRounds_ = 5;
  int maxResultChars_ = 16000;
};
