// The literal-only Python parser behind ChatGLM3 tool calls. Expected values follow Python 3's own
// reading of the same literals (ast.literal_eval) and repr().
#include <gtest/gtest.h>

#include "chat/python_literal.h"
#include "glmengine/error.h"

namespace glm::chat {
namespace {

using Json = nlohmann::ordered_json;

TEST(PythonLiteral, Scalars) {
  EXPECT_EQ(parsePythonLiteral("42"), Json(42));
  EXPECT_EQ(parsePythonLiteral("-7"), Json(-7));
  EXPECT_EQ(parsePythonLiteral("- 7"), Json(-7));
  EXPECT_EQ(parsePythonLiteral("1_000_000"), Json(1000000));
  EXPECT_EQ(parsePythonLiteral(".5"), Json(0.5));
  EXPECT_EQ(parsePythonLiteral("2."), Json(2.0));
  EXPECT_EQ(parsePythonLiteral("1e3"), Json(1000.0));
  EXPECT_EQ(parsePythonLiteral("-2.5E-1"), Json(-0.25));
  EXPECT_EQ(parsePythonLiteral("-9223372036854775808"), Json(INT64_MIN));
  EXPECT_EQ(parsePythonLiteral("18446744073709551615"), Json(UINT64_MAX));
  EXPECT_DOUBLE_EQ(parsePythonLiteral("123456789012345678901234567890").get<double>(), 1.2345678901234568e29);
  EXPECT_EQ(parsePythonLiteral("True"), Json(true));
  EXPECT_EQ(parsePythonLiteral("False"), Json(false));
  EXPECT_EQ(parsePythonLiteral("None"), Json(nullptr));
}

TEST(PythonLiteral, Strings) {
  EXPECT_EQ(parsePythonLiteral(R"('a"b')"), Json("a\"b"));
  EXPECT_EQ(parsePythonLiteral(R"("it's")"), Json("it's"));
  EXPECT_EQ(parsePythonLiteral(R"('it\'s \\ \n\t')"), Json("it's \\ \n\t"));
  EXPECT_EQ(parsePythonLiteral(R"('\x41\u4f60\U0001F600\101')"), Json("A你😀A"));
  EXPECT_EQ(parsePythonLiteral(R"('\d')"), Json("\\d"));  // unknown escapes stay as written
  EXPECT_EQ(parsePythonLiteral("'''two\nlines ' '' '''"), Json("two\nlines ' '' "));
  EXPECT_EQ(parsePythonLiteral("'ab' \"cd\""), Json("abcd"));
  EXPECT_EQ(parsePythonLiteral("'你好'"), Json("你好"));
}

TEST(PythonLiteral, Containers) {
  EXPECT_EQ(parsePythonLiteral("[1, 'a', [True, None], ]"), Json::parse(R"([1,"a",[true,null]])"));
  EXPECT_EQ(parsePythonLiteral("(1, 2)"), Json::parse("[1,2]"));
  EXPECT_EQ(parsePythonLiteral("(1,)"), Json::parse("[1]"));
  EXPECT_EQ(parsePythonLiteral("(1)"), Json(1));  // parentheses, not a tuple
  EXPECT_EQ(parsePythonLiteral("()"), Json::array());
  EXPECT_EQ(parsePythonLiteral("{'b': 1, 'a': {'x': []}}").dump(), R"({"b":1,"a":{"x":[]}})");
}

TEST(PythonLiteral, RejectsWhatIsNotALiteral) {
  for (const char* source :
       {"os", "x.y", "f()", "1 + 2", "[1, 2", "{'a' 1}", "{1: 2}", "'abc", "'a\nb'", "0x10", "1e", "nan", "inf",
        "'\\ud800'", "'\\x4'", "[1] [2]", "", "True False", "{**a}", "b'x'", "1e999"}) {
    EXPECT_THROW(parsePythonLiteral(source), Error) << source;
  }
}

TEST(PythonLiteral, DeepNestingIsAnErrorNotACrash) {
  EXPECT_NO_THROW(parsePythonLiteral(std::string(60, '[') + std::string(60, ']')));
  try {
    parsePythonLiteral(std::string(100000, '['));
    FAIL() << "expected glm::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("nesting"), std::string::npos) << e.what();
  }
}

TEST(PythonLiteral, ToolCallKeepsArgumentOrder) {
  const Json args = parsePythonToolCall("  tool_call( b = 2 ,\n a='x' )  ");
  EXPECT_EQ(args.dump(), R"({"b":2,"a":"x"})");
  EXPECT_THROW(parsePythonToolCall("tool_call(b=2) extra"), Error);
  EXPECT_THROW(parsePythonToolCall("other_call(b=2)"), Error);
  EXPECT_THROW(parsePythonToolCall("tool_call(1)"), Error);
}

TEST(PythonLiteral, ErrorsSayWhere) {
  try {
    parsePythonToolCall("tool_call(a=1, b=os.system('x'))");
    FAIL() << "expected glm::Error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("offset 17"), std::string::npos) << message;
    EXPECT_NE(message.find("'os'"), std::string::npos) << message;
  }
}

TEST(PythonLiteral, ReprMatchesPython) {
  // Python 3: repr({'a': [1, "it's"], 'b': 'x\ny', 'c': None, 'd': True, 'e': 1.5, 'f': 'say "hi" it\'s'})
  const Json value = Json::parse(R"({"a":[1,"it's"],"b":"x\ny","c":null,"d":true,"e":1.5,"f":"say \"hi\" it's"})");
  EXPECT_EQ(toPythonLiteral(value),
            R"({'a': [1, "it's"], 'b': 'x\ny', 'c': None, 'd': True, 'e': 1.5, 'f': 'say "hi" it\'s'})");
  EXPECT_EQ(parsePythonLiteral(toPythonLiteral(value)), value);
}

}  // namespace
}  // namespace glm::chat
