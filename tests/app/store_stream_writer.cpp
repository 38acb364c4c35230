// Test helper: writes a conversation the way the app streams a reply (an UPDATE per batch, each its
// own commit) and prints "committed <message id> <characters>" after every commit, until killed.
#include <QCoreApplication>
#include <QThread>
#include <cstdio>

#include "conversationstore.h"

int main(int argc, char* argv[]) {
  QCoreApplication app(argc, argv);
  if (argc < 2) {
    std::fprintf(stderr, "usage: store_stream_writer DATABASE\n");
    return 2;
  }
  ConversationStore store;
  if (!store.open(QString::fromLocal8Bit(argv[1]))) {
    std::fprintf(stderr, "%s\n", qPrintable(store.lastError()));
    return 1;
  }
  for (int turn = 0;; ++turn) {
    const qint64 conversation = store.createConversation(QStringLiteral("stream %1").arg(turn));
    const QString question = QStringLiteral("question %1").arg(turn);
    const qint64 user = store.appendMessage(conversation, 0, QStringLiteral("user"), question);
    std::printf("committed %lld %lld\n", static_cast<long long>(user), static_cast<long long>(question.size()));
    const qint64 reply = store.appendMessage(conversation, user, QStringLiteral("assistant"), QString(),
                                             QStringLiteral("streaming"));
    QString text;
    for (int piece = 0; piece < 40; ++piece) {
      text += QStringLiteral("piece %1 of the streamed reply; ").arg(piece);
      if (!store.updateMessage(reply, text, QStringLiteral("streaming"), piece + 1)) return 1;
      std::printf("committed %lld %lld\n", static_cast<long long>(reply), static_cast<long long>(text.size()));
      std::fflush(stdout);
      QThread::msleep(1);
    }
    store.updateMessage(reply, text, QStringLiteral("done"), 40);
  }
}
