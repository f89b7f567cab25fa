// Parameters a model does not take (see refusal.hpp).
#include "core/provider/refusal.hpp"

#include <algorithm>
#include <array>

#include "core/provider/wire.hpp"

namespace llmeval::core::provider {

namespace {

using nlohmann::json;

// What a reasoning model refuses: sampling and logprobs.
constexpr std::array<std::string_view, 6> kReasoningRefuses = {
    "temperature", "top_p", "presence_penalty", "frequency_penalty", "logprobs", "top_logprobs"};

// What may go unsent when refused: the reasoning models' refusals, seed, and
// the output limit (renamed rather than dropped, see BuildOpenAI).
bool Droppable(std::string_view param) {
  return std::find(kReasoningRefuses.begin(), kReasoningRefuses.end(), param) !=
             kReasoningRefuses.end() ||
         param == "seed" || param == "max_tokens" || param == "max_completion_tokens";
}

}  // namespace

std::string RefusedParameter(long http_status, std::string_view body) {
  if (http_status != 400) return "";
  const json doc = json::parse(body, nullptr, false);
  const json& error = wire::Member(doc, "error");
  const std::string code = wire::StringField(error, "code");
  if (code != "unsupported_parameter" && code != "unsupported_value") return "";
  std::string param = wire::StringField(error, "param");
  return Droppable(param) ? param : "";
}

bool Refused(const ChatRequest& request, std::string_view name) {
  return std::find(request.refused_params.begin(), request.refused_params.end(), name) !=
         request.refused_params.end();
}

json AcceptedParams(const ChatRequest& request) {
  json params = request.params.is_object() ? request.params : json::object();
  for (const std::string& name : request.refused_params) {
    if (name == "max_tokens" || name == "max_completion_tokens") continue;
    params.erase(name);
    // top_logprobs is refused without logprobs.
    if (name == "logprobs") params.erase("top_logprobs");
  }
  if (request.reasoning) {
    for (std::string_view name : kReasoningRefuses) params.erase(std::string(name));
  }
  // The other APIs' reasoning parameters (a job may set them for models of
  // several providers): OpenAI would refuse them.
  params.erase("thinking");
  params.erase("thinkingConfig");
  return params;
}

}  // namespace llmeval::core::provider
