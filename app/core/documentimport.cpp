#include "documentimport.h"

#include <QFile>
#include <QFileInfo>
#include <QPdfDocument>
#include <QStringDecoder>
#include <QTextDocument>
#include <QXmlStreamReader>
#include <quazip/quazip.h>
#include <quazip/quazipfile.h>

namespace {

const QStringList kCodeSuffixes = {"c",  "cc",   "cpp", "cxx", "h",    "hpp",  "hh",   "py",  "js",   "ts",
                                   "tsx", "jsx", "java", "kt", "go",   "rs",   "rb",   "php", "cs",   "swift",
                                   "m",  "mm",   "sh",  "bash", "zsh", "ps1",  "sql",  "lua", "pl",   "r",
                                   "scala", "json", "yaml", "yml", "toml", "ini", "cfg", "xml", "css", "scss",
                                   "qml", "cmake", "proto", "dart", "vue", "svelte"};

QString decodeText(const QByteArray& bytes, QString* error, const QString& name) {
  QStringDecoder utf8(QStringDecoder::Utf8, QStringDecoder::Flag::Stateless);
  QString text = utf8.decode(bytes);
  if (utf8.hasError()) {
    // Not UTF-8: a file with NUL bytes is binary; anything else is read as Latin-1 rather than refused.
    if (bytes.contains('\0')) {
      *error = QObject::tr("%1 is not a text file (it contains binary data).").arg(name);
      return {};
    }
    text = QString::fromLatin1(bytes);
  }
  if (text.startsWith(QChar(0xFEFF))) text.remove(0, 1);
  return text;
}

QString docxText(const QString& path, QString* error, const QString& name) {
  QuaZip zip(path);
  if (!zip.open(QuaZip::mdUnzip)) {
    *error = QObject::tr("%1 is not a readable .docx file (not a zip archive).").arg(name);
    return {};
  }
  if (!zip.setCurrentFile(QStringLiteral("word/document.xml"))) {
    *error = QObject::tr("%1 is not a Word document (word/document.xml is missing).").arg(name);
    return {};
  }
  QuaZipFile file(&zip);
  if (!file.open(QIODevice::ReadOnly)) {
    *error = QObject::tr("Cannot read word/document.xml in %1.").arg(name);
    return {};
  }
  QXmlStreamReader xml(&file);
  QString out;
  while (!xml.atEnd()) {
    xml.readNext();
    if (xml.isStartElement()) {
      const auto n = xml.name();
      if (n == QLatin1String("t")) out += xml.readElementText();
      else if (n == QLatin1String("tab")) out += QLatin1Char('\t');
      else if (n == QLatin1String("br") || n == QLatin1String("cr")) out += QLatin1Char('\n');
    } else if (xml.isEndElement() && xml.name() == QLatin1String("p")) {
      out += QLatin1Char('\n');
    }
  }
  if (xml.hasError()) {
    *error = QObject::tr("%1: the document's XML is damaged (%2).").arg(name, xml.errorString());
    return {};
  }
  return out;
}

QString pdfText(const QString& path, QString* error, const QString& name) {
  QPdfDocument pdf;
  const QPdfDocument::Error status = pdf.load(path);
  if (status != QPdfDocument::Error::None) {
    *error = status == QPdfDocument::Error::IncorrectPassword
                 ? QObject::tr("%1 is protected by a password.").arg(name)
                 : QObject::tr("%1 is not a readable PDF file.").arg(name);
    return {};
  }
  QString out;
  for (int page = 0; page < pdf.pageCount(); ++page) {
    if (page > 0) out += QStringLiteral("\n\n");
    out += pdf.getAllText(page).text();
  }
  if (out.trimmed().isEmpty()) {
    *error = QObject::tr("%1 has no text layer (a scanned PDF?); text recognition is not supported.").arg(name);
    return {};
  }
  return out;
}

}  // namespace

QStringList supportedDocumentPatterns() {
  QStringList patterns = {"*.txt", "*.md", "*.markdown", "*.html", "*.htm", "*.pdf", "*.docx", "*.csv", "*.log"};
  for (const QString& s : kCodeSuffixes) patterns << QStringLiteral("*.") + s;
  return patterns;
}

ExtractedDocument extractDocumentText(const QString& path) {
  ExtractedDocument doc;
  const QFileInfo info(path);
  doc.path = path;
  doc.name = info.fileName();
  const QString suffix = info.suffix().toLower();
  if (!info.exists()) {
    doc.error = QObject::tr("%1 does not exist.").arg(path);
    return doc;
  }
  if (!info.isFile() || !info.isReadable()) {
    doc.error = QObject::tr("%1 cannot be read (not a file, or no permission).").arg(path);
    return doc;
  }
  if (suffix == QLatin1String("pdf")) {
    doc.kind = QStringLiteral("pdf");
    doc.text = pdfText(path, &doc.error, doc.name);
    return doc;
  }
  if (suffix == QLatin1String("docx")) {
    doc.kind = QStringLiteral("docx");
    doc.text = docxText(path, &doc.error, doc.name);
    return doc;
  }
  QFile file(path);
  if (!file.open(QIODevice::ReadOnly)) {
    doc.error = QObject::tr("Cannot open %1: %2").arg(path, file.errorString());
    return doc;
  }
  const QString text = decodeText(file.readAll(), &doc.error, doc.name);
  if (!doc.ok()) return doc;
  if (suffix == QLatin1String("html") || suffix == QLatin1String("htm")) {
    doc.kind = QStringLiteral("html");
    QTextDocument html;
    html.setHtml(text);
    doc.text = html.toPlainText();
  } else {
    doc.kind = (suffix == QLatin1String("md") || suffix == QLatin1String("markdown")) ? QStringLiteral("markdown")
               : kCodeSuffixes.contains(suffix)                                     ? QStringLiteral("code")
                                                                                    : QStringLiteral("text");
    doc.text = text;
  }
  return doc;
}

QStringList splitIntoParts(const QString& text, int maxChars) {
  QStringList parts;
  int start = 0;
  const int n = text.size();
  while (start < n) {
    int end = std::min(n, start + maxChars);
    if (end < n) {
      // Prefer the last paragraph break in the second half of the window, then a line break, then a
      // sentence end; cut hard only when there is none.
      const int floor = start + maxChars / 2;
      int cutEnd = -1;  // where the part ends (exclusive)
      int c = text.lastIndexOf(QStringLiteral("\n\n"), end - 2);
      if (c >= floor) cutEnd = c + 2;
      if (cutEnd < 0 && (c = text.lastIndexOf(QLatin1Char('\n'), end - 1)) >= floor) cutEnd = c + 1;
      if (cutEnd < 0) {
        for (const QString& mark : {QStringLiteral(". "), QStringLiteral("。"), QStringLiteral("! "), QStringLiteral("? ")}) {
          c = text.lastIndexOf(mark, end - mark.size());
          if (c >= floor) {
            cutEnd = c + int(mark.size());
            break;
          }
        }
      }
      if (cutEnd > start) end = cutEnd;
    }
    parts << text.mid(start, end - start);
    start = end;
  }
  return parts;
}
