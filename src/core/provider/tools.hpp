// Tools (function calling) across the three APIs. Requests state tools in
// OpenAI's chat form, the canonical one (request parameters "tools",
// "tool_choice", "parallel_tool_calls"):
//   tools        [{"type": "function", "function": {"name", "description",
//                  "parameters" (JSON Schema), "strict"}}]
//   tool_choice  "auto" | "none" | "required" | {"type": "function", "function": {"name"}}
// and each API gets its own form:
//   OpenAI chat: as they are; Responses API: {"type": "function", "name",
//   "description", "parameters", "strict"}, a named choice {"type":
//   "function", "name"};
//   Anthropic: {"name", "description", "input_schema"}, tool_choice {"type":
//   "auto" | "none" | "any" | "tool", "name"}, parallel_tool_calls false as
//   disable_parallel_tool_use;
//   Gemini: [{"functionDeclarations": [{"name", "description", "parameters"}]}]
//   and toolConfig.functionCallingConfig {"mode": "AUTO" | "NONE" | "ANY",
//   "allowedFunctionNames"}.
// The model's calls come back normalised: a JSON array of {"name",
// "arguments"}, the arguments parsed from the JSON string OpenAI sends, or,
// when that string is not JSON, kept as the string with "parse_error".
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "core/provider/protocol.hpp"

namespace llmeval::core::provider::tools {

// Puts params' tools and tool_choice into an Anthropic messages body.
void ApplyAnthropic(const nlohmann::json& params, nlohmann::json& body);
// ... into a Gemini generateContent body.
void ApplyGemini(const nlohmann::json& params, nlohmann::json& body);
// Rewrites a Responses API body's tools and tool_choice (passed through from
// params in the chat form) into that API's form.
void ApplyResponses(nlohmann::json& body);

// The calls in a successful reply (OpenAI chat message.tool_calls, Responses
// output items of type function_call, Anthropic tool_use blocks, Gemini
// functionCall parts), normalised; "" when there are none.
std::string ReadCalls(Kind kind, bool responses_api, const nlohmann::json& doc);

}  // namespace llmeval::core::provider::tools

#include "core/cpp_only.hpp"
