// G-Eval's probability-weighted score (Liu et al., 2023, "G-Eval: NLG
// Evaluation using GPT-4 with Better Human Alignment"): the stated score is
// one sample of the judge's opinion; the probabilities of the other values it
// could have written at that token give a finer, less tied score.
//
// The score token is found in the text the tokens spell (bytes when the API
// gives them: a token's text can hold half a UTF-8 character), at the
// "score" key of the object the reply was read from, so a number elsewhere
// in the reply (a "score" in the reasoning, say) is not taken for it.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/judge/json_in_text.hpp"
#include "core/judge/judgement.hpp"

namespace llmeval::core::judge {

namespace {

using nlohmann::json;

constexpr std::string_view kScoreKey = "\"score\"";

const json& Member(const json& obj, const char* key) {
  static const json kNull;
  if (!obj.is_object()) return kNull;
  const auto it = obj.find(key);
  return it == obj.end() ? kNull : *it;
}

// A token's text: its bytes when given (exact), else its token string.
std::optional<std::string> TokenText(const json& item) {
  const json& bytes = Member(item, "bytes");
  if (bytes.is_array() && !bytes.empty()) {
    std::string out;
    out.reserve(bytes.size());
    for (const json& b : bytes) {
      if (!b.is_number_integer() || b.get<int64_t>() < 0 || b.get<int64_t>() > 255) {
        out.clear();
        break;
      }
      out.push_back(static_cast<char>(b.get<int64_t>()));
    }
    if (out.size() == bytes.size()) return out;
  }
  const json& token = Member(item, "token");
  if (!token.is_string()) return std::nullopt;
  return token.get<std::string>();
}

bool IsNumberChar(char c) {
  return (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E';
}

struct NumberAt {
  std::size_t begin;
  std::size_t end;
};

// The number after the "score" key at text[key_pos] (as in "score": 4 or
// "score": "4"), if it equals `value`.
std::optional<NumberAt> ScoreNumberAt(std::string_view text, std::size_t key_pos, double value) {
  std::size_t i = key_pos + kScoreKey.size();
  auto skip_space = [&] {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' ||
                               text[i] == '\r'))
      ++i;
  };
  skip_space();
  if (i >= text.size() || text[i] != ':') return std::nullopt;
  ++i;
  skip_space();
  if (i < text.size() && text[i] == '"') {
    ++i;
    skip_space();
  }
  const std::size_t begin = i;
  while (i < text.size() && IsNumberChar(text[i])) ++i;
  const std::optional<double> number = ParseNumber(text.substr(begin, i - begin));
  if (!number || *number != value) return std::nullopt;
  return NumberAt{begin, i};
}

// The stated score's digits in text: at a "score" key inside [from, to)
// first, else the last anywhere (the stated score is the reply's last, so an
// earlier "score" may be one the judge quoted).
std::optional<NumberAt> FindScoreNumber(std::string_view text, std::size_t from, std::size_t to,
                                        double value) {
  std::optional<NumberAt> last;
  for (std::size_t pos = text.find(kScoreKey); pos != std::string_view::npos;
       pos = text.find(kScoreKey, pos + 1)) {
    const auto at = ScoreNumberAt(text, pos, value);
    if (!at) continue;
    if (pos >= from && pos < to) return at;
    last = at;
  }
  return last;
}

// The value a candidate token stands for: the token trimmed, or what is left
// once the text around the chosen token's digits (prefix, suffix) is removed.
std::optional<double> CandidateValue(std::string_view token, std::string_view prefix,
                                     std::string_view suffix) {
  if (const auto v = ParseNumber(TrimSpace(token))) return v;
  if (prefix.empty() && suffix.empty()) return std::nullopt;
  if (token.size() < prefix.size() + suffix.size() || token.substr(0, prefix.size()) != prefix ||
      token.substr(token.size() - suffix.size()) != suffix) {
    return std::nullopt;
  }
  return ParseNumber(
      TrimSpace(token.substr(prefix.size(), token.size() - prefix.size() - suffix.size())));
}

}  // namespace

std::optional<double> WeightedScore(std::string_view response_body, std::string_view reply,
                                    const Scale& scale) {
  // The stated score, which the digits to weight must spell.
  std::optional<double> stated;
  FindObjectWithKey(reply, "score", [&](const json& object, FoundSpan) {
    stated = NumberValue(object.at("score"));
  });
  if (!stated) return std::nullopt;

  const json doc = json::parse(response_body, nullptr, /*allow_exceptions=*/false);
  const json& choices = Member(doc, "choices");
  if (!choices.is_array() || choices.empty()) return std::nullopt;
  const json& content = Member(Member(choices.front(), "logprobs"), "content");
  if (!content.is_array() || content.empty()) return std::nullopt;

  std::string text;
  std::vector<std::size_t> starts;
  starts.reserve(content.size());
  for (const json& item : content) {
    const std::optional<std::string> piece = TokenText(item);
    if (!piece) return std::nullopt;
    starts.push_back(text.size());
    text += *piece;
  }

  FoundSpan span{0, text.size()};
  FindObjectWithKey(text, "score", [&](const json&, FoundSpan s) { span = s; });
  const std::optional<NumberAt> number = FindScoreNumber(text, span.begin, span.end, *stated);
  if (!number) return std::nullopt;

  // The token holding the number's first character, which must hold all of it.
  const std::size_t k =
      static_cast<std::size_t>(std::upper_bound(starts.begin(), starts.end(), number->begin) -
                               starts.begin()) - 1;
  const std::size_t token_end = k + 1 < starts.size() ? starts[k + 1] : text.size();
  if (number->end > token_end) return std::nullopt;
  const std::string_view chosen = std::string_view(text).substr(starts[k], token_end - starts[k]);
  const std::string_view prefix = chosen.substr(0, number->begin - starts[k]);
  const std::string_view suffix = chosen.substr(number->end - starts[k]);

  const json& top = Member(content[k], "top_logprobs");
  if (!top.is_array()) return std::nullopt;
  double weighted = 0;
  double total = 0;
  for (const json& candidate : top) {
    const json& logprob = Member(candidate, "logprob");
    const std::optional<std::string> token = TokenText(candidate);
    if (!logprob.is_number() || !token) continue;
    const std::optional<double> value = CandidateValue(*token, prefix, suffix);
    if (!value || *value < scale.min || *value > scale.max) continue;
    const double p = std::exp(logprob.get<double>());
    if (!std::isfinite(p)) continue;
    weighted += p * *value;
    total += p;
  }
  if (!(total > 0)) return std::nullopt;
  return weighted / total;
}

}  // namespace llmeval::core::judge
