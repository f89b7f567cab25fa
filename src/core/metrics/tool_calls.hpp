// Deterministic metrics over an LLM's tool (function) calls.
//
// A call is read from any of these shapes (JSON objects):
//   normalised  {"name": "get_weather", "arguments": {"city": "Paris"}}
//   OpenAI      {"id": ..., "type": "function",
//                "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}
//   Anthropic   {"type": "tool_use", "id": ..., "name": "get_weather", "input": {...}}
//   Gemini      {"functionCall": {"name": "get_weather", "args": {...}}}
// Arguments given as a string (as OpenAI sends them) are parsed as JSON; a
// string that is not JSON is kept as it is, with the parse error, and such a
// call's arguments match nothing. Absent or null arguments, and an empty (or
// blank) argument string, are {}.
//
// Arguments compare as JSON values: objects regardless of key order, numbers
// by value (1, 1.0 and 1e0 are equal), strings as bytes. Arguments nested
// deeper than kMaxArgumentsDepth are refused (Error(kProgramLimitExceeded)).
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace llmeval::core::metrics {

inline constexpr int kMaxArgumentsDepth = 256;

struct ToolCall {
  std::string name;
  nlohmann::json arguments;
  // Set when the arguments were a string that is not JSON (kept in arguments).
  std::optional<std::string> parse_error;
};

// One call; `what` names it in errors ("actual tool call 2"). Throws
// Error(kInvalidParameterValue) when it is not an object or has no string
// name.
ToolCall ParseToolCall(const nlohmann::json& call, const std::string& what);

// A JSON array of calls; `what` names the argument ("actual"). Throws
// Error(kInvalidParameterValue) when it is not an array or a call is bad.
std::vector<ToolCall> ParseToolCalls(const nlohmann::json& calls, const std::string& what);

// JSON text as nlohmann::json; Error(kInvalidParameterValue) naming `what`
// when it cannot be read (jsonb numbers beyond a double's range).
nlohmann::json ParseJsonArgument(std::string_view text, const std::string& what);

enum class ToolCallMatch { kName, kNameArgs };

// "name" or "name_args"; Error(kInvalidParameterValue) otherwise.
ToolCallMatch ParseToolCallMatch(std::string_view text);

struct ToolCallScores {
  double precision;
  double recall;
  double f1;
};

// Precision, recall and F1 of actual against expected as multisets of calls
// (by name, or by name and arguments): matched = Σ over distinct calls of
// min(count in actual, count in expected); precision = matched / |actual|,
// recall = matched / |expected|. Both empty: 1, 1, 1. One empty: 0, 0, 0.
ToolCallScores ToolCallF1(const std::vector<ToolCall>& actual,
                          const std::vector<ToolCall>& expected, ToolCallMatch match);

// Whether actual and expected are the same calls: in the same order, or
// (ordered = false) the same multiset. Both empty match.
bool ToolCallsMatch(const std::vector<ToolCall>& actual, const std::vector<ToolCall>& expected,
                    bool ordered, ToolCallMatch match);

// The tool-call job metrics, as the workers score a generation: metric
// "tool_call_f1" (ToolCallF1 by name and arguments) or "tool_call_accuracy"
// (ToolCallsMatch in order, by name and arguments: 1 or 0), of actual (the
// response's normalised calls as JSON text, "" for none) against expected
// (JSON text of a list of calls). nullopt for another metric or calls that
// cannot be read.
bool IsToolCallMetric(std::string_view metric);
std::optional<double> ToolCallMetric(std::string_view metric, std::string_view actual, std::string_view expected);
// The job metric "tool_call_valid": the share of actual's calls (JSON text,
// "" for none) that are valid calls of tools (a JSON array of definitions,
// as ToolSet takes): a declared name, arguments that follow its schema.
// nullopt when there are no calls, or tools or calls cannot be read.
std::optional<double> ToolCallValidShare(std::string_view actual, const nlohmann::json& tools);

enum class ArgsMatchMode { kExact, kPartial };

// "exact" or "partial"; Error(kInvalidParameterValue) otherwise.
ArgsMatchMode ParseArgsMatchMode(std::string_view text);

// Whether call is expected: the same name and arguments equal (exact) or
// expected's arguments a recursive subset of call's (partial: every key of an
// expected object is in the actual object with a matching value; arrays
// match element by element and have the same length; other values are
// equal). Top-level argument keys in `ignore` are dropped from both first.
bool ToolArgsMatch(const ToolCall& call, const ToolCall& expected, ArgsMatchMode mode,
                   const std::vector<std::string_view>& ignore);

// A list of tool definitions with their parameter schemas compiled: build it
// once to check many calls.
class ToolSet {
 public:
  // tools is a JSON array of definitions, each
  //   {"type": "function", "function": {"name", "parameters"}}  (OpenAI Chat),
  //   {"type": "function", "name", "parameters"}                 (OpenAI Responses),
  //   {"name", "input_schema"}                                    (Anthropic);
  // other entries with a "type" and no name (built-in tools such as
  // {"type": "web_search"}) are skipped. A definition without parameters
  // takes none: its arguments must be {}. Throws Error(kInvalidParameterValue)
  // for anything else, a repeated name or an invalid schema.
  explicit ToolSet(const nlohmann::json& tools);
  ~ToolSet();
  ToolSet(const ToolSet&) = delete;
  ToolSet& operator=(const ToolSet&) = delete;

  // Why call is not a valid call of one of the tools (at most max_errors
  // lines, at least 1): its name is not a tool's, its arguments are not JSON
  // or not an object, or they do not follow the tool's schema (the
  // validator's errors, each naming its JSON pointer). Empty when valid.
  std::vector<std::string> Errors(const ToolCall& call, std::size_t max_errors = 10) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace llmeval::core::metrics

#include "core/cpp_only.hpp"
