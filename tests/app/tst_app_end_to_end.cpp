// End to end: the real app binary, offscreen, with the tiny model: send a message, see the reply,
// restart, and find the conversation again.
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

class AppEndToEndTest : public QObject {
  Q_OBJECT

 private slots:
  void sendReplyRestartFindsTheConversation() {
    QTemporaryDir data;
    QProcess app;
    app.setProcessChannelMode(QProcess::SeparateChannels);
    app.start(QStringLiteral(GLMCHAT_BIN), {"--data-dir", data.path(), "--model", QStringLiteral(GLM_TINY_MODEL),
                                            "--send", "Hello from the end-to-end test"});
    QVERIFY(app.waitForFinished(50000));
    const QString out = QString::fromUtf8(app.readAllStandardOutput());
    const QString err = QString::fromUtf8(app.readAllStandardError());
    QVERIFY2(app.exitCode() == 0, qPrintable(err));
    QVERIFY2(out.contains(QStringLiteral("reply: ")), qPrintable(out + err));

    QProcess again;
    again.start(QStringLiteral(GLMCHAT_BIN), {"--data-dir", data.path(), "--print-conversations"});
    QVERIFY(again.waitForFinished(30000));
    const QString listed = QString::fromUtf8(again.readAllStandardOutput());
    QVERIFY2(again.exitCode() == 0, qPrintable(again.readAllStandardError()));
    QVERIFY2(listed.contains(QStringLiteral("conversations: 1")), qPrintable(listed));
    QVERIFY2(listed.contains(QStringLiteral("conversation: Hello from the end-to-end test")), qPrintable(listed));
  }
};

QTEST_GUILESS_MAIN(AppEndToEndTest)
#include "tst_app_end_to_end.moc"
