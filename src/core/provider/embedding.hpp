// Embedding requests and responses: OpenAI's /embeddings (and any
// OpenAI-compatible server: Azure, vLLM, Ollama, Voyage AI) and Gemini's
// batchEmbedContents. Anthropic has no embeddings API. Pure functions like
// chat.hpp, with the same base URLs, authentication, error texts and retry
// classification.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/provider/protocol.hpp"

namespace llmeval::core::provider {

// The HTTP request embedding texts, in one batch:
//   OpenAI: POST {base_url}/embeddings {"model": m, "input": [texts...]}
//   Gemini: POST {base}/v1beta/models/{m}:batchEmbedContents
//           {"requests": [{"model": "models/{m}", "content": {"parts": [{"text": t}]}}...]}
// base_url and api_key as BuildChatRequest takes them (Azure deployments,
// trailing slashes, no key). Throws Error(kInvalidParameterValue) for
// Anthropic, for no texts, and for a key holding a control character.
HttpRequest BuildEmbeddingRequest(Kind kind, std::string_view base_url, std::string_view api_key,
                                  std::string_view model, const std::vector<std::string>& texts);

struct EmbeddingResponse {
  Outcome outcome = Outcome::kFail;
  std::vector<std::vector<double>> vectors;  // one per text, in input order (kOk only)
  std::optional<int64_t> input_tokens;       // OpenAI's usage.prompt_tokens; Gemini gives none
  std::string error;                         // as ChatResponse::error; callers Redact() it
  std::optional<int64_t> retry_after_ms;
};

// Reads a response to a request for expected_count texts, as
// ParseChatResponse reads one (status classification, the provider's error
// message, Retry-After). The vectors come back in input order (OpenAI's data
// sorted by index); fewer or more of them than expected_count, an index out
// of range or repeated, a vector that is empty, holds anything but numbers or
// differs in dimension from the first is kRetry "malformed response body:
// ...". Never throws.
EmbeddingResponse ParseEmbeddingResponse(Kind kind, long http_status, std::string_view body,
                                         std::string_view retry_after, int64_t now_unix,
                                         std::size_t expected_count);

}  // namespace llmeval::core::provider

#include "core/cpp_only.hpp"
