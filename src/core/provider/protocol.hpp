// What every provider endpoint shares, whatever it is for (chat completions,
// embeddings): the API kinds, an HTTP request to send, how a response is
// classified, and the redaction of keys from error texts.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace llmeval::core::provider {

enum class Kind { kOpenAI, kAnthropic, kGemini };

// "openai", "anthropic", "gemini"; anything else is Error(kInvalidParameterValue).
Kind ParseKind(std::string_view name);

struct HttpRequest {
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
  bool get = false;  // a GET (the batch APIs' status and result files); else a POST of body
};

enum class Outcome {
  kOk,     // output (and usage) read
  kRetry,  // worth trying again: 408, 409, 425, 429, 5xx, a malformed or truncated body
  kFail,   // will not succeed on retry: other 4xx, a refusal without content
};

// text with every occurrence of secret replaced by "[redacted]" (no-op for
// an empty secret): applied to every error text that could echo a request.
// Also catches the secret JSON-escaped, without surrounding whitespace, and a
// leading part of it (8 bytes or more) where the 500-byte limit cut it.
std::string Redact(std::string text, std::string_view secret);

}  // namespace llmeval::core::provider

#include "core/cpp_only.hpp"
