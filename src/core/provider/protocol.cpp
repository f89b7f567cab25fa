// The provider kinds and key redaction; see protocol.hpp.
#include "core/provider/protocol.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/provider/wire.hpp"

namespace llmeval::core::provider {

using wire::EndsWith;

Kind ParseKind(std::string_view name) {
  if (name == "openai") return Kind::kOpenAI;
  if (name == "anthropic") return Kind::kAnthropic;
  if (name == "gemini") return Kind::kGemini;
  throw Error(ErrorKind::kInvalidParameterValue,
              "unknown provider kind \"" + wire::CleanText(name.substr(0, 64)) + "\"", {},
              "Valid kinds are openai (also any OpenAI-compatible server), anthropic and gemini.");
}

std::string Redact(std::string text, std::string_view secret) {
  // Surrounding whitespace is not secret, and a key read from a file may
  // carry a newline the server never echoes.
  secret = wire::TrimOws(secret);
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
  const std::string escaped = wire::Dump(nlohmann::json(std::string(secret)));
  const std::string_view inner = std::string_view(escaped).substr(1, escaped.size() - 2);
  if (inner != secret) replace_all(inner);

  // An error text cut at kMaxErrorBytes may end in the first part of the key.
  std::string_view body = text;
  const bool cut = EndsWith(body, wire::kEllipsis);
  if (cut) body.remove_suffix(wire::kEllipsis.size());
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
