// GLM Chat desktop app entry point. Options:
//   --smoke              load the whole QML scene, then exit 0 (used by tests and the package check)
//   --screenshot FILE    render the window offscreen or under X, save a PNG, exit
//   --lang en|zh_CN      interface language (default: the saved choice, else the system's)
//   --theme light|dark|system
//   --data-dir DIR       where the database and settings live (default: the user's data directory)
//   --model DIR          load this model folder at start (and remember it)
//   --send TEXT          once the model is loaded, send TEXT, print the reply and exit (scripted use, tests)
//   --print-conversations  print the conversation titles found in the store, then exit
//   --show DIALOG        open settings, prompts, models or plugins at start (screenshots); tool-call
//                        shows the demo conversation with a tool call and a pending consent
//   --demo               fill an empty store with sample conversations (for screenshots)
#include <QCommandLineParser>
#include <QDir>
#include <QFileInfo>
#include <QGuiApplication>
#include <QQmlApplicationEngine>
#include <QQuickStyle>
#include <QQuickWindow>
#include <QTimer>
#include <QtQml/qqmlextensionplugin.h>

#include <cstdio>

#include "chatcontroller.h"

Q_IMPORT_QML_PLUGIN(GlmChatCorePlugin)

namespace {

const QString kToolDemoTitle = QStringLiteral("17% of 2,340 / 计算器");

void fillDemo(ChatController& controller) {
  ConversationStore* store = controller.store();
  if (!store->conversations().isEmpty()) return;
  const qint64 prompt = store->createSystemPrompt(QStringLiteral("Concise assistant"),
                                                  QStringLiteral("You are a concise, friendly assistant."));
  store->setDefaultSystemPrompt(prompt);
  store->createConversation(QStringLiteral("Trip to Hangzhou / 杭州行程"));
  // A reply that called the calculator: the call, its result (an observation), the answer.
  const qint64 tools = store->createConversation(kToolDemoTitle);
  const qint64 tu = store->appendMessage(tools, 0, QStringLiteral("user"), QStringLiteral("What is 17% of 2,340?"), "done", 9);
  const qint64 tc = store->appendMessage(tools, tu, QStringLiteral("assistant"),
                                         QStringLiteral("calculator\n{\"expression\": \"2340 * 17 / 100\"}"), "done", 16);
  store->setMessageMetadata(tc, QStringLiteral("calculator"));
  const qint64 to = store->appendMessage(tools, tc, QStringLiteral("observation"), QStringLiteral("397.8"), "done", 0,
                                         QStringLiteral("calculator"));
  store->appendMessage(tools, to, QStringLiteral("assistant"), QStringLiteral("17% of 2,340 is **397.8**."), "done", 10);
  if (ToolHost* host = controller.toolHost()) {
    host->setPluginEnabled(tools, host->pluginId(QString::fromLatin1(ToolHost::kCalculator)), true);
    host->addMcpServer(QStringLiteral("weather"), QStringLiteral("weather-mcp"), {QStringLiteral("--stdio")});
  }
  const qint64 id = store->createConversation(QStringLiteral("Sorting in C++"));
  const qint64 u1 = store->appendMessage(id, 0, QStringLiteral("user"),
                                         QStringLiteral("How do I sort a vector of pairs by the second value?"), "done", 14);
  const qint64 a1 = store->appendMessage(
      id, u1, QStringLiteral("assistant"),
      QStringLiteral("Use `std::sort` with a lambda that compares `second`:\n\n```cpp\nstd::sort(v.begin(), v.end(),\n"
                     "          [](const auto& a, const auto& b) { return a.second < b.second; });\n```\n\n"
                     "| Call | Stable | Complexity |\n|---|---|---|\n| `std::sort` | no | O(n log n) |\n"
                     "| `std::stable_sort` | yes | O(n log n) |\n\n中文也可以：用 **std::stable_sort** 保持相等元素的顺序。"),
      "done", 96);
  const qint64 u2 = store->appendMessage(id, a1, QStringLiteral("user"), QStringLiteral("And descending?"), "done", 5);
  store->appendMessage(id, u2, QStringLiteral("assistant"),
                       QStringLiteral("Swap the comparison: `return a.second > b.second;`"), "done", 15);
  controller.selectConversation(id);
  if (ToolHost* host = controller.toolHost())
    host->setPluginEnabled(id, host->pluginId(QString::fromLatin1(ToolHost::kCalculator)), true);
}

// --show tool-call: the demo conversation with a tool call, and a new call waiting for consent.
void showToolDemo(ChatController& controller) {
  for (const StoredConversation& c : controller.store()->conversations()) {
    if (c.title != kToolDemoTitle) continue;
    controller.selectConversation(c.id);
    if (controller.toolHost())
      controller.toolHost()->requestCall(c.id, QString::fromLatin1(ToolHost::kCalculator),
                                         QStringLiteral("{\"expression\":\"397.8 * 2\"}"));
  }
}

}  // namespace

int main(int argc, char* argv[]) {
  QGuiApplication app(argc, argv);
  QGuiApplication::setApplicationName(QStringLiteral("GLM Chat"));
  QGuiApplication::setOrganizationName(QStringLiteral("GLM Chat"));
  QGuiApplication::setDesktopFileName(QStringLiteral("org.glmchat.GlmChat"));  // matches the .desktop entry
  QGuiApplication::setApplicationVersion(QStringLiteral(GLMCHAT_VERSION));
  QGuiApplication::setDesktopFileName(QStringLiteral("glmchat"));

  QCommandLineParser parser;
  parser.setApplicationDescription(QStringLiteral("GLM Chat: offline chat with GLM models"));
  parser.addHelpOption();
  parser.addVersionOption();
  QCommandLineOption smoke(QStringLiteral("smoke"), QStringLiteral("Load the QML scene and exit 0."));
  QCommandLineOption screenshot(QStringLiteral("screenshot"), QStringLiteral("Save a PNG of the window and exit."),
                                QStringLiteral("file"));
  QCommandLineOption lang(QStringLiteral("lang"), QStringLiteral("Interface language (en, zh_CN)."), QStringLiteral("code"));
  QCommandLineOption theme(QStringLiteral("theme"), QStringLiteral("light, dark or system."), QStringLiteral("theme"));
  QCommandLineOption dataDir(QStringLiteral("data-dir"), QStringLiteral("Folder of the database and settings."),
                             QStringLiteral("dir"));
  QCommandLineOption model(QStringLiteral("model"), QStringLiteral("Model folder to load at start."), QStringLiteral("dir"));
  QCommandLineOption send(QStringLiteral("send"), QStringLiteral("Send TEXT once the model is loaded, print the reply, exit."),
                          QStringLiteral("text"));
  QCommandLineOption printConversations(QStringLiteral("print-conversations"),
                                        QStringLiteral("Print the stored conversation titles and exit."));
  QCommandLineOption show(QStringLiteral("show"), QStringLiteral("Open a dialog at start: settings, prompts, models, plugins (or tool-call)."),
                          QStringLiteral("dialog"));
  QCommandLineOption demo(QStringLiteral("demo"), QStringLiteral("Fill an empty store with a sample conversation."));
  parser.addOptions({smoke, screenshot, lang, theme, dataDir, model, send, printConversations, show, demo});
  parser.addPositionalArgument(QStringLiteral("files"),
                               QStringLiteral("Documents to attach (txt, md, code, html, pdf, docx), as the desktop's "
                                              "\"Open with\" passes them."),
                               QStringLiteral("[files...]"));
  parser.process(app);

  QQuickStyle::setStyle(QStringLiteral("Material"));
  ChatController controller(parser.value(dataDir));
  controller.registerQmlSingleton();
  if (!controller.storeError().isEmpty()) std::fprintf(stderr, "glmchat: %s\n", qPrintable(controller.storeError()));
  if (parser.isSet(lang)) controller.settings()->setLanguage(parser.value(lang));
  if (parser.isSet(theme)) controller.settings()->setTheme(parser.value(theme));
  ChatController::installTranslation(controller.settings()->language());
  if (parser.isSet(demo)) fillDemo(controller);

  QQmlApplicationEngine engine;
  engine.addImportPath(QStringLiteral("qrc:/"));  // Qt 6.4: modules are embedded at qrc:/<URI>/
  controller.setQmlEngine(&engine);
  QObject::connect(&engine, &QQmlApplicationEngine::objectCreationFailed, &app, [] { QCoreApplication::exit(1); },
                   Qt::QueuedConnection);
  engine.load(QUrl(QStringLiteral("qrc:/GlmChat/Main.qml")));
  if (engine.rootObjects().isEmpty()) {
    std::fprintf(stderr, "glmchat: the QML scene failed to load\n");
    return 1;
  }
  if (parser.isSet(smoke)) {
    std::printf("glmchat %s: QML scene loaded\n", GLMCHAT_VERSION);
    return 0;
  }
  if (parser.value(show) == QLatin1String("tool-call"))
    showToolDemo(controller);
  else if (parser.isSet(show))
    QMetaObject::invokeMethod(engine.rootObjects().first(), "show", Q_ARG(QVariant, parser.value(show)));
  if (parser.isSet(printConversations)) {
    ConversationListModel* list = controller.conversations();
    std::printf("conversations: %d\n", list->rowCount());
    for (int i = 0; i < list->rowCount(); ++i) std::printf("conversation: %s\n", qPrintable(list->titleAt(i)));
    std::fflush(stdout);
    return 0;
  }
  if (parser.isSet(send)) {
    const QString text = parser.value(send);
    QObject::connect(&controller, &ChatController::modelReady, &controller, [&controller, text] {
      controller.newConversation();
      if (!controller.send(text)) {
        std::fprintf(stderr, "glmchat: could not send: %s\n", qPrintable(controller.lastError()));
        QCoreApplication::exit(1);
      }
    });
    const bool thenScreenshot = parser.isSet(screenshot);
    QObject::connect(&controller, &ChatController::replyFinished, &app, [thenScreenshot](qint64, const QString& reply) {
      std::printf("reply: %s\n", qPrintable(reply.simplified()));
      std::fflush(stdout);
      if (!thenScreenshot) QCoreApplication::exit(0);  // else the screenshot below exits
    });
    QObject::connect(&controller, &ChatController::lastErrorChanged, &app, [&controller] {
      if (controller.lastError().isEmpty()) return;
      std::fprintf(stderr, "glmchat: %s\n", qPrintable(controller.lastError()));
      QCoreApplication::exit(1);
    });
  }
  // Files from the command line ("Open with GLM Chat"): attached to the composer as a document.
  for (const QString& file : parser.positionalArguments())
    controller.attachDocument(QUrl::fromLocalFile(QFileInfo(file).absoluteFilePath()));
  if (parser.isSet(model)) controller.loadModel(parser.value(model));
  else if (!controller.settings()->modelPath().isEmpty() && !parser.isSet(screenshot)) controller.reloadModel();
  if (parser.isSet(screenshot)) {
    auto* window = qobject_cast<QQuickWindow*>(engine.rootObjects().first());
    const QString file = parser.value(screenshot);
    QDir().mkpath(QFileInfo(file).absolutePath());
    auto grab = [window, file] {
      const bool ok = window && window->grabWindow().save(file);
      std::fprintf(ok ? stdout : stderr, "%s %s\n", ok ? "saved" : "could not save", qPrintable(file));
      QCoreApplication::exit(ok ? 0 : 1);
    };
    if (parser.isSet(send)) {  // the window with the reply
      QObject::connect(&controller, &ChatController::replyFinished, &app,
                       [&app, grab] { QTimer::singleShot(700, &app, grab); });
    } else if (parser.isSet(model)) {  // with the model loaded, so the status line shows it
      auto later = [&app, grab] { QTimer::singleShot(700, &app, grab); };
      QObject::connect(&controller, &ChatController::modelReady, &app, later);
      QObject::connect(&controller, &ChatController::lastErrorChanged, &app, later);
    } else {
      QTimer::singleShot(1200, &app, grab);
    }
  }
  return app.exec();
}
