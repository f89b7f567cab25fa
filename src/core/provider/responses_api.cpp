// OpenAI's Responses API (see responses_api.hpp).
//
// Request: the history (history.hpp), then the prompt as a user message, in
// "input", the system prompt as "instructions", the output limit as
// max_output_tokens (it counts reasoning tokens too), reasoning_effort as
// reasoning.effort, and store false (an evaluation has no use for a
// conversation kept on OpenAI's side). What only
// chat completions take (stop, seed, n, logprobs) is not sent; other params
// pass through, as to chat completions.
//
// Response: "output" is a list of items; the answer is the output_text parts
// of its "message" items (reasoning items are skipped), a "refusal" part a
// refusal. "status" says whether it finished: "incomplete" for the output
// limit (what text there is is the answer) or a content filter (a failure),
// "failed" with an "error" object.
#include "core/provider/responses_api.hpp"
#include "core/provider/tools.hpp"

#include <array>
#include <string>

#include "core/provider/endpoint.hpp"
#include "core/provider/history.hpp"
#include "core/provider/refusal.hpp"
#include "core/provider/wire.hpp"

namespace llmeval::core::provider::wire {

namespace {

using nlohmann::json;

// Chat-completions parameters the Responses API does not take.
constexpr std::array<const char*, 8> kChatOnly = {"stop", "seed", "n", "logprobs", "top_logprobs",
                                                  "stream", "stream_options", "messages"};

// Error codes of a failed response worth another try.
bool RetryableFailure(std::string_view code) {
  return code == "server_error" || code == "rate_limit_exceeded" || code == "vector_store_timeout";
}

}  // namespace

json TakeOutputLimit(json& params) {
  json limit;
  for (const char* name : {"max_output_tokens", "max_tokens", "max_completion_tokens"}) {
    const auto it = params.find(name);
    if (it == params.end()) continue;
    if (!it->is_null()) limit = IntegralIfPossible(*it);  // the last found wins: see the order
    params.erase(it);
  }
  return limit;
}

HttpRequest BuildResponses(std::string_view base_url, std::string_view api_key,
                           const ChatRequest& request) {
  HttpRequest http = OpenAIEndpoint(base_url, api_key, "/responses");
  json params = AcceptedParams(request);
  const json limit = TakeOutputLimit(params);
  for (const char* name : kChatOnly) params.erase(name);
  json body = json::object();
  for (const auto& [key, value] : params.items()) {
    if (value.is_null() || key == "reasoning_effort") continue;
    body[key] = value;
  }
  const auto effort = params.find("reasoning_effort");
  if (effort != params.end() && effort->is_string()) {
    json reasoning = body.contains("reasoning") && body["reasoning"].is_object() ? body["reasoning"]
                                                                                   : json::object();
    reasoning["effort"] = *effort;
    body["reasoning"] = std::move(reasoning);
  }
  if (!limit.is_null()) body["max_output_tokens"] = limit;
  if (!request.system.empty()) body["instructions"] = request.system;
  body["input"] = history::ResponsesInput(request.history, request.prompt);
  body["model"] = request.model;
  body["store"] = false;
  tools::ApplyResponses(body);
  http.body = Dump(body);
  return http;
}

void ReadResponses(const json& doc, ChatResponse& r) {
  // input_tokens includes the cached ones, output_tokens the reasoning.
  const json& usage = Member(doc, "usage");
  r.input_tokens = IntField(usage, "input_tokens");
  r.output_tokens = IntField(usage, "output_tokens");
  r.cached_input_tokens = IntField(Member(usage, "input_tokens_details"), "cached_tokens");
  r.reasoning_tokens = IntField(Member(usage, "output_tokens_details"), "reasoning_tokens");

  const std::string status = StringField(doc, "status");
  if (status == "failed") {
    const json& error = Member(doc, "error");
    const std::string code = StringField(error, "code");
    r.outcome = RetryableFailure(code) ? Outcome::kRetry : Outcome::kFail;
    r.error = Truncate(CleanText("response failed: " + (code.empty() ? "" : code + ": ") +
                                 StringField(error, "message")),
                       kMaxErrorBytes);
    return;
  }
  const json& output = Member(doc, "output");
  if (!output.is_array() || status.empty()) {
    r.outcome = Outcome::kRetry;
    r.error = MissingText(doc, "no output");
    return;
  }
  std::string text, refusal;
  bool any_text = false;
  for (const json& item : output) {
    if (StringField(item, "type") != "message") continue;  // reasoning, tool calls
    const json& content = Member(item, "content");
    if (!content.is_array()) continue;
    for (const json& part : content) {
      const std::string type = StringField(part, "type");
      if (type == "output_text" && Member(part, "text").is_string()) {
        text += Member(part, "text").get_ref<const std::string&>();
        any_text = true;
      } else if (type == "refusal") {
        refusal += StringField(part, "refusal");
      }
    }
  }
  const std::string reason = StringField(Member(doc, "incomplete_details"), "reason");
  if (!any_text && !refusal.empty()) {
    r.outcome = Outcome::kFail;
    r.error = Truncate("refusal: " + CleanText(refusal), kMaxErrorBytes);
  } else if (status == "incomplete" && reason == "content_filter") {
    r.outcome = Outcome::kFail;
    r.error = "content filtered (incomplete_details content_filter)";
  } else if (any_text || status == "completed" || status == "incomplete") {
    // (incomplete for the output limit: the text so far, or none when
    // reasoning spent it all; a retry would do the same)
    r.outcome = Outcome::kOk;
    r.output = std::move(text);
  } else {
    r.outcome = Outcome::kRetry;
    r.error = MalformedText("no output text (status " + status + ")");
  }
}

}  // namespace llmeval::core::provider::wire
