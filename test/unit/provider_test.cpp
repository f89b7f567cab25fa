#include "core/provider/chat.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/text/utf8.hpp"
#include "recorded.hpp"

namespace llmeval::core::provider {
namespace {

using nlohmann::json;

using llmeval::test::Recorded;

// 2015-10-21 07:28:00 UTC, the RFC's example date.
constexpr int64_t kOct21 = 1445412480;

ChatResponse Parse(Kind kind, long status, const std::string& body,
                   std::string_view retry_after = "") {
  return ParseChatResponse(kind, status, body, retry_after, kOct21);
}

bool HasHeader(const HttpRequest& r, const std::string& h) {
  return std::find(r.headers.begin(), r.headers.end(), h) != r.headers.end();
}

bool HasHeaderNamed(const HttpRequest& r, const std::string& name) {
  for (const std::string& h : r.headers) {
    if (h.size() > name.size() && h.compare(0, name.size() + 1, name + ":") == 0) return true;
  }
  return false;
}

bool IsValidUtf8(const std::string& s) {
  std::size_t pos = 0;
  while (pos < s.size()) {
    const std::size_t before = pos;
    if (text::DecodeUtf8(s, pos) == text::kReplacementChar &&
        s.compare(before, 3, "\xEF\xBF\xBD") != 0) {
      return false;
    }
  }
  return true;
}

ChatRequest Sample() {
  ChatRequest r;
  r.model = "m-1";
  r.system = "Be brief.";
  r.prompt = "What is the capital of France?";
  return r;
}

// ---------------------------------------------------------------------------
// Kinds

TEST(ProviderKind, ParsesTheThreeKinds) {
  EXPECT_EQ(ParseKind("openai"), Kind::kOpenAI);
  EXPECT_EQ(ParseKind("anthropic"), Kind::kAnthropic);
  EXPECT_EQ(ParseKind("gemini"), Kind::kGemini);
  for (const char* bad : {"", "OpenAI", "azure", "claude"}) {
    try {
      ParseKind(bad);
      FAIL() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidParameterValue);
      EXPECT_EQ(std::string(e.what()), "unknown provider kind \"" + std::string(bad) + "\"");
      EXPECT_FALSE(e.hint().empty());
    }
  }
}

// ---------------------------------------------------------------------------
// Requests

TEST(ChatRequestOpenAI, UrlForEachBaseUrlForm) {
  const ChatRequest req = Sample();
  auto url = [&](const char* base) { return BuildChatRequest(Kind::kOpenAI, base, "k", req).url; };
  EXPECT_EQ(url("https://api.openai.com/v1"), "https://api.openai.com/v1/chat/completions");
  EXPECT_EQ(url("https://api.openai.com/v1/"), "https://api.openai.com/v1/chat/completions");
  EXPECT_EQ(url("http://localhost:11434/v1"), "http://localhost:11434/v1/chat/completions");
  EXPECT_EQ(url("https://api.openai.com/v1/chat/completions"),
            "https://api.openai.com/v1/chat/completions");
  EXPECT_EQ(url("https://res.openai.azure.com/openai/deployments/gpt4o?api-version=2024-10-21"),
            "https://res.openai.azure.com/openai/deployments/gpt4o/chat/completions"
            "?api-version=2024-10-21");
  EXPECT_EQ(url("https://res.openai.azure.com/openai/deployments/gpt4o/?api-version=2024-10-21"),
            "https://res.openai.azure.com/openai/deployments/gpt4o/chat/completions"
            "?api-version=2024-10-21");
}

TEST(ChatRequestOpenAI, AuthHeaders) {
  const ChatRequest req = Sample();
  const HttpRequest r = BuildChatRequest(Kind::kOpenAI, "https://api.openai.com/v1", "sk-abc", req);
  EXPECT_TRUE(HasHeader(r, "Content-Type: application/json"));
  EXPECT_TRUE(HasHeader(r, "Authorization: Bearer sk-abc"));
  EXPECT_FALSE(HasHeaderNamed(r, "api-key"));

  const HttpRequest azure = BuildChatRequest(
      Kind::kOpenAI, "https://Res.OpenAI.Azure.com/openai/deployments/d?api-version=2024-10-21",
      "az-key", req);
  EXPECT_TRUE(HasHeader(azure, "api-key: az-key"));
  EXPECT_FALSE(HasHeaderNamed(azure, "Authorization"));
  const HttpRequest foundry = BuildChatRequest(
      Kind::kOpenAI, "https://res.cognitiveservices.azure.com/openai/deployments/d?api-version=x",
      "az-key", req);
  EXPECT_TRUE(HasHeader(foundry, "api-key: az-key"));

  // Only the host decides: a path or query mentioning Azure does not.
  const HttpRequest proxy = BuildChatRequest(
      Kind::kOpenAI, "https://proxy.example.com/res.openai.azure.com?x=.openai.azure.com", "k",
      req);
  EXPECT_TRUE(HasHeader(proxy, "Authorization: Bearer k"));

  const HttpRequest anonymous = BuildChatRequest(Kind::kOpenAI, "http://localhost:8000/v1", "", req);
  EXPECT_EQ(anonymous.headers, std::vector<std::string>{"Content-Type: application/json"});
}

TEST(ChatRequestOpenAI, Body) {
  ChatRequest req = Sample();
  req.params = {{"temperature", 0.2}, {"top_p", 0.9}, {"max_tokens", 256.0}, {"stop", "\n\n"},
                {"seed", 7},          {"presence_penalty", 0.5}, {"response_format", {{"type", "text"}}},
                {"logit_bias", nullptr}, {"stream", true}, {"model", "ignored"}};
  const HttpRequest r = BuildChatRequest(Kind::kOpenAI, "https://api.openai.com/v1", "k", req);
  const json expected = {
      {"model", "m-1"},
      {"messages",
       {{{"role", "system"}, {"content", "Be brief."}},
        {{"role", "user"}, {"content", "What is the capital of France?"}}}},
      {"temperature", 0.2},
      {"top_p", 0.9},
      {"max_completion_tokens", 256},
      {"stop", "\n\n"},
      {"seed", 7},
      {"presence_penalty", 0.5},
      {"response_format", {{"type", "text"}}}};
  EXPECT_EQ(json::parse(r.body), expected);
  // An integral float is sent as an integer.
  EXPECT_NE(r.body.find("\"max_completion_tokens\":256,"), std::string::npos) << r.body;

  ChatRequest no_system = Sample();
  no_system.system.clear();
  no_system.params = {{"stop", {"a", "b"}}};
  const json body =
      json::parse(BuildChatRequest(Kind::kOpenAI, "https://x/v1", "", no_system).body);
  EXPECT_EQ(body["messages"],
            json::parse(R"([{"role":"user","content":"What is the capital of France?"}])"));
  EXPECT_EQ(body["stop"], json::parse(R"(["a","b"])"));
}

TEST(ChatRequestOpenAI, BodyIsDeterministic) {
  // The response cache keys on a hash of the body.
  ChatRequest a = Sample();
  a.params = json::parse(R"({"temperature": 0, "seed": 1, "top_p": 1})");
  ChatRequest b = Sample();
  b.params = json::parse(R"({"top_p": 1, "seed": 1, "temperature": 0})");
  EXPECT_EQ(BuildChatRequest(Kind::kOpenAI, "https://x/v1", "k1", a).body,
            BuildChatRequest(Kind::kOpenAI, "https://x/v1", "k2", b).body);
}

TEST(ChatRequestAnthropic, UrlHeadersAndBody) {
  ChatRequest req = Sample();
  req.params = {{"temperature", 0.0}, {"top_p", 0.5}, {"stop", "END"}, {"seed", 3},
                {"frequency_penalty", 1}};
  const HttpRequest r =
      BuildChatRequest(Kind::kAnthropic, "https://api.anthropic.com", "sk-ant-xyz", req);
  EXPECT_EQ(r.url, "https://api.anthropic.com/v1/messages");
  EXPECT_TRUE(HasHeader(r, "x-api-key: sk-ant-xyz"));
  EXPECT_TRUE(HasHeader(r, "anthropic-version: 2023-06-01"));
  EXPECT_TRUE(HasHeader(r, "Content-Type: application/json"));
  EXPECT_FALSE(HasHeaderNamed(r, "Authorization"));
  const json expected = {
      {"model", "m-1"},
      {"max_tokens", 1024},
      {"system", "Be brief."},
      {"messages", {{{"role", "user"}, {"content", "What is the capital of France?"}}}},
      {"temperature", 0.0},
      {"top_p", 0.5},
      {"stop_sequences", {"END"}}};
  EXPECT_EQ(json::parse(r.body), expected);

  for (const char* base : {"https://api.anthropic.com/", "https://api.anthropic.com/v1",
                           "https://api.anthropic.com/v1/"}) {
    EXPECT_EQ(BuildChatRequest(Kind::kAnthropic, base, "k", req).url,
              "https://api.anthropic.com/v1/messages")
        << base;
  }
  EXPECT_EQ(BuildChatRequest(Kind::kAnthropic, "https://gw.example.com/anthropic", "k", req).url,
            "https://gw.example.com/anthropic/v1/messages");

  ChatRequest plain = Sample();
  plain.system.clear();
  plain.params = {{"max_tokens", 50}, {"stop", {"x", 1, "", "y"}}, {"top_k", 40.0}};
  const HttpRequest p = BuildChatRequest(Kind::kAnthropic, "https://api.anthropic.com", "", plain);
  EXPECT_FALSE(HasHeaderNamed(p, "x-api-key"));
  EXPECT_TRUE(HasHeader(p, "anthropic-version: 2023-06-01"));
  const json body = json::parse(p.body);
  EXPECT_EQ(body["max_tokens"], 50);
  EXPECT_FALSE(body.contains("system"));
  EXPECT_EQ(body["stop_sequences"], json::parse(R"(["x","y"])"));
  EXPECT_TRUE(body["top_k"].is_number_integer());
  EXPECT_EQ(body["top_k"], 40);
}

TEST(ChatRequestGemini, UrlHeadersAndBody) {
  ChatRequest req = Sample();
  req.model = "gemini-2.0-flash";
  req.params = {{"temperature", 0.7}, {"top_p", 0.95}, {"max_tokens", 128}, {"stop", "STOP"},
                {"seed", 42},         {"presence_penalty", 0.1}};
  const std::string key = "AIzaSyD-secret-key";
  const HttpRequest r =
      BuildChatRequest(Kind::kGemini, "https://generativelanguage.googleapis.com", key, req);
  EXPECT_EQ(r.url,
            "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:generateContent");
  EXPECT_TRUE(HasHeader(r, "x-goog-api-key: " + key));
  EXPECT_TRUE(HasHeader(r, "Content-Type: application/json"));
  const json expected = {
      {"contents",
       {{{"role", "user"}, {"parts", {{{"text", "What is the capital of France?"}}}}}}},
      {"systemInstruction", {{"parts", {{{"text", "Be brief."}}}}}},
      {"generationConfig",
       {{"temperature", 0.7},
        {"topP", 0.95},
        {"maxOutputTokens", 128},
        {"stopSequences", {"STOP"}},
        {"seed", 42}}}};
  EXPECT_EQ(json::parse(r.body), expected);

  for (const char* base :
       {"https://generativelanguage.googleapis.com/", "https://generativelanguage.googleapis.com/v1beta",
        "https://generativelanguage.googleapis.com/v1beta/"}) {
    EXPECT_EQ(BuildChatRequest(Kind::kGemini, base, key, req).url, r.url) << base;
  }
  ChatRequest full_name = req;
  full_name.model = "models/gemini-2.0-flash";
  EXPECT_EQ(BuildChatRequest(Kind::kGemini, "https://generativelanguage.googleapis.com", key,
                             full_name)
                .url,
            r.url);
  // A model name cannot reshape the URL.
  ChatRequest odd = req;
  odd.model = "gem ini?key=x#y";
  EXPECT_EQ(BuildChatRequest(Kind::kGemini, "https://g.example.com", "", odd).url,
            "https://g.example.com/v1beta/models/gem%20ini%3Fkey%3Dx%23y:generateContent");

  ChatRequest tuned = Sample();
  tuned.model = "tunedModels/my-model-123";
  tuned.params = {{"top_k", 3}};
  const HttpRequest t = BuildChatRequest(Kind::kGemini, "https://g.example.com/v1beta", "", tuned);
  EXPECT_EQ(t.url, "https://g.example.com/v1beta/tunedModels/my-model-123:generateContent");
  EXPECT_EQ(json::parse(t.body)["generationConfig"], json::parse(R"({"topK": 3})"));

  ChatRequest bare = Sample();
  bare.system.clear();
  bare.params = json::object();
  const HttpRequest b = BuildChatRequest(Kind::kGemini, "https://g.example.com", "", bare);
  EXPECT_TRUE(b.headers == std::vector<std::string>{"Content-Type: application/json"});
  const json body = json::parse(b.body);
  EXPECT_FALSE(body.contains("systemInstruction"));
  EXPECT_FALSE(body.contains("generationConfig"));
}

TEST(ChatRequest, KeyNeverInUrlOrBody) {
  const std::string key = "sk-very-secret-0123456789";
  ChatRequest req = Sample();
  req.params = {{"temperature", 1}};
  for (const Kind kind : {Kind::kOpenAI, Kind::kAnthropic, Kind::kGemini}) {
    for (const char* base : {"https://api.example.com", "https://api.example.com/v1/",
                             "https://r.openai.azure.com/openai/deployments/d?api-version=1"}) {
      const HttpRequest r = BuildChatRequest(kind, base, key, req);
      EXPECT_EQ(r.url.find(key), std::string::npos) << r.url;
      EXPECT_EQ(r.url.find("key="), std::string::npos) << r.url;
      EXPECT_EQ(r.body.find(key), std::string::npos);
      int with_key = 0;
      for (const std::string& h : r.headers) with_key += h.find(key) != std::string::npos;
      EXPECT_EQ(with_key, 1);
    }
  }
}

TEST(ChatRequest, OddParamsNeverThrow) {
  for (const json& params :
       {json(nullptr), json(42), json("temperature"), json::array({1, 2}),
        json::parse(R"({"temperature": "hot", "max_tokens": -1, "stop": {"a": 1}, "seed": 1.5,
                        "top_p": [1], "max_tokens_x": null})"),
        json::parse(R"({"max_tokens": 1e300, "stop": [null, 3]})")}) {
    ChatRequest req = Sample();
    req.params = params;
    for (const Kind kind : {Kind::kOpenAI, Kind::kAnthropic, Kind::kGemini}) {
      HttpRequest r;
      ASSERT_NO_THROW(r = BuildChatRequest(kind, "https://x.example.com", "k", req))
          << params.dump();
      const json body = json::parse(r.body);
      EXPECT_TRUE(body.is_object());
      if (kind == Kind::kAnthropic) {
        EXPECT_TRUE(body.contains("max_tokens"));
      }
    }
  }
  // Non-object params are ignored.
  ChatRequest req = Sample();
  req.params = json::array({1});
  EXPECT_EQ(json::parse(BuildChatRequest(Kind::kAnthropic, "https://x", "", req).body)["max_tokens"],
            1024);
  // Invalid UTF-8 in a prompt (possible only with a non-UTF-8 database) is replaced.
  req.prompt = "bad \xFF byte";
  const json body = json::parse(BuildChatRequest(Kind::kOpenAI, "https://x", "", req).body);
  EXPECT_EQ(body["messages"][1]["content"], "bad \xEF\xBF\xBD byte");
}

TEST(ChatRequest, KeyWithControlCharacterIsRejected) {
  try {
    BuildChatRequest(Kind::kOpenAI, "https://x/v1", "sk-abc\r\nX-Injected: 1", Sample());
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidParameterValue);
    EXPECT_EQ(std::string(e.what()).find("sk-abc"), std::string::npos);
  }
  EXPECT_THROW(BuildChatRequest(Kind::kGemini, "https://x", "key\n", Sample()), Error);
}

// ---------------------------------------------------------------------------
// Responses: success

TEST(ChatResponseOpenAI, Success) {
  const ChatResponse r = Parse(Kind::kOpenAI, 200, Recorded("openai/200_success.json"));
  EXPECT_EQ(r.outcome, Outcome::kOk);
  EXPECT_EQ(r.output, "The capital of France is Paris. \xC3\x89l\xC3\xA9gant, n'est-ce pas ? "
                      "\xF0\x9F\x97\xBC");
  EXPECT_EQ(r.input_tokens, 24);
  EXPECT_EQ(r.output_tokens, 17);
  EXPECT_EQ(r.error, "");
  EXPECT_FALSE(r.retry_after_ms);
}

TEST(ChatResponseOpenAI, EmptyContentIsAnAnswer) {
  // A reasoning model that spent max_tokens thinking: "" is its answer.
  const ChatResponse r = Parse(Kind::kOpenAI, 200, Recorded("openai/200_reasoning_length.json"));
  EXPECT_EQ(r.outcome, Outcome::kOk);
  EXPECT_EQ(r.output, "");
  EXPECT_EQ(r.output_tokens, 64);
}

TEST(ChatResponseOpenAI, RefusalFails) {
  const ChatResponse r = Parse(Kind::kOpenAI, 200, Recorded("openai/200_refusal.json"));
  EXPECT_EQ(r.outcome, Outcome::kFail);
  EXPECT_EQ(r.error, "refusal: I'm sorry, I can't assist with that request.");
  EXPECT_EQ(r.output, "");
  EXPECT_EQ(r.input_tokens, 31);  // still billed
  EXPECT_EQ(r.output_tokens, 11);
}

TEST(ChatResponseOpenAI, AzureContentFilterFails) {
  const ChatResponse r = Parse(Kind::kOpenAI, 200, Recorded("openai/200_azure_content_filter.json"));
  EXPECT_EQ(r.outcome, Outcome::kFail);
  EXPECT_EQ(r.error, "content filtered (finish_reason content_filter)");
  EXPECT_EQ(r.input_tokens, 27);
}

TEST(ChatResponseOpenAI, ContentPartsAndNul) {
  const ChatResponse r = Parse(
      Kind::kOpenAI, 200,
      R"({"choices":[{"message":{"content":[{"type":"text","text":"a\u0000b"},{"type":"text","text":"c"}]}}]})");
  EXPECT_EQ(r.outcome, Outcome::kOk);
  EXPECT_EQ(r.output, "abc");  // Postgres text cannot hold NUL
  EXPECT_FALSE(r.input_tokens);
  EXPECT_FALSE(r.output_tokens);
}

TEST(ChatResponseOpenAI, MissingContentRetries) {
  for (const char* body :
       {R"({"choices":[]})", R"({"id":"x"})", R"({"choices":[{"message":{"content":null}}]})",
        R"({"choices":[{"message":{"role":"assistant","tool_calls":[]},"finish_reason":"tool_calls"}]})",
        R"([1,2])", R"("text")"}) {
    const ChatResponse r = Parse(Kind::kOpenAI, 200, body);
    EXPECT_EQ(r.outcome, Outcome::kRetry) << body;
    EXPECT_EQ(r.error.rfind("malformed response body: ", 0), 0u) << r.error;
  }
  EXPECT_EQ(Parse(Kind::kOpenAI, 200, R"({"choices":[]})").error,
            "malformed response body: no choices");
  EXPECT_EQ(Parse(Kind::kOpenAI, 200,
                  R"({"choices":[{"message":{"content":null},"finish_reason":"tool_calls"}]})")
                .error,
            "malformed response body: no choices[0].message.content (finish_reason tool_calls)");
  // A 200 carrying an error object (some gateways do this) says so.
  EXPECT_EQ(Parse(Kind::kOpenAI, 200, R"({"error":{"message":"upstream timed out","code":504}})")
                .error,
            "malformed response body: error: upstream timed out");
}

TEST(ChatResponseAnthropic, Success) {
  const ChatResponse r = Parse(Kind::kAnthropic, 200, Recorded("anthropic/200_success.json"));
  EXPECT_EQ(r.outcome, Outcome::kOk);
  EXPECT_EQ(r.output, "The capital of France is Paris.");
  EXPECT_EQ(r.input_tokens, 21);
  EXPECT_EQ(r.output_tokens, 10);
}

TEST(ChatResponseAnthropic, TextBlocksConcatenatedThinkingSkipped) {
  const ChatResponse r =
      Parse(Kind::kAnthropic, 200, Recorded("anthropic/200_thinking_multiblock.json"));
  EXPECT_EQ(r.outcome, Outcome::kOk);
  EXPECT_EQ(r.output, "Paris is the capital of France.");
  EXPECT_EQ(r.input_tokens, 46);
  EXPECT_EQ(r.output_tokens, 87);
}

TEST(ChatResponseAnthropic, RefusalFails) {
  const ChatResponse r = Parse(Kind::kAnthropic, 200, Recorded("anthropic/200_refusal.json"));
  EXPECT_EQ(r.outcome, Outcome::kFail);
  EXPECT_EQ(r.error, "refusal (stop_reason refusal)");
  EXPECT_EQ(r.input_tokens, 35);
  EXPECT_EQ(r.output_tokens, 1);
}

TEST(ChatResponseAnthropic, MissingContentRetries) {
  const ChatResponse r = Parse(Kind::kAnthropic, 200, R"({"type":"message","usage":{}})");
  EXPECT_EQ(r.outcome, Outcome::kRetry);
  EXPECT_EQ(r.error, "malformed response body: no content");
  // An empty answer (no blocks, end_turn) is an answer.
  const ChatResponse empty =
      Parse(Kind::kAnthropic, 200, R"({"content":[],"stop_reason":"end_turn"})");
  EXPECT_EQ(empty.outcome, Outcome::kOk);
  EXPECT_EQ(empty.output, "");
}

TEST(ChatResponseGemini, Success) {
  const ChatResponse r = Parse(Kind::kGemini, 200, Recorded("gemini/200_success.json"));
  EXPECT_EQ(r.outcome, Outcome::kOk);
  EXPECT_EQ(r.output, "The capital of France is Paris.\n");
  EXPECT_EQ(r.input_tokens, 9);
  EXPECT_EQ(r.output_tokens, 8);
}

TEST(ChatResponseGemini, ThoughtsSkippedButBilled) {
  const ChatResponse r = Parse(Kind::kGemini, 200, Recorded("gemini/200_thinking.json"));
  EXPECT_EQ(r.outcome, Outcome::kOk);
  EXPECT_EQ(r.output, "Paris is the capital of France.");
  EXPECT_EQ(r.input_tokens, 10);
  EXPECT_EQ(r.output_tokens, 7 + 122);  // candidates + thoughts, as Google bills them
}

TEST(ChatResponseGemini, MaxTokensWithoutTextIsAnEmptyAnswer) {
  const ChatResponse r = Parse(Kind::kGemini, 200, Recorded("gemini/200_max_tokens_no_text.json"));
  EXPECT_EQ(r.outcome, Outcome::kOk);
  EXPECT_EQ(r.output, "");
  EXPECT_EQ(r.output_tokens, 99);
}

TEST(ChatResponseGemini, SafetyBlocksFail) {
  const ChatResponse prompt = Parse(Kind::kGemini, 200, Recorded("gemini/200_prompt_blocked.json"));
  EXPECT_EQ(prompt.outcome, Outcome::kFail);
  EXPECT_EQ(prompt.error, "blocked: blockReason SAFETY");
  EXPECT_EQ(prompt.input_tokens, 14);
  EXPECT_FALSE(prompt.output_tokens);

  const ChatResponse finish = Parse(Kind::kGemini, 200, Recorded("gemini/200_finish_safety.json"));
  EXPECT_EQ(finish.outcome, Outcome::kFail);
  EXPECT_EQ(finish.error, "blocked: finishReason SAFETY");

  const ChatResponse other = Parse(
      Kind::kGemini, 200,
      R"({"promptFeedback":{"blockReason":"OTHER","blockReasonMessage":"The prompt was blocked."}})");
  EXPECT_EQ(other.outcome, Outcome::kFail);
  EXPECT_EQ(other.error, "blocked: blockReason OTHER: The prompt was blocked.");
}

TEST(ChatResponseGemini, MissingContentRetries) {
  EXPECT_EQ(Parse(Kind::kGemini, 200, R"({"candidates":[]})").error,
            "malformed response body: no candidates");
  const ChatResponse r =
      Parse(Kind::kGemini, 200, R"({"candidates":[{"content":{"parts":[]},"finishReason":"STOP"}]})");
  EXPECT_EQ(r.outcome, Outcome::kRetry);
  EXPECT_EQ(r.error,
            "malformed response body: no text in candidates[0].content.parts (finishReason STOP)");
}

// ---------------------------------------------------------------------------
// Responses: HTTP errors

struct ErrorCase {
  Kind kind;
  long status;
  const char* file;
  Outcome outcome;
  const char* error;
};

TEST(ChatResponseErrors, RecordedErrorBodies) {
  const ErrorCase cases[] = {
      {Kind::kOpenAI, 400, "openai/400_bad_parameter.json", Outcome::kFail,
       "HTTP 400: Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but "
       "got 3 instead."},
      {Kind::kOpenAI, 401, "openai/401_invalid_key.json", Outcome::kFail,
       "HTTP 401: Incorrect API key provided: "
       "sk-proj-********************************************Wq7A. You can find your API key at "
       "https://platform.openai.com/account/api-keys."},
      {Kind::kOpenAI, 404, "openai/404_model_not_found.json", Outcome::kFail,
       "HTTP 404: The model `gpt-5-turbo-preview` does not exist or you do not have access to it."},
      {Kind::kOpenAI, 404, "openai/404_error_string.json", Outcome::kFail,
       "HTTP 404: model \"llama9:70b\" not found, try pulling it first"},
      {Kind::kOpenAI, 422, "openai/422_fastapi_detail.json", Outcome::kFail,
       R"(HTTP 422: {"detail":[{"type":"missing","loc":["body","messages"],"msg":"Field required","input":{"model":"m"}}]})"},
      {Kind::kOpenAI, 429, "openai/429_insufficient_quota.json", Outcome::kFail,
       "HTTP 429: You exceeded your current quota, please check your plan and billing details. For "
       "more information on this error, read the docs: "
       "https://platform.openai.com/docs/guides/error-codes/api-errors."},
      {Kind::kOpenAI, 500, "openai/500_server_error.json", Outcome::kRetry,
       "HTTP 500: The server had an error while processing your request. Sorry about that!"},
      {Kind::kOpenAI, 503, "openai/503_overloaded.json", Outcome::kRetry,
       "HTTP 503: The engine is currently overloaded, please try again later"},
      {Kind::kAnthropic, 400, "anthropic/400_invalid_request.json", Outcome::kFail,
       "HTTP 400: max_tokens: 100000 > 8192, which is the maximum allowed number of output tokens "
       "for claude-3-5-haiku-20241022"},
      {Kind::kAnthropic, 401, "anthropic/401_authentication.json", Outcome::kFail,
       "HTTP 401: invalid x-api-key"},
      {Kind::kAnthropic, 404, "anthropic/404_not_found.json", Outcome::kFail,
       "HTTP 404: model: claude-3-opus-2099"},
      {Kind::kAnthropic, 500, "anthropic/500_api_error.json", Outcome::kRetry,
       "HTTP 500: Internal server error"},
      {Kind::kAnthropic, 529, "anthropic/529_overloaded.json", Outcome::kRetry,
       "HTTP 529: Overloaded"},
      {Kind::kGemini, 400, "gemini/400_api_key_invalid.json", Outcome::kFail,
       "HTTP 400: API key not valid. Please pass a valid API key."},
      {Kind::kGemini, 400, "gemini/400_array_wrapped.json", Outcome::kFail,
       "HTTP 400: * GenerateContentRequest.generation_config.max_output_tokens: must be positive"},
      {Kind::kGemini, 404, "gemini/404_model_not_found.json", Outcome::kFail,
       "HTTP 404: models/gemini-9.0-pro is not found for API version v1beta, or is not supported "
       "for generateContent. Call ListModels to see the list of available models and their "
       "supported methods."},
      {Kind::kGemini, 500, "gemini/500_internal.json", Outcome::kRetry,
       "HTTP 500: An internal error has occurred. Please retry or report in "
       "https://developers.generativeai.google/guide/troubleshooting"},
      {Kind::kGemini, 503, "gemini/503_unavailable.json", Outcome::kRetry,
       "HTTP 503: The model is overloaded. Please try again later."},
  };
  for (const ErrorCase& c : cases) {
    const ChatResponse r = Parse(c.kind, c.status, Recorded(c.file));
    EXPECT_EQ(r.outcome, c.outcome) << c.file;
    EXPECT_EQ(r.error, c.error) << c.file;
    EXPECT_EQ(r.output, "") << c.file;
    EXPECT_FALSE(r.input_tokens) << c.file;
    EXPECT_FALSE(r.retry_after_ms) << c.file;
  }
}

TEST(ChatResponseErrors, RateLimitsRetryWithRetryAfter) {
  const ChatResponse openai =
      Parse(Kind::kOpenAI, 429, Recorded("openai/429_rate_limit.json"), "20");
  EXPECT_EQ(openai.outcome, Outcome::kRetry);
  EXPECT_EQ(openai.retry_after_ms, 20000);
  EXPECT_EQ(openai.error.rfind("HTTP 429: Rate limit reached for gpt-4o-mini in organization", 0),
            0u);
  EXPECT_LE(openai.error.size(), 500u);

  const ChatResponse anthropic = Parse(Kind::kAnthropic, 429, Recorded("anthropic/429_rate_limit.json"),
                                       "Wed, 21 Oct 2015 07:28:45 GMT");
  EXPECT_EQ(anthropic.outcome, Outcome::kRetry);
  EXPECT_EQ(anthropic.retry_after_ms, 45000);
  EXPECT_EQ(anthropic.error.rfind("HTTP 429: This request would exceed the rate limit", 0), 0u);
  const std::string tail = "to discuss your options for a rate limit increase.";
  ASSERT_GE(anthropic.error.size(), tail.size());
  EXPECT_EQ(anthropic.error.substr(anthropic.error.size() - tail.size()), tail);
  EXPECT_LE(anthropic.error.size(), 500u);

  // Gemini sends no Retry-After but a google.rpc.RetryInfo detail.
  const ChatResponse gemini =
      Parse(Kind::kGemini, 429, Recorded("gemini/429_resource_exhausted.json"));
  EXPECT_EQ(gemini.outcome, Outcome::kRetry);
  EXPECT_EQ(gemini.retry_after_ms, 35000);
  EXPECT_EQ(gemini.error.rfind("HTTP 429: You exceeded your current quota", 0), 0u);
  EXPECT_EQ(gemini.error.find('\n'), std::string::npos);  // one line
  EXPECT_NE(gemini.error.find("rate-limits. * Quota exceeded"), std::string::npos) << gemini.error;
  // The header wins over the body.
  EXPECT_EQ(Parse(Kind::kGemini, 429, Recorded("gemini/429_resource_exhausted.json"), "3")
                .retry_after_ms,
            3000);

  // Retry-After is read whatever the status.
  EXPECT_EQ(Parse(Kind::kOpenAI, 503, "", "7").retry_after_ms, 7000);
  EXPECT_EQ(Parse(Kind::kOpenAI, 200, Recorded("openai/200_success.json"), "1").retry_after_ms,
            1000);
  EXPECT_FALSE(Parse(Kind::kOpenAI, 503, "", "soon").retry_after_ms);
}

TEST(ChatResponseErrors, ProxyPagesAndEmptyBodies) {
  const ChatResponse nginx = Parse(Kind::kOpenAI, 502, Recorded("proxy/502_nginx.html"));
  EXPECT_EQ(nginx.outcome, Outcome::kRetry);
  EXPECT_EQ(nginx.error, "HTTP 502: 502 Bad Gateway");

  const ChatResponse cf = Parse(Kind::kAnthropic, 524, Recorded("proxy/524_cloudflare.html"));
  EXPECT_EQ(cf.outcome, Outcome::kRetry);
  EXPECT_EQ(cf.error, "HTTP 524: api.openai.com | 524: A timeout occurred");

  const ChatResponse empty503 = Parse(Kind::kGemini, 503, "");
  EXPECT_EQ(empty503.outcome, Outcome::kRetry);
  EXPECT_EQ(empty503.error, "HTTP 503: Service Unavailable (empty body)");
  EXPECT_EQ(Parse(Kind::kGemini, 418, " \r\n").error, "HTTP 418: (empty body)");
  EXPECT_EQ(Parse(Kind::kGemini, 418, " \r\n").outcome, Outcome::kFail);

  // A plain-text body is quoted, cleaned, shortened.
  const std::string text = "upstream connect error or disconnect/reset before headers.\n" +
                           std::string(600, 'x');
  const ChatResponse plain = Parse(Kind::kOpenAI, 503, text);
  EXPECT_EQ(plain.error.rfind("HTTP 503: upstream connect error or disconnect/reset before "
                              "headers. xxx",
                              0),
            0u);
  EXPECT_LE(plain.error.size(), 220u);  // "short": a 200-byte excerpt

  // An HTML page on a 200 (a captive portal, a wrong base_url) is malformed.
  const ChatResponse html200 = Parse(Kind::kOpenAI, 200, Recorded("proxy/502_nginx.html"));
  EXPECT_EQ(html200.outcome, Outcome::kRetry);
  EXPECT_EQ(html200.error, "malformed response body: not JSON: 502 Bad Gateway");

  const ChatResponse empty200 = Parse(Kind::kAnthropic, 200, "");
  EXPECT_EQ(empty200.outcome, Outcome::kRetry);
  EXPECT_EQ(empty200.error, "malformed response body: empty body");
}

TEST(ChatResponseErrors, TruncatedJsonRetries) {
  for (const char* file : {"openai/200_success.json", "anthropic/200_success.json",
                           "gemini/200_success.json"}) {
    const std::string full = Recorded(file);
    const Kind kind = file[0] == 'o' ? Kind::kOpenAI : file[0] == 'a' ? Kind::kAnthropic
                                                                       : Kind::kGemini;
    for (const std::size_t keep : {std::size_t{1}, full.size() / 3, full.size() / 2,
                                   full.size() - 3}) {
      const ChatResponse r = Parse(kind, 200, full.substr(0, keep));
      EXPECT_EQ(r.outcome, Outcome::kRetry) << file << " " << keep;
      EXPECT_EQ(r.error,
                "malformed response body: truncated JSON after " + std::to_string(keep) + " bytes")
          << file << " " << keep;
      EXPECT_EQ(r.output, "");
    }
  }
  // Truncated error bodies still classify by status, with an excerpt.
  const std::string cut = Recorded("anthropic/529_overloaded.json").substr(0, 40);
  const ChatResponse r = Parse(Kind::kAnthropic, 529, cut);
  EXPECT_EQ(r.outcome, Outcome::kRetry);
  EXPECT_EQ(r.error, "HTTP 529: " + cut);
}

TEST(ChatResponseErrors, StatusClassification) {
  for (const long s : {408L, 409L, 425L, 429L, 500L, 502L, 503L, 504L, 529L, 599L}) {
    EXPECT_EQ(Parse(Kind::kOpenAI, s, "{}").outcome, Outcome::kRetry) << s;
  }
  for (const long s : {400L, 401L, 402L, 403L, 404L, 405L, 413L, 422L, 451L, 499L, 100L, 101L,
                       301L, 302L, 304L, 0L, 600L, -1L}) {
    const ChatResponse r = Parse(Kind::kAnthropic, s, "{}");
    EXPECT_EQ(r.outcome, Outcome::kFail) << s;
    EXPECT_EQ(r.error.rfind("HTTP " + std::to_string(s) + ": ", 0), 0u) << r.error;
  }
  for (const long s : {200L, 201L, 299L}) {
    EXPECT_EQ(Parse(Kind::kGemini, s, Recorded("gemini/200_success.json")).outcome, Outcome::kOk);
  }
}

TEST(ChatResponseErrors, ErrorTextIsShortValidUtf8OneLine) {
  // Invalid UTF-8, control characters, a multi-byte character at the cut.
  std::string body = "bad \xC3 byte\x01\x7F and \xF0\x9F\x98";
  for (int i = 0; i < 400; ++i) body += "\xE2\x82\xAC";  // €
  for (const long status : {500L, 200L}) {
    const ChatResponse r = Parse(Kind::kOpenAI, status, body);
    EXPECT_LE(r.error.size(), 500u);
    EXPECT_TRUE(IsValidUtf8(r.error)) << r.error;
    EXPECT_EQ(r.error.find_first_of(std::string("\x01\x7F\r\n\t", 5)), std::string::npos);
  }
  EXPECT_EQ(Parse(Kind::kOpenAI, 500, body).error.substr(0, 30),
            "HTTP 500: bad \xEF\xBF\xBD byte and \xEF\xBF\xBD");

  // A long provider message with multi-byte characters is cut on a boundary.
  json long_error = {{"error", {{"message", std::string(300, 'a') + std::string(600, 'x')}}}};
  std::string msg;
  for (int i = 0; i < 300; ++i) msg += "\xC3\xA9";  // é
  long_error["error"]["message"] = "a" + msg;
  const ChatResponse r = Parse(Kind::kOpenAI, 400, long_error.dump());
  EXPECT_LE(r.error.size(), 500u);
  EXPECT_GE(r.error.size(), 495u);
  EXPECT_TRUE(IsValidUtf8(r.error));
  EXPECT_EQ(r.error.substr(r.error.size() - 3), "\xE2\x80\xA6");
}

TEST(ChatResponseErrors, HostileBodiesAreSafe) {
  // Nesting far deeper than any recursion could survive.
  const std::size_t depth = 100000;
  const std::string open(depth, '['), close(depth, ']');
  const std::vector<std::string> bodies = {
      open + close,
      R"({"detail":)" + open + close + "}",
      R"({"error":{"message":)" + open + close + "}}",
      R"({"choices":[{"message":{"content":)" + open + close + "}}]}",
      R"({"usage":{"prompt_tokens":)" + open + close + "}}",
      R"({"content":)" + open + close + "}",
      R"({"candidates":[{"content":{"parts":)" + open + close + "}}]}",
      open,
      std::string(1 << 18, '{'),
  };
  for (const std::string& body : bodies) {
    for (const Kind kind : {Kind::kOpenAI, Kind::kAnthropic, Kind::kGemini}) {
      for (const long status : {200L, 400L, 503L}) {
        ChatResponse r;
        ASSERT_NO_THROW(r = Parse(kind, status, body));
        EXPECT_EQ(r.outcome == Outcome::kOk, r.error.empty());
        EXPECT_LE(r.error.size(), 500u);
      }
    }
  }
}

TEST(ChatResponseErrors, CutAndCorruptedRecordingsNeverThrow) {
  const char* files[] = {"openai/200_success.json", "openai/200_refusal.json",
                         "openai/429_rate_limit.json", "anthropic/200_thinking_multiblock.json",
                         "anthropic/529_overloaded.json", "gemini/200_thinking.json",
                         "gemini/429_resource_exhausted.json", "proxy/524_cloudflare.html"};
  unsigned seed = 12345;
  auto next = [&seed] { return seed = seed * 1103515245u + 12345u; };
  for (const char* file : files) {
    const std::string full = Recorded(file);
    for (std::size_t keep = 0; keep <= full.size(); keep += 7) {
      std::string body = full.substr(0, keep);
      if (!body.empty() && keep % 2) body[next() % body.size()] = static_cast<char>(next() >> 8);
      for (const Kind kind : {Kind::kOpenAI, Kind::kAnthropic, Kind::kGemini}) {
        for (const long status : {200L, 429L, 529L}) {
          ChatResponse r;
          ASSERT_NO_THROW(r = Parse(kind, status, body, "Wed, 21 Oct 2015 07:29:00 GMT"));
          EXPECT_LE(r.error.size(), 500u);
          EXPECT_TRUE(IsValidUtf8(r.error)) << r.error;
          EXPECT_EQ(r.error.find('\0'), std::string::npos);
          EXPECT_EQ(r.output.find('\0'), std::string::npos);
          EXPECT_EQ(r.outcome == Outcome::kOk, r.error.empty()) << file << " " << keep;
          EXPECT_EQ(r.retry_after_ms, 60000);
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Redaction

TEST(ProviderRedact, RemovesEchoedKey) {
  const std::string key = "sk-live-4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c";
  const ChatResponse r = Parse(Kind::kOpenAI, 401, Recorded("openai/401_compatible_echoes_key.json"));
  EXPECT_EQ(r.outcome, Outcome::kFail);
  ASSERT_NE(r.error.find(key), std::string::npos);  // the server did echo it
  const std::string redacted = Redact(r.error, key);
  EXPECT_EQ(redacted,
            "HTTP 401: Authentication failed: API key '[redacted]' is not valid for this "
            "deployment");

  EXPECT_EQ(Redact("a KEY b KEYKEY", "KEY"), "a [redacted] b [redacted][redacted]");
  EXPECT_EQ(Redact("nothing here", "KEY"), "nothing here");
  EXPECT_EQ(Redact("text", ""), "text");
  EXPECT_EQ(Redact("", "KEY"), "");
  // A key read with a trailing newline still matches what servers echo.
  EXPECT_EQ(Redact("bad key sk-123456789", "sk-123456789\n"), "bad key [redacted]");
  // The key as escaped inside a raw JSON excerpt.
  EXPECT_EQ(Redact(R"(HTTP 400: {"key":"ab\"cd\\ef"})", "ab\"cd\\ef"),
            R"(HTTP 400: {"key":"[redacted]"})");
}

TEST(ProviderRedact, KeyCutByTheLengthLimit) {
  const std::string key = "sk-proj-ZZZZ0123456789abcdefghijklmnopqrstuvwxyz";
  // The key echoed near the end of a long message: the 500-byte limit cuts it.
  for (std::size_t pad = 440; pad < 500; pad += 3) {
    const json body = {{"error", {{"message", std::string(pad, 'm') + " " + key + " tail"}}}};
    const ChatResponse r = Parse(Kind::kOpenAI, 401, body.dump());
    const std::string redacted = Redact(r.error, key);
    for (std::size_t len = 8; len <= key.size(); ++len) {
      EXPECT_EQ(redacted.find(key.substr(0, len)), std::string::npos)
          << "pad " << pad << ": " << redacted;
    }
  }
}

// ---------------------------------------------------------------------------
// Retry-After

TEST(RetryAfter, DeltaSeconds) {
  EXPECT_EQ(ParseRetryAfter("120", 0), 120000);
  EXPECT_EQ(ParseRetryAfter(" 0 ", 0), 0);
  EXPECT_EQ(ParseRetryAfter("1.5", 0), 1500);  // not RFC, but servers send it
  EXPECT_EQ(ParseRetryAfter("0.25", 0), 250);
  EXPECT_EQ(ParseRetryAfter("-3", 0), 0);
  EXPECT_EQ(ParseRetryAfter("86400", 0), 86400000);
  // Huge values saturate instead of overflowing.
  const std::optional<int64_t> huge = ParseRetryAfter("99999999999999999999999999", 0);
  ASSERT_TRUE(huge);
  EXPECT_GT(*huge, int64_t{1} << 60);
}

TEST(RetryAfter, HttpDate) {
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", kOct21 - 120), 120000);
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", kOct21), 0);
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", kOct21 + 3600), 0);  // past
  EXPECT_EQ(ParseRetryAfter("Thu, 22 Oct 2015 07:28:00 GMT", kOct21), 86400000);
  // The obsolete forms RFC 9110 requires recipients to accept.
  EXPECT_EQ(ParseRetryAfter("Wednesday, 21-Oct-15 07:28:30 GMT", kOct21), 30000);
  EXPECT_EQ(ParseRetryAfter("Wed Oct 21 07:28:09 2015", kOct21), 9000);
  EXPECT_EQ(ParseRetryAfter("Wed Oct  1 00:00:00 2015", kOct21 - 30 * 86400), 10 * 86400000LL - 7 * 3600000LL - 28 * 60000LL);
  // Leap years, the end of the year; day names are not cross-checked.
  EXPECT_EQ(ParseRetryAfter("Thu, 29 Feb 2024 00:00:00 GMT", 1709164800 - 1), 1000);
  EXPECT_EQ(ParseRetryAfter("Fri, 01 Jan 2038 00:00:10 GMT", 2145916800), 10000);
  EXPECT_EQ(ParseRetryAfter("sun, 06 nov 1994 08:49:37 gmt", 784111777 - 2), 2000);
}

TEST(RetryAfter, IndependentOfTimeZone) {
  const char* old = std::getenv("TZ");
  const std::string saved = old ? old : "";
  setenv("TZ", "America/Los_Angeles", 1);
  tzset();
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", kOct21 - 5), 5000);
  if (old) {
    setenv("TZ", saved.c_str(), 1);
  } else {
    unsetenv("TZ");
  }
  tzset();
}

TEST(RetryAfter, GarbageIsNullopt) {
  for (const char* v :
       {"", "   ", "soon", "12abc", "1.", "1.2.3", "0x10", "Wed, 21 Oct 2015", "Wed, 32 Oct 2015 07:28:00 GMT",
        "Wed, 29 Feb 2015 07:28:00 GMT", "Wed, 21 Foo 2015 07:28:00 GMT",
        "Wed, 21 Oct 2015 25:28:00 GMT", "Wed, 21 Oct 2015 07:28:00 PST",
        "Wed, 21 Oct 2015 07:28:00 GMT extra", "21 Oct 2015 07:28:00 GMT", "--5", "+"}) {
    EXPECT_FALSE(ParseRetryAfter(v, kOct21)) << v;
  }
}

// ---------------------------------------------------------------------------
// Backoff

TEST(Backoff, CapsDoubleUpToTheMaximum) {
  // unit_random just below 1 gives cap - 1: the caps are visible.
  const double almost_one = std::nextafter(1.0, 0.0);
  EXPECT_EQ(BackoffMs(1, almost_one, std::nullopt), 499);
  EXPECT_EQ(BackoffMs(2, almost_one, std::nullopt), 999);
  EXPECT_EQ(BackoffMs(3, almost_one, std::nullopt), 1999);
  EXPECT_EQ(BackoffMs(7, almost_one, std::nullopt), 31999);
  EXPECT_EQ(BackoffMs(8, almost_one, std::nullopt), 59999);  // 64000 capped at 60000
  int64_t previous = 0;
  for (int attempt = 1; attempt <= 200; ++attempt) {
    const int64_t d = BackoffMs(attempt, almost_one, std::nullopt, 100, 45000);
    EXPECT_GE(d, previous) << attempt;
    EXPECT_LT(d, 45000);
    previous = d;
  }
  EXPECT_EQ(previous, 44999);
}

TEST(Backoff, FullJitter) {
  EXPECT_EQ(BackoffMs(5, 0.0, std::nullopt), 0);
  EXPECT_EQ(BackoffMs(5, 0.5, std::nullopt), 4000);
  EXPECT_EQ(BackoffMs(5, 0.25, std::nullopt, 1000, 10000), 2500);
  for (int attempt = 1; attempt <= 12; ++attempt) {
    const int64_t cap = std::min<int64_t>(60000, int64_t{500} << (attempt - 1));
    for (int i = 0; i <= 100; ++i) {
      const int64_t d = BackoffMs(attempt, i / 101.0, std::nullopt);
      EXPECT_GE(d, 0);
      EXPECT_LE(d, cap);
    }
  }
  // Out-of-contract inputs stay in bounds.
  EXPECT_EQ(BackoffMs(1, std::nan(""), std::nullopt), 0);
  EXPECT_EQ(BackoffMs(1, -1.0, std::nullopt), 0);
  EXPECT_EQ(BackoffMs(1, 7.0, std::nullopt), 500);
  EXPECT_EQ(BackoffMs(0, 0.5, std::nullopt), 250);  // attempt < 1 counts as 1
  EXPECT_EQ(BackoffMs(-5, 0.5, std::nullopt), 250);
}

TEST(Backoff, RetryAfterIsAFloor) {
  EXPECT_EQ(BackoffMs(1, 0.5, 20000), 20000);
  EXPECT_EQ(BackoffMs(10, 0.5, 1000), 30000);  // jitter above it wins
  EXPECT_EQ(BackoffMs(1, 0.0, 0), 0);
  // Honoured exactly even beyond max_ms: the caller bounds leases.
  EXPECT_EQ(BackoffMs(1, 0.5, 3600000), 3600000);
  EXPECT_EQ(BackoffMs(3, 0.9, std::numeric_limits<int64_t>::max()),
            std::numeric_limits<int64_t>::max());
  EXPECT_EQ(BackoffMs(3, 0.5, -10), 1000);  // negative is no floor
}

TEST(Backoff, NoOverflow) {
  for (const int attempt : {31, 32, 62, 63, 64, 100, 1000, std::numeric_limits<int>::max()}) {
    EXPECT_EQ(BackoffMs(attempt, 0.5, std::nullopt), 30000) << attempt;
    const int64_t big = std::numeric_limits<int64_t>::max();
    const int64_t d = BackoffMs(attempt, 0.999, std::nullopt, big / 3, big);
    EXPECT_GE(d, 0);
    EXPECT_LE(d, big);
  }
  EXPECT_EQ(BackoffMs(100, 0.5, std::nullopt, 0, 60000), 0);
  EXPECT_EQ(BackoffMs(100, 0.5, std::nullopt, 500, 0), 0);
}

}  // namespace
}  // namespace llmeval::core::provider
