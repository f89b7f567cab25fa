// Chat completion requests and responses for the three provider APIs:
// OpenAI chat completions (and any OpenAI-compatible server), Anthropic
// messages and Gemini generateContent. Building a request and reading a
// response are pure functions, so they are unit-tested against recorded
// API traffic; the HTTP transport is core/http. This header also brings
// what every provider endpoint shares (protocol.hpp, retry.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/provider/protocol.hpp"
#include "core/provider/retry.hpp"

namespace llmeval::core::provider {

// Which of OpenAI's two text APIs a model is called through (model option
// "api"): chat completions, or the Responses API that OpenAI now recommends.
enum class OpenAIApi { kChatCompletions, kResponses };

struct ChatRequest {
  std::string model;       // the API's model identifier (models.api_model)
  std::string system;      // system prompt; empty for none
  std::string prompt;      // the rendered user message
  // Messages sent before the prompt, in the canonical form of
  // core/provider/history.hpp: {"role": "user", "content"}, {"role":
  // "assistant", "content", "tool_calls": [{"id", "name", "arguments"}]},
  // {"role": "tool", "tool_call_id", "name", "content"}. With a history, an
  // empty prompt sends no final user message: the model answers the history's
  // last user message or tool results. Part of the body, so of the cache key.
  nlohmann::json history = nlohmann::json::array();
  // Generation parameters, a JSON object with any of temperature, max_tokens,
  // top_p, stop (string or array), seed; others are passed through to
  // OpenAI-style APIs and ignored elsewhere (except top_k, which Anthropic and
  // Gemini take too). Nulls are dropped, "stream" is never sent, and a
  // non-object is ignored. Anthropic gets max_tokens 1024 when none is given.
  // Anthropic's "thinking" and Gemini's "thinkingConfig" are passed through;
  // OpenAI's "reasoning_effort" too (as reasoning.effort to the Responses API).
  nlohmann::json params = nlohmann::json::object();

  // How the model is called, from its options and what it refused before:
  OpenAIApi api = OpenAIApi::kChatCompletions;
  // OpenAI chat completions: the name the output limit goes under,
  // "max_completion_tokens" or "max_tokens"; empty: max_completion_tokens to
  // api.openai.com (every current model takes it, the reasoning models no
  // other), max_tokens elsewhere (older compatible servers know only that).
  std::string max_tokens_param;
  // OpenAI: a reasoning model, which refuses sampling parameters and logprobs:
  // temperature, top_p, presence_penalty, frequency_penalty, logprobs and
  // top_logprobs are not sent.
  bool reasoning = false;
  // OpenAI: parameters the model refused with a 400 (RefusedParameter), not
  // sent again; a refused max_tokens or max_completion_tokens switches the
  // limit to the other name.
  std::vector<std::string> refused_params;
  // Anthropic: the first bytes of prompt that are the same in every request of
  // its kind (a judge's instructions and criteria): they and the system prompt
  // are marked cache_control, so that repeats bill them as cache reads.
  std::size_t cacheable_prompt_bytes = 0;
};

// Sets how request is sent from a model's API options (llmeval._task_requests,
// api_options): {"api": "chat_completions" | "responses", "reasoning": bool,
// "max_tokens_param": "max_tokens" | "max_completion_tokens",
// "refused_params": [names]}. Other keys and ill-typed values are ignored
// (create_model checked them).
void ApplyApiOptions(ChatRequest& request, const nlohmann::json& options);

// The HTTP request for a chat completion. base_url is as the vendor's SDK
// takes it (https://api.openai.com/v1, https://api.anthropic.com,
// https://generativelanguage.googleapis.com), with or without a trailing
// slash, or with a query (Azure's ".../openai/deployments/NAME?api-version=...",
// whose key goes in "api-key"); an empty api_key sends no authentication
// header. The key is only ever put in a header, never in the URL or body, and
// the body is deterministic (sorted keys), fit for a cache key. Throws
// Error(kInvalidParameterValue) for a key holding a control character (it
// would inject header lines) and for a malformed history (history.hpp); odd
// params never throw.
HttpRequest BuildChatRequest(Kind kind, std::string_view base_url, std::string_view api_key,
                             const ChatRequest& request);

struct ChatResponse {
  Outcome outcome = Outcome::kFail;
  std::string output;
  // From the API's usage fields, alike for every API: input_tokens counts
  // every input token (those read from or written to a prompt cache too,
  // which Anthropic counts apart), output_tokens every output token
  // (reasoning too, which Gemini counts apart).
  std::optional<int64_t> input_tokens;
  std::optional<int64_t> output_tokens;
  // Parts of those, where the API reports them: input read from the
  // provider's prompt cache (OpenAI cached_tokens, Anthropic
  // cache_read_input_tokens, Gemini cachedContentTokenCount), input written
  // to it (Anthropic cache_creation_input_tokens), and output spent
  // reasoning (OpenAI reasoning_tokens, Gemini thoughtsTokenCount; Anthropic
  // reports no count of its own).
  std::optional<int64_t> cached_input_tokens;
  std::optional<int64_t> cache_write_tokens;
  std::optional<int64_t> reasoning_tokens;
  // Empty for kOk. For kRetry and kFail: one line of valid UTF-8, at most 500
  // bytes (a cut is marked with "…"), one of
  //   "HTTP 429: <the provider's message, or a short excerpt of the body>"
  //   "malformed response body: <why>"   (a 2xx: empty, truncated JSON, ...)
  //   "refusal: <text>", "refusal (stop_reason refusal)",
  //   "content filtered (finish_reason content_filter)",
  //   "blocked: blockReason SAFETY", "blocked: finishReason SAFETY"
  // The parser does not know the key: callers Redact() it before storing or
  // logging the text.
  std::string error;
  // From the Retry-After header (any status), else from a Google RetryInfo
  // detail in the error body.
  std::optional<int64_t> retry_after_ms;
  // The model's tool calls, normalised (core/provider/tools.hpp): a JSON
  // array of {"name", "arguments"}; "" when it made none. A reply of calls
  // alone is kOk with an empty output.
  std::string tool_calls;
};

// Reads a response. retry_after is the Retry-After header's value (empty if
// none); now_unix is the current time, for an HTTP-date Retry-After. Never
// throws; an OpenAI 429 "insufficient_quota" (an empty balance) is kFail.
// Output and token counts are read for every 2xx (refusals are billed too);
// output never holds NUL, which Postgres text cannot store.
// api says which OpenAI API answered (the other kinds have one).
ChatResponse ParseChatResponse(Kind kind, long http_status, std::string_view body,
                               std::string_view retry_after, int64_t now_unix,
                               OpenAIApi api = OpenAIApi::kChatCompletions);

}  // namespace llmeval::core::provider

#include "core/cpp_only.hpp"
