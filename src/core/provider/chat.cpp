// Chat completions for the three provider APIs.
//
// Requests: the JSON body is deterministic (nlohmann's objects keep their keys
// sorted), so the response cache can key on its hash; the API key only ever
// goes into a header, never the URL or the body (endpoint.cpp).
//
// Responses: status, Retry-After and a body that is not JSON are read alike
// for every endpoint (wire.cpp); what is left here is where each API puts
// its answer, and the refusals and blocks that make a 2xx a failure.
#include "core/provider/chat.hpp"
#include "core/provider/tools.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/provider/endpoint.hpp"
#include "core/provider/history.hpp"
#include "core/provider/refusal.hpp"
#include "core/provider/responses_api.hpp"
#include "core/provider/wire.hpp"

namespace llmeval::core::provider {

namespace {

using nlohmann::json;
using wire::CleanText;
using wire::Dump;
using wire::IntegralIfPossible;
using wire::IntField;
using wire::MalformedText;
using wire::Member;
using wire::MissingText;
using wire::StringField;
using wire::Truncate;
using wire::kMaxErrorBytes;
using wire::BuildResponses;
using wire::ReadResponses;
using wire::TakeOutputLimit;

constexpr int64_t kAnthropicDefaultMaxTokens = 1024;

// ---------------------------------------------------------------------------
// Generation parameters

// stop as an array of strings (Anthropic and Gemini take only arrays); empty
// if there is none worth sending.
json StopSequences(const json& stop) {
  json out = json::array();
  if (stop.is_string()) {
    if (!stop.get_ref<const std::string&>().empty()) out.push_back(stop);
  } else if (stop.is_array()) {
    for (const json& s : stop) {
      if (s.is_string() && !s.get_ref<const std::string&>().empty()) out.push_back(s);
    }
  }
  return out;
}

// params[key] when present and not null.
const json* Param(const json& params, const char* key) {
  if (!params.is_object()) return nullptr;
  const auto it = params.find(key);
  if (it == params.end() || it->is_null()) return nullptr;
  return &*it;
}

// The output limit's name for OpenAI chat completions (see
// ChatRequest::max_tokens_param); a name the model refused switches to the other.
std::string MaxTokensParam(std::string_view base_url, const ChatRequest& request) {
  std::string name = request.max_tokens_param;
  if (name.empty()) name = wire::IsOpenAIHost(base_url) ? "max_completion_tokens" : "max_tokens";
  if (Refused(request, name))
    name = name == "max_tokens" ? "max_completion_tokens" : "max_tokens";
  return name;
}

HttpRequest BuildOpenAI(std::string_view base_url, std::string_view api_key,
                        const ChatRequest& request) {
  if (request.api == OpenAIApi::kResponses) return BuildResponses(base_url, api_key, request);
  HttpRequest http = wire::OpenAIEndpoint(base_url, api_key, "/chat/completions");
  json params = AcceptedParams(request);
  const json limit = TakeOutputLimit(params);
  json body = json::object();
  for (const auto& [key, value] : params.items()) {
    if (value.is_null()) continue;
    // We read one complete JSON response: a stream could not be parsed.
    if (key == "stream" || key == "stream_options") continue;
    body[key] = (key == "seed" || key == "n") ? IntegralIfPossible(value) : value;
  }
  if (!limit.is_null()) body[MaxTokensParam(base_url, request)] = limit;
  json messages = json::array();
  if (!request.system.empty()) {
    messages.push_back({{"role", "system"}, {"content", request.system}});
  }
  for (json& m : history::OpenAIChatMessages(request.history, request.prompt))
    messages.push_back(std::move(m));
  body["model"] = request.model;
  body["messages"] = std::move(messages);
  http.body = Dump(body);
  return http;
}

// Text as Anthropic content blocks, marked cacheable (cache_control) when
// asked: a cache breakpoint caches everything up to and including it.
json TextBlock(std::string text, bool cacheable) {
  json block = {{"type", "text"}, {"text", std::move(text)}};
  if (cacheable) block["cache_control"] = {{"type", "ephemeral"}};
  return block;
}

HttpRequest BuildAnthropic(std::string_view base_url, std::string_view api_key,
                           const ChatRequest& request) {
  HttpRequest http = wire::AnthropicEndpoint(base_url, api_key, "/messages");
  const json& p = request.params;
  json body = json::object();
  body["model"] = request.model;
  // Extended thinking takes no temperature or top_k (and top_p only near 1),
  // and its budget must stay below max_tokens, which counts the thinking too:
  // a limit at or under the budget is taken as the answer's, on top of it.
  const json* thinking = Param(p, "thinking");
  const bool thinks = thinking && thinking->is_object() &&
                      StringField(*thinking, "type") != "disabled";
  // max_tokens is required by the Messages API.
  const json* max_tokens = Param(p, "max_tokens");
  json limit = max_tokens ? IntegralIfPossible(*max_tokens) : json(kAnthropicDefaultMaxTokens);
  if (thinking) {
    body["thinking"] = *thinking;
    const std::optional<int64_t> budget = IntField(*thinking, "budget_tokens");
    if (thinks && budget && limit.is_number_integer() && limit.get<int64_t>() <= *budget)
      limit = *budget + limit.get<int64_t>();
  }
  body["max_tokens"] = std::move(limit);
  const bool cacheable = request.cacheable_prompt_bytes > 0;
  if (!request.system.empty()) {
    body["system"] = cacheable ? json::array({TextBlock(request.system, true)}) : json(request.system);
  }
  json content = request.prompt;
  if (cacheable) {
    const std::size_t cut = std::min(request.cacheable_prompt_bytes, request.prompt.size());
    content = json::array({TextBlock(request.prompt.substr(0, cut), true)});
    if (cut < request.prompt.size()) content.push_back(TextBlock(request.prompt.substr(cut), false));
  }
  body["messages"] = history::AnthropicMessages(
      request.history, history::SendsPrompt(request.history, request.prompt) ? content : json());
  if (!thinks) {
    if (const json* v = Param(p, "temperature")) body["temperature"] = *v;
    if (const json* v = Param(p, "top_p")) body["top_p"] = *v;
    if (const json* v = Param(p, "top_k")) body["top_k"] = IntegralIfPossible(*v);
  }
  if (const json* v = Param(p, "stop")) {
    json stop = StopSequences(*v);
    if (!stop.empty()) body["stop_sequences"] = std::move(stop);
  }
  tools::ApplyAnthropic(p, body);
  http.body = Dump(body);
  return http;
}

HttpRequest BuildGemini(std::string_view base_url, std::string_view api_key,
                        const ChatRequest& request) {
  HttpRequest http = wire::GeminiEndpoint(base_url, api_key, request.model, "generateContent");
  const json& p = request.params;
  json body = json::object();
  body["contents"] = history::GeminiContents(request.history, request.prompt);
  if (!request.system.empty()) {
    body["systemInstruction"] = {{"parts", json::array({{{"text", request.system}}})}};
  }
  json config = json::object();
  if (const json* v = Param(p, "temperature")) config["temperature"] = *v;
  if (const json* v = Param(p, "top_p")) config["topP"] = *v;
  if (const json* v = Param(p, "top_k")) config["topK"] = IntegralIfPossible(*v);
  if (const json* v = Param(p, "max_tokens")) config["maxOutputTokens"] = IntegralIfPossible(*v);
  if (const json* v = Param(p, "seed")) config["seed"] = IntegralIfPossible(*v);
  if (const json* v = Param(p, "thinkingConfig")) config["thinkingConfig"] = *v;
  if (const json* v = Param(p, "stop")) {
    json stop = StopSequences(*v);
    if (!stop.empty()) config["stopSequences"] = std::move(stop);
  }
  if (!config.empty()) body["generationConfig"] = std::move(config);
  tools::ApplyGemini(p, body);
  http.body = Dump(body);
  return http;
}

// ---------------------------------------------------------------------------
// Successful responses

// Postgres text cannot hold NUL, which a JSON string can ("\u0000").
void DropNul(std::string& s) { s.erase(std::remove(s.begin(), s.end(), '\0'), s.end()); }

void ReadOpenAI(const json& doc, ChatResponse& r) {
  // prompt_tokens includes the cached ones, completion_tokens the reasoning.
  const json& usage = Member(doc, "usage");
  r.input_tokens = IntField(usage, "prompt_tokens");
  r.output_tokens = IntField(usage, "completion_tokens");
  r.cached_input_tokens = IntField(Member(usage, "prompt_tokens_details"), "cached_tokens");
  r.reasoning_tokens = IntField(Member(usage, "completion_tokens_details"), "reasoning_tokens");

  const json& choices = Member(doc, "choices");
  if (!choices.is_array() || choices.empty()) {
    r.outcome = Outcome::kRetry;
    r.error = MissingText(doc, "no choices");
    return;
  }
  const json& choice = choices.front();
  const json& message = Member(choice, "message");
  const json& content = Member(message, "content");
  if (content.is_string()) {
    r.outcome = Outcome::kOk;
    r.output = content.get<std::string>();
    return;
  }
  // Some OpenAI-compatible servers return content parts.
  if (content.is_array()) {
    std::string out;
    bool any_text = false;
    for (const json& part : content) {
      const json& t = Member(part, "text");
      if (!t.is_string()) continue;
      out += t.get_ref<const std::string&>();
      any_text = true;
    }
    if (any_text) {
      r.outcome = Outcome::kOk;
      r.output = std::move(out);
      return;
    }
  }
  const std::string refusal = StringField(message, "refusal");
  if (!refusal.empty()) {
    r.outcome = Outcome::kFail;
    r.error = Truncate("refusal: " + CleanText(refusal), kMaxErrorBytes);
    return;
  }
  const std::string finish = StringField(choice, "finish_reason");
  if (finish == "content_filter") {
    r.outcome = Outcome::kFail;
    r.error = "content filtered (finish_reason content_filter)";
    return;
  }
  r.outcome = Outcome::kRetry;
  r.error = MalformedText(
      "no choices[0].message.content" +
      (finish.empty() ? std::string() : " (finish_reason " + finish + ")"));
}

void ReadAnthropic(const json& doc, ChatResponse& r) {
  // input_tokens counts neither the cache reads nor the cache writes: the
  // input is all three (each billed at its own rate, see llmeval._call_cost).
  const json& usage = Member(doc, "usage");
  r.cached_input_tokens = IntField(usage, "cache_read_input_tokens");
  r.cache_write_tokens = IntField(usage, "cache_creation_input_tokens");
  r.input_tokens = IntField(usage, "input_tokens");
  if (r.input_tokens)
    *r.input_tokens += r.cached_input_tokens.value_or(0) + r.cache_write_tokens.value_or(0);
  r.output_tokens = IntField(usage, "output_tokens");

  const json& content = Member(doc, "content");
  if (!content.is_array()) {
    r.outcome = Outcome::kRetry;
    r.error = MissingText(doc, "no content");
    return;
  }
  std::string out;
  bool any_text = false;
  for (const json& block : content) {
    if (StringField(block, "type") != "text") continue;  // thinking, tool_use
    const json& t = Member(block, "text");
    if (!t.is_string()) continue;
    out += t.get_ref<const std::string&>();
    any_text = true;
  }
  const std::string stop = StringField(doc, "stop_reason");
  if (!any_text && stop == "refusal") {
    r.outcome = Outcome::kFail;
    r.error = "refusal (stop_reason refusal)";
    return;
  }
  // An empty content array is a (rare) legitimate empty answer.
  r.outcome = Outcome::kOk;
  r.output = std::move(out);
}

// finishReasons that mean the candidate was withheld, not cut short.
bool IsBlockingFinish(std::string_view reason) {
  return reason == "SAFETY" || reason == "RECITATION" || reason == "BLOCKLIST" ||
         reason == "PROHIBITED_CONTENT" || reason == "SPII" || reason == "LANGUAGE" ||
         reason == "IMAGE_SAFETY";
}

void ReadGemini(const json& doc, ChatResponse& r) {
  // promptTokenCount includes cachedContentTokenCount. Gemini leaves out
  // counts that are zero: with usage reported, a missing one is 0.
  const json& usage = Member(doc, "usageMetadata");
  r.input_tokens = IntField(usage, "promptTokenCount");
  r.cached_input_tokens = IntField(usage, "cachedContentTokenCount");
  if (r.input_tokens && !r.cached_input_tokens) r.cached_input_tokens = 0;
  // Thinking tokens are billed as output, as they are in the other APIs'
  // output counts.
  const std::optional<int64_t> candidates_tokens = IntField(usage, "candidatesTokenCount");
  const std::optional<int64_t> thoughts_tokens = IntField(usage, "thoughtsTokenCount");
  if (candidates_tokens || thoughts_tokens) {
    r.output_tokens = candidates_tokens.value_or(0) + thoughts_tokens.value_or(0);
  }
  r.reasoning_tokens = thoughts_tokens;
  if (r.output_tokens && !r.reasoning_tokens) r.reasoning_tokens = 0;

  const json& feedback = Member(doc, "promptFeedback");
  const std::string block_reason = StringField(feedback, "blockReason");
  auto blocked = [&](const std::string& why) {
    r.outcome = Outcome::kFail;
    std::string text = "blocked: " + why;
    const std::string message = StringField(feedback, "blockReasonMessage");
    if (!message.empty()) text += ": " + message;
    r.error = Truncate(CleanText(text), kMaxErrorBytes);
  };

  const json& candidates = Member(doc, "candidates");
  if (!candidates.is_array() || candidates.empty()) {
    if (!block_reason.empty()) return blocked("blockReason " + block_reason);
    r.outcome = Outcome::kRetry;
    r.error = MissingText(doc, "no candidates");
    return;
  }
  const json& candidate = candidates.front();
  const json& content = Member(candidate, "content");
  std::string out;
  bool any_text = false;
  const json& parts = Member(content, "parts");
  if (parts.is_array()) {
    for (const json& part : parts) {
      const json& thought = Member(part, "thought");
      if (thought.is_boolean() && thought.get<bool>()) continue;  // thought summaries
      const json& t = Member(part, "text");
      if (!t.is_string()) continue;
      out += t.get_ref<const std::string&>();
      any_text = true;
    }
  }
  if (any_text) {
    r.outcome = Outcome::kOk;
    r.output = std::move(out);
    return;
  }
  const std::string finish = StringField(candidate, "finishReason");
  if (IsBlockingFinish(finish)) return blocked("finishReason " + finish);
  if (!block_reason.empty()) return blocked("blockReason " + block_reason);
  // Thinking used the whole budget: no text, and a retry would do the same.
  if (finish == "MAX_TOKENS") {
    r.outcome = Outcome::kOk;
    return;
  }
  r.outcome = Outcome::kRetry;
  r.error = MalformedText("no text in candidates[0].content.parts" +
                         (finish.empty() ? std::string() : " (finishReason " + finish + ")"));
}

}  // namespace

void ApplyApiOptions(ChatRequest& request, const json& options) {
  if (!options.is_object()) return;
  request.api = StringField(options, "api") == "responses" ? OpenAIApi::kResponses
                                                            : OpenAIApi::kChatCompletions;
  const json& reasoning = Member(options, "reasoning");
  request.reasoning = reasoning.is_boolean() && reasoning.get<bool>();
  request.max_tokens_param = StringField(options, "max_tokens_param");
  request.refused_params.clear();
  const json& refused = Member(options, "refused_params");
  if (refused.is_array()) {
    for (const json& name : refused)
      if (name.is_string()) request.refused_params.push_back(name.get<std::string>());
  }
}

HttpRequest BuildChatRequest(Kind kind, std::string_view base_url, std::string_view api_key,
                             const ChatRequest& request) {
  wire::CheckApiKey(api_key);
  switch (kind) {
    case Kind::kOpenAI:
      return BuildOpenAI(base_url, api_key, request);
    case Kind::kAnthropic:
      return BuildAnthropic(base_url, api_key, request);
    case Kind::kGemini:
      return BuildGemini(base_url, api_key, request);
  }
  throw Error(ErrorKind::kInternal, "unknown provider kind");
}

ChatResponse ParseChatResponse(Kind kind, long http_status, std::string_view body,
                               std::string_view retry_after, int64_t now_unix, OpenAIApi api) {
  ChatResponse r;
  wire::Envelope envelope = wire::ReadEnvelope(http_status, body, retry_after, now_unix);
  r.retry_after_ms = envelope.retry_after_ms;
  if (envelope.outcome != Outcome::kOk) {
    r.outcome = envelope.outcome;
    r.error = std::move(envelope.error);
    return r;
  }
  const json& doc = envelope.doc;
  switch (kind) {
    case Kind::kOpenAI:
      if (api == OpenAIApi::kResponses) {
        ReadResponses(doc, r);
      } else {
        ReadOpenAI(doc, r);
      }
      break;
    case Kind::kAnthropic:
      ReadAnthropic(doc, r);
      break;
    case Kind::kGemini:
      ReadGemini(doc, r);
      break;
  }
  // A reply of tool calls alone has no text: it is an answer all the same.
  r.tool_calls = tools::ReadCalls(kind, api == OpenAIApi::kResponses, doc);
  if (!r.tool_calls.empty() && r.outcome == Outcome::kRetry) {
    r.outcome = Outcome::kOk;
    r.error.clear();
  }
  DropNul(r.output);
  DropNul(r.tool_calls);
  return r;
}

}  // namespace llmeval::core::provider
