#include "core/metrics/tool_calls.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/error.hpp"

namespace llmeval::core::metrics {
namespace {

using nlohmann::json;

std::vector<ToolCall> Calls(const char* text) {
  return ParseToolCalls(json::parse(text), "actual");
}
ToolCall Call(const char* text) { return ParseToolCall(json::parse(text), "call"); }

TEST(ToolCalls, ParsesEveryShape) {
  const ToolCall normalised = Call(R"({"name": "f", "arguments": {"a": 1}})");
  EXPECT_EQ(normalised.name, "f");
  EXPECT_EQ(normalised.arguments, json::parse(R"({"a": 1})"));
  EXPECT_FALSE(normalised.parse_error);

  const ToolCall openai = Call(
      R"({"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{\"a\": 1}"}})");
  EXPECT_EQ(openai.name, "f");
  EXPECT_EQ(openai.arguments, json::parse(R"({"a": 1})"));

  const ToolCall anthropic =
      Call(R"({"type": "tool_use", "id": "t", "name": "f", "input": {"a": 1}})");
  EXPECT_EQ(anthropic.arguments, json::parse(R"({"a": 1})"));

  const ToolCall gemini = Call(R"({"functionCall": {"name": "f", "args": {"a": 1}}})");
  EXPECT_EQ(gemini.name, "f");
  EXPECT_EQ(gemini.arguments, json::parse(R"({"a": 1})"));

  EXPECT_EQ(Call(R"({"name": "f"})").arguments, json::object());
  EXPECT_EQ(Call(R"({"name": "f", "arguments": null})").arguments, json::object());
  EXPECT_EQ(Call(R"({"function": {"name": "f", "arguments": ""}})").arguments, json::object());
  EXPECT_FALSE(Call(R"({"function": {"name": "f", "arguments": " \n"}})").parse_error);
}

TEST(ToolCalls, KeepsAnUnparseableArgumentStringWithTheError) {
  const ToolCall bad = Call(R"({"function": {"name": "f", "arguments": "{\"a\": 1"}})");
  EXPECT_EQ(bad.arguments, json("{\"a\": 1"));
  ASSERT_TRUE(bad.parse_error);
  EXPECT_NE(bad.parse_error->find("parse error"), std::string::npos);
  // it matches by name, never by arguments, not even an identical one
  EXPECT_TRUE(ToolCallsMatch({bad}, {bad}, true, ToolCallMatch::kName));
  EXPECT_FALSE(ToolCallsMatch({bad}, {bad}, true, ToolCallMatch::kNameArgs));
  EXPECT_DOUBLE_EQ(ToolCallF1({bad}, {bad}, ToolCallMatch::kNameArgs).f1, 0.0);
  EXPECT_FALSE(ToolArgsMatch(bad, bad, ArgsMatchMode::kExact, {}));
}

TEST(ToolCalls, RefusesMalformedCalls) {
  EXPECT_THROW(Calls(R"({"name": "f"})"), Error);
  EXPECT_THROW(Calls(R"([1])"), Error);
  EXPECT_THROW(Calls(R"([{"arguments": {}}])"), Error);
  EXPECT_THROW(Calls(R"([{"name": 3}])"), Error);
  try {
    Calls(R"([{"name": "f"}, {"nom": "g"}])");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidParameterValue);
    EXPECT_STREQ(e.what(), "actual tool call 2 has no name");
  }
  EXPECT_THROW(ParseToolCallMatch("args"), Error);
  EXPECT_THROW(ParseArgsMatchMode("fuzzy"), Error);
}

TEST(ToolCalls, F1OverMultisets) {
  const auto actual = Calls(R"([{"name": "a"}, {"name": "a"}, {"name": "b"}])");
  const auto expected = Calls(R"([{"name": "a"}, {"name": "c"}])");
  // matched: min(2, 1) for a = 1; P = 1/3, R = 1/2, F1 = 0.4
  const ToolCallScores s = ToolCallF1(actual, expected, ToolCallMatch::kName);
  EXPECT_DOUBLE_EQ(s.precision, 1.0 / 3);
  EXPECT_DOUBLE_EQ(s.recall, 0.5);
  EXPECT_DOUBLE_EQ(s.f1, 2 * (1.0 / 3) * 0.5 / (1.0 / 3 + 0.5));
  EXPECT_DOUBLE_EQ(s.f1, 0.4);

  const ToolCallScores both_empty = ToolCallF1({}, {}, ToolCallMatch::kName);
  EXPECT_DOUBLE_EQ(both_empty.precision, 1);
  EXPECT_DOUBLE_EQ(both_empty.recall, 1);
  EXPECT_DOUBLE_EQ(both_empty.f1, 1);
  EXPECT_DOUBLE_EQ(ToolCallF1(actual, {}, ToolCallMatch::kName).f1, 0);
  EXPECT_DOUBLE_EQ(ToolCallF1({}, expected, ToolCallMatch::kName).precision, 0);
  EXPECT_DOUBLE_EQ(ToolCallF1(Calls(R"([{"name": "x"}])"), expected, ToolCallMatch::kName).f1, 0);
}

TEST(ToolCalls, F1ByNameAndArguments) {
  const auto actual = Calls(
      R"([{"name": "w", "arguments": {"city": "Paris", "days": 1.0}},
          {"function": {"name": "w", "arguments": "{\"days\": 2, \"city\": \"Oslo\"}"}}])");
  const auto expected = Calls(
      R"([{"name": "w", "arguments": {"days": 1, "city": "Paris"}},
          {"name": "w", "arguments": {"city": "Oslo", "days": 3}}])");
  EXPECT_DOUBLE_EQ(ToolCallF1(actual, expected, ToolCallMatch::kName).f1, 1.0);
  // key order and 1.0 vs 1 do not matter; 2 vs 3 does
  const ToolCallScores s = ToolCallF1(actual, expected, ToolCallMatch::kNameArgs);
  EXPECT_DOUBLE_EQ(s.precision, 0.5);
  EXPECT_DOUBLE_EQ(s.recall, 0.5);
  EXPECT_DOUBLE_EQ(s.f1, 0.5);
  // 1e2 is 100; 0.1 and 0.10 are one number; "1" is a string
  EXPECT_DOUBLE_EQ(ToolCallF1(Calls(R"([{"name": "f", "arguments": {"x": 1e2, "y": 0.1}}])"),
                              Calls(R"([{"name": "f", "arguments": {"x": 100, "y": 0.10}}])"),
                              ToolCallMatch::kNameArgs)
                       .f1,
                   1.0);
  EXPECT_DOUBLE_EQ(
      ToolCallF1(Calls(R"([{"name": "f", "arguments": {"x": 1}}])"),
                 Calls(R"([{"name": "f", "arguments": {"x": "1"}}])"), ToolCallMatch::kNameArgs)
          .f1,
      0.0);
}

TEST(ToolCalls, AccuracyOrderedAndUnordered) {
  const auto ab = Calls(R"([{"name": "a"}, {"name": "b", "arguments": {"x": [1, 2]}}])");
  const auto ba = Calls(R"([{"name": "b", "arguments": {"x": [1, 2]}}, {"name": "a"}])");
  const auto ba_other = Calls(R"([{"name": "b", "arguments": {"x": [2, 1]}}, {"name": "a"}])");
  EXPECT_TRUE(ToolCallsMatch(ab, ab, true, ToolCallMatch::kNameArgs));
  EXPECT_FALSE(ToolCallsMatch(ab, ba, true, ToolCallMatch::kNameArgs));
  EXPECT_TRUE(ToolCallsMatch(ab, ba, false, ToolCallMatch::kNameArgs));
  EXPECT_FALSE(ToolCallsMatch(ab, ba_other, false, ToolCallMatch::kNameArgs));
  EXPECT_TRUE(ToolCallsMatch(ab, ba_other, false, ToolCallMatch::kName));
  EXPECT_TRUE(ToolCallsMatch({}, {}, true, ToolCallMatch::kNameArgs));
  EXPECT_FALSE(ToolCallsMatch(ab, {}, false, ToolCallMatch::kNameArgs));
  // multisets: a, a, b is not a, b, b
  EXPECT_FALSE(ToolCallsMatch(Calls(R"([{"name": "a"}, {"name": "a"}, {"name": "b"}])"),
                              Calls(R"([{"name": "a"}, {"name": "b"}, {"name": "b"}])"), false,
                              ToolCallMatch::kName));
}

TEST(ToolCalls, ArgsMatchExactPartialIgnore) {
  const ToolCall call = Call(
      R"({"name": "book", "arguments": {"city": "Paris", "date": "2026-01-01",
          "guests": {"adults": 2, "children": 0}, "tags": [{"k": 1, "v": 2}], "request_id": "r1"}})");
  const ToolCall same_but_id = Call(
      R"({"name": "book", "arguments": {"city": "Paris", "date": "2026-01-01",
          "guests": {"adults": 2.0, "children": 0}, "tags": [{"v": 2, "k": 1}], "request_id": "r2"}})");
  EXPECT_FALSE(ToolArgsMatch(call, same_but_id, ArgsMatchMode::kExact, {}));
  EXPECT_TRUE(ToolArgsMatch(call, same_but_id, ArgsMatchMode::kExact, {"request_id"}));
  const ToolCall subset = Call(
      R"({"name": "book", "arguments": {"city": "Paris", "guests": {"adults": 2}, "tags": [{"k": 1}]}})");
  EXPECT_TRUE(ToolArgsMatch(call, subset, ArgsMatchMode::kPartial, {}));
  EXPECT_FALSE(ToolArgsMatch(call, subset, ArgsMatchMode::kExact, {}));
  // the subset goes one way only
  EXPECT_FALSE(ToolArgsMatch(subset, call, ArgsMatchMode::kPartial, {}));
  // arrays keep their length in partial matching
  const ToolCall shorter = Call(R"({"name": "book", "arguments": {"tags": []}})");
  EXPECT_FALSE(ToolArgsMatch(call, shorter, ArgsMatchMode::kPartial, {}));
  const ToolCall wrong = Call(R"({"name": "book", "arguments": {"guests": {"adults": 3}}})");
  EXPECT_FALSE(ToolArgsMatch(call, wrong, ArgsMatchMode::kPartial, {}));
  const ToolCall other_name = Call(R"({"name": "cancel", "arguments": {"city": "Paris"}})");
  EXPECT_FALSE(ToolArgsMatch(call, other_name, ArgsMatchMode::kPartial, {}));
  // ignore is top-level only
  const ToolCall nested_id =
      Call(R"({"name": "book", "arguments": {"guests": {"request_id": 1}}})");
  EXPECT_FALSE(ToolArgsMatch(call, nested_id, ArgsMatchMode::kPartial, {"request_id"}));
  // an object is not a subset of a scalar, nor a scalar of an object
  EXPECT_FALSE(ToolArgsMatch(Call(R"({"name": "f", "arguments": {"a": 1}})"),
                             Call(R"({"name": "f", "arguments": {"a": {}}})"),
                             ArgsMatchMode::kPartial, {}));
  EXPECT_TRUE(ToolArgsMatch(Call(R"({"name": "f", "arguments": {"a": {"b": 1}}})"),
                            Call(R"({"name": "f", "arguments": {"a": {}}})"),
                            ArgsMatchMode::kPartial, {}));
}

TEST(ToolCalls, DeepArgumentsAreRefused) {
  std::string deep = R"({"name": "f", "arguments": )";
  for (int i = 0; i < 300; ++i) deep += "[";
  for (int i = 0; i < 300; ++i) deep += "]";
  deep += "}";
  const ToolCall call = Call(deep.c_str());
  EXPECT_THROW(ToolArgsMatch(call, call, ArgsMatchMode::kExact, {}), Error);
  EXPECT_THROW(ToolCallF1({call}, {call}, ToolCallMatch::kNameArgs), Error);
}

const char* kTools = R"([
  {"type": "function", "function": {"name": "get_weather", "parameters": {
     "type": "object", "properties": {"city": {"type": "string"},
                                      "unit": {"enum": ["c", "f"]}},
     "required": ["city"], "additionalProperties": false}}},
  {"type": "function", "name": "now"},
  {"name": "search", "input_schema": {"type": "object", "properties": {"q": {"type": "string", "minLength": 1}}}},
  {"type": "web_search_preview"}
])";

TEST(ToolCalls, ValidAgainstToolSchemas) {
  const ToolSet tools(json::parse(kTools));
  EXPECT_TRUE(
      tools.Errors(Call(R"({"name": "get_weather", "arguments": {"city": "Paris"}})")).empty());
  EXPECT_TRUE(
      tools
          .Errors(Call(
              R"({"function": {"name": "get_weather", "arguments": "{\"city\": \"Oslo\", \"unit\": \"c\"}"}})"))
          .empty());
  EXPECT_TRUE(tools.Errors(Call(R"({"name": "now"})")).empty());
  EXPECT_TRUE(tools.Errors(Call(R"({"name": "search", "input": {"q": "x"}})")).empty());

  EXPECT_EQ(tools.Errors(Call(R"({"name": "get_time"})")),
            std::vector<std::string>{"unknown tool \"get_time\""});
  EXPECT_EQ(tools.Errors(Call(R"({"name": "now", "arguments": {"tz": "UTC"}})")).size(), 1u);
  const auto missing = tools.Errors(Call(R"({"name": "get_weather", "arguments": {"unit": "k"}})"));
  EXPECT_EQ(missing.size(), 2u);
  const auto not_json =
      tools.Errors(Call(R"({"function": {"name": "get_weather", "arguments": "{city: Paris}"}})"));
  ASSERT_EQ(not_json.size(), 1u);
  EXPECT_EQ(not_json[0].rfind("arguments are not JSON: ", 0), 0u);
  EXPECT_EQ(tools.Errors(Call(R"({"name": "get_weather", "arguments": [1]})")),
            std::vector<std::string>{"arguments are array, not an object"});
  EXPECT_EQ(tools.Errors(Call(R"({"name": "search", "arguments": {"q": ""}})")).size(), 1u);
}

TEST(ToolCalls, RefusesBadToolDefinitions) {
  EXPECT_THROW(ToolSet(json::parse(R"({"name": "f"})")), Error);
  EXPECT_THROW(ToolSet(json::parse(R"([1])")), Error);
  EXPECT_THROW(ToolSet(json::parse(R"([{"function": {"parameters": {}}}])")), Error);
  EXPECT_THROW(ToolSet(json::parse(R"([{"name": "f"}, {"name": "f"}])")), Error);
  try {
    ToolSet(json::parse(R"([{"name": "f", "parameters": {"type": "thing"}}])"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidParameterValue);
    EXPECT_STREQ(e.what(), "invalid parameters schema of tool \"f\"");
  }
  EXPECT_NO_THROW(ToolSet(json::parse("[]")));
}

TEST(ToolCalls, ManyCallsAreLinear) {
  json actual = json::array(), expected = json::array();
  for (int i = 0; i < 50000; ++i) {
    actual.push_back({{"name", "f" + std::to_string(i % 1000)}, {"arguments", {{"i", i}}}});
    expected.push_back(
        {{"name", "f" + std::to_string(i % 1000)}, {"arguments", {{"i", 49999 - i}}}});
  }
  const auto a = ParseToolCalls(actual, "actual"), e = ParseToolCalls(expected, "expected");
  EXPECT_DOUBLE_EQ(ToolCallF1(a, e, ToolCallMatch::kName).f1, 1.0);
  // i and 49999 - i have the same name only when i % 1000 == 999 - i % 1000: never.
  EXPECT_DOUBLE_EQ(ToolCallF1(a, e, ToolCallMatch::kNameArgs).f1, 0.0);
  EXPECT_TRUE(ToolCallsMatch(a, a, false, ToolCallMatch::kNameArgs));
}

}  // namespace
}  // namespace llmeval::core::metrics
