// Tool-call metrics; see tool_calls.hpp for the definitions.
//
// Calls are compared through a canonical text of each one (name, then the
// arguments with object keys sorted and integral numbers written as
// integers), so multiset matching is counting equal keys in a hash map:
// linear in the calls, whatever their number.
#include "core/metrics/tool_calls.hpp"

#include <cmath>
#include <cstdint>
#include <unordered_map>
#include <unordered_set>

#include "core/error.hpp"
#include "core/metrics/json_schema.hpp"

namespace llmeval::core::metrics {

namespace {

using nlohmann::json;

std::string Dump(const json& v) { return v.dump(-1, ' ', false, json::error_handler_t::replace); }

// A name as an error message quotes it: at most 60 bytes, cut on a UTF-8
// character boundary.
std::string Quoted(const std::string& s) {
  if (s.size() <= 60) return "\"" + s + "\"";
  std::size_t cut = 57;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return "\"" + s.substr(0, cut) + "...\"";
}

// nlohmann's message without its "[json.exception.parse_error.101] " tag.
std::string ParseMessage(const json::exception& e) {
  std::string message = e.what();
  if (!message.empty() && message[0] == '[') {
    const std::size_t end = message.find("] ");
    if (end != std::string::npos) message.erase(0, end + 2);
  }
  return message;
}

void CheckDepth(int depth) {
  if (depth > kMaxArgumentsDepth)
    throw Error(ErrorKind::kProgramLimitExceeded, "tool call arguments are nested too deeply",
                "The limit is " + std::to_string(kMaxArgumentsDepth) + " levels.");
}

// Numbers are written so that equal values give equal text: an integral
// double within 2^53 as the integer it is.
void AppendCanonical(const json& v, std::string& out, int depth) {
  CheckDepth(depth);
  switch (v.type()) {
    case json::value_t::number_float: {
      const double d = v.get<double>();
      if (std::trunc(d) == d && std::fabs(d) <= 9007199254740992.0) {
        out += std::to_string(static_cast<std::int64_t>(d));
      } else {
        out += Dump(v);
      }
      return;
    }
    case json::value_t::array:
      out += '[';
      for (std::size_t i = 0; i < v.size(); ++i) {
        if (i) out += ',';
        AppendCanonical(v[i], out, depth + 1);
      }
      out += ']';
      return;
    case json::value_t::object: {
      // nlohmann's object is a std::map: keys come sorted.
      out += '{';
      bool first = true;
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (!first) out += ',';
        first = false;
        out += Dump(json(it.key()));
        out += ':';
        AppendCanonical(it.value(), out, depth + 1);
      }
      out += '}';
      return;
    }
    default:
      out += Dump(v);
      return;
  }
}

std::string Canonical(const json& v) {
  std::string out;
  AppendCanonical(v, out, 0);
  return out;
}

bool ScalarEqual(const json& a, const json& b) {
  if (a.is_number() && b.is_number()) return Canonical(a) == Canonical(b);
  return a == b;
}

bool Equal(const json& a, const json& b, int depth) {
  CheckDepth(depth);
  if (a.is_object() && b.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto it = a.begin(); it != a.end(); ++it) {
      auto found = b.find(it.key());
      if (found == b.end() || !Equal(it.value(), *found, depth + 1)) return false;
    }
    return true;
  }
  if (a.is_array() && b.is_array()) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (!Equal(a[i], b[i], depth + 1)) return false;
    return true;
  }
  if (a.is_structured() || b.is_structured()) return false;
  return ScalarEqual(a, b);
}

// Whether expected is a recursive subset of actual.
bool Subset(const json& expected, const json& actual, int depth) {
  CheckDepth(depth);
  if (expected.is_object()) {
    if (!actual.is_object()) return false;
    for (auto it = expected.begin(); it != expected.end(); ++it) {
      auto found = actual.find(it.key());
      if (found == actual.end() || !Subset(it.value(), *found, depth + 1)) return false;
    }
    return true;
  }
  if (expected.is_array()) {
    if (!actual.is_array() || actual.size() != expected.size()) return false;
    for (std::size_t i = 0; i < expected.size(); ++i)
      if (!Subset(expected[i], actual[i], depth + 1)) return false;
    return true;
  }
  if (actual.is_structured()) return false;
  return ScalarEqual(expected, actual);
}

// The key a call is counted under. A call whose arguments are not JSON gets
// a key no other call has: it matches nothing by arguments.
std::string MatchKey(const ToolCall& call, ToolCallMatch match, std::size_t& unique) {
  if (match == ToolCallMatch::kName) return call.name;
  if (call.parse_error) return std::string(1, '\1') + std::to_string(unique++);
  std::string key = call.name;
  key += '\0';
  AppendCanonical(call.arguments, key, 0);
  return key;
}

std::unordered_map<std::string, std::size_t> Counts(const std::vector<ToolCall>& calls,
                                                    ToolCallMatch match, std::size_t& unique) {
  std::unordered_map<std::string, std::size_t> counts;
  counts.reserve(calls.size());
  for (const ToolCall& call : calls) ++counts[MatchKey(call, match, unique)];
  return counts;
}

std::size_t Matched(const std::vector<ToolCall>& actual, const std::vector<ToolCall>& expected,
                    ToolCallMatch match) {
  std::size_t unique = 0;
  const auto a = Counts(actual, match, unique);
  const auto e = Counts(expected, match, unique);
  std::size_t matched = 0;
  for (const auto& [key, count] : a) {
    auto it = e.find(key);
    if (it != e.end()) matched += std::min(count, it->second);
  }
  return matched;
}

bool CallsEqual(const ToolCall& a, const ToolCall& b, ToolCallMatch match) {
  if (a.name != b.name) return false;
  if (match == ToolCallMatch::kName) return true;
  if (a.parse_error || b.parse_error) return false;
  return Equal(a.arguments, b.arguments, 0);
}

const json* Member(const json& object, const char* key) {
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

json DropKeys(const json& arguments, const std::vector<std::string_view>& ignore) {
  if (!arguments.is_object() || ignore.empty()) return arguments;
  json out = arguments;
  for (std::string_view key : ignore) out.erase(std::string(key));
  return out;
}

}  // namespace

json ParseJsonArgument(std::string_view text, const std::string& what) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    // jsonb numbers can exceed a double's range, which nlohmann refuses.
    throw Error(ErrorKind::kInvalidParameterValue, what + " cannot be read",
                "The JSON parser says: " + ParseMessage(e) + ".");
  }
}

ToolCall ParseToolCall(const json& call, const std::string& what) {
  if (!call.is_object())
    throw Error(ErrorKind::kInvalidParameterValue, what + " is not a JSON object",
                std::string("It is ") + call.type_name() + ".",
                "Give a call as {\"name\": \"...\", \"arguments\": {...}}.");
  const json* body = &call;
  const json* arguments = nullptr;
  if (const json* function = Member(call, "function"); function && function->is_object()) {
    body = function;  // OpenAI Chat Completions
    arguments = Member(*body, "arguments");
  } else if (const json* gemini = Member(call, "functionCall"); gemini && gemini->is_object()) {
    body = gemini;
    arguments = Member(*body, "args");
  } else {
    arguments = Member(call, "arguments");
    if (!arguments) arguments = Member(call, "input");  // Anthropic tool_use
  }
  const json* name = Member(*body, "name");
  if (!name || !name->is_string())
    throw Error(ErrorKind::kInvalidParameterValue, what + " has no name",
                name ? std::string("Its name is ") + name->type_name() + ", not a string."
                     : "It has no \"name\" member.",
                "Give a call as {\"name\": \"...\", \"arguments\": {...}}.");
  ToolCall out;
  out.name = name->get<std::string>();
  // Some servers send "" for a function without parameters.
  if (!arguments || arguments->is_null() ||
      (arguments->is_string() &&
       arguments->get_ref<const std::string&>().find_first_not_of(" \t\r\n") ==
           std::string::npos)) {
    out.arguments = json::object();
  } else if (arguments->is_string()) {
    const std::string& text = arguments->get_ref<const std::string&>();
    try {
      out.arguments = json::parse(text);
    } catch (const json::exception& e) {
      out.arguments = text;
      out.parse_error = ParseMessage(e);
    }
  } else {
    out.arguments = *arguments;
  }
  return out;
}

std::vector<ToolCall> ParseToolCalls(const json& calls, const std::string& what) {
  if (!calls.is_array())
    throw Error(ErrorKind::kInvalidParameterValue, what + " must be a JSON array of tool calls",
                std::string("It is ") + calls.type_name() + ".",
                "Give calls as [{\"name\": \"...\", \"arguments\": {...}}, ...].");
  std::vector<ToolCall> out;
  out.reserve(calls.size());
  for (std::size_t i = 0; i < calls.size(); ++i)
    out.push_back(ParseToolCall(calls[i], what + " tool call " + std::to_string(i + 1)));
  return out;
}

ToolCallMatch ParseToolCallMatch(std::string_view text) {
  if (text == "name") return ToolCallMatch::kName;
  if (text == "name_args") return ToolCallMatch::kNameArgs;
  throw Error(ErrorKind::kInvalidParameterValue,
              "unknown tool call match \"" + std::string(text.substr(0, 60)) + "\"",
              "Valid values are \"name\" and \"name_args\".");
}

ArgsMatchMode ParseArgsMatchMode(std::string_view text) {
  if (text == "exact") return ArgsMatchMode::kExact;
  if (text == "partial") return ArgsMatchMode::kPartial;
  throw Error(ErrorKind::kInvalidParameterValue,
              "unknown arguments match mode \"" + std::string(text.substr(0, 60)) + "\"",
              "Valid values are \"exact\" and \"partial\".");
}

ToolCallScores ToolCallF1(const std::vector<ToolCall>& actual,
                          const std::vector<ToolCall>& expected, ToolCallMatch match) {
  if (actual.empty() && expected.empty()) return {1.0, 1.0, 1.0};
  if (actual.empty() || expected.empty()) return {0.0, 0.0, 0.0};
  const double matched = static_cast<double>(Matched(actual, expected, match));
  const double precision = matched / static_cast<double>(actual.size());
  const double recall = matched / static_cast<double>(expected.size());
  const double f1 = matched == 0 ? 0.0 : 2 * precision * recall / (precision + recall);
  return {precision, recall, f1};
}

bool ToolCallsMatch(const std::vector<ToolCall>& actual, const std::vector<ToolCall>& expected,
                    bool ordered, ToolCallMatch match) {
  if (actual.size() != expected.size()) return false;
  if (!ordered) return Matched(actual, expected, match) == actual.size();
  for (std::size_t i = 0; i < actual.size(); ++i)
    if (!CallsEqual(actual[i], expected[i], match)) return false;
  return true;
}

bool ToolArgsMatch(const ToolCall& call, const ToolCall& expected, ArgsMatchMode mode,
                   const std::vector<std::string_view>& ignore) {
  if (call.name != expected.name || call.parse_error || expected.parse_error) return false;
  const json actual_args = DropKeys(call.arguments, ignore);
  const json expected_args = DropKeys(expected.arguments, ignore);
  return mode == ArgsMatchMode::kExact ? Equal(actual_args, expected_args, 0)
                                       : Subset(expected_args, actual_args, 0);
}

struct ToolSet::Impl {
  std::unordered_map<std::string, std::unique_ptr<JsonSchema>> tools;
};

ToolSet::ToolSet(const json& tools) : impl_(std::make_unique<Impl>()) {
  const std::string hint =
      "Give tools as [{\"type\": \"function\", \"function\": {\"name\": \"...\", "
      "\"parameters\": {...}}}, ...].";
  if (!tools.is_array())
    throw Error(ErrorKind::kInvalidParameterValue, "tools must be a JSON array of tool definitions",
                std::string("It is ") + tools.type_name() + ".", hint);
  for (std::size_t i = 0; i < tools.size(); ++i) {
    const json& tool = tools[i];
    const std::string what = "tool definition " + std::to_string(i + 1);
    if (!tool.is_object())
      throw Error(ErrorKind::kInvalidParameterValue, what + " is not a JSON object",
                  std::string("It is ") + tool.type_name() + ".", hint);
    const json* body = &tool;
    if (const json* function = Member(tool, "function"); function && function->is_object())
      body = function;
    const json* name = Member(*body, "name");
    if (!name && body == &tool && Member(tool, "type")) continue;  // a built-in tool
    if (!name || !name->is_string())
      throw Error(ErrorKind::kInvalidParameterValue, what + " has no name",
                  name ? std::string("Its name is ") + name->type_name() + ", not a string."
                       : "It has no \"name\" member.",
                  hint);
    const json* parameters = Member(*body, "parameters");
    if (!parameters) parameters = Member(*body, "input_schema");  // Anthropic
    // OpenAI: "Omitting parameters defines a function with an empty parameter list."
    static const json kNoParameters = {
        {"type", "object"}, {"properties", json::object()}, {"additionalProperties", false}};
    if (!parameters || parameters->is_null()) parameters = &kNoParameters;
    const std::string tool_name = name->get<std::string>();
    if (impl_->tools.count(tool_name))
      throw Error(ErrorKind::kInvalidParameterValue,
                  "tool " + Quoted(tool_name) + " is defined twice",
                  "Tool definition " + std::to_string(i + 1) + " repeats an earlier name.");
    std::unique_ptr<JsonSchema> schema;
    try {
      schema = std::make_unique<JsonSchema>(*parameters);
    } catch (const Error& e) {
      throw Error(e.kind(), "invalid parameters schema of tool " + Quoted(tool_name),
                  std::string(e.what()) + (e.detail().empty() ? "" : ": " + e.detail()));
    }
    impl_->tools.emplace(tool_name, std::move(schema));
  }
}

ToolSet::~ToolSet() = default;

std::vector<std::string> ToolSet::Errors(const ToolCall& call, std::size_t max_errors) const {
  auto it = impl_->tools.find(call.name);
  if (it == impl_->tools.end()) return {"unknown tool " + Quoted(call.name)};
  if (call.parse_error) return {"arguments are not JSON: " + *call.parse_error};
  if (!call.arguments.is_object())
    return {std::string("arguments are ") + call.arguments.type_name() + ", not an object"};
  return it->second->ParsedErrors(call.arguments, max_errors);
}

bool IsToolCallMetric(std::string_view metric) {
  return metric == "tool_call_f1" || metric == "tool_call_accuracy";
}

std::optional<double> ToolCallMetric(std::string_view metric, std::string_view actual, std::string_view expected) {
  if (!IsToolCallMetric(metric)) return std::nullopt;
  try {
    const std::vector<ToolCall> got =
        actual.empty() ? std::vector<ToolCall>{} : ParseToolCalls(ParseJsonArgument(actual, "actual"), "actual");
    const std::vector<ToolCall> want = ParseToolCalls(ParseJsonArgument(expected, "expected"), "expected");
    if (metric == "tool_call_f1") return ToolCallF1(got, want, ToolCallMatch::kNameArgs).f1;
    return ToolCallsMatch(got, want, true, ToolCallMatch::kNameArgs) ? 1.0 : 0.0;
  } catch (const Error&) {
    return std::nullopt;
  }
}

std::optional<double> ToolCallValidShare(std::string_view actual, const nlohmann::json& tools) {
  if (actual.empty()) return std::nullopt;
  try {
    const std::vector<ToolCall> calls = ParseToolCalls(ParseJsonArgument(actual, "actual"), "actual");
    if (calls.empty()) return std::nullopt;
    const ToolSet set(tools.is_array() ? tools : nlohmann::json::array());
    std::size_t valid = 0;
    for (const ToolCall& call : calls)
      if (set.Errors(call, 1).empty()) ++valid;
    return static_cast<double>(valid) / static_cast<double>(calls.size());
  } catch (const Error&) {
    return std::nullopt;
  }
}

}  // namespace llmeval::core::metrics
