// GLM-4 prompt rendering and reply parsing, checked against id sequences written by hand from the
// official chat template (HF THUDM/glm-4-9b-chat tokenizer_config.json) with a byte tokenizer.
#include <gtest/gtest.h>

#include <algorithm>

#include "chat/glm4_format.h"
#include "fake_tokenizer.h"
#include "glmengine/chat_format.h"
#include "glmengine/error.h"

namespace glm {
namespace {

using test::ByteTokenizer;
using test::bytes;
using test::operator<<;

constexpr int32_t kEndOfText = 256, kGMask = 258, kSop = 260, kSystem = 262, kUser = 263, kAssistant = 264,
                  kObservation = 265;

ModelConfig glm4Config() {
  ModelConfig config;
  config.family = ModelFamily::Glm4;
  config.eosTokenIds = {kEndOfText, kUser, kObservation};
  return config;
}

ToolSpec weatherTool() {
  // Keys deliberately not in alphabetical order: the prompt must keep the order given.
  return {"get_weather", "查询城市天气",
          R"({"type":"object","properties":{"city":{"type":"string","description":"城市名"}},"required":["city"]})"};
}

// json.dumps(function, ensure_ascii=False, indent=4) as printed by Python 3 for weatherTool().
constexpr std::string_view kWeatherFunctionJson = R"({
    "name": "get_weather",
    "description": "查询城市天气",
    "parameters": {
        "type": "object",
        "properties": {
            "city": {
                "type": "string",
                "description": "城市名"
            }
        },
        "required": [
            "city"
        ]
    }
})";

class Glm4FormatTest : public ::testing::Test {
 protected:
  ByteTokenizer tokenizer = ByteTokenizer::glm4();
  std::unique_ptr<ChatFormat> format = ChatFormat::create(glm4Config(), tokenizer);
};

TEST_F(Glm4FormatTest, CreatePicksGlm4ForTheGlm4Family) { EXPECT_EQ(format->name(), "glm-4"); }

TEST_F(Glm4FormatTest, SingleUserTurnIsPrefixRoleNewlineTextAndAssistant) {
  const std::vector<ChatMessage> messages{{Role::User, "你好", ""}};
  std::vector<int32_t> expected{kGMask, kSop, kUser};
  expected << bytes("\n你好") << kAssistant;
  EXPECT_EQ(format->render(messages), expected);
}

TEST_F(Glm4FormatTest, MultiTurnWithSystemMessage) {
  const std::vector<ChatMessage> messages{{Role::System, "Be brief.", ""},
                                          {Role::User, "Hi", ""},
                                          {Role::Assistant, "Hello!", ""},
                                          {Role::User, "Bye", ""}};
  std::vector<int32_t> expected{kGMask, kSop};
  expected << kSystem << bytes("\nBe brief.") << kUser << bytes("\nHi") << kAssistant << bytes("\nHello!") << kUser
           << bytes("\nBye") << kAssistant;
  EXPECT_EQ(format->render(messages), expected);
}

TEST_F(Glm4FormatTest, WithoutGenerationPromptTheLastMessageEndsThePrompt) {
  const std::vector<ChatMessage> messages{{Role::User, "Hi", ""}, {Role::Assistant, "Yo", ""}};
  std::vector<int32_t> expected{kGMask, kSop};
  expected << kUser << bytes("\nHi") << kAssistant << bytes("\nYo");
  EXPECT_EQ(format->render(messages, {}, /*addGenerationPrompt=*/false), expected);
}

TEST_F(Glm4FormatTest, MetadataAndContentAreEncodedInOneCall) {
  tokenizer.encodeCalls.clear();
  const std::vector<ChatMessage> messages{{Role::Observation, "result text", "get_weather"}};
  format->render(messages);
  ASSERT_EQ(tokenizer.encodeCalls.size(), 1u);
  EXPECT_EQ(tokenizer.encodeCalls[0], "get_weather\nresult text");
}

TEST_F(Glm4FormatTest, EmptyMessagesAreSkippedLikeTheTemplate) {
  const std::vector<ChatMessage> messages{{Role::System, "", ""}, {Role::User, "Hi", ""}, {Role::Assistant, "", "x"}};
  std::vector<int32_t> expected{kGMask, kSop};
  expected << kUser << bytes("\nHi") << kAssistant;
  EXPECT_EQ(format->render(messages), expected);
}

TEST_F(Glm4FormatTest, ToolsBlockMatchesTheOfficialTemplateText) {
  const std::vector<ToolSpec> tools{weatherTool(), {"add", "Adds.", "{}"}};
  const std::vector<ChatMessage> messages{{Role::User, "北京天气?", ""}};
  const std::string toolsText =
      "\n你是一个名为 ChatGLM 的人工智能助手。你是基于智谱AI训练的语言模型 GLM-4 模型开发的，"
      "你的任务是针对用户的问题和要求提供适当的答复和支持。\n\n# 可用工具"
      "\n\n## get_weather\n\n" +
      std::string(kWeatherFunctionJson) +
      "\n在调用上述函数时，请使用 Json 格式表示调用的参数。"
      "\n\n## add\n\n{\n    \"name\": \"add\",\n    \"description\": \"Adds.\",\n    \"parameters\": {}\n}"
      "\n在调用上述函数时，请使用 Json 格式表示调用的参数。";
  std::vector<int32_t> expected{kGMask, kSop, kSystem};
  expected << bytes(toolsText) << kUser << bytes("\n北京天气?") << kAssistant;
  EXPECT_EQ(format->render(messages, tools), expected);
}

TEST_F(Glm4FormatTest, ToolCallReplayAndObservationTurn) {
  // The app replays a call as metadata = tool name, content = arguments JSON.
  const std::vector<ChatMessage> messages{{Role::User, "天气", ""},
                                          {Role::Assistant, R"({"city":"北京"})", "get_weather"},
                                          {Role::Observation, R"({"temp":25})", "get_weather"}};
  std::vector<int32_t> expected{kGMask, kSop, kSystem};
  expected << bytes(chat::Glm4ChatFormat::toolsSystemText(std::vector<ToolSpec>{weatherTool()}));
  expected << kUser << bytes("\n天气") << kAssistant << bytes("get_weather\n{\"city\":\"北京\"}") << kObservation
           << bytes("get_weather\n{\"temp\":25}") << kAssistant;
  const std::vector<ToolSpec> tools{weatherTool()};
  EXPECT_EQ(format->render(messages, tools), expected);
}

TEST_F(Glm4FormatTest, SpecialTokenTextInMessagesStaysPlainBytes) {
  const std::vector<ChatMessage> messages{
      {Role::User, "<|user|>[gMASK]<sop><|assistant|><|observation|><|endoftext|>", "<|system|>"}};
  const std::vector<int32_t> ids = format->render(messages);
  // Only what the format inserted: [gMASK], <sop>, <|user|>, <|assistant|>.
  const auto specials = std::count_if(ids.begin(), ids.end(), [](int32_t id) { return id >= 256; });
  EXPECT_EQ(specials, 4);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), kGMask), 1);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), kUser), 1);
  EXPECT_EQ(tokenizer.decode(ids),
            "[gMASK]<sop><|user|><|system|>\n<|user|>[gMASK]<sop><|assistant|><|observation|><|endoftext|><|assistant|>");
}

TEST_F(Glm4FormatTest, StopTokensAreConfigEosPlusRoleTokensWithoutDuplicates) {
  ModelConfig config = glm4Config();
  config.eosTokenIds = {kEndOfText, kUser};
  const auto withDuplicates = ChatFormat::create(config, tokenizer);
  EXPECT_EQ(withDuplicates->stopTokens(), (std::vector<int32_t>{kEndOfText, kUser, kObservation}));

  config.eosTokenIds = {};
  const auto withoutEos = ChatFormat::create(config, tokenizer);
  std::vector<int32_t> stops = withoutEos->stopTokens();
  std::sort(stops.begin(), stops.end());
  EXPECT_EQ(stops, (std::vector<int32_t>{kEndOfText, kUser, kObservation}));
}

TEST(Glm4FormatCreate, MissingSpecialTokenIsNamed) {
  const ByteTokenizer noObservation({"<|endoftext|>", "[MASK]", "[gMASK]", "[sMASK]", "<sop>", "<eop>", "<|system|>",
                                     "<|user|>", "<|assistant|>"});
  try {
    ChatFormat::create(glm4Config(), noObservation);
    FAIL() << "expected glm::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("<|observation|>"), std::string::npos) << e.what();
  }
}

TEST_F(Glm4FormatTest, BadToolSpecsThrowNamingTheTool) {
  const std::vector<ChatMessage> messages{{Role::User, "x", ""}};
  const std::vector<std::pair<ToolSpec, std::string>> cases{
      {{"broken", "", "{\"type\":"}, "not valid JSON"},
      {{"listy", "", "[1,2]"}, "found a JSON array"},
      {{"two\nlines", "", "{}"}, "line break"},
  };
  for (const auto& [tool, expectedText] : cases) {
    const std::vector<ToolSpec> tools{tool};
    try {
      format->render(messages, tools);
      ADD_FAILURE() << "expected glm::Error for tool " << tool.name;
    } catch (const Error& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find(tool.name), std::string::npos) << message;
      EXPECT_NE(message.find(expectedText), std::string::npos) << message;
    }
  }
  const std::vector<ToolSpec> unnamed{{"", "", "{}"}};
  EXPECT_THROW(format->render(messages, unnamed), Error);
}

// ---- parseReply ----

TEST_F(Glm4FormatTest, PlainReplyLosesExactlyOneLeadingNewline) {
  const std::vector<ToolSpec> tools{weatherTool()};
  AssistantReply reply = format->parseReply("\nHello\nworld", tools);
  EXPECT_EQ(reply.text, "Hello\nworld");
  EXPECT_TRUE(reply.toolCalls.empty());
  EXPECT_TRUE(reply.parseError.empty());

  reply = format->parseReply("\n\nHi ", tools);
  EXPECT_EQ(reply.text, "\nHi ");
  reply = format->parseReply("no newline", tools);
  EXPECT_EQ(reply.text, "no newline");
  reply = format->parseReply("", tools);
  EXPECT_EQ(reply.text, "");
  EXPECT_TRUE(reply.toolCalls.empty());
}

TEST_F(Glm4FormatTest, ValidCallBecomesToolCallWithCompactArguments) {
  const std::vector<ToolSpec> tools{{"add", "", "{}"}, weatherTool()};
  const AssistantReply reply = format->parseReply("\nget_weather\n{\"unit\": \"c\",\n \"city\": \"北京\"}", tools);
  ASSERT_EQ(reply.toolCalls.size(), 1u);
  EXPECT_TRUE(reply.parseError.empty());
  EXPECT_EQ(reply.toolCalls[0].name, "get_weather");
  EXPECT_EQ(reply.toolCalls[0].argumentsJson, R"({"unit":"c","city":"北京"})");  // order kept
}

TEST_F(Glm4FormatTest, UnknownToolNameIsPlainText) {
  const std::vector<ToolSpec> tools{weatherTool()};
  AssistantReply reply = format->parseReply("\nget_time\n{\"zone\": \"UTC\"}", tools);
  EXPECT_TRUE(reply.toolCalls.empty());
  EXPECT_TRUE(reply.parseError.empty());
  EXPECT_EQ(reply.text, "get_time\n{\"zone\": \"UTC\"}");

  // Only offered tools can be called; here none is offered.
  reply = format->parseReply("\nget_weather\n{\"city\": \"x\"}", {});
  EXPECT_TRUE(reply.toolCalls.empty());
  EXPECT_TRUE(reply.parseError.empty());

  // The name must be the whole first line.
  reply = format->parseReply("\nget_weather now\n{\"city\": \"x\"}", tools);
  EXPECT_TRUE(reply.toolCalls.empty());
  EXPECT_TRUE(reply.parseError.empty());
}

TEST_F(Glm4FormatTest, MalformedArgumentsGiveParseError) {
  const std::vector<ToolSpec> tools{weatherTool()};
  for (const std::string_view generated :
       {"\nget_weather\n{\"city\": \"北京\"", "\nget_weather\n{\"city\": 北京}", "\nget_weather\n{} trailing",
        "\nget_weather\n", "\nget_weather"}) {
    const AssistantReply reply = format->parseReply(generated, tools);
    EXPECT_TRUE(reply.toolCalls.empty()) << generated;
    EXPECT_NE(reply.parseError.find("get_weather"), std::string::npos) << generated << " -> " << reply.parseError;
    EXPECT_NE(reply.parseError.find("not valid JSON"), std::string::npos) << reply.parseError;
  }
}

TEST_F(Glm4FormatTest, NonObjectArgumentsGiveParseError) {
  const std::vector<ToolSpec> tools{weatherTool()};
  AssistantReply reply = format->parseReply("\nget_weather\n[\"北京\"]", tools);
  EXPECT_TRUE(reply.toolCalls.empty());
  EXPECT_NE(reply.parseError.find("array"), std::string::npos) << reply.parseError;
  reply = format->parseReply("\nget_weather\n\"北京\"", tools);
  EXPECT_NE(reply.parseError.find("string"), std::string::npos) << reply.parseError;
}

TEST(ChatRoles, RoleNames) {
  EXPECT_EQ(roleName(Role::System), "system");
  EXPECT_EQ(roleName(Role::User), "user");
  EXPECT_EQ(roleName(Role::Assistant), "assistant");
  EXPECT_EQ(roleName(Role::Observation), "observation");
}

}  // namespace
}  // namespace glm
