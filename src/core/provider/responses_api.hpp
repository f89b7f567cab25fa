// OpenAI's Responses API (POST {base}/responses), which OpenAI now
// recommends over chat completions: the request built from a ChatRequest,
// and the answer, refusal, usage and failure read from a response object.
// Internal to src/core/provider: callers use BuildChatRequest and
// ParseChatResponse with OpenAIApi::kResponses.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "core/provider/chat.hpp"

namespace llmeval::core::provider::wire {

// Removes the output limit from params, under any of its names
// (max_completion_tokens, max_tokens, max_output_tokens, in that order of
// precedence), and returns it (an integral float as an integer), or null.
nlohmann::json TakeOutputLimit(nlohmann::json& params);

HttpRequest BuildResponses(std::string_view base_url, std::string_view api_key,
                           const ChatRequest& request);

// Reads a 2xx response object into r (outcome, output, usage, error).
void ReadResponses(const nlohmann::json& doc, ChatResponse& r);

}  // namespace llmeval::core::provider::wire

#include "core/cpp_only.hpp"
