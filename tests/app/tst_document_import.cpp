// Document import: text from txt, md, code, html, a PDF made with QPdfWriter and a .docx made here;
// unreadable files give a clear error; splitting for "summarize in parts".
#include <QPainter>
#include <QPdfWriter>
#include <QTemporaryDir>
#include <QtTest>
#include <quazip/quazip.h>
#include <quazip/quazipfile.h>

#include "documentimport.h"

class DocumentImportTest : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;

  QString write(const QString& name, const QByteArray& bytes) {
    const QString path = dir_.filePath(name);
    QFile f(path);
    f.open(QIODevice::WriteOnly);
    f.write(bytes);
    return path;
  }

  static bool addZipEntry(QuaZip& zip, const QString& name, const QByteArray& data) {
    QuaZipFile file(&zip);
    if (!file.open(QIODevice::WriteOnly, QuaZipNewInfo(name))) return false;
    file.write(data);
    file.close();
    return file.getZipError() == 0;
  }

 private slots:
  void plainTextMarkdownAndCode() {
    ExtractedDocument d = extractDocumentText(write("notes.txt", "line one\n行二\n"));
    QVERIFY2(d.ok(), qPrintable(d.error));
    QCOMPARE(d.kind, QStringLiteral("text"));
    QCOMPARE(d.text, QStringLiteral("line one\n行二\n"));
    d = extractDocumentText(write("README.md", "\xEF\xBB\xBF# Title\n\n*body*"));
    QCOMPARE(d.kind, QStringLiteral("markdown"));
    QCOMPARE(d.text, QStringLiteral("# Title\n\n*body*"));  // BOM dropped, Markdown kept as is
    d = extractDocumentText(write("main.cpp", "int main() { return 0; }\n"));
    QCOMPARE(d.kind, QStringLiteral("code"));
    QVERIFY(d.text.contains(QStringLiteral("return 0;")));
    d = extractDocumentText(write("latin1.txt", "caf\xE9"));  // not UTF-8: read as Latin-1, not refused
    QCOMPARE(d.text, QStringLiteral("café"));
  }

  void htmlBecomesText() {
    const ExtractedDocument d = extractDocumentText(
        write("page.html", "<html><head><style>p{color:red}</style></head><body><h1>Heading</h1>"
                           "<p>First &amp; <b>bold</b></p><script>var x;</script></body></html>"));
    QVERIFY2(d.ok(), qPrintable(d.error));
    QVERIFY(d.text.contains(QStringLiteral("Heading")));
    QVERIFY(d.text.contains(QStringLiteral("First & bold")));
    QVERIFY(!d.text.contains(QStringLiteral("<b>")));
    QVERIFY(!d.text.contains(QStringLiteral("color:red")));
  }

  void pdfMadeWithQPdfWriter() {
    const QString path = dir_.filePath("made.pdf");
    {
      QPdfWriter writer(path);
      QPainter painter(&writer);
      painter.setFont(QFont(QStringLiteral("DejaVu Sans"), 12));
      painter.drawText(QPointF(200, 400), QStringLiteral("Quarterly report page one"));
      writer.newPage();
      painter.drawText(QPointF(200, 400), QStringLiteral("Second page text"));
    }
    const ExtractedDocument d = extractDocumentText(path);
    QVERIFY2(d.ok(), qPrintable(d.error));
    QCOMPARE(d.kind, QStringLiteral("pdf"));
    QVERIFY2(d.text.contains(QStringLiteral("Quarterly report page one")), qPrintable(d.text));
    QVERIFY2(d.text.contains(QStringLiteral("Second page text")), qPrintable(d.text));
  }

  void docxMadeInTheTest() {
    const QString path = dir_.filePath("letter.docx");
    {
      QuaZip zip(path);
      QVERIFY(zip.open(QuaZip::mdCreate));
      QVERIFY(addZipEntry(zip, "[Content_Types].xml",
                          "<?xml version=\"1.0\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/"
                          "content-types\"/>"));
      QVERIFY(addZipEntry(
          zip, "word/document.xml",
          "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>"
          "<w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body>"
          "<w:p><w:r><w:t>Dear reader,</w:t></w:r></w:p>"
          "<w:p><w:r><w:t xml:space=\"preserve\">split </w:t></w:r><w:r><w:t>run</w:t></w:r><w:r><w:tab/>"
          "<w:t>after tab</w:t></w:r></w:p>"
          "<w:p><w:r><w:t>中文段落</w:t></w:r></w:p></w:body></w:document>"));
      zip.close();
      QCOMPARE(zip.getZipError(), 0);
    }
    const ExtractedDocument d = extractDocumentText(path);
    QVERIFY2(d.ok(), qPrintable(d.error));
    QCOMPARE(d.kind, QStringLiteral("docx"));
    QCOMPARE(d.text, QStringLiteral("Dear reader,\nsplit run\tafter tab\n中文段落\n"));
  }

  void unreadableFilesGiveAClearError() {
    struct Case {
      QString path;
      QString expected;
    };
    const QList<Case> cases = {
        {dir_.filePath("missing.txt"), "does not exist"},
        {write("fake.pdf", "this is not a pdf"), "not a readable PDF"},
        {write("fake.docx", "not a zip either"), "not a readable .docx"},
        {write("binary.txt", QByteArray("\x00\x01\xff\xfe\x00garbage", 12)), "binary"},
        {dir_.path(), "cannot be read"},
    };
    for (const Case& c : cases) {
      const ExtractedDocument d = extractDocumentText(c.path);
      QVERIFY2(!d.ok(), qPrintable(c.path));
      QVERIFY2(d.error.contains(c.expected), qPrintable(d.error));
      QVERIFY2(d.error.contains(QFileInfo(c.path).fileName()), qPrintable(d.error));  // names the file
      QVERIFY(d.text.isEmpty());
    }
  }

  void splitIntoPartsKeepsEveryCharacterAndPrefersParagraphs() {
    QString text;
    for (int i = 0; i < 60; ++i) text += QStringLiteral("Paragraph %1 has a few sentences. It goes on.\n\n").arg(i);
    const QStringList parts = splitIntoParts(text, 500);
    QVERIFY(parts.size() > 5);
    QCOMPARE(parts.join(QString()), text);
    for (const QString& p : parts) {
      QVERIFY(p.size() <= 500);
      QVERIFY(p.endsWith(QStringLiteral("\n\n")) || p == parts.last());
    }
    const QStringList hard = splitIntoParts(QString(1234, QLatin1Char('x')), 100);  // no boundary at all
    QCOMPARE(hard.size(), 13);
    QCOMPARE(hard.join(QString()).size(), 1234);
  }
};

QTEST_MAIN(DocumentImportTest)
#include "tst_document_import.moc"
