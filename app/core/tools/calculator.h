// The built-in calculator: a recursive-descent parser over doubles (never an eval).
//   expr   := term (('+' | '-') term)*
//   term   := unary (('*' | '/' | '%') unary)*
//   unary  := ('+' | '-') unary | power
//   power  := atom ('^' unary)?            (right-associative: 2^3^2 = 2^9; -2^2 = -4)
//   atom   := number | constant | function '(' expr (',' expr)* ')' | '(' expr ')'
// Constants pi, e; functions sqrt, abs, sin, cos, tan, asin, acos, atan, ln, log (base 10), log2,
// exp, floor, ceil, round, min, max, pow.
#pragma once
#include <QString>
#include <optional>

struct CalculatorResult {
  std::optional<double> value;
  QString error;  // where and why, when value is empty
};

CalculatorResult evaluateExpression(const QString& expression);
// The value as people write it: integers without ".0", otherwise up to 15 significant digits.
QString formatCalculatorValue(double value);
