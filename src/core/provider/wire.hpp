// Helpers shared by the provider protocol files (chat.cpp, embedding.cpp):
// byte-level string tests, lenient JSON field access, the error texts, and
// the reading of a response up to its API-specific part. Not an API of its
// own: only src/core/provider includes it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/provider/protocol.hpp"

namespace llmeval::core::provider::wire {

// Error texts end up in a text column and in logs.
inline constexpr std::size_t kMaxErrorBytes = 500;
inline constexpr std::string_view kEllipsis = "\xE2\x80\xA6";  // U+2026, marks a cut text

char AsciiLower(char c);
bool EndsWith(std::string_view s, std::string_view suffix);
bool StartsWith(std::string_view s, std::string_view prefix);
bool IEquals(std::string_view a, std::string_view b);
std::size_t IFind(std::string_view haystack, std::string_view needle, std::size_t from = 0);
// Without HTTP optional whitespace (space, tab, CR, LF) at either end.
std::string_view TrimOws(std::string_view s);

// Serialises a request body: keys sorted (deterministic, fit for a cache key),
// invalid UTF-8 replaced rather than thrown on.
std::string Dump(const nlohmann::json& body);

// An integral float such as 256.0 as the integer 256, other values unchanged.
nlohmann::json IntegralIfPossible(const nlohmann::json& v);

// obj[key], or a null value when obj is not an object or has no such key.
const nlohmann::json& Member(const nlohmann::json& obj, const char* key);
// obj[key] when it is a string, else "".
std::string StringField(const nlohmann::json& obj, const char* key);
// obj[key] when it is an integer (or an integral float) within int64_t.
std::optional<int64_t> IntField(const nlohmann::json& obj, const char* key);

// One line of valid UTF-8: invalid bytes become U+FFFD, control characters
// and whitespace runs a single space, ends trimmed.
std::string CleanText(std::string_view s);
// Valid UTF-8 cut to at most max_bytes on a character boundary, the cut
// marked with an ellipsis.
std::string Truncate(std::string s, std::size_t max_bytes);
// A short, readable excerpt of a body that is not the provider's JSON.
std::string BodyExcerpt(std::string_view body);
// "malformed response body: <why>", one clean line.
std::string MalformedText(std::string_view why);
// MalformedText(what), or the provider's message when a 2xx doc carries an error.
std::string MissingText(const nlohmann::json& doc, std::string_view what);

// A response read as far as every API reads it alike: Retry-After, the
// status (a non-2xx is kRetry or kFail with the provider's message), and a
// 2xx body parsed as a JSON object (kRetry with "malformed response body"
// otherwise). kOk means doc holds that object, for the API-specific reader.
struct Envelope {
  Outcome outcome = Outcome::kFail;
  std::string error;
  std::optional<int64_t> retry_after_ms;
  nlohmann::json doc;
};
Envelope ReadEnvelope(long http_status, std::string_view body, std::string_view retry_after,
                      int64_t now_unix);

}  // namespace llmeval::core::provider::wire

#include "core/cpp_only.hpp"
