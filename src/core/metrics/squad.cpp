#include "core/metrics/squad.hpp"

#include <unicode/uchar.h>

#include <algorithm>
#include <vector>

#include "core/text/unicode.hpp"
#include "core/text/utf8.hpp"

namespace llmeval::core::metrics {

namespace {

// string.punctuation. An ASCII byte is always a whole character in UTF-8, so
// bytes can be removed without decoding.
inline bool IsAsciiPunct(unsigned char c) noexcept {
  return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') ||
         (c >= '{' && c <= '~');
}

// Python re's \w for str patterns: str.isalnum() or '_'. isalpha() is exactly
// the L* categories; isdecimal/isdigit/isnumeric are (up to a few CJK
// ideographs with numeric values, which are Lo anyway) the N* categories.
inline bool IsWordChar(char32_t cp) noexcept {
  if (cp < 0x80)
    return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9') ||
           cp == '_';
  return (U_GET_GC_MASK(static_cast<UChar32>(cp)) & (U_GC_L_MASK | U_GC_N_MASK)) != 0;
}

inline bool IsArticle(std::string_view w) noexcept { return w == "a" || w == "an" || w == "the"; }

}  // namespace

std::string NormalizeAnswer(std::string_view text) {
  // lower()
  std::string lowered = text::PyLower(text);
  // remove_punc()
  lowered.erase(std::remove_if(lowered.begin(), lowered.end(),
                               [](char c) { return IsAsciiPunct(static_cast<unsigned char>(c)); }),
                lowered.end());
  // remove_articles(): copy, replacing every maximal \w run that is an article
  // by a space. \b on both sides of (a|an|the) means exactly "a whole run".
  std::string no_articles;
  no_articles.reserve(lowered.size());
  const std::string_view s = lowered;
  std::size_t pos = 0;
  while (pos < s.size()) {
    std::size_t next = pos;
    const char32_t cp = text::DecodeUtf8(s, next);
    if (!IsWordChar(cp)) {
      no_articles.append(s.substr(pos, next - pos));
      pos = next;
      continue;
    }
    const std::size_t start = pos;
    pos = next;
    while (pos < s.size()) {
      next = pos;
      if (!IsWordChar(text::DecodeUtf8(s, next))) break;
      pos = next;
    }
    const std::string_view run = s.substr(start, pos - start);
    if (IsArticle(run)) {
      no_articles.push_back(' ');
    } else {
      no_articles.append(run);
    }
  }
  // white_space_fix()
  std::vector<std::string_view> tokens;
  text::SplitPythonWhitespace(no_articles, tokens);
  std::string out;
  out.reserve(no_articles.size());
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (i) out.push_back(' ');
    out.append(tokens[i]);
  }
  return out;
}

bool ExactMatch(std::string_view candidate, std::string_view reference, bool normalize) {
  if (!normalize) return candidate == reference;
  return NormalizeAnswer(candidate) == NormalizeAnswer(reference);
}

double TokenF1(std::string_view candidate, std::string_view reference) {
  // get_tokens(): an empty string has no tokens; otherwise the normalized
  // string, which is already single-space joined, split on spaces.
  const std::string pred = candidate.empty() ? std::string() : NormalizeAnswer(candidate);
  const std::string gold = reference.empty() ? std::string() : NormalizeAnswer(reference);
  std::vector<std::string_view> pred_toks, gold_toks;
  text::SplitPythonWhitespace(pred, pred_toks);
  text::SplitPythonWhitespace(gold, gold_toks);
  if (pred_toks.empty() || gold_toks.empty())
    return pred_toks.empty() && gold_toks.empty() ? 1.0 : 0.0;
  // sum((Counter(gold) & Counter(pred)).values()): multiset intersection size,
  // by merging the two sorted token lists.
  std::sort(pred_toks.begin(), pred_toks.end());
  std::sort(gold_toks.begin(), gold_toks.end());
  int64_t num_same = 0;
  for (std::size_t i = 0, j = 0; i < pred_toks.size() && j < gold_toks.size();) {
    if (pred_toks[i] < gold_toks[j]) {
      ++i;
    } else if (gold_toks[j] < pred_toks[i]) {
      ++j;
    } else {
      ++num_same, ++i, ++j;
    }
  }
  if (num_same == 0) return 0.0;
  // Same operations, in the same order, as the script.
  const double precision =
      1.0 * static_cast<double>(num_same) / static_cast<double>(pred_toks.size());
  const double recall = 1.0 * static_cast<double>(num_same) / static_cast<double>(gold_toks.size());
  return (2 * precision * recall) / (precision + recall);
}

}  // namespace llmeval::core::metrics
