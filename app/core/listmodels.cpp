#include "listmodels.h"

// ---- ConversationListModel ----

ConversationListModel::ConversationListModel(ConversationStore* store, QObject* parent)
    : QAbstractListModel(parent), store_(store) {
  connect(store_, &ConversationStore::conversationsChanged, this, &ConversationListModel::reload);
  connect(store_, &ConversationStore::messagesChanged, this, [this] {
    if (!searchText_.isEmpty()) reload();
  });
  reload();
}

int ConversationListModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : rows_.size(); }

QVariant ConversationListModel::data(const QModelIndex& index, int role) const {
  if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) return {};
  const StoredConversation& c = rows_.at(index.row());
  switch (role) {
    case Qt::DisplayRole:
    case TitleRole: return c.title;
    case IdRole: return c.id;
    case PinnedRole: return c.pinned;
    case UpdatedAtRole: return c.updatedAt;
  }
  return {};
}

QHash<int, QByteArray> ConversationListModel::roleNames() const {
  return {{IdRole, "conversationId"}, {TitleRole, "title"}, {PinnedRole, "pinned"}, {UpdatedAtRole, "updatedAt"}};
}

void ConversationListModel::setSearchText(const QString& text) {
  if (text == searchText_) return;
  searchText_ = text;
  emit searchTextChanged();
  reload();
}

int ConversationListModel::rowOf(qint64 conversationId) const {
  for (int i = 0; i < rows_.size(); ++i)
    if (rows_[i].id == conversationId) return i;
  return -1;
}

QString ConversationListModel::titleAt(int row) const {
  return row >= 0 && row < rows_.size() ? rows_[row].title : QString();
}

void ConversationListModel::reload() {
  if (!store_->isOpen()) return;
  QList<StoredConversation> all = store_->conversations();
  if (!searchText_.trimmed().isEmpty()) {
    const QList<qint64> hits = store_->search(searchText_);
    QList<StoredConversation> kept;
    for (const auto& c : all)
      if (hits.contains(c.id)) kept << c;
    all = kept;
  }
  const int before = rows_.size();
  beginResetModel();
  rows_ = all;
  endResetModel();
  if (before != rows_.size()) emit countChanged();
}

// ---- MessageListModel ----

MessageListModel::MessageListModel(ConversationStore* store, QObject* parent)
    : QAbstractListModel(parent), store_(store) {}

int MessageListModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : rows_.size(); }

QVariant MessageListModel::data(const QModelIndex& index, int role) const {
  if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) return {};
  const StoredMessage& m = rows_.at(index.row());
  switch (role) {
    case Qt::DisplayRole:
    case ContentRole: return m.content;
    case IdRole: return m.id;
    case RoleRole: return m.role;
    case TokenCountRole: return m.tokenCount;
    case StateRole: return m.state;
    case BranchIndexRole: return branches_.at(index.row()).branchIndex;
    case BranchCountRole: return branches_.at(index.row()).branchCount;
  }
  return {};
}

QHash<int, QByteArray> MessageListModel::roleNames() const {
  return {{IdRole, "messageId"},        {RoleRole, "role"},
          {ContentRole, "content"},     {TokenCountRole, "tokenCount"},
          {StateRole, "state"},         {BranchIndexRole, "branchIndex"},
          {BranchCountRole, "branchCount"}};
}

void MessageListModel::setConversation(qint64 conversationId) {
  conversationId_ = conversationId;
  reload();
}

void MessageListModel::reload() {
  QList<StoredMessage> rows;
  QList<Row> branches;
  if (conversationId_ > 0 && store_->isOpen()) {
    if (const auto c = store_->conversation(conversationId_); c && c->currentLeafId > 0) {
      rows = store_->path(c->currentLeafId);
      for (const auto& m : rows) {
        const QList<qint64> sib = store_->siblings(m.id);
        branches << Row{int(sib.indexOf(m.id)), int(sib.size())};
      }
    }
  }
  const int before = rows_.size();
  beginResetModel();
  rows_ = rows;
  branches_ = branches;
  endResetModel();
  if (before != rows_.size()) emit countChanged();
}

void MessageListModel::updateMessage(qint64 messageId, const QString& content, const QString& state, int tokenCount) {
  for (int i = rows_.size() - 1; i >= 0; --i) {
    if (rows_[i].id != messageId) continue;
    rows_[i].content = content;
    rows_[i].state = state;
    rows_[i].tokenCount = tokenCount;
    emit dataChanged(index(i), index(i), {ContentRole, StateRole, TokenCountRole, Qt::DisplayRole});
    return;
  }
}

// ---- SystemPromptListModel ----

SystemPromptListModel::SystemPromptListModel(ConversationStore* store, QObject* parent)
    : QAbstractListModel(parent), store_(store) {
  connect(store_, &ConversationStore::systemPromptsChanged, this, &SystemPromptListModel::reload);
  reload();
}

int SystemPromptListModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : rows_.size(); }

QVariant SystemPromptListModel::data(const QModelIndex& index, int role) const {
  if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) return {};
  const StoredSystemPrompt& p = rows_.at(index.row());
  switch (role) {
    case Qt::DisplayRole:
    case NameRole: return p.name;
    case IdRole: return p.id;
    case TextRole: return p.text;
    case IsDefaultRole: return p.isDefault;
  }
  return {};
}

QHash<int, QByteArray> SystemPromptListModel::roleNames() const {
  return {{IdRole, "promptId"}, {NameRole, "name"}, {TextRole, "promptText"}, {IsDefaultRole, "isDefault"}};
}

int SystemPromptListModel::rowOf(qint64 promptId) const {
  for (int i = 0; i < rows_.size(); ++i)
    if (rows_[i].id == promptId) return i;
  return -1;
}

void SystemPromptListModel::reload() {
  if (!store_->isOpen()) return;
  const int before = rows_.size();
  beginResetModel();
  rows_ = store_->systemPrompts();
  endResetModel();
  if (before != rows_.size()) emit countChanged();
}
