// Text extraction from documents the user drops or attaches: plain text and source code, Markdown,
// HTML, PDF (QtPdf) and .docx (QuaZip + QXmlStreamReader). Pure functions, safe on any thread; the
// app runs them off the GUI thread (QtConcurrent).
#pragma once
#include <QString>
#include <QStringList>

struct ExtractedDocument {
  QString path;
  QString name;    // file name shown to the user
  QString kind;    // "text", "markdown", "code", "html", "pdf", "docx"
  QString text;    // the extracted text (empty when error is set)
  QString error;   // why the text could not be extracted, for the user
  bool ok() const { return error.isEmpty(); }
};

ExtractedDocument extractDocumentText(const QString& path);

// File-name patterns the attach dialog offers.
QStringList supportedDocumentPatterns();

// Splits text into parts of at most maxChars characters, cutting at paragraph, then line, then
// sentence boundaries where possible (for "summarize in parts").
QStringList splitIntoParts(const QString& text, int maxChars);
