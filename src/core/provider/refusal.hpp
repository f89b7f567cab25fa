// Parameters a model does not take. OpenAI's reasoning models (the o-series,
// the GPT-5 family) refuse sampling parameters and logprobs with a 400 that
// names the parameter; a model option says so in advance ("reasoning"), and
// a refusal met anyway is answered by sending the request again without the
// parameter, once, and remembered for the model (the worker's side).
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/provider/chat.hpp"

namespace llmeval::core::provider {

// The parameter a 400 refuses when the model does not take it: OpenAI's
// {"error": {"code": "unsupported_parameter" | "unsupported_value",
// "param": P}}, P one that can go unsent without changing what is asked
// (temperature, top_p, presence_penalty, frequency_penalty, logprobs,
// top_logprobs, seed, and the output limit under either name, whose refusal
// switches it to the other). Empty for every other response.
std::string RefusedParameter(long http_status, std::string_view body);

// request.params without what the model refuses (request.reasoning,
// request.refused_params) and without Anthropic's "thinking" and Gemini's
// "thinkingConfig", as OpenAI's two APIs get them; the output limit is left
// for the caller to name.
nlohmann::json AcceptedParams(const ChatRequest& request);

// Whether name is among request.refused_params.
bool Refused(const ChatRequest& request, std::string_view name);

}  // namespace llmeval::core::provider

#include "core/cpp_only.hpp"
