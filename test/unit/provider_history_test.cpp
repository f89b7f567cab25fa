// Conversation history in chat requests (core/provider/history): the
// canonical messages of ChatRequest::history in each API's body, exactly,
// the ids made up for calls without one, the merges of Anthropic and Gemini
// turns, and the histories that are refused.
//
// With LLMEVAL_HISTORY_BASE (a mock server's base URL, see
// test/mock_llm/history_check.py) and LLMEVAL_HISTORY_OUT set, the test
// MockBodies writes the requests built for every API to that file, for the
// mock to validate as the real APIs would.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "core/error.hpp"
#include "core/provider/chat.hpp"
#include "core/provider/history.hpp"

namespace llmeval::core::provider {
namespace {

using nlohmann::json;

json WeatherTools() {
  json parameters = {
      {"type", "object"}, {"properties", {{"city", {{"type", "string"}}}}}, {"required", {"city"}}};
  return json::array(
      {{{"type", "function"},
        {"function",
         {{"name", "get_weather"},
          {"description", "Current weather"},
          {"parameters", parameters}}}},
       {{"type", "function"},
        {"function",
         {{"name", "get_time"}, {"description", "Local time"}, {"parameters", parameters}}}}});
}

ChatRequest Request(json history, std::string prompt, bool tools = false) {
  ChatRequest r;
  r.model = "m";
  r.history = std::move(history);
  r.prompt = std::move(prompt);
  if (tools) r.params = {{"tools", WeatherTools()}};
  return r;
}

json Body(Kind kind, const ChatRequest& r, bool responses = false) {
  ChatRequest copy = r;
  if (responses) copy.api = OpenAIApi::kResponses;
  return json::parse(BuildChatRequest(kind, "http://h/v1", "k", copy).body);
}

// The part of each body that carries the conversation.
json OpenAIMessages(const ChatRequest& r) { return Body(Kind::kOpenAI, r)["messages"]; }
json ResponsesItems(const ChatRequest& r) { return Body(Kind::kOpenAI, r, true)["input"]; }
json AnthropicMessages(const ChatRequest& r) { return Body(Kind::kAnthropic, r)["messages"]; }
json GeminiContents(const ChatRequest& r) { return Body(Kind::kGemini, r)["contents"]; }

// ---------------------------------------------------------------------------
// Conversations

json TwoTurns() {
  return json::array(
      {{{"role", "user"}, {"content", "What is 2+2?"}}, {{"role", "assistant"}, {"content", "4"}}});
}

TEST(ProviderHistory, TwoTurnsInEveryApi) {
  ChatRequest r = Request(TwoTurns(), "And times 3?");
  r.system = "Be brief.";
  EXPECT_EQ(Body(Kind::kOpenAI, r), json::parse(R"({"model": "m", "messages": [
      {"role": "system", "content": "Be brief."},
      {"role": "user", "content": "What is 2+2?"},
      {"role": "assistant", "content": "4"},
      {"role": "user", "content": "And times 3?"}]})"));
  EXPECT_EQ(Body(Kind::kOpenAI, r, true), json::parse(R"({"model": "m", "store": false,
      "instructions": "Be brief.", "input": [
      {"role": "user", "content": "What is 2+2?"},
      {"role": "assistant", "content": "4"},
      {"role": "user", "content": "And times 3?"}]})"));
  EXPECT_EQ(Body(Kind::kAnthropic, r), json::parse(R"({"model": "m", "max_tokens": 1024,
      "system": "Be brief.", "messages": [
      {"role": "user", "content": "What is 2+2?"},
      {"role": "assistant", "content": "4"},
      {"role": "user", "content": "And times 3?"}]})"));
  EXPECT_EQ(Body(Kind::kGemini, r), json::parse(R"({
      "systemInstruction": {"parts": [{"text": "Be brief."}]}, "contents": [
      {"role": "user", "parts": [{"text": "What is 2+2?"}]},
      {"role": "model", "parts": [{"text": "4"}]},
      {"role": "user", "parts": [{"text": "And times 3?"}]}]})"));
}

TEST(ProviderHistory, NoHistoryLeavesThePromptAsItWas) {
  for (const std::string prompt : {"Hi", ""}) {
    const ChatRequest r = Request(json::array(), prompt);
    EXPECT_EQ(OpenAIMessages(r), json::array({{{"role", "user"}, {"content", prompt}}}));
    EXPECT_EQ(ResponsesItems(r), json::array({{{"role", "user"}, {"content", prompt}}}));
    EXPECT_EQ(AnthropicMessages(r), json::array({{{"role", "user"}, {"content", prompt}}}));
    EXPECT_EQ(GeminiContents(r),
              json::array({{{"role", "user"}, {"parts", json::array({{{"text", prompt}}})}}}));
    // A null history is no history.
    EXPECT_EQ(Body(Kind::kAnthropic, Request(json(), prompt)), Body(Kind::kAnthropic, r));
  }
}

TEST(ProviderHistory, AnEmptyPromptAfterAUserMessageSendsNone) {
  const ChatRequest r = Request(json::array({{{"role", "user"}, {"content", "Hello"}}}), "");
  const json user = {{"role", "user"}, {"content", "Hello"}};
  EXPECT_EQ(OpenAIMessages(r), json::array({user}));
  EXPECT_EQ(ResponsesItems(r), json::array({user}));
  EXPECT_EQ(AnthropicMessages(r), json::array({user}));
  EXPECT_EQ(GeminiContents(r), json::parse(R"([{"role": "user", "parts": [{"text": "Hello"}]}])"));
}

// A call and its result, the history ending with the result.
json WeatherCall() {
  return json::parse(R"([
      {"role": "user", "content": "Weather in Paris?"},
      {"role": "assistant", "content": "Let me check.", "tool_calls": [
        {"id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}}]},
      {"role": "tool", "tool_call_id": "call_1", "name": "get_weather",
       "content": {"temp_c": 18}}])");
}

TEST(ProviderHistory, ToolCallAndResultInEveryApi) {
  const ChatRequest r = Request(WeatherCall(), "", true);
  EXPECT_EQ(OpenAIMessages(r), json::parse(R"([
      {"role": "user", "content": "Weather in Paris?"},
      {"role": "assistant", "content": "Let me check.", "tool_calls": [
        {"id": "call_1", "type": "function",
         "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
      {"role": "tool", "tool_call_id": "call_1", "content": "{\"temp_c\":18}"}])"));
  EXPECT_EQ(ResponsesItems(r), json::parse(R"([
      {"role": "user", "content": "Weather in Paris?"},
      {"role": "assistant", "content": "Let me check."},
      {"type": "function_call", "call_id": "call_1", "name": "get_weather",
       "arguments": "{\"city\":\"Paris\"}"},
      {"type": "function_call_output", "call_id": "call_1", "output": "{\"temp_c\":18}"}])"));
  EXPECT_EQ(AnthropicMessages(r), json::parse(R"([
      {"role": "user", "content": "Weather in Paris?"},
      {"role": "assistant", "content": [
        {"type": "text", "text": "Let me check."},
        {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}}]},
      {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "call_1", "content": "{\"temp_c\":18}"}]}])"));
  EXPECT_EQ(GeminiContents(r), json::parse(R"([
      {"role": "user", "parts": [{"text": "Weather in Paris?"}]},
      {"role": "model", "parts": [
        {"text": "Let me check."},
        {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}]},
      {"role": "user", "parts": [
        {"functionResponse": {"name": "get_weather", "response": {"temp_c": 18}}}]}])"));
}

TEST(ProviderHistory, APromptAfterToolResultsJoinsThemWhereTurnsAlternate) {
  json history = WeatherCall();
  history[1]["content"] = "";  // calls alone
  const ChatRequest r = Request(history, "And in Rome?", true);
  const json openai = OpenAIMessages(r);
  EXPECT_EQ(openai[1]["content"], nullptr);
  EXPECT_EQ(openai.back(), json({{"role", "user"}, {"content", "And in Rome?"}}));
  EXPECT_EQ(ResponsesItems(r)[1]["type"], "function_call");  // no empty assistant message
  EXPECT_EQ(ResponsesItems(r).back(), json({{"role", "user"}, {"content", "And in Rome?"}}));
  EXPECT_EQ(AnthropicMessages(r), json::parse(R"([
      {"role": "user", "content": "Weather in Paris?"},
      {"role": "assistant", "content": [
        {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}}]},
      {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "call_1", "content": "{\"temp_c\":18}"},
        {"type": "text", "text": "And in Rome?"}]}])"));
  EXPECT_EQ(GeminiContents(r), json::parse(R"([
      {"role": "user", "parts": [{"text": "Weather in Paris?"}]},
      {"role": "model", "parts": [
        {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}]},
      {"role": "user", "parts": [
        {"functionResponse": {"name": "get_weather", "response": {"temp_c": 18}}},
        {"text": "And in Rome?"}]}])"));
}

TEST(ProviderHistory, AnthropicCacheablePromptFollowsTheHistory) {
  ChatRequest r = Request(TwoTurns(), "Criteria: be exact. Answer: 12");
  r.cacheable_prompt_bytes = 19;
  EXPECT_EQ(AnthropicMessages(r).back(), json::parse(R"({"role": "user", "content": [
      {"type": "text", "text": "Criteria: be exact.", "cache_control": {"type": "ephemeral"}},
      {"type": "text", "text": " Answer: 12"}]})"));
}

// ---------------------------------------------------------------------------
// Ids

json TwoCallsWithoutIds() {
  return json::parse(R"([
      {"role": "user", "content": "Compare Paris and Rome."},
      {"role": "assistant", "tool_calls": [
        {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"},
        {"name": "get_weather", "arguments": {"city": "Rome"}}]},
      {"role": "tool", "content": "18"},
      {"role": "tool", "content": "21"},
      {"role": "assistant", "content": "Rome is warmer. Checking the time.", "tool_calls": [
        {"name": "get_time", "arguments": {"city": "Rome"}}]},
      {"role": "tool", "content": "noon"}])");
}

TEST(ProviderHistory, MissingIdsAreMadeUpAndResultsAnswerTheEarliestCall) {
  const ChatRequest r = Request(TwoCallsWithoutIds(), "Thanks.", true);
  EXPECT_EQ(OpenAIMessages(r), json::parse(R"([
      {"role": "user", "content": "Compare Paris and Rome."},
      {"role": "assistant", "content": null, "tool_calls": [
        {"id": "call_0", "type": "function",
         "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}},
        {"id": "call_1", "type": "function",
         "function": {"name": "get_weather", "arguments": "{\"city\":\"Rome\"}"}}]},
      {"role": "tool", "tool_call_id": "call_0", "content": "18"},
      {"role": "tool", "tool_call_id": "call_1", "content": "21"},
      {"role": "assistant", "content": "Rome is warmer. Checking the time.", "tool_calls": [
        {"id": "call_2", "type": "function",
         "function": {"name": "get_time", "arguments": "{\"city\":\"Rome\"}"}}]},
      {"role": "tool", "tool_call_id": "call_2", "content": "noon"},
      {"role": "user", "content": "Thanks."}])"));
  EXPECT_EQ(ResponsesItems(r), json::parse(R"([
      {"role": "user", "content": "Compare Paris and Rome."},
      {"type": "function_call", "call_id": "call_0", "name": "get_weather",
       "arguments": "{\"city\": \"Paris\"}"},
      {"type": "function_call", "call_id": "call_1", "name": "get_weather",
       "arguments": "{\"city\":\"Rome\"}"},
      {"type": "function_call_output", "call_id": "call_0", "output": "18"},
      {"type": "function_call_output", "call_id": "call_1", "output": "21"},
      {"role": "assistant", "content": "Rome is warmer. Checking the time."},
      {"type": "function_call", "call_id": "call_2", "name": "get_time",
       "arguments": "{\"city\":\"Rome\"}"},
      {"type": "function_call_output", "call_id": "call_2", "output": "noon"},
      {"role": "user", "content": "Thanks."}])"));
  // Arguments given as a string are parsed for Anthropic and Gemini.
  EXPECT_EQ(AnthropicMessages(r), json::parse(R"([
      {"role": "user", "content": "Compare Paris and Rome."},
      {"role": "assistant", "content": [
        {"type": "tool_use", "id": "call_0", "name": "get_weather", "input": {"city": "Paris"}},
        {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Rome"}}]},
      {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "call_0", "content": "18"},
        {"type": "tool_result", "tool_use_id": "call_1", "content": "21"}]},
      {"role": "assistant", "content": [
        {"type": "text", "text": "Rome is warmer. Checking the time."},
        {"type": "tool_use", "id": "call_2", "name": "get_time", "input": {"city": "Rome"}}]},
      {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "call_2", "content": "noon"},
        {"type": "text", "text": "Thanks."}]}])"));
  EXPECT_EQ(GeminiContents(r), json::parse(R"([
      {"role": "user", "parts": [{"text": "Compare Paris and Rome."}]},
      {"role": "model", "parts": [
        {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}},
        {"functionCall": {"name": "get_weather", "args": {"city": "Rome"}}}]},
      {"role": "user", "parts": [
        {"functionResponse": {"name": "get_weather", "response": {"result": "18"}}},
        {"functionResponse": {"name": "get_weather", "response": {"result": "21"}}}]},
      {"role": "model", "parts": [
        {"text": "Rome is warmer. Checking the time."},
        {"functionCall": {"name": "get_time", "args": {"city": "Rome"}}}]},
      {"role": "user", "parts": [
        {"functionResponse": {"name": "get_time", "response": {"result": "noon"}}},
        {"text": "Thanks."}]}])"));
}

TEST(ProviderHistory, ResultsByIdInAnyOrderAndMadeUpIdsAvoidGivenOnes) {
  // The second call has no id: call_1, taken by the first, so call_1_.
  const json history = json::parse(R"([
      {"role": "user", "content": "Both?"},
      {"role": "assistant", "tool_calls": [
        {"id": "call_1", "name": "get_weather", "arguments": {"city": "Oslo"}},
        {"name": "get_time", "arguments": {"city": "Oslo"}}]},
      {"role": "tool", "tool_call_id": "call_1_", "content": "09:00"},
      {"role": "tool", "content": "-3"}])");
  const ChatRequest r = Request(history, "", true);
  const json openai = OpenAIMessages(r);
  EXPECT_EQ(openai[1]["tool_calls"][1]["id"], "call_1_");
  EXPECT_EQ(openai[2], json({{"role", "tool"}, {"tool_call_id", "call_1_"}, {"content", "09:00"}}));
  EXPECT_EQ(openai[3], json({{"role", "tool"}, {"tool_call_id", "call_1"}, {"content", "-3"}}));
  // Gemini matches results to calls by position: they go in the calls' order.
  EXPECT_EQ(GeminiContents(r).back(), json::parse(R"({"role": "user", "parts": [
      {"functionResponse": {"name": "get_weather", "response": {"result": "-3"}}},
      {"functionResponse": {"name": "get_time", "response": {"result": "09:00"}}}]})"));
}

TEST(ProviderHistory, AnthropicIdsOutsideItsPatternAreMappedAlike) {
  const json history = json::parse(R"([
      {"role": "user", "content": "Weather?"},
      {"role": "assistant", "tool_calls": [
        {"id": "fc:1/a", "name": "get_weather", "arguments": {"city": "Paris"}}]},
      {"role": "tool", "tool_call_id": "fc:1/a", "content": "sunny"}])");
  const json messages = AnthropicMessages(Request(history, "", true));
  const std::string id = history::AnthropicToolId("fc:1/a");
  EXPECT_EQ(messages[1]["content"][0]["id"], id);
  EXPECT_EQ(messages[2]["content"][0]["tool_use_id"], id);
  EXPECT_EQ(id.substr(0, 7), "fc_1_a_");
  EXPECT_EQ(id.size(), 15u);
  EXPECT_EQ(
      id.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"),
      std::string::npos);
  // Valid ids stay; distinct invalid ids stay distinct; the mapping is stable.
  EXPECT_EQ(history::AnthropicToolId("toolu_01A-b"), "toolu_01A-b");
  EXPECT_NE(history::AnthropicToolId("fc:1/a"), history::AnthropicToolId("fc/1:a"));
  EXPECT_EQ(history::AnthropicToolId("fc:1/a"), id);
  // Other APIs keep the id as it is.
  EXPECT_EQ(OpenAIMessages(Request(history, ""))[1]["tool_calls"][0]["id"], "fc:1/a");
}

// ---------------------------------------------------------------------------
// Merges and empty text

TEST(ProviderHistory, SameRoleMessagesMergeAndEmptyTextIsDropped) {
  const json history = json::parse(R"([
      {"role": "user", "content": "First."},
      {"role": "user", "content": ""},
      {"role": "user", "content": "Second."},
      {"role": "assistant", "content": "Thinking aloud."},
      {"role": "assistant", "content": "", "tool_calls": [
        {"id": "a", "name": "get_time", "arguments": "{}"}]},
      {"role": "tool", "tool_call_id": "a", "content": ""},
      {"role": "assistant"},
      {"role": "assistant", "content": "Done."}])");
  const ChatRequest r = Request(history, "More.", true);
  EXPECT_EQ(AnthropicMessages(r), json::parse(R"([
      {"role": "user", "content": [
        {"type": "text", "text": "First."}, {"type": "text", "text": "Second."}]},
      {"role": "assistant", "content": [
        {"type": "text", "text": "Thinking aloud."},
        {"type": "tool_use", "id": "a", "name": "get_time", "input": {}}]},
      {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "a"}]},
      {"role": "assistant", "content": "Done."},
      {"role": "user", "content": "More."}])"));
  EXPECT_EQ(GeminiContents(r), json::parse(R"([
      {"role": "user", "parts": [{"text": "First."}, {"text": "Second."}]},
      {"role": "model", "parts": [
        {"text": "Thinking aloud."}, {"functionCall": {"name": "get_time", "args": {}}}]},
      {"role": "user", "parts": [
        {"functionResponse": {"name": "get_time", "response": {"result": ""}}}]},
      {"role": "model", "parts": [{"text": "Done."}]},
      {"role": "user", "parts": [{"text": "More."}]}])"));
  // OpenAI takes every message as it is.
  EXPECT_EQ(OpenAIMessages(r).size(), 9u);
  EXPECT_EQ(OpenAIMessages(r)[6], json({{"role", "assistant"}, {"content", ""}}));
}

TEST(ProviderHistory, GeminiResponseIsTheResultObjectOrWrapsIt) {
  json history = WeatherCall();
  const auto response = [&](json content) {
    history[2]["content"] = std::move(content);
    return GeminiContents(Request(history, "", true))
        .back()["parts"][0]["functionResponse"]["response"];
  };
  EXPECT_EQ(response(R"({"temp_c": 18})"), json({{"temp_c", 18}}));
  EXPECT_EQ(response("18 degrees"), json({{"result", "18 degrees"}}));
  EXPECT_EQ(response("[1, 2]"), json({{"result", "[1, 2]"}}));
  EXPECT_EQ(response(json::array({1, 2})), json({{"result", {1, 2}}}));
  EXPECT_EQ(response(nullptr), json({{"result", ""}}));
}

TEST(ProviderHistory, OpenAIKeepsArgumentsStringsAsGiven) {
  json history = WeatherCall();
  history[1]["tool_calls"][0]["arguments"] = "not json";
  const ChatRequest r = Request(history, "", true);
  EXPECT_EQ(OpenAIMessages(r)[1]["tool_calls"][0]["function"]["arguments"], "not json");
  EXPECT_EQ(ResponsesItems(r)[2]["arguments"], "not json");
  history[1]["tool_calls"][0].erase("arguments");
  EXPECT_EQ(OpenAIMessages(Request(history, ""))[1]["tool_calls"][0]["function"]["arguments"],
            "{}");
  EXPECT_EQ(AnthropicMessages(Request(history, "", true))[1]["content"][1]["input"],
            json::object());
}

TEST(ProviderHistory, TheBodyAndSoTheCacheKeyCoverTheWholeHistory) {
  const ChatRequest a = Request(WeatherCall(), "", true);
  ChatRequest b = a;
  b.history[2]["content"]["temp_c"] = 19;
  for (Kind kind : {Kind::kOpenAI, Kind::kAnthropic, Kind::kGemini}) {
    EXPECT_EQ(BuildChatRequest(kind, "http://h/v1", "k", a).body,
              BuildChatRequest(kind, "http://h/v1", "k", a).body);
    EXPECT_NE(BuildChatRequest(kind, "http://h/v1", "k", a).body,
              BuildChatRequest(kind, "http://h/v1", "k", b).body);
  }
}

// ---------------------------------------------------------------------------
// Refused histories

// The message of the Error(kInvalidParameterValue) building r throws for
// every API (the same for each), or "" when none throws.
std::string Refusal(const json& history, std::string prompt = "Next?") {
  std::string message;
  for (int api = 0; api < 4; ++api) {
    const ChatRequest r = Request(history, prompt, true);
    try {
      if (api == 0) OpenAIMessages(r);
      if (api == 1) ResponsesItems(r);
      if (api == 2) AnthropicMessages(r);
      if (api == 3) GeminiContents(r);
      ADD_FAILURE() << "api " << api << " took " << history.dump();
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidParameterValue);
      if (api > 0) {
        EXPECT_EQ(e.what(), message) << "api " << api;
      }
      message = e.what();
    }
  }
  return message;
}

TEST(ProviderHistory, MalformedHistoriesAreRefused) {
  EXPECT_EQ(Refusal(json::object()), "conversation history must be a JSON array");
  EXPECT_EQ(Refusal(json::array({"hi"})), "history message 0 is not an object with a role");
  EXPECT_EQ(Refusal(json::parse(R"([{"role": "system", "content": "Be brief."}])")),
            "history message 0 has unknown role \"system\"");
  EXPECT_EQ(
      Refusal(json::parse(R"([{"role": "user", "content": [{"type": "text", "text": "hi"}]}])")),
      "history message 0: user content must be a string");
  EXPECT_EQ(Refusal(json::parse(R"([{"role": "user"}])")),
            "history message 0: user content must be a string");
  EXPECT_EQ(Refusal(json::parse(R"([{"role": "assistant", "content": 4}])")),
            "history message 0: assistant content must be a string");
  EXPECT_EQ(Refusal(json::parse(R"([{"role": "assistant", "tool_calls": [{"arguments": {}}]}])")),
            "history message 0: tool call 0 has no name");
  EXPECT_EQ(
      Refusal(json::parse(R"([{"role": "assistant", "tool_calls": [{"name": "f", "id": 7}]}])")),
      "history message 0: tool call 0 has an id that is not a string");
  EXPECT_EQ(Refusal(json::parse(
                R"([{"role": "assistant", "tool_calls": [{"name": "f", "arguments": [1]}]}])")),
            "history message 0: tool call 0 (\"f\") has arguments that are not a JSON object");
}

TEST(ProviderHistory, ToolMessagesMustAnswerACall) {
  EXPECT_EQ(Refusal(json::parse(R"([{"role": "tool", "content": "18"}])"), ""),
            "history message 0 answers no tool call");
  json history = WeatherCall();
  history[2]["tool_call_id"] = "call_9";
  EXPECT_EQ(Refusal(history), "history message 2 answers no tool call");
  history = WeatherCall();
  history.push_back({{"role", "tool"}, {"content", "again"}});  // call_1 already answered
  EXPECT_EQ(Refusal(history), "history message 3 answers no tool call");
  history = WeatherCall();
  history[2]["name"] = "get_time";
  EXPECT_EQ(Refusal(history),
            "history message 2 names tool \"get_time\" but answers a call of \"get_weather\"");
  history = WeatherCall();
  history[2]["tool_call_id"] = 1;
  EXPECT_EQ(Refusal(history), "history message 2: tool_call_id must be a string");
}

TEST(ProviderHistory, EveryCallMustBeAnswered) {
  json history = WeatherCall();
  history.erase(2);
  EXPECT_EQ(Refusal(history),
            "tool call \"call_1\" (\"get_weather\") of history message 1 has no result");
  history.push_back({{"role", "user"}, {"content", "Well?"}});
  EXPECT_EQ(Refusal(history),
            "tool call \"call_1\" (\"get_weather\") of history message 1 has no result");
  try {
    OpenAIMessages(Request(history, ""));
    ADD_FAILURE() << "an unanswered call was taken";
  } catch (const Error& e) {
    EXPECT_EQ(e.detail(),
              "Each tool call must be answered by a tool message before the next user message.");
  }
}

TEST(ProviderHistory, AnthropicAndGeminiNeedObjectArguments) {
  json history = WeatherCall();
  for (const char* arguments : {"not json", "[1, 2]", "\"Paris\""}) {
    history[1]["tool_calls"][0]["arguments"] = arguments;
    const ChatRequest r = Request(history, "", true);
    EXPECT_NO_THROW(OpenAIMessages(r));
    EXPECT_NO_THROW(ResponsesItems(r));
    for (Kind kind : {Kind::kAnthropic, Kind::kGemini}) {
      try {
        Body(kind, r);
        ADD_FAILURE() << arguments;
      } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::kInvalidParameterValue);
        EXPECT_STREQ(e.what(),
                     "history message 1: tool call 0 (\"get_weather\") has arguments that are not "
                     "a JSON object");
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Bodies for the mock server (test/mock_llm/history_check.py)

TEST(ProviderHistory, MockBodies) {
  const char* base = std::getenv("LLMEVAL_HISTORY_BASE");
  const char* out = std::getenv("LLMEVAL_HISTORY_OUT");
  if (base == nullptr || out == nullptr) GTEST_SKIP() << "run by test/mock_llm/history_check.py";
  json merged = json::parse(R"([
      {"role": "user", "content": "First."},
      {"role": "user", "content": "Second."},
      {"role": "assistant", "content": "Thinking aloud."},
      {"role": "assistant", "content": "", "tool_calls": [
        {"id": "fc:1/a", "name": "get_time", "arguments": "{\"city\": \"Oslo\"}"}]},
      {"role": "tool", "content": ""},
      {"role": "assistant", "content": "Done."}])");
  json ends_with_user = TwoTurns();
  ends_with_user.push_back({{"role", "user"}, {"content", "And times 3?"}});
  const struct {
    const char* name;
    ChatRequest request;
  } cases[] = {
      {"two turns", Request(TwoTurns(), "And times 3?")},
      {"two turns, history ending with the user", Request(ends_with_user, "")},
      {"tool call and result", Request(WeatherCall(), "", true)},
      {"tool result then a prompt", Request(WeatherCall(), "And in Rome?", true)},
      {"ids missing", Request(TwoCallsWithoutIds(), "", true)},
      {"ids missing, then a prompt", Request(TwoCallsWithoutIds(), "Thanks.", true)},
      {"merges", Request(merged, "More.", true)},
  };
  const struct {
    const char* api;
    Kind kind;
    std::string model;
    bool responses;
  } apis[] = {{"openai chat", Kind::kOpenAI, "gpt-4o-mini", false},
              {"openai responses", Kind::kOpenAI, "gpt-4o-mini", true},
              {"anthropic", Kind::kAnthropic, "claude-3-5-haiku-latest", false},
              {"gemini", Kind::kGemini, "gemini-2.0-flash", false}};
  json requests = json::array();
  for (const auto& c : cases) {
    for (const auto& a : apis) {
      ChatRequest r = c.request;
      r.model = a.model;
      r.system = "Be brief.";
      if (a.responses) r.api = OpenAIApi::kResponses;
      const std::string url = std::string(base) + (a.kind == Kind::kOpenAI ? "/v1" : "");
      const HttpRequest http = BuildChatRequest(a.kind, url, "test-key", r);
      requests.push_back({{"case", std::string(c.name) + " (" + a.api + ")"},
                          {"url", http.url},
                          {"headers", http.headers},
                          {"body", json::parse(http.body)}});
    }
  }
  std::ofstream(out) << requests.dump(1) << "\n";
}

}  // namespace
}  // namespace llmeval::core::provider
