// Tools across the APIs (core/provider/tools): the canonical (OpenAI chat)
// tools and tool_choice in each API's request, and each API's calls read
// back normalised.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "core/metrics/tool_calls.hpp"
#include "core/provider/chat.hpp"
#include "recorded.hpp"

namespace llmeval::core::provider {
namespace {

using nlohmann::json;

ChatRequest WithTools(json choice) {
  ChatRequest r;
  r.model = "m";
  r.prompt = "What is the weather in Paris?";
  r.params = {{"tools", json::array({{{"type", "function"},
                                      {"function", {{"name", "get_weather"},
                                                    {"description", "Current weather"},
                                                    {"parameters", {{"type", "object"},
                                                                    {"properties", {{"city", {{"type", "string"}}}}},
                                                                    {"required", {"city"}}}}}}}})}};
  if (!choice.is_null()) r.params["tool_choice"] = choice;
  return r;
}

json Body(Kind kind, const ChatRequest& r, std::string_view base = "http://h") {
  return json::parse(BuildChatRequest(kind, base, "k", r).body);
}

TEST(ProviderTools, OpenAIChatSendsThemAsTheyAre) {
  const json body = Body(Kind::kOpenAI, WithTools("required"), "http://h/v1");
  EXPECT_EQ(body["tools"][0]["function"]["name"], "get_weather");
  EXPECT_EQ(body["tool_choice"], "required");
}

TEST(ProviderTools, ResponsesApiTakesTheFlatForm) {
  ChatRequest r = WithTools({{"type", "function"}, {"function", {{"name", "get_weather"}}}});
  r.api = OpenAIApi::kResponses;
  const json body = Body(Kind::kOpenAI, r, "http://h/v1");
  EXPECT_EQ(body["tools"][0], json({{"type", "function"}, {"name", "get_weather"}, {"description", "Current weather"},
                                    {"parameters", WithTools(nullptr).params["tools"][0]["function"]["parameters"]}}));
  EXPECT_EQ(body["tool_choice"], json({{"type", "function"}, {"name", "get_weather"}}));
}

TEST(ProviderTools, AnthropicTakesInputSchemaAndItsChoices) {
  const json body = Body(Kind::kAnthropic, WithTools("required"));
  EXPECT_EQ(body["tools"][0]["name"], "get_weather");
  EXPECT_EQ(body["tools"][0]["input_schema"]["required"][0], "city");
  EXPECT_FALSE(body["tools"][0].contains("parameters"));
  EXPECT_EQ(body["tool_choice"], json({{"type", "any"}}));
  EXPECT_EQ(Body(Kind::kAnthropic, WithTools("none"))["tool_choice"], json({{"type", "none"}}));
  EXPECT_EQ(Body(Kind::kAnthropic, WithTools({{"type", "function"}, {"function", {{"name", "get_weather"}}}}))["tool_choice"],
            json({{"type", "tool"}, {"name", "get_weather"}}));
  ChatRequest serial = WithTools(nullptr);
  serial.params["parallel_tool_calls"] = false;
  EXPECT_EQ(Body(Kind::kAnthropic, serial)["tool_choice"],
            json({{"type", "auto"}, {"disable_parallel_tool_use", true}}));
  EXPECT_FALSE(Body(Kind::kAnthropic, WithTools(nullptr)).contains("tool_choice"));
}

TEST(ProviderTools, GeminiTakesFunctionDeclarations) {
  const json body = Body(Kind::kGemini, WithTools({{"type", "function"}, {"function", {{"name", "get_weather"}}}}));
  EXPECT_EQ(body["tools"][0]["functionDeclarations"][0]["name"], "get_weather");
  EXPECT_EQ(body["tools"][0]["functionDeclarations"][0]["parameters"]["type"], "object");
  EXPECT_EQ(body["toolConfig"]["functionCallingConfig"],
            json({{"mode", "ANY"}, {"allowedFunctionNames", {"get_weather"}}}));
  EXPECT_EQ(Body(Kind::kGemini, WithTools("none"))["toolConfig"]["functionCallingConfig"]["mode"], "NONE");
}

TEST(ProviderTools, CallsComeBackNormalised) {
  const ChatResponse openai = ParseChatResponse(Kind::kOpenAI, 200, R"({"choices":[{"index":0,"message":{"role":"assistant",
    "content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
    {"id":"call_2","type":"function","function":{"name":"get_time","arguments":"{not json"}}]},"finish_reason":"tool_calls"}],
    "usage":{"prompt_tokens":9,"completion_tokens":5}})", "", 0);
  EXPECT_EQ(openai.outcome, Outcome::kOk) << openai.error;
  EXPECT_EQ(openai.output, "");
  EXPECT_EQ(json::parse(openai.tool_calls),
            json::parse(R"([{"name":"get_weather","arguments":{"city":"Paris"}},
                            {"name":"get_time","arguments":"{not json","parse_error":"the arguments are not JSON"}])"));

  const ChatResponse anthropic = ParseChatResponse(Kind::kAnthropic, 200, R"({"content":[{"type":"text","text":"Let me look."},
    {"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}],"stop_reason":"tool_use",
    "usage":{"input_tokens":9,"output_tokens":5}})", "", 0);
  EXPECT_EQ(anthropic.outcome, Outcome::kOk);
  EXPECT_EQ(anthropic.output, "Let me look.");
  EXPECT_EQ(json::parse(anthropic.tool_calls), json::parse(R"([{"name":"get_weather","arguments":{"city":"Paris"}}])"));

  const ChatResponse gemini = ParseChatResponse(Kind::kGemini, 200, R"({"candidates":[{"content":{"role":"model",
    "parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris"}}}]},"finishReason":"STOP"}]})", "", 0);
  EXPECT_EQ(gemini.outcome, Outcome::kOk) << gemini.error;
  EXPECT_EQ(json::parse(gemini.tool_calls), json::parse(R"([{"name":"get_weather","arguments":{"city":"Paris"}}])"));

  const ChatResponse responses = ParseChatResponse(Kind::kOpenAI, 200, R"({"status":"completed","output":[
    {"type":"function_call","id":"fc_1","call_id":"call_1","name":"get_weather","arguments":""}],
    "usage":{"input_tokens":9,"output_tokens":5}})", "", 0, OpenAIApi::kResponses);
  EXPECT_EQ(responses.outcome, Outcome::kOk) << responses.error;
  EXPECT_EQ(json::parse(responses.tool_calls), json::parse(R"([{"name":"get_weather","arguments":{}}])"));

  const ChatResponse text = ParseChatResponse(Kind::kOpenAI, 200,
      R"({"choices":[{"message":{"content":"Sunny"},"finish_reason":"stop"}]})", "", 0);
  EXPECT_EQ(text.tool_calls, "") << "no calls: nothing";
}

// Whole replies of calls, as each API returns them (test/unit/recorded):
// the same normalised calls whatever the API, usage read beside them.
TEST(ProviderTools, RecordedRepliesOfCalls) {
  const json weather_and_time = json::parse(R"([{"name": "get_weather", "arguments": {"city": "Paris", "unit": "c"}},
                                                {"name": "get_time", "arguments": {"city": "Paris"}}])");
  const ChatResponse openai =
      ParseChatResponse(Kind::kOpenAI, 200, llmeval::test::Recorded("openai/200_tool_calls.json"), "", 0);
  ASSERT_EQ(openai.outcome, Outcome::kOk) << openai.error;
  EXPECT_EQ(openai.output, "");
  EXPECT_EQ(json::parse(openai.tool_calls), weather_and_time);
  EXPECT_EQ(openai.input_tokens, 82);
  EXPECT_EQ(openai.output_tokens, 49);

  const ChatResponse gemini =
      ParseChatResponse(Kind::kGemini, 200, llmeval::test::Recorded("gemini/200_function_call.json"), "", 0);
  ASSERT_EQ(gemini.outcome, Outcome::kOk) << gemini.error;
  EXPECT_EQ(gemini.output, "");
  EXPECT_EQ(json::parse(gemini.tool_calls), weather_and_time);
  EXPECT_EQ(gemini.input_tokens, 97);

  const ChatResponse anthropic =
      ParseChatResponse(Kind::kAnthropic, 200, llmeval::test::Recorded("anthropic/200_tool_use.json"), "", 0);
  ASSERT_EQ(anthropic.outcome, Outcome::kOk) << anthropic.error;
  EXPECT_EQ(anthropic.output, "I'll check the current weather in Paris for you.");
  EXPECT_EQ(json::parse(anthropic.tool_calls), json::parse(R"([{"name": "get_weather", "arguments": {"city": "Paris", "unit": "c"}}])"));
  EXPECT_EQ(anthropic.output_tokens, 71);

  const ChatResponse responses = ParseChatResponse(
      Kind::kOpenAI, 200, llmeval::test::Recorded("openai/responses_200_function_call.json"), "", 0, OpenAIApi::kResponses);
  ASSERT_EQ(responses.outcome, Outcome::kOk) << responses.error;
  EXPECT_EQ(json::parse(responses.tool_calls), json::parse(R"([{"name": "get_weather", "arguments": {"city": "Paris"}}])"));
  EXPECT_EQ(responses.input_tokens, 61);
}

TEST(ProviderTools, DeepArgumentsAreRefusedNotRecursedInto) {
  std::string deep(5000, '[');
  deep += std::string(5000, ']');
  const std::string body = R"({"choices":[{"message":{"content":null,"tool_calls":[{"type":"function","function":{"name":"f","arguments":")" +
                           deep + R"("}}]}}]})";
  const ChatResponse r = ParseChatResponse(Kind::kOpenAI, 200, body, "", 0);
  ASSERT_FALSE(r.tool_calls.empty());
  EXPECT_EQ(json::parse(r.tool_calls)[0]["parse_error"], "the arguments nest deeper than 256 levels");
}

}  // namespace
}  // namespace llmeval::core::provider

namespace llmeval::core::metrics {
namespace {

TEST(ToolCallJobMetrics, ValidShareFollowsTheToolsSchemas) {
  const nlohmann::json tools = nlohmann::json::parse(R"([{"type": "function", "function": {"name": "get_weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}])");
  EXPECT_EQ(ToolCallValidShare(R"([{"name": "get_weather", "arguments": {"city": "Paris"}}])", tools), 1.0);
  EXPECT_EQ(ToolCallValidShare(R"([{"name": "get_weather", "arguments": {"city": "Paris"}},
                                   {"name": "get_weather", "arguments": {"town": "Nice"}},
                                   {"name": "send_email", "arguments": {}}])", tools), 1.0 / 3);
  EXPECT_EQ(ToolCallValidShare("", tools), std::nullopt) << "no calls: not applicable";
  EXPECT_EQ(ToolCallValidShare("[]", tools), std::nullopt);
  EXPECT_EQ(ToolCallValidShare(R"([{"name": "get_weather", "arguments": {"city": "Paris"}}])", nullptr), 0.0)
      << "no tools declared: no call is valid";
  EXPECT_EQ(ToolCallValidShare("not json", tools), std::nullopt);
  EXPECT_EQ(ToolCallMetric("tool_call_f1", "", R"([])"), 1.0) << "both empty";
  EXPECT_EQ(ToolCallMetric("tool_call_accuracy", R"([{"name": "a"}, {"name": "b"}])", R"([{"name": "b"}, {"name": "a"}])"), 0.0);
  EXPECT_EQ(ToolCallMetric("bleu", "", "[]"), std::nullopt);
}

}  // namespace
}  // namespace llmeval::core::metrics
