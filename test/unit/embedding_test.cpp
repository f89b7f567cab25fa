#include "core/provider/embedding.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "recorded.hpp"

namespace llmeval::core::provider {
namespace {

using nlohmann::json;

// Provider error responses recorded for the chat tests: the embeddings
// endpoints of the same APIs answer errors alike.
using llmeval::test::Recorded;

constexpr int64_t kNow = 1445412480;  // 2015-10-21 07:28:00 UTC

const std::vector<std::string> kTexts = {"The cat sat.", "Le chat était assis."};

EmbeddingResponse Parse(Kind kind, long status, const std::string& body, std::size_t expected = 2,
                        std::string_view retry_after = "") {
  return ParseEmbeddingResponse(kind, status, body, retry_after, kNow, expected);
}

bool HasHeader(const HttpRequest& r, const std::string& h) {
  return std::find(r.headers.begin(), r.headers.end(), h) != r.headers.end();
}

// ---------------------------------------------------------------------------
// Requests

TEST(EmbeddingRequestOpenAI, UrlHeadersAndBody) {
  const HttpRequest r = BuildEmbeddingRequest(Kind::kOpenAI, "https://api.openai.com/v1",
                                              "sk-abc", "text-embedding-3-small", kTexts);
  EXPECT_EQ(r.url, "https://api.openai.com/v1/embeddings");
  EXPECT_EQ(r.headers, (std::vector<std::string>{"Content-Type: application/json",
                                                 "Authorization: Bearer sk-abc"}));
  EXPECT_EQ(
      r.body,
      R"({"input":["The cat sat.","Le chat était assis."],"model":"text-embedding-3-small"})");
}

TEST(EmbeddingRequestOpenAI, BaseUrlForms) {
  auto url = [](const char* base) {
    return BuildEmbeddingRequest(Kind::kOpenAI, base, "k", "m", kTexts).url;
  };
  EXPECT_EQ(url("https://api.openai.com/v1/"), "https://api.openai.com/v1/embeddings");
  EXPECT_EQ(url("http://localhost:11434/v1"), "http://localhost:11434/v1/embeddings");
  EXPECT_EQ(url("https://api.voyageai.com/v1/embeddings"),
            "https://api.voyageai.com/v1/embeddings");
  EXPECT_EQ(
      url("https://res.openai.azure.com/openai/deployments/emb?api-version=2024-10-21"),
      "https://res.openai.azure.com/openai/deployments/emb/embeddings?api-version=2024-10-21");
}

TEST(EmbeddingRequestOpenAI, Authentication) {
  const HttpRequest azure = BuildEmbeddingRequest(
      Kind::kOpenAI, "https://res.openai.azure.com/openai/deployments/emb?api-version=x", "az",
      "emb", kTexts);
  EXPECT_TRUE(HasHeader(azure, "api-key: az"));
  EXPECT_EQ(azure.headers.size(), 2u);
  const HttpRequest anonymous =
      BuildEmbeddingRequest(Kind::kOpenAI, "http://localhost:8000/v1", "", "m", kTexts);
  EXPECT_EQ(anonymous.headers, std::vector<std::string>{"Content-Type: application/json"});
}

TEST(EmbeddingRequestGemini, UrlHeadersAndBody) {
  const HttpRequest r =
      BuildEmbeddingRequest(Kind::kGemini, "https://generativelanguage.googleapis.com", "AIza-k",
                            "text-embedding-004", kTexts);
  EXPECT_EQ(r.url,
            "https://generativelanguage.googleapis.com/v1beta/models/"
            "text-embedding-004:batchEmbedContents");
  EXPECT_EQ(r.headers, (std::vector<std::string>{"Content-Type: application/json",
                                                 "x-goog-api-key: AIza-k"}));
  const json expected = {
      {"requests",
       {{{"model", "models/text-embedding-004"},
         {"content", {{"parts", {{{"text", "The cat sat."}}}}}}},
        {{"model", "models/text-embedding-004"},
         {"content", {{"parts", {{{"text", "Le chat était assis."}}}}}}}}}};
  EXPECT_EQ(json::parse(r.body), expected);

  // A full resource name is not prefixed again; a versioned base is kept.
  const HttpRequest named =
      BuildEmbeddingRequest(Kind::kGemini, "https://generativelanguage.googleapis.com/v1beta/", "",
                            "models/embedding-001", {"x"});
  EXPECT_EQ(named.url,
            "https://generativelanguage.googleapis.com/v1beta/models/"
            "embedding-001:batchEmbedContents");
  EXPECT_EQ(json::parse(named.body)["requests"][0]["model"], "models/embedding-001");
  EXPECT_EQ(named.headers, std::vector<std::string>{"Content-Type: application/json"});
}

TEST(EmbeddingRequest, KeyNeverInUrlOrBody) {
  for (const Kind kind : {Kind::kOpenAI, Kind::kGemini}) {
    const HttpRequest r = BuildEmbeddingRequest(kind, "https://x/v1", "SECRET-123", "m", kTexts);
    EXPECT_EQ(r.url.find("SECRET"), std::string::npos);
    EXPECT_EQ(r.body.find("SECRET"), std::string::npos);
  }
}

TEST(EmbeddingRequest, Refusals) {
  try {
    BuildEmbeddingRequest(Kind::kAnthropic, "https://api.anthropic.com", "k", "m", kTexts);
    FAIL() << "anthropic has no embeddings API";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidParameterValue);
    EXPECT_EQ(std::string(e.what()), "anthropic providers have no embeddings API");
    EXPECT_NE(e.hint().find("Voyage AI"), std::string::npos);
  }
  try {
    BuildEmbeddingRequest(Kind::kOpenAI, "https://x/v1", "k", "m", {});
    FAIL() << "no texts";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidParameterValue);
    EXPECT_EQ(std::string(e.what()), "no texts to embed");
  }
  EXPECT_THROW(BuildEmbeddingRequest(Kind::kGemini, "https://x", "key\n", "m", kTexts), Error);
}

// ---------------------------------------------------------------------------
// Responses

const char* kOpenAIOk = R"({
  "object": "list",
  "data": [
    {"object": "embedding", "index": 0, "embedding": [0.0023, -0.0093, 0.5]},
    {"object": "embedding", "index": 1, "embedding": [1, 2e-3, -3]}
  ],
  "model": "text-embedding-3-small",
  "usage": {"prompt_tokens": 11, "total_tokens": 11}
})";

TEST(EmbeddingResponseOpenAI, Success) {
  const EmbeddingResponse r = Parse(Kind::kOpenAI, 200, kOpenAIOk);
  EXPECT_EQ(r.outcome, Outcome::kOk);
  EXPECT_EQ(r.error, "");
  ASSERT_EQ(r.vectors.size(), 2u);
  EXPECT_EQ(r.vectors[0], (std::vector<double>{0.0023, -0.0093, 0.5}));
  EXPECT_EQ(r.vectors[1], (std::vector<double>{1, 0.002, -3}));
  EXPECT_EQ(r.input_tokens, 11);
  EXPECT_FALSE(r.retry_after_ms);
}

TEST(EmbeddingResponseOpenAI, SortedByIndex) {
  const EmbeddingResponse r = Parse(Kind::kOpenAI, 200, R"({"data": [
      {"index": 2, "embedding": [3, 3]}, {"index": 0, "embedding": [1, 1]},
      {"index": 1, "embedding": [2, 2]}]})",
                                    3);
  ASSERT_EQ(r.outcome, Outcome::kOk) << r.error;
  EXPECT_EQ(r.vectors, (std::vector<std::vector<double>>{{1, 1}, {2, 2}, {3, 3}}));
  EXPECT_FALSE(r.input_tokens);

  // Without indexes (some compatible servers), the order is the data's.
  const EmbeddingResponse plain =
      Parse(Kind::kOpenAI, 200, R"({"data": [{"embedding": [5]}, {"embedding": [6]}]})");
  ASSERT_EQ(plain.outcome, Outcome::kOk) << plain.error;
  EXPECT_EQ(plain.vectors, (std::vector<std::vector<double>>{{5}, {6}}));
}

TEST(EmbeddingResponseOpenAI, MalformedBodiesRetry) {
  struct Case {
    const char* body;
    std::size_t expected;
    const char* error;
  };
  const Case cases[] = {
      {R"({"data": [{"index": 0, "embedding": [1]}]})", 2,
       "malformed response body: 1 embeddings for 2 texts"},
      {R"({"data": [{"index": 0, "embedding": [1]}, {"index": 1, "embedding": [2]}]})", 1,
       "malformed response body: 2 embeddings for 1 texts"},
      {R"({"data": [{"index": 0, "embedding": [1]}, {"index": 0, "embedding": [2]}]})", 2,
       "malformed response body: data[1].index 0 is repeated"},
      {R"({"data": [{"index": 0, "embedding": [1]}, {"index": 2, "embedding": [2]}]})", 2,
       "malformed response body: data[1].index is not an index of the 2 texts"},
      {R"({"data": [{"index": -1, "embedding": [1]}, {"index": 0, "embedding": [2]}]})", 2,
       "malformed response body: data[0].index is not an index of the 2 texts"},
      {R"({"data": [{"index": "0", "embedding": [1]}, {"index": 1, "embedding": [2]}]})", 2,
       "malformed response body: data[0].index is not an index of the 2 texts"},
      {R"({"data": [{"index": 0, "embedding": [1, "x"]}, {"index": 1, "embedding": [2, 2]}]})", 2,
       "malformed response body: data[0].embedding[1] is not a number"},
      {R"({"data": [{"index": 0, "embedding": [1, null]}, {"index": 1, "embedding": [2, 2]}]})", 2,
       "malformed response body: data[0].embedding[1] is not a number"},
      {R"({"data": [{"index": 0, "embedding": "AACAPwAAAEA="}, {"index": 1, "embedding": [2]}]})",
       2, "malformed response body: data[0].embedding is not an array"},
      {R"({"data": [{"index": 0, "embedding": []}, {"index": 1, "embedding": [2]}]})", 2,
       "malformed response body: data[0].embedding is empty"},
      {R"({"data": [{"index": 0}, {"index": 1, "embedding": [2]}]})", 2,
       "malformed response body: data[0].embedding is not an array"},
      {R"({"data": [{"index": 0, "embedding": [1, 2]}, {"index": 1, "embedding": [2]}]})", 2,
       "malformed response body: embedding 1 has 1 dimensions, embedding 0 2"},
      {R"({"object": "list"})", 2, "malformed response body: no data"},
      {R"({"error": {"message": "upstream timed out"}})", 2,
       "malformed response body: error: upstream timed out"},
      {R"([1, 2])", 2, "malformed response body: not a JSON object: [1, 2]"},
      // nlohmann refuses a number beyond double's range.
      {R"({"data": [{"index": 0, "embedding": [1e999]}]})", 1,
       R"(malformed response body: not JSON: {"data": [{"index": 0, "embedding": [1e999]}]})"},
  };
  for (const Case& c : cases) {
    const EmbeddingResponse r = Parse(Kind::kOpenAI, 200, c.body, c.expected);
    EXPECT_EQ(r.outcome, Outcome::kRetry) << c.body;
    EXPECT_EQ(r.error, c.error) << c.body;
    EXPECT_TRUE(r.vectors.empty()) << c.body;
  }
}

TEST(EmbeddingResponseGemini, Success) {
  const EmbeddingResponse r = Parse(Kind::kGemini, 200, R"({
    "embeddings": [{"values": [0.013, -0.008, 0.25]}, {"values": [-0.02, 0.0, 1]}]
  })");
  ASSERT_EQ(r.outcome, Outcome::kOk) << r.error;
  EXPECT_EQ(r.vectors, (std::vector<std::vector<double>>{{0.013, -0.008, 0.25}, {-0.02, 0, 1}}));
  EXPECT_FALSE(r.input_tokens);
}

TEST(EmbeddingResponseGemini, MalformedBodiesRetry) {
  struct Case {
    const char* body;
    const char* error;
  };
  const Case cases[] = {
      {R"({"embeddings": [{"values": [1]}]})", "malformed response body: 1 embeddings for 2 texts"},
      {R"({"embeddings": [{"values": [1]}, {"values": [true]}]})",
       "malformed response body: embeddings[1].values[0] is not a number"},
      {R"({"embeddings": [{"values": [1]}, {"value": [1]}]})",
       "malformed response body: embeddings[1].values is not an array"},
      {R"({"embedding": {"values": [1]}})", "malformed response body: no embeddings"},
  };
  for (const Case& c : cases) {
    const EmbeddingResponse r = Parse(Kind::kGemini, 200, c.body);
    EXPECT_EQ(r.outcome, Outcome::kRetry) << c.body;
    EXPECT_EQ(r.error, c.error) << c.body;
  }
}

TEST(EmbeddingResponseErrors, StatusesAsForChat) {
  const EmbeddingResponse rate = Parse(Kind::kOpenAI, 429, Recorded("openai/429_rate_limit.json"),
                                       2, "20");
  EXPECT_EQ(rate.outcome, Outcome::kRetry);
  EXPECT_EQ(rate.retry_after_ms, 20000);
  EXPECT_EQ(rate.error.rfind("HTTP 429: Rate limit reached for gpt-4o-mini", 0), 0u) << rate.error;

  const EmbeddingResponse quota =
      Parse(Kind::kOpenAI, 429, Recorded("openai/429_insufficient_quota.json"));
  EXPECT_EQ(quota.outcome, Outcome::kFail);

  const EmbeddingResponse bad = Parse(Kind::kOpenAI, 401, Recorded("openai/401_invalid_key.json"));
  EXPECT_EQ(bad.outcome, Outcome::kFail);
  EXPECT_EQ(bad.error.rfind("HTTP 401: Incorrect API key provided", 0), 0u) << bad.error;

  const EmbeddingResponse gemini =
      Parse(Kind::kGemini, 429, Recorded("gemini/429_resource_exhausted.json"));
  EXPECT_EQ(gemini.outcome, Outcome::kRetry);
  EXPECT_EQ(gemini.retry_after_ms, 35000);

  const EmbeddingResponse missing =
      Parse(Kind::kGemini, 404, Recorded("gemini/404_model_not_found.json"));
  EXPECT_EQ(missing.outcome, Outcome::kFail);

  const EmbeddingResponse proxy = Parse(Kind::kOpenAI, 502, Recorded("proxy/502_nginx.html"));
  EXPECT_EQ(proxy.outcome, Outcome::kRetry);
  EXPECT_EQ(proxy.error, "HTTP 502: 502 Bad Gateway");

  EXPECT_EQ(Parse(Kind::kOpenAI, 200, "").error, "malformed response body: empty body");
  const std::string cut = std::string(kOpenAIOk).substr(0, 60);
  const EmbeddingResponse truncated = Parse(Kind::kOpenAI, 200, cut);
  EXPECT_EQ(truncated.outcome, Outcome::kRetry);
  EXPECT_EQ(truncated.error, "malformed response body: truncated JSON after 60 bytes");
  EXPECT_EQ(Parse(Kind::kOpenAI, 503, "", 2, "Wed, 21 Oct 2015 07:28:09 GMT").retry_after_ms, 9000);
}

}  // namespace
}  // namespace llmeval::core::provider
