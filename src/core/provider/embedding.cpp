// Embeddings for the OpenAI and Gemini APIs; see embedding.hpp. A 2xx body
// whose vectors cannot all be read is kRetry, like a malformed chat response:
// half a batch is of no use, and a retry usually gets a whole one.
#include "core/provider/embedding.hpp"

#include <cmath>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/provider/endpoint.hpp"
#include "core/provider/wire.hpp"

namespace llmeval::core::provider {

namespace {

using nlohmann::json;
using wire::MalformedText;
using wire::Member;

HttpRequest BuildOpenAI(std::string_view base_url, std::string_view api_key,
                        std::string_view model, const std::vector<std::string>& texts) {
  HttpRequest http = wire::OpenAIEndpoint(base_url, api_key, "/embeddings");
  json body = json::object();
  body["model"] = model;
  body["input"] = texts;
  http.body = wire::Dump(body);
  return http;
}

HttpRequest BuildGemini(std::string_view base_url, std::string_view api_key,
                        std::string_view model, const std::vector<std::string>& texts) {
  HttpRequest http = wire::GeminiEndpoint(base_url, api_key, model, "batchEmbedContents");
  // Each request names the model again, and it must be the one in the URL.
  const std::string resource = wire::GeminiModel(model);
  json requests = json::array();
  for (const std::string& text : texts) {
    requests.push_back(
        {{"model", resource}, {"content", {{"parts", json::array({{{"text", text}}})}}}});
  }
  http.body = wire::Dump(json{{"requests", std::move(requests)}});
  return http;
}

// values as a vector of finite numbers, or why not ("" when read).
std::string ReadVector(const json& values, const std::string& where, std::vector<double>& out) {
  if (!values.is_array()) return where + " is not an array";
  if (values.empty()) return where + " is empty";
  out.clear();
  out.reserve(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    const json& v = values[i];
    if (!v.is_number()) return where + "[" + std::to_string(i) + "] is not a number";
    const double d = v.get<double>();
    if (!std::isfinite(d)) return where + "[" + std::to_string(i) + "] is not finite";
    out.push_back(d);
  }
  return {};
}

// OpenAI: {"data": [{"index": i, "embedding": [...]}...], "usage": {"prompt_tokens": n}}.
// An item without an index takes its position, as some compatible servers
// send none.
std::string ReadOpenAI(const json& doc, std::size_t expected, EmbeddingResponse& r) {
  r.input_tokens = wire::IntField(Member(doc, "usage"), "prompt_tokens");
  const json& data = Member(doc, "data");
  if (!data.is_array()) return wire::MissingText(doc, "no data");
  if (data.size() != expected) {
    return MalformedText(std::to_string(data.size()) + " embeddings for " +
                         std::to_string(expected) + " texts");
  }
  std::vector<std::vector<double>> vectors(expected);
  std::vector<bool> seen(expected, false);
  for (std::size_t i = 0; i < data.size(); ++i) {
    const std::string where = "data[" + std::to_string(i) + "]";
    std::size_t index = i;
    const json& index_value = Member(data[i], "index");
    if (!index_value.is_null()) {
      const std::optional<int64_t> n = wire::IntField(data[i], "index");
      if (!n || *n < 0 || static_cast<uint64_t>(*n) >= expected) {
        return MalformedText(where + ".index is not an index of the " + std::to_string(expected) +
                             " texts");
      }
      index = static_cast<std::size_t>(*n);
    }
    if (seen[index]) {
      return MalformedText(where + ".index " + std::to_string(index) + " is repeated");
    }
    seen[index] = true;
    const std::string why = ReadVector(Member(data[i], "embedding"), where + ".embedding",
                                       vectors[index]);
    if (!why.empty()) return MalformedText(why);
  }
  r.vectors = std::move(vectors);
  return {};
}

// Gemini: {"embeddings": [{"values": [...]}...]}, in request order.
std::string ReadGemini(const json& doc, std::size_t expected, EmbeddingResponse& r) {
  const json& embeddings = Member(doc, "embeddings");
  if (!embeddings.is_array()) return wire::MissingText(doc, "no embeddings");
  if (embeddings.size() != expected) {
    return MalformedText(std::to_string(embeddings.size()) + " embeddings for " +
                         std::to_string(expected) + " texts");
  }
  std::vector<std::vector<double>> vectors(expected);
  for (std::size_t i = 0; i < expected; ++i) {
    const std::string where = "embeddings[" + std::to_string(i) + "].values";
    const std::string why = ReadVector(Member(embeddings[i], "values"), where, vectors[i]);
    if (!why.empty()) return MalformedText(why);
  }
  r.vectors = std::move(vectors);
  return {};
}

}  // namespace

HttpRequest BuildEmbeddingRequest(Kind kind, std::string_view base_url, std::string_view api_key,
                                  std::string_view model, const std::vector<std::string>& texts) {
  if (kind == Kind::kAnthropic) {
    throw Error(ErrorKind::kInvalidParameterValue, "anthropic providers have no embeddings API",
                {},
                "Use an OpenAI-compatible (Voyage AI, which Anthropic recommends, is one) or a "
                "Gemini embedding model.");
  }
  if (texts.empty()) {
    throw Error(ErrorKind::kInvalidParameterValue, "no texts to embed");
  }
  wire::CheckApiKey(api_key);
  if (kind == Kind::kGemini) return BuildGemini(base_url, api_key, model, texts);
  return BuildOpenAI(base_url, api_key, model, texts);
}

EmbeddingResponse ParseEmbeddingResponse(Kind kind, long http_status, std::string_view body,
                                         std::string_view retry_after, int64_t now_unix,
                                         std::size_t expected_count) {
  EmbeddingResponse r;
  wire::Envelope envelope = wire::ReadEnvelope(http_status, body, retry_after, now_unix);
  r.retry_after_ms = envelope.retry_after_ms;
  if (envelope.outcome != Outcome::kOk) {
    r.outcome = envelope.outcome;
    r.error = std::move(envelope.error);
    return r;
  }
  std::string error = kind == Kind::kGemini ? ReadGemini(envelope.doc, expected_count, r)
                                            : ReadOpenAI(envelope.doc, expected_count, r);
  if (error.empty()) {
    // Vectors of one model share a dimension; a mix would make similarities meaningless.
    for (std::size_t i = 1; i < r.vectors.size(); ++i) {
      if (r.vectors[i].size() != r.vectors[0].size()) {
        error = MalformedText("embedding " + std::to_string(i) + " has " +
                              std::to_string(r.vectors[i].size()) + " dimensions, embedding 0 " +
                              std::to_string(r.vectors[0].size()));
        break;
      }
    }
  }
  if (!error.empty()) {
    r.outcome = Outcome::kRetry;
    r.error = std::move(error);
    r.vectors.clear();
    return r;
  }
  r.outcome = Outcome::kOk;
  return r;
}

}  // namespace llmeval::core::provider
