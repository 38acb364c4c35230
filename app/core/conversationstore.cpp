#include "conversationstore.h"

#include <QDateTime>
#include <QDir>
#include <QFileInfo>
#include <QJsonArray>
#include <QSqlError>
#include <QSqlQuery>
#include <QStandardPaths>
#include <QUuid>
#include <QVariant>

namespace {

qint64 now() { return QDateTime::currentMSecsSinceEpoch(); }

// A null QString binds as SQL NULL; the text columns are NOT NULL, so empty text must bind as ''.
QVariant sqlText(const QString& s) { return s.isNull() ? QVariant(QStringLiteral("")) : QVariant(s); }

QVariant nullableId(qint64 id) { return id > 0 ? QVariant(id) : QVariant(QMetaType(QMetaType::LongLong)); }

// Forward-only migrations: entry i takes user_version i to i+1. Never edit a shipped entry; add one.
const QList<QStringList>& migrations() {
  static const QList<QStringList> steps = {
      // v0 -> v1: the tables.
      {
          "CREATE TABLE system_prompts ("
          " id INTEGER PRIMARY KEY, name TEXT NOT NULL, text TEXT NOT NULL,"
          " is_default INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)",
          "CREATE TABLE conversations ("
          " id INTEGER PRIMARY KEY, title TEXT NOT NULL, pinned INTEGER NOT NULL DEFAULT 0,"
          " system_prompt_id INTEGER REFERENCES system_prompts(id) ON DELETE SET NULL,"
          " system_prompt_override TEXT NOT NULL DEFAULT '', current_leaf_id INTEGER, model TEXT NOT NULL DEFAULT '',"
          " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, deleted_at INTEGER)",
          "CREATE TABLE messages ("
          " id INTEGER PRIMARY KEY,"
          " conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,"
          " parent_id INTEGER REFERENCES messages(id) ON DELETE CASCADE,"
          " role TEXT NOT NULL CHECK (role IN ('system','user','assistant','observation')),"
          " content TEXT NOT NULL DEFAULT '', token_count INTEGER NOT NULL DEFAULT 0,"
          " state TEXT NOT NULL DEFAULT 'done' CHECK (state IN ('done','streaming','stopped','error')),"
          " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)",
          "CREATE INDEX messages_by_conversation ON messages(conversation_id, parent_id)",
          "CREATE INDEX messages_by_parent ON messages(parent_id)",
          "CREATE TABLE conversation_settings ("
          " conversation_id INTEGER PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,"
          " temperature REAL, top_p REAL, top_k INTEGER, min_p REAL, repetition_penalty REAL,"
          " max_tokens INTEGER, seed INTEGER)",
          // Tool-call plugins: a built-in tool or an MCP server (stdio), with the user's permission.
          "CREATE TABLE plugins ("
          " id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
          " kind TEXT NOT NULL CHECK (kind IN ('builtin','mcp')), command TEXT NOT NULL DEFAULT '',"
          " arguments TEXT NOT NULL DEFAULT '[]', environment TEXT NOT NULL DEFAULT '{}',"
          " enabled INTEGER NOT NULL DEFAULT 0,"
          " permission TEXT NOT NULL DEFAULT 'ask' CHECK (permission IN ('ask','always','never')),"
          " timeout_ms INTEGER NOT NULL DEFAULT 30000, created_at INTEGER NOT NULL)",
      },
      // v1 -> v2: full-text search (trigram: substrings, CJK included) over message text and titles.
      {
          "CREATE VIRTUAL TABLE messages_fts USING fts5(content, content='messages', content_rowid='id',"
          " tokenize='trigram')",
          "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN"
          " INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content); END",
          "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN"
          " INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content); END",
          "CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN"
          " INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);"
          " INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content); END",
          "INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')",
          "CREATE VIRTUAL TABLE conversations_fts USING fts5(title, content='conversations', content_rowid='id',"
          " tokenize='trigram')",
          "CREATE TRIGGER conversations_fts_insert AFTER INSERT ON conversations BEGIN"
          " INSERT INTO conversations_fts(rowid, title) VALUES (new.id, new.title); END",
          "CREATE TRIGGER conversations_fts_delete AFTER DELETE ON conversations BEGIN"
          " INSERT INTO conversations_fts(conversations_fts, rowid, title) VALUES ('delete', old.id, old.title); END",
          "CREATE TRIGGER conversations_fts_update AFTER UPDATE OF title ON conversations BEGIN"
          " INSERT INTO conversations_fts(conversations_fts, rowid, title) VALUES ('delete', old.id, old.title);"
          " INSERT INTO conversations_fts(rowid, title) VALUES (new.id, new.title); END",
          "INSERT INTO conversations_fts(conversations_fts) VALUES ('rebuild')",
      },
      // v2 -> v3: tool calls. A message's metadata (the tool an assistant turn calls or an
      // observation answers), an MCP server's working folder, per-tool policies, the plugins each
      // conversation enables, and the consent recorded for every call.
      {
          "ALTER TABLE messages ADD COLUMN metadata TEXT NOT NULL DEFAULT ''",
          "ALTER TABLE plugins ADD COLUMN working_dir TEXT NOT NULL DEFAULT ''",
          "CREATE TABLE tool_policies ("
          " plugin_id INTEGER NOT NULL REFERENCES plugins(id) ON DELETE CASCADE, tool TEXT NOT NULL,"
          " policy TEXT NOT NULL CHECK (policy IN ('ask','always','deny')), PRIMARY KEY (plugin_id, tool))",
          "CREATE TABLE conversation_plugins ("
          " conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,"
          " plugin_id INTEGER NOT NULL REFERENCES plugins(id) ON DELETE CASCADE, PRIMARY KEY (conversation_id, plugin_id))",
          "CREATE TABLE tool_consents ("
          " id INTEGER PRIMARY KEY, conversation_id INTEGER, plugin TEXT NOT NULL, tool TEXT NOT NULL,"
          " arguments TEXT NOT NULL, decision TEXT NOT NULL CHECK (decision IN"
          " ('allow_once','allow_always','deny','policy_always','policy_deny','cancelled')),"
          " outcome TEXT NOT NULL DEFAULT '', created_at INTEGER NOT NULL)",
          "CREATE TABLE tool_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
      },
  };
  return steps;
}

StoredConversation readConversation(const QSqlQuery& q) {
  StoredConversation c;
  c.id = q.value(0).toLongLong();
  c.title = q.value(1).toString();
  c.pinned = q.value(2).toBool();
  if (!q.value(3).isNull()) c.systemPromptId = q.value(3).toLongLong();
  c.systemPromptOverride = q.value(4).toString();
  c.currentLeafId = q.value(5).toLongLong();
  c.model = q.value(6).toString();
  c.createdAt = q.value(7).toLongLong();
  c.updatedAt = q.value(8).toLongLong();
  return c;
}
const char* kConversationColumns =
    "id, title, pinned, system_prompt_id, system_prompt_override, current_leaf_id, model, created_at, updated_at";

StoredMessage readMessage(const QSqlQuery& q) {
  StoredMessage m;
  m.id = q.value(0).toLongLong();
  m.conversationId = q.value(1).toLongLong();
  m.parentId = q.value(2).toLongLong();
  m.role = q.value(3).toString();
  m.content = q.value(4).toString();
  m.tokenCount = q.value(5).toInt();
  m.state = q.value(6).toString();
  m.createdAt = q.value(7).toLongLong();
  m.metadata = q.value(8).toString();
  return m;
}
const char* kMessageColumns = "id, conversation_id, parent_id, role, content, token_count, state, created_at, metadata";

}  // namespace

ConversationStore::ConversationStore(QObject* parent)
    : QObject(parent), connectionName_(QStringLiteral("store-") + QUuid::createUuid().toString(QUuid::WithoutBraces)) {}

ConversationStore::~ConversationStore() { close(); }

QString ConversationStore::defaultPath() {
  return QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + QStringLiteral("/conversations.sqlite");
}

QSqlDatabase ConversationStore::database() const { return QSqlDatabase::database(connectionName_, false); }

bool ConversationStore::isOpen() const { return database().isOpen(); }

bool ConversationStore::exec(const QString& sql) const {
  QSqlQuery q(database());
  if (!q.exec(sql)) {
    lastError_ = QStringLiteral("%1 (in: %2)").arg(q.lastError().text(), sql.left(120));
    return false;
  }
  return true;
}

bool ConversationStore::open(const QString& path, int targetVersion) {
  close();
  QDir().mkpath(QFileInfo(path).absolutePath());
  {
    QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), connectionName_);
    db.setDatabaseName(path);
    db.setConnectOptions(QStringLiteral("QSQLITE_BUSY_TIMEOUT=5000"));
    if (!db.open()) {
      lastError_ = QStringLiteral("Cannot open the database %1: %2").arg(path, db.lastError().text());
      return false;
    }
  }
  // WAL: readers never block the writer, and a crash mid-write loses only the uncommitted transaction.
  // synchronous=NORMAL is durable across application crashes in WAL mode (only a power cut may lose
  // the last commits), which is what streaming saves need.
  if (!exec(QStringLiteral("PRAGMA journal_mode=WAL")) || !exec(QStringLiteral("PRAGMA synchronous=NORMAL")) ||
      !exec(QStringLiteral("PRAGMA foreign_keys=ON"))) {
    lastError_ = QStringLiteral("Cannot set up the database %1: %2").arg(path, lastError_);
    return false;
  }
  const int from = schemaVersion();
  if (from > kLatestVersion) {
    lastError_ = QStringLiteral("The database %1 has schema version %2, newer than this app knows (%3). "
                                "Update GLM Chat.")
                     .arg(path)
                     .arg(from)
                     .arg(kLatestVersion);
    close();
    return false;
  }
  if (from < targetVersion && !migrate(from, targetVersion)) {
    lastError_ = QStringLiteral("Cannot migrate %1 from version %2: %3").arg(path).arg(from).arg(lastError_);
    close();
    return false;
  }
  return true;
}

bool ConversationStore::migrate(int from, int to) {
  QSqlDatabase db = database();
  for (int v = from; v < to; ++v) {
    db.transaction();
    for (const QString& sql : migrations().at(v)) {
      if (!exec(sql)) {
        db.rollback();
        return false;
      }
    }
    if (!exec(QStringLiteral("PRAGMA user_version=%1").arg(v + 1)) || !db.commit()) {
      db.rollback();
      return false;
    }
  }
  return true;
}

void ConversationStore::close() {
  if (QSqlDatabase::contains(connectionName_)) {
    {
      QSqlDatabase db = QSqlDatabase::database(connectionName_, false);
      db.close();
    }
    QSqlDatabase::removeDatabase(connectionName_);
  }
}

int ConversationStore::schemaVersion() const {
  QSqlQuery q(database());
  if (q.exec(QStringLiteral("PRAGMA user_version")) && q.next()) return q.value(0).toInt();
  return -1;
}

// Nested transactions: only the outermost begin/commit reach SQLite, so appendMessage inside
// importJson stays part of the import's single transaction.
bool ConversationStore::begin() {
  if (transactionDepth_++ == 0) return database().transaction();
  return true;
}
bool ConversationStore::commit() {
  if (transactionDepth_ > 0 && --transactionDepth_ == 0) return database().commit();
  return true;
}
void ConversationStore::rollback() {
  if (transactionDepth_ > 0 && --transactionDepth_ == 0) database().rollback();
  else rollbackRequested_ = true;
}

bool ConversationStore::touch(qint64 conversationId) {
  QSqlQuery q(database());
  q.prepare(QStringLiteral("UPDATE conversations SET updated_at=? WHERE id=?"));
  q.addBindValue(now());
  q.addBindValue(conversationId);
  return q.exec();
}

// ---- conversations ----

qint64 ConversationStore::createConversation(const QString& title, std::optional<qint64> systemPromptId) {
  if (!systemPromptId) {
    if (auto def = defaultSystemPrompt()) systemPromptId = def->id;
  }
  QSqlQuery q(database());
  q.prepare(QStringLiteral("INSERT INTO conversations(title, system_prompt_id, created_at, updated_at) VALUES (?,?,?,?)"));
  q.addBindValue(sqlText(title));
  q.addBindValue(systemPromptId ? QVariant(*systemPromptId) : QVariant(QMetaType(QMetaType::LongLong)));
  const qint64 t = now();
  q.addBindValue(t);
  q.addBindValue(t);
  if (!q.exec()) {
    lastError_ = q.lastError().text();
    return 0;
  }
  emit conversationsChanged();
  return q.lastInsertId().toLongLong();
}

std::optional<StoredConversation> ConversationStore::conversation(qint64 id) const {
  QSqlQuery q(database());
  q.prepare(QStringLiteral("SELECT %1 FROM conversations WHERE id=? AND deleted_at IS NULL").arg(kConversationColumns));
  q.addBindValue(id);
  if (q.exec() && q.next()) return readConversation(q);
  return std::nullopt;
}

QList<StoredConversation> ConversationStore::conversations() const {
  QList<StoredConversation> out;
  QSqlQuery q(database());
  if (!q.exec(QStringLiteral("SELECT %1 FROM conversations WHERE deleted_at IS NULL "
                             "ORDER BY pinned DESC, updated_at DESC, id DESC")
                  .arg(kConversationColumns)))
    return out;
  while (q.next()) out << readConversation(q);
  return out;
}

bool ConversationStore::renameConversation(qint64 id, const QString& title) {
  QSqlQuery q(database());
  q.prepare(QStringLiteral("UPDATE conversations SET title=? WHERE id=?"));
  q.addBindValue(sqlText(title));
  q.addBindValue(id);
  const bool ok = q.exec() && q.numRowsAffected() == 1;
  if (ok) emit conversationsChanged();
  return ok;
}

bool ConversationStore::setPinned(qint64 id, bool pinned) {
  QSqlQuery q(database());
  q.prepare(QStringLiteral("UPDATE conversations SET pinned=? WHERE id=?"));
  q.addBindValue(pinned ? 1 : 0);
  q.addBindValue(id);
  const bool ok = q.exec() && q.numRowsAffected() == 1;
  if (ok) emit conversationsChanged();
  return ok;
}

bool ConversationStore::setConversationSystemPrompt(qint64 id, std::optional<qint64> promptId,
                                                    const QString& overrideText) {
  QSqlQuery q(database());
  q.prepare(QStringLiteral("UPDATE conversations SET system_prompt_id=?, system_prompt_override=? WHERE id=?"));
  q.addBindValue(promptId && *promptId > 0 ? QVariant(*promptId) : QVariant(QMetaType(QMetaType::LongLong)));
  q.addBindValue(sqlText(overrideText));
  q.addBindValue(id);
  const bool ok = q.exec() && q.numRowsAffected() == 1;
  if (ok) emit conversationsChanged();
  return ok;
}

bool ConversationStore::setCurrentLeaf(qint64 conversationId, qint64 messageId) {
  QSqlQuery q(database());
  q.prepare(QStringLiteral("UPDATE conversations SET current_leaf_id=? WHERE id=?"));
  q.addBindValue(nullableId(messageId));
  q.addBindValue(conversationId);
  return q.exec();
}

bool ConversationStore::deleteConversation(qint64 id) {
  QSqlQuery q(database());
  q.prepare(QStringLiteral("UPDATE conversations SET deleted_at=? WHERE id=? AND deleted_at IS NULL"));
  q.addBindValue(now());
  q.addBindValue(id);
  const bool ok = q.exec() && q.numRowsAffected() == 1;
  if (ok) emit conversationsChanged();
  return ok;
}

bool ConversationStore::undoDelete(qint64 id) {
  QSqlQuery q(database());
  q.prepare(QStringLiteral("UPDATE conversations SET deleted_at=NULL WHERE id=? AND deleted_at IS NOT NULL"));
  q.addBindValue(id);
  const bool ok = q.exec() && q.numRowsAffected() == 1;
  if (ok) emit conversationsChanged();
  return ok;
}

int ConversationStore::purgeDeleted() {
  QSqlQuery q(database());
  if (!q.exec(QStringLiteral("DELETE FROM conversations WHERE deleted_at IS NOT NULL"))) return 0;
  return q.numRowsAffected();
}

QList<qint64> ConversationStore::search(const QString& text) const {
  QList<qint64> out;
  const QString needle = text.trimmed();
  if (needle.isEmpty()) return out;
  QSqlQuery q(database());
  if (needle.size() >= 3 && schemaVersion() >= 2) {
    // The trigram tokenizer matches any substring of 3+ characters; quote it as one FTS5 string.
    QString phrase = needle;
    phrase.replace(QLatin1Char('"'), QStringLiteral("\"\""));
    phrase = QLatin1Char('"') + phrase + QLatin1Char('"');
    q.prepare(QStringLiteral(
        "SELECT c.id FROM conversations c WHERE c.deleted_at IS NULL AND ("
        " c.id IN (SELECT rowid FROM conversations_fts WHERE conversations_fts MATCH ?) OR"
        " c.id IN (SELECT m.conversation_id FROM messages m WHERE m.id IN"
        "   (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?)))"
        " ORDER BY c.pinned DESC, c.updated_at DESC, c.id DESC"));
    q.addBindValue(phrase);
    q.addBindValue(phrase);
  } else {
    QString pattern = needle;
    pattern.replace(QLatin1Char('\\'), QStringLiteral("\\\\"))
        .replace(QLatin1Char('%'), QStringLiteral("\\%"))
        .replace(QLatin1Char('_'), QStringLiteral("\\_"));
    pattern = QLatin1Char('%') + pattern + QLatin1Char('%');
    q.prepare(QStringLiteral(
        "SELECT c.id FROM conversations c WHERE c.deleted_at IS NULL AND (c.title LIKE ? ESCAPE '\\' OR"
        " EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id=c.id AND m.content LIKE ? ESCAPE '\\'))"
        " ORDER BY c.pinned DESC, c.updated_at DESC, c.id DESC"));
    q.addBindValue(pattern);
    q.addBindValue(pattern);
  }
  if (!q.exec()) {
    lastError_ = q.lastError().text();
    return out;
  }
  while (q.next()) out << q.value(0).toLongLong();
  return out;
}

// ---- messages ----

qint64 ConversationStore::appendMessage(qint64 conversationId, qint64 parentId, const QString& role,
                                        const QString& content, const QString& state, int tokenCount,
                                        const QString& metadata) {
  begin();
  QSqlQuery q(database());
  // Metadata only when there is some, so the call also works on a database not yet at version 3.
  if (metadata.isEmpty())
    q.prepare(QStringLiteral("INSERT INTO messages(conversation_id, parent_id, role, content, token_count, state,"
                             " created_at, updated_at) VALUES (?,?,?,?,?,?,?,?)"));
  else
    q.prepare(QStringLiteral("INSERT INTO messages(conversation_id, parent_id, role, content, token_count, state,"
                             " created_at, updated_at, metadata) VALUES (?,?,?,?,?,?,?,?,?)"));
  const qint64 t = now();
  q.addBindValue(conversationId);
  q.addBindValue(nullableId(parentId));
  q.addBindValue(sqlText(role));
  q.addBindValue(sqlText(content));
  q.addBindValue(tokenCount);
  q.addBindValue(sqlText(state));
  q.addBindValue(t);
  q.addBindValue(t);
  if (!metadata.isEmpty()) q.addBindValue(metadata);
  if (!q.exec()) {
    lastError_ = q.lastError().text();
    rollback();
    return 0;
  }
  const qint64 id = q.lastInsertId().toLongLong();
  setCurrentLeaf(conversationId, id);
  touch(conversationId);
  if (!commit()) {
    lastError_ = database().lastError().text();
    return 0;
  }
  emit messagesChanged(conversationId);
  return id;
}

bool ConversationStore::updateMessage(qint64 id, const QString& content, const QString& state, int tokenCount) {
  QSqlQuery q(database());
  q.prepare(QStringLiteral("UPDATE messages SET content=?, state=?, token_count=?, updated_at=? WHERE id=?"));
  q.addBindValue(sqlText(content));
  q.addBindValue(sqlText(state));
  q.addBindValue(tokenCount);
  q.addBindValue(now());
  q.addBindValue(id);
  if (!q.exec()) {
    lastError_ = q.lastError().text();
    return false;
  }
  return q.numRowsAffected() == 1;
}

bool ConversationStore::setMessageMetadata(qint64 id, const QString& metadata) {
  QSqlQuery q(database());
  q.prepare(QStringLiteral("UPDATE messages SET metadata=? WHERE id=?"));
  q.addBindValue(sqlText(metadata));
  q.addBindValue(id);
  if (!q.exec()) {
    lastError_ = q.lastError().text();
    return false;
  }
  return q.numRowsAffected() == 1;
}

std::optional<StoredMessage> ConversationStore::message(qint64 id) const {
  QSqlQuery q(database());
  q.prepare(QStringLiteral("SELECT %1 FROM messages WHERE id=?").arg(kMessageColumns));
  q.addBindValue(id);
  if (q.exec() && q.next()) return readMessage(q);
  return std::nullopt;
}

QList<StoredMessage> ConversationStore::messages(qint64 conversationId) const {
  QList<StoredMessage> out;
  QSqlQuery q(database());
  q.prepare(QStringLiteral("SELECT %1 FROM messages WHERE conversation_id=? ORDER BY id").arg(kMessageColumns));
  q.addBindValue(conversationId);
  if (!q.exec()) return out;
  while (q.next()) out << readMessage(q);
  return out;
}

QList<StoredMessage> ConversationStore::path(qint64 leafId) const {
  QList<StoredMessage> out;
  QSqlQuery q(database());
  // Walk the parent chain in one query.
  q.prepare(QStringLiteral(
                "WITH RECURSIVE chain(id, depth) AS (SELECT ?, 0 UNION ALL"
                " SELECT m.parent_id, chain.depth + 1 FROM messages m JOIN chain ON m.id = chain.id"
                " WHERE m.parent_id IS NOT NULL)"
                " SELECT %1 FROM messages JOIN chain USING(id) ORDER BY chain.depth DESC")
                .arg(QStringLiteral("messages.id, conversation_id, parent_id, role, content, token_count, state, created_at, metadata")));
  q.addBindValue(leafId);
  if (!q.exec()) {
    lastError_ = q.lastError().text();
    return out;
  }
  while (q.next()) out << readMessage(q);
  return out;
}

QList<qint64> ConversationStore::siblings(qint64 messageId) const {
  QList<qint64> out;
  const auto m = message(messageId);
  if (!m) return out;
  QSqlQuery q(database());
  if (m->parentId > 0) {
    q.prepare(QStringLiteral("SELECT id FROM messages WHERE parent_id=? ORDER BY id"));
    q.addBindValue(m->parentId);
  } else {
    q.prepare(QStringLiteral("SELECT id FROM messages WHERE conversation_id=? AND parent_id IS NULL ORDER BY id"));
    q.addBindValue(m->conversationId);
  }
  if (!q.exec()) return out;
  while (q.next()) out << q.value(0).toLongLong();
  return out;
}

qint64 ConversationStore::deepestLeaf(qint64 messageId) const {
  qint64 current = messageId;
  QSqlQuery q(database());
  q.prepare(QStringLiteral("SELECT id FROM messages WHERE parent_id=? ORDER BY id DESC LIMIT 1"));
  for (;;) {
    q.addBindValue(current);
    if (!q.exec() || !q.next()) return current;
    current = q.value(0).toLongLong();
  }
}

// ---- system prompts ----

qint64 ConversationStore::createSystemPrompt(const QString& name, const QString& text) {
  QSqlQuery q(database());
  q.prepare(QStringLiteral("INSERT INTO system_prompts(name, text, created_at, updated_at) VALUES (?,?,?,?)"));
  const qint64 t = now();
  q.addBindValue(sqlText(name));
  q.addBindValue(text);
  q.addBindValue(t);
  q.addBindValue(t);
  if (!q.exec()) {
    lastError_ = q.lastError().text();
    return 0;
  }
  emit systemPromptsChanged();
  return q.lastInsertId().toLongLong();
}

bool ConversationStore::updateSystemPrompt(qint64 id, const QString& name, const QString& text) {
  QSqlQuery q(database());
  q.prepare(QStringLiteral("UPDATE system_prompts SET name=?, text=?, updated_at=? WHERE id=?"));
  q.addBindValue(sqlText(name));
  q.addBindValue(text);
  q.addBindValue(now());
  q.addBindValue(id);
  const bool ok = q.exec() && q.numRowsAffected() == 1;
  if (ok) emit systemPromptsChanged();
  return ok;
}

bool ConversationStore::deleteSystemPrompt(qint64 id) {
  QSqlQuery q(database());
  q.prepare(QStringLiteral("DELETE FROM system_prompts WHERE id=?"));
  q.addBindValue(id);
  const bool ok = q.exec() && q.numRowsAffected() == 1;
  if (ok) emit systemPromptsChanged();
  return ok;
}

bool ConversationStore::setDefaultSystemPrompt(qint64 id) {
  QSqlQuery q(database());
  q.prepare(QStringLiteral("UPDATE system_prompts SET is_default = (id = ?)"));
  q.addBindValue(id);
  const bool ok = q.exec();
  if (ok) emit systemPromptsChanged();
  return ok;
}

QList<StoredSystemPrompt> ConversationStore::systemPrompts() const {
  QList<StoredSystemPrompt> out;
  QSqlQuery q(database());
  if (!q.exec(QStringLiteral("SELECT id, name, text, is_default FROM system_prompts ORDER BY name COLLATE NOCASE, id")))
    return out;
  while (q.next()) out << StoredSystemPrompt{q.value(0).toLongLong(), q.value(1).toString(), q.value(2).toString(),
                                             q.value(3).toBool()};
  return out;
}

std::optional<StoredSystemPrompt> ConversationStore::systemPrompt(qint64 id) const {
  for (const auto& p : systemPrompts())
    if (p.id == id) return p;
  return std::nullopt;
}

std::optional<StoredSystemPrompt> ConversationStore::defaultSystemPrompt() const {
  for (const auto& p : systemPrompts())
    if (p.isDefault) return p;
  return std::nullopt;
}

QString ConversationStore::effectiveSystemPrompt(qint64 conversationId) const {
  const auto c = conversation(conversationId);
  if (!c) return {};
  if (!c->systemPromptOverride.trimmed().isEmpty()) return c->systemPromptOverride;
  if (c->systemPromptId) {
    if (auto p = systemPrompt(*c->systemPromptId)) return p->text;
  }
  return {};
}

// ---- sampling settings ----

SamplingSettings ConversationStore::samplingSettings(qint64 conversationId) const {
  SamplingSettings s;
  QSqlQuery q(database());
  q.prepare(QStringLiteral("SELECT temperature, top_p, top_k, min_p, repetition_penalty, max_tokens, seed"
                           " FROM conversation_settings WHERE conversation_id=?"));
  q.addBindValue(conversationId);
  if (q.exec() && q.next()) {
    if (!q.value(0).isNull()) s.temperature = q.value(0).toDouble();
    if (!q.value(1).isNull()) s.topP = q.value(1).toDouble();
    if (!q.value(2).isNull()) s.topK = q.value(2).toInt();
    if (!q.value(3).isNull()) s.minP = q.value(3).toDouble();
    if (!q.value(4).isNull()) s.repetitionPenalty = q.value(4).toDouble();
    if (!q.value(5).isNull()) s.maxTokens = q.value(5).toInt();
    if (!q.value(6).isNull()) s.seed = q.value(6).toLongLong();
  }
  return s;
}

bool ConversationStore::setSamplingSettings(qint64 conversationId, const SamplingSettings& s) {
  QSqlQuery q(database());
  q.prepare(QStringLiteral("INSERT OR REPLACE INTO conversation_settings(conversation_id, temperature, top_p, top_k,"
                           " min_p, repetition_penalty, max_tokens, seed) VALUES (?,?,?,?,?,?,?,?)"));
  q.addBindValue(conversationId);
  q.addBindValue(s.temperature);
  q.addBindValue(s.topP);
  q.addBindValue(s.topK);
  q.addBindValue(s.minP);
  q.addBindValue(s.repetitionPenalty);
  q.addBindValue(s.maxTokens);
  q.addBindValue(s.seed);
  if (!q.exec()) {
    lastError_ = q.lastError().text();
    return false;
  }
  return true;
}

// ---- export / import ----

QString ConversationStore::exportMarkdown(qint64 conversationId) const {
  const auto c = conversation(conversationId);
  if (!c) return {};
  QString out = QStringLiteral("# %1\n\n").arg(c->title);
  const QString system = effectiveSystemPrompt(conversationId);
  if (!system.isEmpty()) out += QStringLiteral("> **System:** %1\n\n").arg(QString(system).replace('\n', "\n> "));
  for (const auto& m : path(c->currentLeafId)) {
    const QString who = m.role == QLatin1String("user")        ? QStringLiteral("User")
                        : m.role == QLatin1String("assistant") ? QStringLiteral("Assistant")
                                                               : m.role;
    out += QStringLiteral("## %1\n\n%2\n\n").arg(who, m.content);
  }
  return out;
}

QJsonObject ConversationStore::exportJson(qint64 conversationId) const {
  const auto c = conversation(conversationId);
  if (!c) return {};
  QJsonArray messagesJson;
  for (const auto& m : messages(conversationId)) {
    QJsonObject o{{"id", m.id},
                  {"role", m.role},
                  {"content", m.content},
                  {"token_count", m.tokenCount},
                  {"state", m.state},
                  {"created_at", m.createdAt}};
    o.insert("parent", m.parentId > 0 ? QJsonValue(m.parentId) : QJsonValue());
    messagesJson.append(o);
  }
  const SamplingSettings s = samplingSettings(conversationId);
  return QJsonObject{{"format", "glmchat-conversation"},
                     {"version", 1},
                     {"title", c->title},
                     {"pinned", c->pinned},
                     {"system_prompt", effectiveSystemPrompt(conversationId)},
                     {"model", c->model},
                     {"created_at", c->createdAt},
                     {"current_leaf", c->currentLeafId},
                     {"sampling", QJsonObject{{"temperature", s.temperature},
                                              {"top_p", s.topP},
                                              {"top_k", s.topK},
                                              {"min_p", s.minP},
                                              {"repetition_penalty", s.repetitionPenalty},
                                              {"max_tokens", s.maxTokens},
                                              {"seed", s.seed}}},
                     {"messages", messagesJson}};
}

qint64 ConversationStore::importJson(const QJsonObject& json, QString* error) {
  auto fail = [&](const QString& why) {
    if (error) *error = why;
    return qint64(0);
  };
  if (json.value("format").toString() != QLatin1String("glmchat-conversation"))
    return fail(QStringLiteral("not a GLM Chat conversation (field \"format\" is \"%1\", expected "
                               "\"glmchat-conversation\")")
                    .arg(json.value("format").toString()));
  if (json.value("version").toInt() != 1)
    return fail(QStringLiteral("unsupported conversation version %1 (expected 1)").arg(json.value("version").toInt()));
  begin();
  rollbackRequested_ = false;
  const qint64 id = createConversation(json.value("title").toString(QStringLiteral("Imported")), std::nullopt);
  if (!id) {
    rollback();
    return fail(lastError_);
  }
  setPinned(id, json.value("pinned").toBool());
  const QString system = json.value("system_prompt").toString();
  setConversationSystemPrompt(id, std::nullopt, system);
  QHash<qint64, qint64> newIds;  // id in the file -> id here
  const QJsonArray list = json.value("messages").toArray();
  for (const QJsonValue& v : list) {
    const QJsonObject o = v.toObject();
    const qint64 oldParent = o.value("parent").isNull() ? 0 : o.value("parent").toInteger();
    if (oldParent && !newIds.contains(oldParent)) {
      rollback();
      return fail(QStringLiteral("message %1 names parent %2, which comes later or is missing")
                      .arg(o.value("id").toInteger())
                      .arg(oldParent));
    }
    const QString role = o.value("role").toString();
    const qint64 nid = appendMessage(id, oldParent ? newIds.value(oldParent) : 0, role, o.value("content").toString(),
                                     o.value("state").toString(QStringLiteral("done")), o.value("token_count").toInt());
    if (!nid) {
      rollback();
      return fail(QStringLiteral("message %1: %2").arg(o.value("id").toInteger()).arg(lastError_));
    }
    newIds.insert(o.value("id").toInteger(), nid);
  }
  const qint64 leaf = newIds.value(json.value("current_leaf").toInteger(), 0);
  setCurrentLeaf(id, leaf ? leaf : (newIds.isEmpty() ? 0 : deepestLeaf(newIds.value(list.first().toObject().value("id").toInteger()))));
  const QJsonObject sj = json.value("sampling").toObject();
  if (!sj.isEmpty()) {
    SamplingSettings s;
    s.temperature = sj.value("temperature").toDouble(s.temperature);
    s.topP = sj.value("top_p").toDouble(s.topP);
    s.topK = sj.value("top_k").toInt(s.topK);
    s.minP = sj.value("min_p").toDouble(s.minP);
    s.repetitionPenalty = sj.value("repetition_penalty").toDouble(s.repetitionPenalty);
    s.maxTokens = sj.value("max_tokens").toInt(s.maxTokens);
    s.seed = sj.value("seed").toInteger(s.seed);
    setSamplingSettings(id, s);
  }
  if (rollbackRequested_) {
    rollback();
    return fail(lastError_);
  }
  if (!commit()) {
    return fail(database().lastError().text());
  }
  emit conversationsChanged();
  return id;
}
