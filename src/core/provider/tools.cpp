#include "core/provider/tools.hpp"

namespace llmeval::core::provider::tools {

namespace {

using nlohmann::json;

const json& Null() {
  static const json kNull;
  return kNull;
}

const json& Member(const json& object, const char* key) {
  if (!object.is_object()) return Null();
  auto it = object.find(key);
  return it == object.end() ? Null() : *it;
}

// Whether value nests no deeper than limit (copying a deeper one would
// recurse that deep: a hostile reply could exhaust the stack).
bool WithinDepth(const json& value, int limit) {
  if (!value.is_structured()) return true;
  if (limit == 0) return false;
  for (const json& child : value) if (!WithinDepth(child, limit - 1)) return false;
  return true;
}
constexpr int kMaxArgumentsDepth = 256;

// The function definitions of params.tools (chat form), each {name,
// description?, parameters?, strict?}; entries of another shape are kept as
// they are for OpenAI (the API refuses them with its own message) and
// skipped elsewhere.
std::vector<json> Functions(const json& params) {
  std::vector<json> functions;
  const json& tools = Member(params, "tools");
  if (!tools.is_array()) return functions;
  for (const json& tool : tools) {
    const json& function = Member(tool, "function");
    if (function.is_object() && Member(function, "name").is_string()) functions.push_back(function);
  }
  return functions;
}

// The choice as (kind, name): kind "auto", "none", "required" or "named".
std::pair<std::string, std::string> Choice(const json& params) {
  const json& choice = Member(params, "tool_choice");
  if (choice.is_string()) return {choice.get<std::string>(), ""};
  const json& name = Member(Member(choice, "function"), "name");
  if (name.is_string()) return {"named", name.get<std::string>()};
  return {"", ""};
}

json Call(const std::string& name, const json& arguments) {
  json call = {{"name", name}};
  if (!WithinDepth(arguments, kMaxArgumentsDepth)) {
    call["arguments"] = json::object();
    call["parse_error"] = "the arguments nest deeper than 256 levels";
    return call;
  }
  if (arguments.is_string()) {
    const std::string& text = arguments.get_ref<const std::string&>();
    if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
      call["arguments"] = json::object();
    } else {
      json parsed = json::parse(text, nullptr, false);
      if (!parsed.is_discarded() && !WithinDepth(parsed, kMaxArgumentsDepth)) {
        call["arguments"] = json::object();
        call["parse_error"] = "the arguments nest deeper than 256 levels";
      } else if (parsed.is_discarded()) {
        call["arguments"] = text;
        call["parse_error"] = "the arguments are not JSON";
      } else {
        call["arguments"] = std::move(parsed);
      }
    }
  } else {
    call["arguments"] = arguments.is_null() ? json::object() : arguments;
  }
  return call;
}

}  // namespace

void ApplyAnthropic(const json& params, json& body) {
  const std::vector<json> functions = Functions(params);
  if (!functions.empty()) {
    json tools = json::array();
    for (const json& f : functions) {
      json tool = {{"name", f["name"]}};
      if (Member(f, "description").is_string()) tool["description"] = f["description"];
      const json& schema = Member(f, "parameters");
      tool["input_schema"] = schema.is_object() ? schema : json{{"type", "object"}, {"properties", json::object()}};
      tools.push_back(std::move(tool));
    }
    body["tools"] = std::move(tools);
  }
  const auto [kind, name] = Choice(params);
  json choice;
  if (kind == "auto") choice = {{"type", "auto"}};
  if (kind == "none") choice = {{"type", "none"}};
  if (kind == "required") choice = {{"type", "any"}};
  if (kind == "named") choice = {{"type", "tool"}, {"name", name}};
  const json& parallel = Member(params, "parallel_tool_calls");
  if (parallel.is_boolean() && !parallel.get<bool>() && !functions.empty()) {
    if (choice.is_null()) choice = {{"type", "auto"}};
    if (choice["type"] != "none") choice["disable_parallel_tool_use"] = true;
  }
  if (!choice.is_null()) body["tool_choice"] = std::move(choice);
}

void ApplyGemini(const json& params, json& body) {
  const std::vector<json> functions = Functions(params);
  if (!functions.empty()) {
    json declarations = json::array();
    for (const json& f : functions) {
      json declaration = {{"name", f["name"]}};
      if (Member(f, "description").is_string()) declaration["description"] = f["description"];
      if (Member(f, "parameters").is_object()) declaration["parameters"] = f["parameters"];
      declarations.push_back(std::move(declaration));
    }
    body["tools"] = json::array({{{"functionDeclarations", std::move(declarations)}}});
  }
  const auto [kind, name] = Choice(params);
  json config;
  if (kind == "auto") config = {{"mode", "AUTO"}};
  if (kind == "none") config = {{"mode", "NONE"}};
  if (kind == "required") config = {{"mode", "ANY"}};
  if (kind == "named") config = {{"mode", "ANY"}, {"allowedFunctionNames", json::array({name})}};
  if (!config.is_null() && !functions.empty()) body["toolConfig"] = {{"functionCallingConfig", std::move(config)}};
}

void ApplyResponses(json& body) {
  auto tools = body.find("tools");
  if (tools != body.end() && tools->is_array()) {
    json converted = json::array();
    for (const json& tool : *tools) {
      const json& f = Member(tool, "function");
      if (!f.is_object()) {
        converted.push_back(tool);  // (already in this API's form, or refused by it)
        continue;
      }
      json flat = {{"type", "function"}};
      for (const char* key : {"name", "description", "parameters", "strict"})
        if (f.contains(key)) flat[key] = f[key];
      converted.push_back(std::move(flat));
    }
    *tools = std::move(converted);
  }
  auto choice = body.find("tool_choice");
  if (choice != body.end()) {
    const json& name = Member(Member(*choice, "function"), "name");
    if (name.is_string()) *choice = {{"type", "function"}, {"name", name}};
  }
}

std::string ReadCalls(Kind kind, bool responses_api, const json& doc) {
  json calls = json::array();
  if (kind == Kind::kOpenAI && responses_api) {
    const json& output = Member(doc, "output");
    if (output.is_array())
      for (const json& item : output)
        if (Member(item, "type") == "function_call" && Member(item, "name").is_string())
          calls.push_back(Call(item["name"], Member(item, "arguments")));
  } else if (kind == Kind::kOpenAI) {
    // (references only: a hostile body nests deep, and a copy recurses)
    const json& choices = Member(doc, "choices");
    const json& message = choices.is_array() && !choices.empty() ? Member(choices.front(), "message") : Null();
    const json& tool_calls = Member(message, "tool_calls");
    if (tool_calls.is_array())
      for (const json& call : tool_calls) {
        const json& f = Member(call, "function");
        if (Member(f, "name").is_string()) calls.push_back(Call(f["name"], Member(f, "arguments")));
      }
  } else if (kind == Kind::kAnthropic) {
    const json& content = Member(doc, "content");
    if (content.is_array())
      for (const json& block : content)
        if (Member(block, "type") == "tool_use" && Member(block, "name").is_string())
          calls.push_back(Call(block["name"], Member(block, "input")));
  } else {
    const json& candidates = Member(doc, "candidates");
    const json& content =
        candidates.is_array() && !candidates.empty() ? Member(candidates.front(), "content") : Null();
    const json& parts = Member(content, "parts");
    if (parts.is_array())
      for (const json& part : parts) {
        const json& call = Member(part, "functionCall");
        if (Member(call, "name").is_string()) calls.push_back(Call(call["name"], Member(call, "args")));
      }
  }
  return calls.empty() ? "" : calls.dump();
}

}  // namespace llmeval::core::provider::tools
