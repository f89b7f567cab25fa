// Score and pairwise replies, and the repair prompt; see judgement.hpp.
// G-Eval weighting is in weighted_score.cpp, the search for the JSON object
// in json_in_text.cpp.
#include "core/judge/judgement.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/judge/json_in_text.hpp"

namespace llmeval::core::judge {

namespace {

using nlohmann::json;

// Beyond this a bad reply is cut in the middle: the repair prompt must not
// grow with a runaway reply, and its start and end show what went wrong.
constexpr std::size_t kMaxRepairReplyBytes = 4096;

// The shortest text that reads back as d ("7", "4.5"), the same in every locale.
std::string FormatNumber(double d) {
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
  if (ec != std::errc()) return "?";
  return std::string(buf, end);
}

std::string FindError(FindStatus status, const char* key) {
  switch (status) {
    case FindStatus::kNoObject:
      return "no JSON object in the reply";
    case FindStatus::kNoKey:
      return std::string("no \"") + key + "\" in the reply's JSON object";
    case FindStatus::kMalformed:
      return std::string("the JSON object with \"") + key + "\" is malformed";
    case FindStatus::kFound:
      break;
  }
  return {};
}

// Postgres text cannot hold NUL, which a JSON string can ("\u0000").
std::string Reason(const json& object) {
  const auto it = object.find("reason");
  if (it == object.end() || !it->is_string()) return {};
  std::string reason = it->get<std::string>();
  reason.erase(std::remove(reason.begin(), reason.end(), '\0'), reason.end());
  return reason;
}

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// A valid UTF-8 prefix of s of at most n bytes (never ending inside a character).
std::string_view Utf8Prefix(std::string_view s, std::size_t n) {
  if (s.size() <= n) return s;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

// A valid UTF-8 suffix of s of at most n bytes.
std::string_view Utf8Suffix(std::string_view s, std::size_t n) {
  if (s.size() <= n) return s;
  std::size_t start = s.size() - n;
  while (start < s.size() && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) ++start;
  return s.substr(start);
}

}  // namespace

Judgement ParseScoreReply(std::string_view reply, const Scale& scale) {
  Judgement j;
  const FindStatus status = FindObjectWithKey(reply, "score", [&](const json& object, FoundSpan) {
    j.reason = Reason(object);
    const std::optional<double> score = NumberValue(object.at("score"));
    if (!score) {
      j.error = "score is not a number";
    } else if (*score < scale.min || *score > scale.max) {
      j.error = "score " + FormatNumber(*score) + " is outside " + FormatNumber(scale.min) + ".." +
                FormatNumber(scale.max);
    } else {
      j.score = *score;
    }
  });
  if (status != FindStatus::kFound) j.error = FindError(status, "score");
  return j;
}

namespace {

// A verdict as judges write it: "yes"/"no" (any case, spaces aside), or a
// JSON boolean; nullopt for anything else.
std::optional<bool> YesNo(const json& value) {
  if (value.is_boolean()) return value.get<bool>();
  if (!value.is_string()) return std::nullopt;
  std::string v(TrimSpace(value.get_ref<const std::string&>()));
  std::transform(v.begin(), v.end(), v.begin(), AsciiLower);
  if (v == "yes" || v == "true") return true;
  if (v == "no" || v == "false") return false;
  return std::nullopt;
}

}  // namespace

Judgement ParseVerdictsReply(std::string_view reply, VerdictRule rule, int expected_count) {
  Judgement j;
  const FindStatus status = FindObjectWithKey(reply, "verdicts", [&](const json& object, FoundSpan) {
    const json& list = object.at("verdicts");
    if (!list.is_array()) {
      j.error = "verdicts is not a list";
      return;
    }
    std::vector<bool> yes;
    std::string refused;  // the items judged no, for the reason
    for (std::size_t k = 0; k < list.size(); ++k) {
      const json& v = list[k];
      const std::optional<bool> verdict = v.is_object() && v.contains("verdict") ? YesNo(v.at("verdict")) : YesNo(v);
      if (!verdict) {
        j.error = "verdict " + std::to_string(k + 1) + " is not yes or no";
        return;
      }
      yes.push_back(*verdict);
      if (!*verdict && refused.size() < 400) {
        const auto item = v.is_object() ? v.find("item") : v.end();
        refused += refused.empty() ? "no: " : "; ";
        refused += item != v.end() && item->is_string() ? std::string(Utf8Prefix(item->get<std::string>(), 120))
                                                        : "#" + std::to_string(k + 1);
      }
    }
    if (expected_count >= 0 && yes.size() != static_cast<std::size_t>(expected_count)) {
      j.error = "expected " + std::to_string(expected_count) + " verdicts, one per item, got " +
                std::to_string(yes.size());
      return;
    }
    const std::string stated = Reason(object);
    if (yes.empty()) {
      j.reason = "undefined: the judge found nothing to judge" + (stated.empty() ? "" : " (" + stated + ")");
      return;
    }
    const std::size_t n_yes = static_cast<std::size_t>(std::count(yes.begin(), yes.end(), true));
    if (rule == VerdictRule::kShare) {
      j.score = static_cast<double>(n_yes) / static_cast<double>(yes.size());
    } else {
      double sum = 0;
      std::size_t hits = 0;
      for (std::size_t k = 0; k < yes.size(); ++k) {
        if (!yes[k]) continue;
        ++hits;
        sum += static_cast<double>(hits) / static_cast<double>(k + 1);
      }
      j.score = hits == 0 ? 0.0 : sum / static_cast<double>(hits);
    }
    j.reason = std::to_string(n_yes) + " of " + std::to_string(yes.size()) + " yes" +
               (refused.empty() ? "" : "; " + refused) + (stated.empty() ? "" : ". " + stated);
    j.reason.erase(std::remove(j.reason.begin(), j.reason.end(), '\0'), j.reason.end());
  });
  if (status != FindStatus::kFound) j.error = FindError(status, "verdicts");
  return j;
}

Judgement ParsePairwiseReply(std::string_view reply) {
  Judgement j;
  const FindStatus status = FindObjectWithKey(reply, "winner", [&](const json& object, FoundSpan) {
    j.reason = Reason(object);
    const json& winner = object.at("winner");
    std::string w;
    if (winner.is_string()) {
      w = std::string(TrimSpace(winner.get_ref<const std::string&>()));
      std::transform(w.begin(), w.end(), w.begin(), AsciiLower);
    }
    if (w == "a") {
      j.verdict = "A";
    } else if (w == "b") {
      j.verdict = "B";
    } else if (w == "tie") {
      j.verdict = "tie";
    } else {
      j.error = "winner must be A, B or tie";
    }
  });
  if (status != FindStatus::kFound) j.error = FindError(status, "winner");
  return j;
}

std::string RepairPrompt(std::string_view original_prompt, std::string_view bad_reply,
                         std::string_view error) {
  std::string prompt(original_prompt);
  if (!prompt.empty() && prompt.back() != '\n') prompt += '\n';
  if (!prompt.empty()) prompt += '\n';
  prompt += "<previous_reply>\n";
  if (bad_reply.size() <= kMaxRepairReplyBytes) {
    prompt += bad_reply;
  } else {
    const std::string_view head = Utf8Prefix(bad_reply, kMaxRepairReplyBytes / 2);
    const std::string_view tail = Utf8Suffix(bad_reply, kMaxRepairReplyBytes / 2);
    prompt += head;
    prompt += "\n[... " + std::to_string(bad_reply.size() - head.size() - tail.size()) +
              " bytes left out ...]\n";
    prompt += tail;
  }
  if (prompt.back() != '\n') prompt += '\n';
  prompt += "</previous_reply>\n";
  prompt += "Your previous reply could not be read: ";
  prompt += error;
  prompt += ". Reply again with only the JSON object, and nothing before or after it.\n";
  return prompt;
}

std::size_t ConstantPrefixBytes(std::string_view judge_prompt) {
  constexpr std::string_view kEnd = "</criteria>\n\n";
  const std::size_t at = judge_prompt.find(kEnd);
  return at == std::string_view::npos ? 0 : at + kEnd.size();
}

}  // namespace llmeval::core::judge
