// A signal spy for signals emitted on another thread. QSignalSpy records on the emitting thread
// (a direct connection), so reading it from the test's thread while the worker emits is a data race.
// QueuedSpy records through a queued connection into an object of the thread that made it: entries
// appear while that thread processes events (QTest::qWaitFor does), in emission order.
#pragma once
#include <QList>
#include <QObject>
#include <QVariant>

#include <type_traits>

class QueuedSpy : public QList<QVariantList> {
 public:
  template <typename Sender, typename... Args>
  QueuedSpy(Sender* sender, void (Sender::*signal)(Args...)) {
    QObject::connect(
        sender, signal, &receiver_,
        [this](Args... args) { append(QVariantList{QVariant::fromValue(std::decay_t<Args>(args))...}); },
        Qt::QueuedConnection);
  }
  QueuedSpy(const QueuedSpy&) = delete;
  QueuedSpy& operator=(const QueuedSpy&) = delete;

 private:
  QObject receiver_;  // lives in the thread that created the spy; the lambda runs there
};
