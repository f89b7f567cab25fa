// Where a provider request goes and how it authenticates, the same for every
// endpoint of an API: base URLs as the vendors' SDKs take them (with or
// without a trailing slash, with a query as Azure's), and the key only ever in
// a header, never in the URL. Internal to src/core/provider.
#pragma once

#include <string>
#include <string_view>

#include "core/provider/protocol.hpp"

namespace llmeval::core::provider::wire {

// Throws Error(kInvalidParameterValue) for a key holding a control character
// (it would inject header lines).
void CheckApiKey(std::string_view api_key);

// The URL and headers (JSON content type, authentication unless api_key is
// empty) of a request to an endpoint, its body left empty.
//   OpenAI:    {base}{path} ("/chat/completions", "/embeddings"); "api-key"
//              for Azure hosts, "Authorization: Bearer" otherwise.
//   Anthropic: {base}/v1{path} ("/messages"), "/v1" not doubled.
//   Gemini:    {base}/v1beta/{GeminiModel(model)}:{method}, x-goog-api-key.
HttpRequest OpenAIEndpoint(std::string_view base_url, std::string_view api_key,
                           std::string_view path);
HttpRequest AnthropicEndpoint(std::string_view base_url, std::string_view api_key,
                              std::string_view path);
HttpRequest GeminiEndpoint(std::string_view base_url, std::string_view api_key,
                           std::string_view model, std::string_view method);

// Whether base_url is OpenAI's own API (api.openai.com), not a compatible server.
bool IsOpenAIHost(std::string_view base_url);

// A Gemini model as a resource name: "x" becomes "models/x"; "models/x" and
// "tunedModels/x" are kept.
std::string GeminiModel(std::string_view model);

}  // namespace llmeval::core::provider::wire

#include "core/cpp_only.hpp"
