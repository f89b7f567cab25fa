// Chat completions for the three provider APIs.
//
// Requests: the JSON body is deterministic (nlohmann's objects keep their keys
// sorted), so the response cache can key on its hash; the API key only ever
// goes into a header, never the URL or the body.
//
// Responses: a 2xx body that does not hold what the API promises (truncated,
// an HTML page from a proxy, no content) is kRetry, because a retry usually
// gets a good one; an error status is classified by RFC 9110 semantics, and
// the error text is the provider's own message when its JSON error body can be
// read, otherwise a short cleaned excerpt. Error texts end up in a text column
// and in logs, so they are valid UTF-8, one line and at most kMaxErrorBytes.
#include "core/provider/chat.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.hpp"
#include "core/text/utf8.hpp"

namespace llmeval::core::provider {

namespace {

using nlohmann::json;

constexpr std::size_t kMaxErrorBytes = 500;
constexpr std::size_t kMaxExcerptBytes = 200;
constexpr int64_t kAnthropicDefaultMaxTokens = 1024;
constexpr std::string_view kEllipsis = "\xE2\x80\xA6";  // U+2026, marks a cut text

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

std::size_t IFind(std::string_view haystack, std::string_view needle, std::size_t from = 0) {
  if (needle.size() > haystack.size()) return std::string_view::npos;
  for (std::size_t i = from; i + needle.size() <= haystack.size(); ++i) {
    if (IEquals(haystack.substr(i, needle.size()), needle)) return i;
  }
  return std::string_view::npos;
}

bool IsOws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && IsOws(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsOws(s.back())) s.remove_suffix(1);
  return s;
}

// ---------------------------------------------------------------------------
// URLs and headers

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

// ---------------------------------------------------------------------------
// Generation parameters

// An integral float such as 256.0 becomes the integer 256: APIs that want an
// integer (max_tokens, seed) may reject "256.0".
json IntegralIfPossible(const json& v) {
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15) {
      return json(static_cast<int64_t>(d));
    }
  }
  return v;
}

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

std::string Dump(const json& body) {
  // Replacing invalid UTF-8 (possible only if the database encoding is not
  // UTF-8) rather than throwing: the API gets a well-formed body regardless.
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

HttpRequest BuildOpenAI(std::string_view base_url, std::string_view api_key,
                        const ChatRequest& request) {
  HttpRequest http;
  http.url = JoinUrl(SplitBaseUrl(base_url), "/chat/completions");
  http.headers.push_back("Content-Type: application/json");
  if (!api_key.empty()) {
    if (IsAzureHost(UrlHost(base_url))) {
      http.headers.push_back("api-key: " + std::string(api_key));
    } else {
      http.headers.push_back("Authorization: Bearer " + std::string(api_key));
    }
  }

  json body = json::object();
  if (request.params.is_object()) {
    for (const auto& [key, value] : request.params.items()) {
      if (value.is_null()) continue;
      // We read one complete JSON response: a stream could not be parsed.
      if (key == "stream" || key == "stream_options") continue;
      body[key] = (key == "max_tokens" || key == "max_completion_tokens" || key == "seed" ||
                   key == "n")
                      ? IntegralIfPossible(value)
                      : value;
    }
  }
  json messages = json::array();
  if (!request.system.empty()) {
    messages.push_back({{"role", "system"}, {"content", request.system}});
  }
  messages.push_back({{"role", "user"}, {"content", request.prompt}});
  body["model"] = request.model;
  body["messages"] = std::move(messages);
  http.body = Dump(body);
  return http;
}

HttpRequest BuildAnthropic(std::string_view base_url, std::string_view api_key,
                           const ChatRequest& request) {
  HttpRequest http;
  const BaseUrl base = SplitBaseUrl(base_url);
  http.url = JoinUrl(base, EndsWith(base.path, "/v1") ? "/messages" : "/v1/messages");
  http.headers.push_back("Content-Type: application/json");
  http.headers.push_back("anthropic-version: 2023-06-01");
  if (!api_key.empty()) http.headers.push_back("x-api-key: " + std::string(api_key));

  const json& p = request.params;
  json body = json::object();
  body["model"] = request.model;
  // max_tokens is required by the Messages API.
  const json* max_tokens = Param(p, "max_tokens");
  body["max_tokens"] = max_tokens ? IntegralIfPossible(*max_tokens) : json(kAnthropicDefaultMaxTokens);
  if (!request.system.empty()) body["system"] = request.system;
  body["messages"] = json::array({{{"role", "user"}, {"content", request.prompt}}});
  if (const json* v = Param(p, "temperature")) body["temperature"] = *v;
  if (const json* v = Param(p, "top_p")) body["top_p"] = *v;
  if (const json* v = Param(p, "top_k")) body["top_k"] = IntegralIfPossible(*v);
  if (const json* v = Param(p, "stop")) {
    json stop = StopSequences(*v);
    if (!stop.empty()) body["stop_sequences"] = std::move(stop);
  }
  http.body = Dump(body);
  return http;
}

HttpRequest BuildGemini(std::string_view base_url, std::string_view api_key,
                        const ChatRequest& request) {
  HttpRequest http;
  const BaseUrl base = SplitBaseUrl(base_url);
  std::string model = request.model;
  // "models/gemini-2.0-flash" and "tunedModels/x" are full resource names.
  if (!StartsWith(model, "models/") && !StartsWith(model, "tunedModels/")) {
    model = "models/" + model;
  }
  std::string url(base.path);
  if (!EndsWith(base.path, "/v1beta") && !EndsWith(base.path, "/v1") &&
      !EndsWith(base.path, "/v1alpha")) {
    url += "/v1beta";
  }
  url += "/" + EncodePath(model) + ":generateContent";
  url += base.query;
  http.url = std::move(url);
  http.headers.push_back("Content-Type: application/json");
  // Never ?key=: URLs end up in proxy and server logs.
  if (!api_key.empty()) http.headers.push_back("x-goog-api-key: " + std::string(api_key));

  const json& p = request.params;
  json body = json::object();
  body["contents"] =
      json::array({{{"role", "user"}, {"parts", json::array({{{"text", request.prompt}}})}}});
  if (!request.system.empty()) {
    body["systemInstruction"] = {{"parts", json::array({{{"text", request.system}}})}};
  }
  json config = json::object();
  if (const json* v = Param(p, "temperature")) config["temperature"] = *v;
  if (const json* v = Param(p, "top_p")) config["topP"] = *v;
  if (const json* v = Param(p, "top_k")) config["topK"] = IntegralIfPossible(*v);
  if (const json* v = Param(p, "max_tokens")) config["maxOutputTokens"] = IntegralIfPossible(*v);
  if (const json* v = Param(p, "seed")) config["seed"] = IntegralIfPossible(*v);
  if (const json* v = Param(p, "stop")) {
    json stop = StopSequences(*v);
    if (!stop.empty()) config["stopSequences"] = std::move(stop);
  }
  if (!config.empty()) body["generationConfig"] = std::move(config);
  http.body = Dump(body);
  return http;
}

// ---------------------------------------------------------------------------
// Error texts

// One line of valid UTF-8: invalid bytes become U+FFFD, control characters
// (NUL included) and whitespace runs a single space, ends trimmed.
std::string CleanText(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool space = false;
  std::size_t pos = 0;
  while (pos < s.size()) {
    const char32_t cp = text::DecodeUtf8(s, pos);
    if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0) || cp == 0x2028 || cp == 0x2029) {
      space = true;
      continue;
    }
    if (cp == ' ') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out.push_back(' ');
    space = false;
    text::AppendUtf8(out, cp);
  }
  return out;
}

// Cuts valid UTF-8 to at most max_bytes on a character boundary, marking the
// cut with an ellipsis.
std::string Truncate(std::string s, std::size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  std::size_t cut = max_bytes - kEllipsis.size();
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  s.resize(cut);
  while (!s.empty() && s.back() == ' ') s.pop_back();
  s += kEllipsis;
  return s;
}

// What a human would read of an HTML page: its <title>, else its text.
std::string HtmlText(std::string_view html) {
  const std::size_t title = IFind(html, "<title");
  if (title != std::string_view::npos) {
    const std::size_t open_end = html.find('>', title);
    const std::size_t close = IFind(html, "</title", title);
    if (open_end != std::string_view::npos && close != std::string_view::npos &&
        open_end < close) {
      std::string t = CleanText(html.substr(open_end + 1, close - open_end - 1));
      if (!t.empty()) return t;
    }
  }
  std::string out;
  bool in_tag = false;
  for (std::size_t i = 0; i < html.size(); ++i) {
    const char c = html[i];
    if (in_tag) {
      if (c == '>') in_tag = false;
    } else if (c == '<') {
      in_tag = true;
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return CleanText(out);
}

bool LooksLikeHtml(std::string_view body) {
  const std::string_view t = TrimOws(body);
  return !t.empty() && t.front() == '<' &&
         (IFind(t.substr(0, 1024), "<html") != std::string_view::npos ||
          IFind(t.substr(0, 1024), "<!doctype") != std::string_view::npos ||
          IFind(t.substr(0, 1024), "<head") != std::string_view::npos ||
          IFind(t.substr(0, 1024), "<body") != std::string_view::npos ||
          IFind(t.substr(0, 1024), "<title") != std::string_view::npos);
}

// A short, readable excerpt of a body that is not the provider's JSON.
std::string BodyExcerpt(std::string_view body) {
  return Truncate(LooksLikeHtml(body) ? HtmlText(body) : CleanText(body), kMaxExcerptBytes);
}

const char* ReasonPhrase(long status) {
  switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 422: return "Unprocessable Content";
    case 425: return "Too Early";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 529: return "Overloaded";
    default: return nullptr;
  }
}

std::string StringField(const json& obj, const char* key) {
  if (!obj.is_object()) return {};
  const auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

// The error object of a provider's error body: {"error": {...}} (OpenAI,
// Anthropic, Gemini, with Gemini sometimes wrapping it in an array), or the
// top level itself for servers that put the message there.
const json* ErrorObject(const json& doc) {
  const json* d = &doc;
  if (d->is_array() && !d->empty() && d->front().is_object()) d = &d->front();
  if (!d->is_object()) return nullptr;
  const auto it = d->find("error");
  if (it != d->end() && it->is_object()) return &*it;
  return d;
}

// The provider's message in an error body, or empty.
std::string ProviderMessage(const json& doc) {
  const json* d = &doc;
  if (d->is_array() && !d->empty() && d->front().is_object()) d = &d->front();
  if (!d->is_object()) return {};
  const auto err = d->find("error");
  if (err != d->end()) {
    // Ollama and some proxies: {"error": "message"}.
    if (err->is_string()) return err->get<std::string>();
    if (err->is_object()) {
      for (const char* key : {"message", "type", "status", "code"}) {
        std::string m = StringField(*err, key);
        if (!m.empty()) return m;
      }
    }
  }
  // vLLM-style {"object": "error", "message": ...}; FastAPI's {"detail": "..."}
  // (a structured detail is left to the body excerpt: serializing a value
  // from an untrusted server would recurse as deep as it nests).
  std::string m = StringField(*d, "message");
  if (!m.empty()) return m;
  return StringField(*d, "detail");
}

// doc is body parsed (discarded if it is not JSON).
std::string HttpErrorText(long status, const json& doc, std::string_view body) {
  std::string message;
  if (!doc.is_discarded()) message = CleanText(ProviderMessage(doc));
  if (message.empty()) {
    message = BodyExcerpt(body);
    if (message.empty()) {
      const char* reason = ReasonPhrase(status);
      message = reason ? std::string(reason) + " (empty body)" : "(empty body)";
    }
  }
  return Truncate("HTTP " + std::to_string(status) + ": " + message, kMaxErrorBytes);
}

std::string MalformedText(std::string_view why) {
  return Truncate("malformed response body: " + CleanText(why), kMaxErrorBytes);
}

// Why a 2xx body is not a JSON document: empty, cut short, or something else
// (a proxy's HTML page, plain text).
std::string NotJsonText(std::string_view body) {
  if (TrimOws(body).empty()) return MalformedText("empty body");
  try {
    // Only the parse error's position matters (the caller failed to parse it).
    const json parsed = json::parse(body);
    static_cast<void>(parsed);
  } catch (const json::parse_error& e) {
    // nlohmann reports a byte position one past the end for a premature end.
    if (e.byte >= body.size()) {
      return MalformedText("truncated JSON after " + std::to_string(body.size()) + " bytes");
    }
  } catch (const std::exception&) {
  }
  return MalformedText("not JSON: " + BodyExcerpt(body));
}

// ---------------------------------------------------------------------------
// Successful responses

std::optional<int64_t> IntField(const json& obj, const char* key) {
  if (!obj.is_object()) return std::nullopt;
  const auto it = obj.find(key);
  if (it == obj.end()) return std::nullopt;
  if (it->is_number_integer()) {
    if (it->is_number_unsigned() &&
        it->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return std::nullopt;
    }
    return it->get<int64_t>();
  }
  if (!it->is_number_float()) return std::nullopt;
  const json v = IntegralIfPossible(*it);
  if (v.is_number_integer()) return v.get<int64_t>();
  return std::nullopt;
}

const json& Member(const json& obj, const char* key) {
  static const json kNull;
  if (!obj.is_object()) return kNull;
  const auto it = obj.find(key);
  return it == obj.end() ? kNull : *it;
}

// A 2xx body that has an error in it instead of a result.
std::string MissingText(const json& doc, std::string_view what) {
  const auto err = doc.is_object() ? doc.find("error") : doc.end();
  if (doc.is_object() && err != doc.end() && !err->is_null()) {
    std::string m = ProviderMessage(doc);
    if (!m.empty()) return MalformedText("error: " + m);
  }
  return MalformedText(std::string(what));
}

// Postgres text cannot hold NUL, which a JSON string can ("\u0000").
void DropNul(std::string& s) { s.erase(std::remove(s.begin(), s.end(), '\0'), s.end()); }

void ReadOpenAI(const json& doc, ChatResponse& r) {
  const json& usage = Member(doc, "usage");
  r.input_tokens = IntField(usage, "prompt_tokens");
  r.output_tokens = IntField(usage, "completion_tokens");

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
  const json& usage = Member(doc, "usage");
  r.input_tokens = IntField(usage, "input_tokens");
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
  const json& usage = Member(doc, "usageMetadata");
  r.input_tokens = IntField(usage, "promptTokenCount");
  // Thinking tokens are billed as output, as they are in the other APIs'
  // output counts.
  const std::optional<int64_t> candidates_tokens = IntField(usage, "candidatesTokenCount");
  const std::optional<int64_t> thoughts_tokens = IntField(usage, "thoughtsTokenCount");
  if (candidates_tokens || thoughts_tokens) {
    r.output_tokens = candidates_tokens.value_or(0) + thoughts_tokens.value_or(0);
  }

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

// ---------------------------------------------------------------------------
// Dates

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
// days_from_civil): no timegm, no TZ.
int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int64_t YearOfUnix(int64_t unix_seconds) {
  int64_t z = unix_seconds / 86400;
  if (unix_seconds % 86400 < 0) --z;
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t m = mp < 10 ? mp + 3 : mp - 9;
  return yoe + era * 400 + (m <= 2);
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int64_t y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// A cursor over an HTTP-date.
struct Scanner {
  std::string_view s;
  std::size_t i = 0;

  bool Done() const { return i == s.size(); }
  bool Char(char c) {
    if (i < s.size() && s[i] == c) return ++i, true;
    return false;
  }
  bool Spaces() {  // one or more
    const std::size_t start = i;
    while (i < s.size() && s[i] == ' ') ++i;
    return i > start;
  }
  std::string_view Word() {
    const std::size_t start = i;
    while (i < s.size() && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z'))) ++i;
    return s.substr(start, i - start);
  }
  // min_digits to max_digits digits.
  bool Number(int min_digits, int max_digits, int& out, int* digits = nullptr) {
    int n = 0;
    out = 0;
    while (n < max_digits && i < s.size() && s[i] >= '0' && s[i] <= '9') {
      out = out * 10 + (s[i] - '0');
      ++i, ++n;
    }
    if (digits) *digits = n;
    return n >= min_digits;
  }
  bool Month(int& out) {
    static constexpr std::string_view kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                                   "jul", "aug", "sep", "oct", "nov", "dec"};
    const std::string_view w = Word();
    for (int m = 0; m < 12; ++m) {
      if (IEquals(w, kMonths[m])) return out = m + 1, true;
    }
    return false;
  }
  bool Time(int& h, int& m, int& sec) {
    return Number(2, 2, h) && Char(':') && Number(2, 2, m) && Char(':') && Number(2, 2, sec);
  }
};

bool IsDayName(std::string_view w) {
  static constexpr std::string_view kDays[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
  static constexpr std::string_view kLong[] = {"monday", "tuesday", "wednesday", "thursday",
                                               "friday", "saturday", "sunday"};
  for (int i = 0; i < 7; ++i) {
    if (IEquals(w, kDays[i]) || IEquals(w, kLong[i])) return true;
  }
  return false;
}

// The three HTTP-date forms of RFC 9110 section 5.6.7, as Unix seconds:
//   IMF-fixdate  Sun, 06 Nov 1994 08:49:37 GMT
//   rfc850-date  Sunday, 06-Nov-94 08:49:37 GMT
//   asctime      Sun Nov  6 08:49:37 1994
std::optional<int64_t> ParseHttpDate(std::string_view value, int64_t now_unix) {
  Scanner sc{value};
  if (!IsDayName(sc.Word())) return std::nullopt;
  int day = 0, month = 0, hour = 0, minute = 0, second = 0, year = 0;
  int64_t full_year = 0;
  if (sc.Char(',')) {
    if (!sc.Spaces() || !sc.Number(1, 2, day)) return std::nullopt;
    if (sc.Char('-')) {
      // rfc850-date: a two-digit year more than 50 years ahead is last century's.
      int digits = 0;
      if (!sc.Month(month) || !sc.Char('-') || !sc.Number(2, 4, year, &digits)) return std::nullopt;
      if (digits == 2) {
        const int64_t now_year = YearOfUnix(now_unix);
        full_year = (now_year / 100) * 100 + year;
        if (full_year > now_year + 50) full_year -= 100;
      } else if (digits == 4) {
        full_year = year;
      } else {
        return std::nullopt;
      }
    } else {
      if (!sc.Spaces() || !sc.Month(month) || !sc.Spaces() || !sc.Number(4, 4, year)) {
        return std::nullopt;
      }
      full_year = year;
    }
    if (!sc.Spaces() || !sc.Time(hour, minute, second) || !sc.Spaces()) return std::nullopt;
    const std::string_view zone = sc.Word();
    if (!IEquals(zone, "GMT") && !IEquals(zone, "UTC")) return std::nullopt;
  } else {
    if (!sc.Spaces() || !sc.Month(month) || !sc.Spaces() || !sc.Number(1, 2, day) ||
        !sc.Spaces() || !sc.Time(hour, minute, second) || !sc.Spaces() ||
        !sc.Number(4, 4, year)) {
      return std::nullopt;
    }
    full_year = year;
  }
  if (!sc.Done()) return std::nullopt;
  if (month < 1 || day < 1 || day > DaysInMonth(full_year, month) || hour > 23 || minute > 59 ||
      second > 60) {
    return std::nullopt;
  }
  return DaysFromCivil(full_year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
}

constexpr int64_t kMaxDelaySeconds = std::numeric_limits<int64_t>::max() / 1000;

// Seconds with an optional fraction ("120", "1.5") as milliseconds; a leading
// '-' gives 0. nullopt unless all of s is such a number.
std::optional<int64_t> ParseSeconds(std::string_view s) {
  std::size_t i = 0;
  const bool negative = !s.empty() && s[0] == '-';
  if (negative || (!s.empty() && s[0] == '+')) ++i;
  const std::size_t int_begin = i;
  int64_t seconds = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
    seconds = seconds >= kMaxDelaySeconds / 10 ? kMaxDelaySeconds : seconds * 10 + (s[i] - '0');
  }
  if (i == int_begin) return std::nullopt;
  int64_t millis = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    const std::size_t frac_begin = i;
    for (int64_t scale = 100; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, scale /= 10) {
      millis += (s[i] - '0') * scale;
    }
    if (i == frac_begin) return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  if (negative) return 0;
  return std::min(seconds, kMaxDelaySeconds - 1) * 1000 + millis;
}

// Google APIs send no Retry-After header on 429 but a RetryInfo detail:
// {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "35s"}.
std::optional<int64_t> RetryInfoDelay(const json& error) {
  const json& details = Member(error, "details");
  if (!details.is_array()) return std::nullopt;
  for (const json& d : details) {
    if (!EndsWith(StringField(d, "@type"), "google.rpc.RetryInfo")) continue;
    const std::string delay = StringField(d, "retryDelay");
    if (delay.size() < 2 || delay.back() != 's') return std::nullopt;
    return ParseSeconds(std::string_view(delay).substr(0, delay.size() - 1));
  }
  return std::nullopt;
}

}  // namespace

// ---------------------------------------------------------------------------

Kind ParseKind(std::string_view name) {
  if (name == "openai") return Kind::kOpenAI;
  if (name == "anthropic") return Kind::kAnthropic;
  if (name == "gemini") return Kind::kGemini;
  throw Error(ErrorKind::kInvalidParameterValue,
              "unknown provider kind \"" + CleanText(name.substr(0, 64)) + "\"", {},
              "Valid kinds are openai (also any OpenAI-compatible server), anthropic and gemini.");
}

HttpRequest BuildChatRequest(Kind kind, std::string_view base_url, std::string_view api_key,
                             const ChatRequest& request) {
  CheckApiKey(api_key);
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
                               std::string_view retry_after, int64_t now_unix) {
  ChatResponse r;
  if (!TrimOws(retry_after).empty()) r.retry_after_ms = ParseRetryAfter(retry_after, now_unix);

  if (http_status < 200 || http_status > 299) {
    const bool retryable = http_status == 408 || http_status == 409 || http_status == 425 ||
                           http_status == 429 || (http_status >= 500 && http_status <= 599);
    r.outcome = retryable ? Outcome::kRetry : Outcome::kFail;
    const json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
    r.error = HttpErrorText(http_status, doc, body);
    const json* err = doc.is_discarded() ? nullptr : ErrorObject(doc);
    if (err) {
      // OpenAI answers an exhausted balance with 429 too, but no retry helps.
      if (http_status == 429 && (StringField(*err, "code") == "insufficient_quota" ||
                                 StringField(*err, "type") == "insufficient_quota")) {
        r.outcome = Outcome::kFail;
      }
      if (!r.retry_after_ms) r.retry_after_ms = RetryInfoDelay(*err);
    }
    return r;
  }

  const json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    r.outcome = Outcome::kRetry;
    r.error = NotJsonText(body);
    return r;
  }
  if (!doc.is_object()) {
    r.outcome = Outcome::kRetry;
    r.error = MalformedText("not a JSON object: " + BodyExcerpt(body));
    return r;
  }
  switch (kind) {
    case Kind::kOpenAI:
      ReadOpenAI(doc, r);
      break;
    case Kind::kAnthropic:
      ReadAnthropic(doc, r);
      break;
    case Kind::kGemini:
      ReadGemini(doc, r);
      break;
  }
  DropNul(r.output);
  return r;
}

std::optional<int64_t> ParseRetryAfter(std::string_view value, int64_t now_unix) {
  const std::string_view v = TrimOws(value);
  if (v.empty()) return std::nullopt;

  // delta-seconds (leniently: a sign and a fraction, which some servers send).
  if ((v[0] >= '0' && v[0] <= '9') || v[0] == '-' || v[0] == '+') return ParseSeconds(v);

  const std::optional<int64_t> when = ParseHttpDate(v, now_unix);
  if (!when) return std::nullopt;
  // Dates are within years 0..9999, so only an absurd now_unix could overflow.
  if (now_unix < -kMaxDelaySeconds / 2 || now_unix > kMaxDelaySeconds / 2) return std::nullopt;
  const int64_t delta = *when - now_unix;
  return delta <= 0 ? 0 : std::min(delta, kMaxDelaySeconds) * 1000;
}

int64_t BackoffMs(int attempt, double unit_random, std::optional<int64_t> retry_after_ms,
                  int64_t base_ms, int64_t max_ms) {
  if (attempt < 1) attempt = 1;
  if (base_ms < 0) base_ms = 0;
  if (max_ms < 0) max_ms = 0;
  // base * 2^(attempt-1), doubling only while below the cap: no overflow.
  int64_t cap = std::min(base_ms, max_ms);
  for (int i = 1; i < attempt && cap < max_ms && cap > 0; ++i) {
    cap = cap > max_ms / 2 ? max_ms : cap * 2;
  }
  if (!(unit_random >= 0.0)) unit_random = 0.0;  // NaN too
  if (unit_random > 1.0) unit_random = 1.0;
  // Compared as doubles first: converting 2^63 to int64_t would be undefined.
  const double point = std::floor(unit_random * static_cast<double>(cap));
  int64_t delay = point >= static_cast<double>(cap) ? cap : static_cast<int64_t>(point);
  if (retry_after_ms && *retry_after_ms > delay) delay = *retry_after_ms;
  return delay;
}

std::string Redact(std::string text, std::string_view secret) {
  // Surrounding whitespace is not secret, and a key read from a file may
  // carry a newline the server never echoes.
  secret = TrimOws(secret);
  if (secret.empty()) return text;
  static constexpr std::string_view kMark = "[redacted]";

  auto replace_all = [&text](std::string_view s) {
    if (s.empty()) return;
    std::size_t pos = 0;
    while ((pos = text.find(s, pos)) != std::string::npos) {
      text.replace(pos, s.size(), kMark);
      pos += kMark.size();
    }
  };
  replace_all(secret);
  // The key as it appears inside a JSON string, for a raw body excerpt.
  const std::string escaped = Dump(json(std::string(secret)));
  const std::string_view inner = std::string_view(escaped).substr(1, escaped.size() - 2);
  if (inner != secret) replace_all(inner);

  // An error text cut at kMaxErrorBytes may end in the first part of the key.
  std::string_view body = text;
  const bool cut = EndsWith(body, kEllipsis);
  if (cut) body.remove_suffix(kEllipsis.size());
  constexpr std::size_t kMinPartial = 8;
  if (secret.size() > kMinPartial) {
    for (std::size_t len = std::min(body.size(), secret.size() - 1); len >= kMinPartial; --len) {
      if (EndsWith(body, secret.substr(0, len))) {
        text.replace(body.size() - len, len, kMark);
        break;
      }
    }
  }
  return text;
}

}  // namespace llmeval::core::provider
