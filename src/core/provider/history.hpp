// Conversation history in chat requests (ChatRequest::history): the messages
// sent before the prompt, in one canonical form, and that form in each API's.
//
// Canonical messages (a JSON array):
//   {"role": "user", "content": "text"}
//   {"role": "assistant", "content": "text" (may be "", null or absent),
//    "tool_calls": [{"id": "call_1" (optional), "name": "get_weather",
//                    "arguments": {object} or a JSON string (optional: {})}]}
//   {"role": "tool", "tool_call_id": "call_1" (optional),
//    "name": "get_weather" (optional), "content": "text" or any JSON value}
// A call without an id gets "call_<n>", n its index (from 0) among all the
// history's calls (with "_" appended while that is another call's id); a
// tool message without tool_call_id answers the earliest unanswered call.
// Every call must be answered before the next user or assistant message (or
// the end of the history), as every API requires.
//
// The prompt is the last user message, unless it is empty and the history
// is not: the history then ends with a user message or tool results, which
// the model answers. Consecutive messages of one role are merged where the
// API wants turns to alternate (Anthropic, Gemini).
//
// A malformed history (not an array, an unknown role, user content that is
// not a string, a call without a name, arguments neither an object nor a
// string, a tool message answering no call, an unanswered call) throws
// Error(kInvalidParameterValue): it is the caller's input, and no API would
// take it. Internal to src/core/provider: callers set ChatRequest::history.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace llmeval::core::provider::history {

// Whether the prompt is sent as a final user message: unless it is empty and
// the history is not.
bool SendsPrompt(const nlohmann::json& history, std::string_view prompt);

// OpenAI chat completions "messages", without the system message: the
// history, then the prompt (SendsPrompt). Assistant tool calls as
// {"id", "type": "function", "function": {"name", "arguments": JSON string}}
// (content null when empty), results as {"role": "tool", "tool_call_id",
// "content": string} (non-string content as JSON). Arguments given as a
// string are sent as they are.
nlohmann::json OpenAIChatMessages(const nlohmann::json& history, std::string_view prompt);

// Responses API "input": messages {"role", "content": text} (an assistant's
// only when its text is not empty), then each of its calls as an item
// {"type": "function_call", "call_id", "name", "arguments": string}, each
// result as {"type": "function_call_output", "call_id", "output": string}.
nlohmann::json ResponsesInput(const nlohmann::json& history, std::string_view prompt);

// Anthropic Messages "messages". prompt_content is the final user message's
// content (the prompt as a string, or text blocks marked cache_control), or
// null for none. Text as a string when it is a message's only content, else
// {"type": "text"} blocks (empty text never sent); calls as {"type":
// "tool_use", "id", "name", "input": object}; results as {"type":
// "tool_result", "tool_use_id", "content": string (omitted when empty)} in a
// user message, before its other blocks. Consecutive messages of one role
// are merged, and a message left with no content dropped. Ids outside
// ^[a-zA-Z0-9_-]+$ are mapped (AnthropicToolId).
nlohmann::json AnthropicMessages(const nlohmann::json& history,
                                 const nlohmann::json& prompt_content);

// Gemini generateContent "contents": {"role": "user" | "model", "parts"},
// text parts {"text"} (empty ones dropped but for a lone prompt), calls
// {"functionCall": {"name", "args": object}}, results {"functionResponse":
// {"name": the call's, "response": the content when it is a JSON object (or
// a string holding one), else {"result": content}}} in a user turn, in the
// order of their calls. Consecutive contents of one role are merged.
nlohmann::json GeminiContents(const nlohmann::json& history, std::string_view prompt);

// A tool call id as Anthropic takes it (^[a-zA-Z0-9_-]+$): such an id as it
// is, another as its allowed characters (others "_") then "_" and 8 hex
// digits of a hash of the whole id, so that distinct ids stay distinct.
std::string AnthropicToolId(std::string_view id);

}  // namespace llmeval::core::provider::history

#include "core/cpp_only.hpp"
