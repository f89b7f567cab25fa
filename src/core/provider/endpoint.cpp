// Request URLs and authentication headers of the three provider APIs; see
// endpoint.hpp.
#include "core/provider/endpoint.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/provider/wire.hpp"

namespace llmeval::core::provider::wire {

namespace {

// A base URL split at its query: "https://h/openai/deployments/d?api-version=x"
// gives the path part without trailing slashes and "?api-version=x".
struct BaseUrl {
  std::string_view path;
  std::string_view query;  // with its '?', or empty
};

BaseUrl SplitBaseUrl(std::string_view base_url) {
  BaseUrl b;
  const std::size_t q = base_url.find('?');
  b.path = base_url.substr(0, q);
  if (q != std::string_view::npos) b.query = base_url.substr(q);
  // A fragment is never sent.
  const std::size_t hash = b.path.find('#');
  if (hash != std::string_view::npos) b.path = b.path.substr(0, hash);
  while (!b.path.empty() && b.path.back() == '/') b.path.remove_suffix(1);
  return b;
}

// The lower-cased host of an absolute URL (no user info, no port).
std::string UrlHost(std::string_view url) {
  const std::size_t scheme = url.find("://");
  std::string_view rest = scheme == std::string_view::npos ? url : url.substr(scheme + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  const std::size_t at = rest.rfind('@');
  if (at != std::string_view::npos) rest = rest.substr(at + 1);
  if (!rest.empty() && rest.front() == '[') {
    rest = rest.substr(0, rest.find(']') + 1);  // an IPv6 literal keeps its colons
  } else {
    rest = rest.substr(0, rest.find(':'));
  }
  std::string host(rest);
  std::transform(host.begin(), host.end(), host.begin(), AsciiLower);
  return host;
}

// Azure OpenAI resources (classic and AI Foundry endpoints) take API keys in
// "api-key"; "Authorization: Bearer" is for Entra ID tokens there.
bool IsAzureHost(std::string_view host) {
  return EndsWith(host, ".openai.azure.com") || EndsWith(host, ".cognitiveservices.azure.com");
}

std::string JoinUrl(const BaseUrl& base, std::string_view suffix) {
  std::string url(base.path);
  // A base URL that already names the endpoint is taken as is.
  if (!EndsWith(base.path, suffix)) url += suffix;
  url += base.query;
  return url;
}

// A model name as one path segment (or "tunedModels/x"): anything outside
// RFC 3986 unreserved characters and '/' is percent-encoded, so a model name
// can never change the URL's structure.
std::string EncodePath(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~' || c == '/') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

}  // namespace

// A key with a control character would let it inject header lines.
void CheckApiKey(std::string_view api_key) {
  for (const char ch : api_key) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7F) {
      throw Error(ErrorKind::kInvalidParameterValue, "API key contains a control character",
                  "HTTP header values cannot hold control characters.",
                  "Check the stored key or environment variable for a trailing newline.");
    }
  }
}

HttpRequest OpenAIEndpoint(std::string_view base_url, std::string_view api_key,
                           std::string_view path) {
  HttpRequest http;
  http.url = JoinUrl(SplitBaseUrl(base_url), path);
  http.headers.push_back("Content-Type: application/json");
  if (!api_key.empty()) {
    if (IsAzureHost(UrlHost(base_url))) {
      http.headers.push_back("api-key: " + std::string(api_key));
    } else {
      http.headers.push_back("Authorization: Bearer " + std::string(api_key));
    }
  }
  return http;
}

HttpRequest AnthropicEndpoint(std::string_view base_url, std::string_view api_key,
                              std::string_view path) {
  HttpRequest http;
  const BaseUrl base = SplitBaseUrl(base_url);
  // The SDK's base URL has no "/v1", but one given with it is taken as is.
  const std::string suffix =
      EndsWith(base.path, "/v1") ? std::string(path) : "/v1" + std::string(path);
  http.url = JoinUrl(base, suffix);
  http.headers.push_back("Content-Type: application/json");
  http.headers.push_back("anthropic-version: 2023-06-01");
  if (!api_key.empty()) http.headers.push_back("x-api-key: " + std::string(api_key));
  return http;
}

std::string GeminiModel(std::string_view model) {
  // "models/gemini-2.0-flash" and "tunedModels/x" are full resource names.
  if (StartsWith(model, "models/") || StartsWith(model, "tunedModels/")) return std::string(model);
  return "models/" + std::string(model);
}

HttpRequest GeminiEndpoint(std::string_view base_url, std::string_view api_key,
                           std::string_view model, std::string_view method) {
  HttpRequest http;
  const BaseUrl base = SplitBaseUrl(base_url);
  std::string url(base.path);
  if (!EndsWith(base.path, "/v1beta") && !EndsWith(base.path, "/v1") &&
      !EndsWith(base.path, "/v1alpha")) {
    url += "/v1beta";
  }
  url += "/" + EncodePath(GeminiModel(model)) + ":" + std::string(method);
  url += base.query;
  http.url = std::move(url);
  http.headers.push_back("Content-Type: application/json");
  // Never ?key=: URLs end up in proxy and server logs.
  if (!api_key.empty()) http.headers.push_back("x-goog-api-key: " + std::string(api_key));
  return http;
}

bool IsOpenAIHost(std::string_view base_url) { return UrlHost(base_url) == "api.openai.com"; }

}  // namespace llmeval::core::provider::wire
