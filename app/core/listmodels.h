// The list models QML binds to. Each reads from the ConversationStore on the GUI thread.
#pragma once
#include <QAbstractListModel>
#include <QtQml/qqmlregistration.h>

#include "conversationstore.h"

// The sidebar: conversations, pinned first, filtered by the search text (titles and message text).
class ConversationListModel : public QAbstractListModel {
  Q_OBJECT
  QML_ELEMENT
  QML_UNCREATABLE("owned by ChatController")
  Q_PROPERTY(QString searchText READ searchText WRITE setSearchText NOTIFY searchTextChanged)
  Q_PROPERTY(int count READ rowCount NOTIFY countChanged)
 public:
  enum Role { IdRole = Qt::UserRole + 1, TitleRole, PinnedRole, UpdatedAtRole };
  explicit ConversationListModel(ConversationStore* store, QObject* parent = nullptr);

  int rowCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role) const override;
  QHash<int, QByteArray> roleNames() const override;

  QString searchText() const { return searchText_; }
  void setSearchText(const QString& text);
  Q_INVOKABLE int rowOf(qint64 conversationId) const;
  Q_INVOKABLE QString titleAt(int row) const;
  void reload();

 signals:
  void searchTextChanged();
  void countChanged();

 private:
  ConversationStore* store_;
  QString searchText_;
  QList<StoredConversation> rows_;
};

// The conversation on screen: the messages of its current branch, root first. Each row knows its
// place among its siblings (branchIndex of branchCount), so the view can offer "< 2/3 >".
class MessageListModel : public QAbstractListModel {
  Q_OBJECT
  QML_ELEMENT
  QML_UNCREATABLE("owned by ChatController")
  Q_PROPERTY(int count READ rowCount NOTIFY countChanged)
 public:
  enum Role {
    IdRole = Qt::UserRole + 1,
    RoleRole,
    ContentRole,
    TokenCountRole,
    StateRole,
    BranchIndexRole,
    BranchCountRole
  };
  explicit MessageListModel(ConversationStore* store, QObject* parent = nullptr);

  int rowCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role) const override;
  QHash<int, QByteArray> roleNames() const override;

  void setConversation(qint64 conversationId);
  qint64 conversationId() const { return conversationId_; }
  void reload();
  // The streaming reply grows without a reload: only its row changes.
  void updateMessage(qint64 messageId, const QString& content, const QString& state, int tokenCount);
  const QList<StoredMessage>& messages() const { return rows_; }

 signals:
  void countChanged();

 private:
  struct Row {
    int branchIndex = 0;
    int branchCount = 1;
  };
  ConversationStore* store_;
  qint64 conversationId_ = 0;
  QList<StoredMessage> rows_;
  QList<Row> branches_;
};

// System prompt presets.
class SystemPromptListModel : public QAbstractListModel {
  Q_OBJECT
  QML_ELEMENT
  QML_UNCREATABLE("owned by ChatController")
  Q_PROPERTY(int count READ rowCount NOTIFY countChanged)
 public:
  enum Role { IdRole = Qt::UserRole + 1, NameRole, TextRole, IsDefaultRole };
  explicit SystemPromptListModel(ConversationStore* store, QObject* parent = nullptr);

  int rowCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role) const override;
  QHash<int, QByteArray> roleNames() const override;
  Q_INVOKABLE int rowOf(qint64 promptId) const;
  void reload();

 signals:
  void countChanged();

 private:
  ConversationStore* store_;
  QList<StoredSystemPrompt> rows_;
};
