// Helpers shared by the provider protocol files; see wire.hpp.
//
// Responses: a 2xx body that does not hold what the API promises (truncated,
// an HTML page from a proxy, no content) is kRetry, because a retry usually
// gets a good one; an error status is classified by RFC 9110 semantics, and
// the error text is the provider's own message when its JSON error body can be
// read, otherwise a short cleaned excerpt. Error texts end up in a text column
// and in logs, so they are valid UTF-8, one line and at most kMaxErrorBytes.
#include "core/provider/wire.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/provider/retry.hpp"
#include "core/text/utf8.hpp"

namespace llmeval::core::provider::wire {

using nlohmann::json;

namespace {

constexpr std::size_t kMaxExcerptBytes = 200;

bool IsOws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

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

}  // namespace

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

std::size_t IFind(std::string_view haystack, std::string_view needle, std::size_t from) {
  if (needle.size() > haystack.size()) return std::string_view::npos;
  for (std::size_t i = from; i + needle.size() <= haystack.size(); ++i) {
    if (IEquals(haystack.substr(i, needle.size()), needle)) return i;
  }
  return std::string_view::npos;
}

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && IsOws(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsOws(s.back())) s.remove_suffix(1);
  return s;
}

std::string Dump(const json& body) {
  // Replacing invalid UTF-8 (possible only if the database encoding is not
  // UTF-8) rather than throwing: the API gets a well-formed body regardless.
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

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

const json& Member(const json& obj, const char* key) {
  static const json kNull;
  if (!obj.is_object()) return kNull;
  const auto it = obj.find(key);
  return it == obj.end() ? kNull : *it;
}

std::string StringField(const json& obj, const char* key) {
  if (!obj.is_object()) return {};
  const auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

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

// A short, readable excerpt of a body that is not the provider's JSON.
std::string BodyExcerpt(std::string_view body) {
  return Truncate(LooksLikeHtml(body) ? HtmlText(body) : CleanText(body), kMaxExcerptBytes);
}

std::string MalformedText(std::string_view why) {
  return Truncate("malformed response body: " + CleanText(why), kMaxErrorBytes);
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

Envelope ReadEnvelope(long http_status, std::string_view body, std::string_view retry_after,
                      int64_t now_unix) {
  Envelope e;
  if (!TrimOws(retry_after).empty()) e.retry_after_ms = ParseRetryAfter(retry_after, now_unix);

  if (http_status < 200 || http_status > 299) {
    const bool retryable = http_status == 408 || http_status == 409 || http_status == 425 ||
                           http_status == 429 || (http_status >= 500 && http_status <= 599);
    e.outcome = retryable ? Outcome::kRetry : Outcome::kFail;
    const json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
    e.error = HttpErrorText(http_status, doc, body);
    const json* err = doc.is_discarded() ? nullptr : ErrorObject(doc);
    if (err) {
      // OpenAI answers an exhausted balance with 429 too, but no retry helps.
      if (http_status == 429 && (StringField(*err, "code") == "insufficient_quota" ||
                                 StringField(*err, "type") == "insufficient_quota")) {
        e.outcome = Outcome::kFail;
      }
      if (!e.retry_after_ms) e.retry_after_ms = RetryInfoDelay(*err);
    }
    return e;
  }

  e.doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (e.doc.is_discarded()) {
    e.outcome = Outcome::kRetry;
    e.error = NotJsonText(body);
    e.doc = nullptr;
    return e;
  }
  if (!e.doc.is_object()) {
    e.outcome = Outcome::kRetry;
    e.error = MalformedText("not a JSON object: " + BodyExcerpt(body));
    e.doc = nullptr;
    return e;
  }
  e.outcome = Outcome::kOk;
  return e;
}

}  // namespace llmeval::core::provider::wire
