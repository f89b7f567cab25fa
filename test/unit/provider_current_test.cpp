// The providers as they are today: OpenAI's output-limit parameter and its
// reasoning models' refusals, the Responses API, prompt-cache and reasoning
// usage, Anthropic's cache breakpoints and thinking, Gemini's thinkingConfig.
// Bodies under test/unit/recorded/ (see the README there).
#include <gtest/gtest.h>

#include <string>

#include "core/provider/chat.hpp"
#include "core/provider/refusal.hpp"
#include "recorded.hpp"

namespace llmeval::core::provider {
namespace {

using nlohmann::json;

using llmeval::test::Recorded;

ChatRequest Judge() {
  ChatRequest r;
  r.model = "gpt-5-mini";
  r.system = "You are a careful evaluator.";
  r.prompt = "Evaluate.\n\n<criteria>\nBe right.\n</criteria>\n\n<answer>\nParis\n</answer>";
  r.params = {{"temperature", 0}, {"max_tokens", 512}, {"logprobs", true}, {"top_logprobs", 5}};
  return r;
}

json Body(Kind kind, std::string_view base, const ChatRequest& r) {
  return json::parse(BuildChatRequest(kind, base, "k", r).body);
}

ChatResponse Parse(Kind kind, long status, const std::string& body,
                   OpenAIApi api = OpenAIApi::kChatCompletions) {
  return ParseChatResponse(kind, status, body, "", 0, api);
}

// ---------------------------------------------------------------------------
// OpenAI's output limit

TEST(OpenAIMaxTokens, CompletionTokensToOpenAIMaxTokensElsewhere) {
  const json openai = Body(Kind::kOpenAI, "https://api.openai.com/v1", Judge());
  EXPECT_EQ(openai["max_completion_tokens"], 512);
  EXPECT_FALSE(openai.contains("max_tokens"));
  // An older OpenAI-compatible server knows only max_tokens.
  const json local = Body(Kind::kOpenAI, "http://127.0.0.1:8000/v1", Judge());
  EXPECT_EQ(local["max_tokens"], 512);
  EXPECT_FALSE(local.contains("max_completion_tokens"));
}

TEST(OpenAIMaxTokens, OptionChoosesTheName) {
  ChatRequest r = Judge();
  r.max_tokens_param = "max_completion_tokens";
  EXPECT_EQ(Body(Kind::kOpenAI, "http://vllm:8000/v1", r)["max_completion_tokens"], 512);
  r.max_tokens_param = "max_tokens";
  EXPECT_EQ(Body(Kind::kOpenAI, "https://api.openai.com/v1", r)["max_tokens"], 512);
  // Either name in params is the same limit.
  ChatRequest c = Judge();
  c.params.erase("max_tokens");
  c.params["max_completion_tokens"] = 100;
  const json local = Body(Kind::kOpenAI, "http://vllm:8000/v1", c);
  EXPECT_EQ(local["max_tokens"], 100);
  EXPECT_FALSE(local.contains("max_completion_tokens"));
}

TEST(OpenAIMaxTokens, ARefusedNameSwitchesToTheOther) {
  ChatRequest r = Judge();
  r.refused_params = {"max_tokens"};
  EXPECT_EQ(Body(Kind::kOpenAI, "http://vllm:8000/v1", r)["max_completion_tokens"], 512);
  r.refused_params = {"max_completion_tokens"};
  EXPECT_EQ(Body(Kind::kOpenAI, "https://api.openai.com/v1", r)["max_tokens"], 512);
}

// ---------------------------------------------------------------------------
// Reasoning models

TEST(OpenAIReasoning, OptionDropsSamplingAndLogprobs) {
  ChatRequest r = Judge();
  r.params["top_p"] = 0.9;
  r.params["presence_penalty"] = 0.1;
  r.params["reasoning_effort"] = "low";
  r.reasoning = true;
  const json body = Body(Kind::kOpenAI, "https://api.openai.com/v1", r);
  for (const char* gone : {"temperature", "top_p", "logprobs", "top_logprobs", "presence_penalty"})
    EXPECT_FALSE(body.contains(gone)) << gone;
  EXPECT_EQ(body["reasoning_effort"], "low");
  EXPECT_EQ(body["max_completion_tokens"], 512);
  // The other APIs' reasoning parameters are not OpenAI's.
  ChatRequest mixed = Judge();
  mixed.params["thinking"] = {{"type", "enabled"}, {"budget_tokens", 2048}};
  mixed.params["thinkingConfig"] = {{"thinkingBudget", 0}};
  const json openai = Body(Kind::kOpenAI, "https://api.openai.com/v1", mixed);
  EXPECT_FALSE(openai.contains("thinking"));
  EXPECT_FALSE(openai.contains("thinkingConfig"));
}

TEST(OpenAIReasoning, RefusedParamsAreDropped) {
  ChatRequest r = Judge();
  r.refused_params = {"logprobs"};
  json body = Body(Kind::kOpenAI, "https://api.openai.com/v1", r);
  // top_logprobs cannot go without logprobs.
  EXPECT_FALSE(body.contains("logprobs"));
  EXPECT_FALSE(body.contains("top_logprobs"));
  EXPECT_EQ(body["temperature"], 0);
  r.refused_params.push_back("temperature");
  body = Body(Kind::kOpenAI, "https://api.openai.com/v1", r);
  EXPECT_FALSE(body.contains("temperature"));
}

TEST(OpenAIReasoning, RecordedRefusalsNameTheParameter) {
  EXPECT_EQ(RefusedParameter(400, Recorded("openai/400_unsupported_max_tokens.json")), "max_tokens");
  EXPECT_EQ(RefusedParameter(400, Recorded("openai/400_unsupported_temperature.json")), "temperature");
  EXPECT_EQ(RefusedParameter(400, Recorded("openai/400_unsupported_logprobs.json")), "logprobs");
  // A value out of range is the caller's error, not the model's refusal.
  EXPECT_EQ(RefusedParameter(400, Recorded("openai/400_bad_parameter.json")), "");
  EXPECT_EQ(RefusedParameter(429, Recorded("openai/400_unsupported_logprobs.json")), "");
  EXPECT_EQ(RefusedParameter(400, "not json"), "");
  // A parameter that cannot be dropped without changing what is asked.
  EXPECT_EQ(RefusedParameter(400, R"({"error":{"message":"x","type":"invalid_request_error",
                                       "param":"messages","code":"unsupported_parameter"}})"),
            "");
  // The 400 itself fails the call with the provider's message.
  const ChatResponse r = Parse(Kind::kOpenAI, 400, Recorded("openai/400_unsupported_max_tokens.json"));
  EXPECT_EQ(r.outcome, Outcome::kFail);
  EXPECT_NE(r.error.find("Use 'max_completion_tokens' instead"), std::string::npos) << r.error;
}

// ---------------------------------------------------------------------------
// Usage

TEST(Usage, OpenAICachedAndReasoningTokens) {
  const ChatResponse r = Parse(Kind::kOpenAI, 200, Recorded("openai/200_cached_reasoning.json"));
  ASSERT_EQ(r.outcome, Outcome::kOk) << r.error;
  EXPECT_EQ(r.input_tokens, 2006);        // cached ones included
  EXPECT_EQ(r.cached_input_tokens, 1920);
  EXPECT_EQ(r.cache_write_tokens, std::nullopt);
  EXPECT_EQ(r.output_tokens, 300);        // reasoning ones included
  EXPECT_EQ(r.reasoning_tokens, 192);
}

TEST(Usage, AnthropicCacheReadsAndWritesJoinTheInput) {
  // Anthropic's input_tokens counts neither: all three are input.
  const ChatResponse read = Parse(Kind::kAnthropic, 200, Recorded("anthropic/200_cache_usage.json"));
  ASSERT_EQ(read.outcome, Outcome::kOk) << read.error;
  EXPECT_EQ(read.output, "{\"score\": 5, \"reason\": \"Correct.\"}");
  EXPECT_EQ(read.input_tokens, 112 + 2048);
  EXPECT_EQ(read.cached_input_tokens, 2048);
  EXPECT_EQ(read.cache_write_tokens, 0);
  EXPECT_EQ(read.output_tokens, 350);     // thinking included, not counted apart
  EXPECT_EQ(read.reasoning_tokens, std::nullopt);
  const ChatResponse write = Parse(Kind::kAnthropic, 200, Recorded("anthropic/200_cache_write.json"));
  EXPECT_EQ(write.input_tokens, 98 + 2048);
  EXPECT_EQ(write.cached_input_tokens, 0);
  EXPECT_EQ(write.cache_write_tokens, 2048);
  // Without cache fields, the old shape reads as before.
  const ChatResponse plain = Parse(Kind::kAnthropic, 200, R"({"content":[{"type":"text","text":"x"}],
      "usage":{"input_tokens":21,"output_tokens":10}})");
  EXPECT_EQ(plain.input_tokens, 21);
  EXPECT_EQ(plain.cached_input_tokens, std::nullopt);
}

TEST(Usage, GeminiCachedContentAndThoughts) {
  const ChatResponse r = Parse(Kind::kGemini, 200, Recorded("gemini/200_cached_thoughts.json"));
  ASSERT_EQ(r.outcome, Outcome::kOk) << r.error;
  EXPECT_EQ(r.input_tokens, 2310);        // promptTokenCount includes the cached content
  EXPECT_EQ(r.cached_input_tokens, 2048);
  EXPECT_EQ(r.output_tokens, 18 + 200);   // thoughts billed as output
  EXPECT_EQ(r.reasoning_tokens, 200);
  // Gemini leaves zero counts out: with usage reported, they are 0.
  const ChatResponse plain = Parse(Kind::kGemini, 200, Recorded("gemini/200_success.json"));
  EXPECT_EQ(plain.cached_input_tokens, 0);
  EXPECT_EQ(plain.reasoning_tokens, 0);
  const ChatResponse no_usage = Parse(Kind::kGemini, 200, R"({"candidates":[{"content":{"parts":[{"text":"x"}]}}]})");
  EXPECT_EQ(no_usage.cached_input_tokens, std::nullopt);
}

// ---------------------------------------------------------------------------
// The Responses API

TEST(ResponsesApi, Request) {
  ChatRequest r = Judge();
  r.api = OpenAIApi::kResponses;
  r.params["reasoning_effort"] = "low";
  r.params["stop"] = "END";
  r.params["seed"] = 3;
  r.params["text"] = {{"verbosity", "low"}};
  const HttpRequest http = BuildChatRequest(Kind::kOpenAI, "https://api.openai.com/v1", "sk-x", r);
  EXPECT_EQ(http.url, "https://api.openai.com/v1/responses");
  const json body = json::parse(http.body);
  const json expected = {
      {"model", "gpt-5-mini"},
      {"instructions", "You are a careful evaluator."},
      {"input", {{{"role", "user"}, {"content", r.prompt}}}},
      {"max_output_tokens", 512},
      {"temperature", 0},
      {"reasoning", {{"effort", "low"}}},
      {"text", {{"verbosity", "low"}}},
      {"store", false}};
  EXPECT_EQ(body, expected);

  r.reasoning = true;
  const json reasoning = Body(Kind::kOpenAI, "https://api.openai.com/v1", r);
  EXPECT_FALSE(reasoning.contains("temperature"));
  EXPECT_EQ(reasoning["max_output_tokens"], 512);
}

TEST(ResponsesApi, OutputTextAndUsage) {
  const ChatResponse r = Parse(Kind::kOpenAI, 200, Recorded("openai/responses_200_success.json"),
                               OpenAIApi::kResponses);
  ASSERT_EQ(r.outcome, Outcome::kOk) << r.error;
  EXPECT_EQ(r.output, "Paris is the capital of France.");
  EXPECT_EQ(r.input_tokens, 1536);
  EXPECT_EQ(r.cached_input_tokens, 1280);
  EXPECT_EQ(r.output_tokens, 210);
  EXPECT_EQ(r.reasoning_tokens, 192);
}

TEST(ResponsesApi, RefusalIncompleteAndFailed) {
  const ChatResponse refusal = Parse(Kind::kOpenAI, 200, Recorded("openai/responses_200_refusal.json"),
                                     OpenAIApi::kResponses);
  EXPECT_EQ(refusal.outcome, Outcome::kFail);
  EXPECT_EQ(refusal.error, "refusal: I'm sorry, but I can't help with that.");
  EXPECT_EQ(refusal.input_tokens, 25);  // billed all the same

  // The limit spent on reasoning: an empty answer, as a retry would give.
  const ChatResponse cut = Parse(Kind::kOpenAI, 200, Recorded("openai/responses_200_incomplete.json"),
                                 OpenAIApi::kResponses);
  EXPECT_EQ(cut.outcome, Outcome::kOk) << cut.error;
  EXPECT_EQ(cut.output, "");
  EXPECT_EQ(cut.reasoning_tokens, 64);

  const ChatResponse filtered = Parse(Kind::kOpenAI, 200,
                                      Recorded("openai/responses_200_content_filter.json"),
                                      OpenAIApi::kResponses);
  EXPECT_EQ(filtered.outcome, Outcome::kFail);
  EXPECT_EQ(filtered.error, "content filtered (incomplete_details content_filter)");

  const ChatResponse failed = Parse(Kind::kOpenAI, 200, Recorded("openai/responses_200_failed.json"),
                                    OpenAIApi::kResponses);
  EXPECT_EQ(failed.outcome, Outcome::kRetry);
  EXPECT_EQ(failed.error, "response failed: server_error: The model failed to generate a response.");

  // Errors come in the chat completions' envelope.
  const ChatResponse bad = Parse(Kind::kOpenAI, 400, Recorded("openai/400_unsupported_temperature.json"),
                                 OpenAIApi::kResponses);
  EXPECT_EQ(bad.outcome, Outcome::kFail);
  EXPECT_NE(bad.error.find("Only the default (1) value is supported"), std::string::npos) << bad.error;

  // A chat completion read as a response is malformed, not an empty answer.
  const ChatResponse wrong = Parse(Kind::kOpenAI, 200, Recorded("openai/200_success.json"),
                                   OpenAIApi::kResponses);
  EXPECT_EQ(wrong.outcome, Outcome::kRetry);
}

TEST(ResponsesApi, CutAndCorruptedRecordingsNeverThrow) {
  const char* files[] = {"openai/responses_200_success.json", "openai/responses_200_refusal.json",
                         "openai/responses_200_failed.json", "openai/200_cached_reasoning.json"};
  unsigned seed = 777;
  auto next = [&seed] { return seed = seed * 1103515245u + 12345u; };
  for (const char* file : files) {
    const std::string full = Recorded(file);
    for (std::size_t keep = 0; keep <= full.size(); keep += 5) {
      std::string body = full.substr(0, keep);
      if (!body.empty() && keep % 2) body[next() % body.size()] = static_cast<char>(next() >> 8);
      ChatResponse r;
      ASSERT_NO_THROW(r = Parse(Kind::kOpenAI, 200, body, OpenAIApi::kResponses));
      EXPECT_LE(r.error.size(), 500u);
      EXPECT_EQ(r.output.find('\0'), std::string::npos);
      EXPECT_EQ(r.outcome == Outcome::kOk, r.error.empty()) << file << " " << keep;
      ASSERT_NO_THROW(RefusedParameter(400, body));
    }
  }
}

// ---------------------------------------------------------------------------
// Anthropic and Gemini

TEST(AnthropicCache, SystemAndPromptPrefixMarkedCacheable) {
  ChatRequest r = Judge();
  r.cacheable_prompt_bytes = r.prompt.find("<answer>");
  const json body = Body(Kind::kAnthropic, "https://api.anthropic.com", r);
  const json ephemeral = {{"type", "ephemeral"}};
  EXPECT_EQ(body["system"],
            json::array({{{"type", "text"}, {"text", r.system}, {"cache_control", ephemeral}}}));
  EXPECT_EQ(body["messages"][0]["content"],
            json::array({{{"type", "text"},
                          {"text", r.prompt.substr(0, r.cacheable_prompt_bytes)},
                          {"cache_control", ephemeral}},
                         {{"type", "text"}, {"text", r.prompt.substr(r.cacheable_prompt_bytes)}}}));
  // Nothing marked: the plain shapes.
  r.cacheable_prompt_bytes = 0;
  const json plain = Body(Kind::kAnthropic, "https://api.anthropic.com", r);
  EXPECT_EQ(plain["system"], r.system);
  EXPECT_EQ(plain["messages"][0]["content"], r.prompt);
}

TEST(AnthropicThinking, BudgetPassesSamplingDropsLimitCoversIt) {
  ChatRequest r = Judge();
  r.params["thinking"] = {{"type", "enabled"}, {"budget_tokens", 2048}};
  r.params["top_k"] = 5;
  const json body = Body(Kind::kAnthropic, "https://api.anthropic.com", r);
  EXPECT_EQ(body["thinking"], r.params["thinking"]);
  // Thinking takes no temperature or top_k; the budget must stay below
  // max_tokens, which counts the thinking too.
  EXPECT_FALSE(body.contains("temperature"));
  EXPECT_FALSE(body.contains("top_k"));
  EXPECT_EQ(body["max_tokens"], 2048 + 512);
  r.params["max_tokens"] = 8000;
  EXPECT_EQ(Body(Kind::kAnthropic, "https://api.anthropic.com", r)["max_tokens"], 8000);
}

TEST(GeminiThinking, ThinkingConfigPasses) {
  ChatRequest r = Judge();
  r.params["thinkingConfig"] = {{"thinkingBudget", 1024}, {"includeThoughts", false}};
  const json body = Body(Kind::kGemini, "https://generativelanguage.googleapis.com", r);
  EXPECT_EQ(body["generationConfig"]["thinkingConfig"], r.params["thinkingConfig"]);
  EXPECT_EQ(body["generationConfig"]["maxOutputTokens"], 512);
}

}  // namespace
}  // namespace llmeval::core::provider
