// Chat completion requests and responses for the three provider APIs:
// OpenAI chat completions (and any OpenAI-compatible server), Anthropic
// messages and Gemini generateContent. Building a request and reading a
// response are pure functions, so they are unit-tested against recorded
// API traffic; the HTTP transport is core/http. This header also brings
// what every provider endpoint shares (protocol.hpp, retry.hpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/provider/protocol.hpp"
#include "core/provider/retry.hpp"

namespace llmeval::core::provider {

struct ChatRequest {
  std::string model;       // the API's model identifier (models.api_model)
  std::string system;      // system prompt; empty for none
  std::string prompt;      // the rendered user message
  // Generation parameters, a JSON object with any of temperature, max_tokens,
  // top_p, stop (string or array), seed; others are passed through to
  // OpenAI-style APIs and ignored elsewhere (except top_k, which Anthropic and
  // Gemini take too). Nulls are dropped, "stream" is never sent, and a
  // non-object is ignored. Anthropic gets max_tokens 1024 when none is given.
  nlohmann::json params = nlohmann::json::object();
};

// The HTTP request for a chat completion. base_url is as the vendor's SDK
// takes it (https://api.openai.com/v1, https://api.anthropic.com,
// https://generativelanguage.googleapis.com), with or without a trailing
// slash, or with a query (Azure's ".../openai/deployments/NAME?api-version=...",
// whose key goes in "api-key"); an empty api_key sends no authentication
// header. The key is only ever put in a header, never in the URL or body, and
// the body is deterministic (sorted keys), fit for a cache key. Throws
// Error(kInvalidParameterValue) only for a key holding a control character
// (it would inject header lines); odd params never throw.
HttpRequest BuildChatRequest(Kind kind, std::string_view base_url, std::string_view api_key,
                             const ChatRequest& request);

struct ChatResponse {
  Outcome outcome = Outcome::kFail;
  std::string output;
  std::optional<int64_t> input_tokens;   // from the API's usage fields
  std::optional<int64_t> output_tokens;
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
};

// Reads a response. retry_after is the Retry-After header's value (empty if
// none); now_unix is the current time, for an HTTP-date Retry-After. Never
// throws; an OpenAI 429 "insufficient_quota" (an empty balance) is kFail.
// Output and token counts are read for every 2xx (refusals are billed too);
// output never holds NUL, which Postgres text cannot store.
ChatResponse ParseChatResponse(Kind kind, long http_status, std::string_view body,
                               std::string_view retry_after, int64_t now_unix);

}  // namespace llmeval::core::provider

#include "core/cpp_only.hpp"
