#include "calculator.h"

#include <QHash>
#include <cmath>
#include <functional>
#include <numbers>
#include <stdexcept>

namespace {

struct SyntaxError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Parser {
 public:
  explicit Parser(const QString& text) : text_(text) {}

  double parse() {
    const double v = expression();
    skipSpaces();
    if (pos_ < text_.size()) fail(QStringLiteral("unexpected '%1'").arg(text_.at(pos_)));
    return v;
  }

 private:
  [[noreturn]] void fail(const QString& what) const {
    throw SyntaxError(QStringLiteral("%1 at position %2").arg(what).arg(pos_ + 1).toStdString());
  }
  void skipSpaces() {
    while (pos_ < text_.size() && text_.at(pos_).isSpace()) ++pos_;
  }
  bool accept(QChar c) {
    skipSpaces();
    if (pos_ < text_.size() && text_.at(pos_) == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  double expression() {
    if (++depth_ > 200) fail(QStringLiteral("expression nested too deeply"));
    double v = term();
    for (;;) {
      if (accept('+')) v += term();
      else if (accept('-')) v -= term();
      else break;
    }
    --depth_;
    return v;
  }
  double term() {
    double v = unary();
    for (;;) {
      if (accept('*')) v *= unary();
      else if (accept('/')) {
        const double d = unary();
        if (d == 0) fail(QStringLiteral("division by zero"));
        v /= d;
      } else if (accept('%')) {
        const double d = unary();
        if (d == 0) fail(QStringLiteral("division by zero"));
        v = std::fmod(v, d);
      } else break;
    }
    return v;
  }
  double unary() {
    if (++depth_ > 200) fail(QStringLiteral("expression nested too deeply"));
    double v;
    if (accept('-')) v = -unary();
    else if (accept('+')) v = unary();
    else v = power();
    --depth_;
    return v;
  }
  double power() {
    const double base = atom();
    if (accept('^')) return std::pow(base, unary());
    return base;
  }
  double atom() {
    skipSpaces();
    if (pos_ >= text_.size()) fail(QStringLiteral("missing a number"));
    const QChar c = text_.at(pos_);
    if (accept('(')) {
      const double v = expression();
      if (!accept(')')) fail(QStringLiteral("missing ')'"));
      return v;
    }
    if (c.isDigit() || c == '.') return number();
    if (c.isLetter()) return nameOrCall();
    fail(QStringLiteral("unexpected '%1'").arg(c));
  }
  double number() {
    const qsizetype start = pos_;
    while (pos_ < text_.size() && (text_.at(pos_).isDigit() || text_.at(pos_) == '.')) ++pos_;
    if (pos_ < text_.size() && (text_.at(pos_) == 'e' || text_.at(pos_) == 'E')) {
      qsizetype p = pos_ + 1;
      if (p < text_.size() && (text_.at(p) == '+' || text_.at(p) == '-')) ++p;
      if (p < text_.size() && text_.at(p).isDigit()) {
        pos_ = p;
        while (pos_ < text_.size() && text_.at(pos_).isDigit()) ++pos_;
      }
    }
    bool ok = false;
    const double v = text_.mid(start, pos_ - start).toDouble(&ok);
    if (!ok) {
      pos_ = start;
      fail(QStringLiteral("malformed number"));
    }
    return v;
  }
  double nameOrCall() {
    const qsizetype start = pos_;
    while (pos_ < text_.size() && (text_.at(pos_).isLetterOrNumber() || text_.at(pos_) == '_')) ++pos_;
    const QString name = text_.mid(start, pos_ - start).toLower();
    if (name == QLatin1String("pi")) return std::numbers::pi;
    if (name == QLatin1String("e")) return std::numbers::e;
    using F1 = double (*)(double);
    static const QHash<QString, F1> unaryFunctions = {
        {"sqrt", [](double x) { return std::sqrt(x); }}, {"abs", [](double x) { return std::fabs(x); }},
        {"sin", [](double x) { return std::sin(x); }},   {"cos", [](double x) { return std::cos(x); }},
        {"tan", [](double x) { return std::tan(x); }},   {"asin", [](double x) { return std::asin(x); }},
        {"acos", [](double x) { return std::acos(x); }}, {"atan", [](double x) { return std::atan(x); }},
        {"ln", [](double x) { return std::log(x); }},    {"log", [](double x) { return std::log10(x); }},
        {"log2", [](double x) { return std::log2(x); }}, {"exp", [](double x) { return std::exp(x); }},
        {"floor", [](double x) { return std::floor(x); }}, {"ceil", [](double x) { return std::ceil(x); }},
        {"round", [](double x) { return std::round(x); }}};
    const bool binary = name == QLatin1String("min") || name == QLatin1String("max") || name == QLatin1String("pow");
    if (!unaryFunctions.contains(name) && !binary) {
      pos_ = start;
      fail(QStringLiteral("unknown name '%1'").arg(name));
    }
    if (!accept('(')) fail(QStringLiteral("'%1' needs '('").arg(name));
    const double a = expression();
    if (binary) {
      if (!accept(',')) fail(QStringLiteral("'%1' takes two arguments").arg(name));
      const double b = expression();
      if (!accept(')')) fail(QStringLiteral("missing ')'"));
      if (name == QLatin1String("min")) return std::min(a, b);
      if (name == QLatin1String("max")) return std::max(a, b);
      return std::pow(a, b);
    }
    if (!accept(')')) fail(QStringLiteral("missing ')'"));
    return unaryFunctions.value(name)(a);
  }

  const QString& text_;
  qsizetype pos_ = 0;
  int depth_ = 0;
};

}  // namespace

CalculatorResult evaluateExpression(const QString& expression) {
  if (expression.size() > 10000) return {std::nullopt, QStringLiteral("the expression is too long")};
  try {
    const double v = Parser(expression).parse();
    if (!std::isfinite(v)) return {std::nullopt, QStringLiteral("the result is not a finite number")};
    return {v, {}};
  } catch (const SyntaxError& e) {
    return {std::nullopt, QString::fromStdString(e.what())};
  }
}

QString formatCalculatorValue(double value) {
  if (std::fabs(value) < 1e15 && value == std::trunc(value)) return QString::number(qint64(value));
  return QString::number(value, 'g', 15);
}
