// QtQuickTest: every QML module the window imports is installed, and the C++ singleton the window
// binds to behaves as QML sees it (tests/app/qml/tst_*.qml).
#include <QQmlEngine>
#include <QTemporaryDir>
#include <QtQml/qqmlextensionplugin.h>
#include <QtQuickTest>

#include "chatcontroller.h"

Q_IMPORT_QML_PLUGIN(GlmChatCorePlugin)

class Setup : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;
  std::unique_ptr<ChatController> controller_;

 public slots:
  void qmlEngineAvailable(QQmlEngine* engine) {
    engine->addImportPath(QStringLiteral("qrc:/"));
    controller_ = std::make_unique<ChatController>(dir_.path());
    controller_->store()->createConversation(QStringLiteral("Alpha"));
    controller_->store()->createConversation(QStringLiteral("Beta 北京"));
    controller_->setQmlEngine(engine);
    controller_->registerQmlSingleton();
  }
  void cleanupTestCase() { controller_.reset(); }
};

QUICK_TEST_MAIN_WITH_SETUP(glmchat_qml, Setup)
#include "tst_qml.moc"
