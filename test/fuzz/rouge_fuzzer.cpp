// libFuzzer target: every ROUGE variant, with and without the stemmer, on
// arbitrary bytes, and the Porter stemmer on its own.
// The input is cut to 4 KB (far below the rougeL / rougeLsum work limits, so
// no exception is expected) and split at 0xFF bytes (never valid UTF-8, so
// any split is reachable) into a candidate, a reference and more references
// for RougeMulti. Newlines matter: rougeLsum splits on them.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/metrics/rouge.hpp"
#include "core/text/porter_stemmer.hpp"

using namespace llmeval::core;

namespace {

constexpr std::size_t kMaxInput = 4096;
constexpr const char* kVariants[] = {"rouge1", "rouge2", "rouge3", "rouge4",
                                     "rouge5", "rouge6", "rouge7", "rouge8",
                                     "rouge9", "rougeL", "rougeLsum"};

void Check(bool ok) {
  if (!ok) std::abort();
}

bool Unit(double x) { return std::isfinite(x) && x >= 0.0 && x <= 1.0; }

void CheckScore(const metrics::RougeScore& s) {
  Check(Unit(s.precision) && Unit(s.recall) && Unit(s.fmeasure));
  if (s.precision + s.recall == 0) {
    Check(s.fmeasure == 0);
  } else {
    // 2pr / (p + r) lies between the two (up to rounding).
    Check(s.fmeasure >= std::min(s.precision, s.recall) - 1e-12);
    Check(s.fmeasure <= std::max(s.precision, s.recall) + 1e-12);
  }
}

bool Same(const metrics::RougeScore& a, const metrics::RougeScore& b) {
  return a.precision == b.precision && a.recall == b.recall && a.fmeasure == b.fmeasure;
}

// An ASCII letter or digit is a token whatever surrounds it (an ASCII byte
// is always a whole character in UTF-8).
bool HasAsciiAlnum(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  });
}

// NLTK's irregular forms (PorterStemmer.pool in NLTK_EXTENSIONS mode).
// NLTK looks the word up as given, before lowercasing: "skies" is in the pool
// (-> "sky"), "Skies" is not and goes through the algorithm (-> "ski").
bool InNltkPool(std::string_view word) {
  for (std::string_view form : {"sky", "skies", "dying", "lying", "tying", "news", "innings",
                                "inning", "outings", "outing", "cannings", "canning", "howe",
                                "proceed", "exceed", "succeed"})
    if (word == form) return true;
  return false;
}

void FuzzStemmer(std::string_view word) {
  const std::string stem = text::PorterStem(word);
  Check(text::PorterStem(word) == stem);  // no state between calls
  const bool ascii = std::all_of(word.begin(), word.end(),
                                 [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (!ascii) return;
  // PorterStem lowercases first; the ASCII fast path on the lowercased word
  // gives the same stem, except for a word whose case hid a pool form.
  std::string lower(word);
  for (char& c : lower)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + ('a' - 'A'));
  if (lower != word && InNltkPool(lower)) return;
  std::string fast = "stale";
  text::PorterStemLowerAscii(lower, fast);
  Check(fast == stem);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  if (input.size() > kMaxInput) input = input.substr(0, kMaxInput);
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= input.size(); ++i) {
    if (i == input.size() || static_cast<unsigned char>(input[i]) == 0xFF) {
      parts.push_back(input.substr(start, i - start));
      start = i + 1;
    }
  }
  const std::string_view candidate = parts[0];
  const std::string_view reference = parts.size() > 1 ? parts[1] : candidate;
  std::vector<std::string_view> refs(parts.begin() + 1, parts.end());
  if (refs.empty()) refs.push_back(candidate);

  // Variant names: the fuzzer's text is one only if it is spelled exactly.
  bool is_name = false;
  for (const char* name : kVariants) is_name |= candidate == name;
  try {
    metrics::ParseRougeVariant(candidate);
    Check(is_name);
  } catch (const Error&) {
    Check(!is_name);
  }

  const bool has_tokens = HasAsciiAlnum(candidate);
  for (const char* name : kVariants) {
    const metrics::RougeVariant variant = metrics::ParseRougeVariant(name);
    for (const bool stem : {false, true}) {
      const metrics::RougeScore score = metrics::Rouge(candidate, reference, variant, stem);
      CheckScore(score);
      Check(Same(metrics::Rouge(candidate, reference, variant, stem), score));

      if (variant.kind != metrics::RougeVariant::Kind::kLcsSum) {
        // rougeN and rougeL are symmetric: swapping the texts swaps
        // precision and recall.
        const metrics::RougeScore swapped = metrics::Rouge(reference, candidate, variant, stem);
        Check(swapped.precision == score.recall && swapped.recall == score.precision);
        Check(std::fabs(swapped.fmeasure - score.fmeasure) <= 1e-12);
      } else {
        // The checkpointed LCS tables (used for long line pairs) give the
        // same result as the full ones.
        const std::size_t previous = metrics::internal::SetRougeLsumFullTableWordsForTesting(1);
        const metrics::RougeScore checkpointed =
            metrics::Rouge(candidate, reference, variant, stem);
        metrics::internal::SetRougeLsumFullTableWordsForTesting(previous);
        Check(Same(checkpointed, score));
      }

      // A text with tokens against itself scores 1 for unigrams and LCS.
      if (has_tokens && (variant.kind != metrics::RougeVariant::Kind::kNGram || variant.n == 1)) {
        const metrics::RougeScore self = metrics::Rouge(candidate, candidate, variant, stem);
        Check(self.precision == 1.0 && self.recall == 1.0 && self.fmeasure == 1.0);
      }
    }
  }

  // RougeMulti keeps the first reference with the highest fmeasure.
  const metrics::RougeVariant variant =
      metrics::ParseRougeVariant(kVariants[(size ? data[size - 1] : 0) % 11]);
  const bool stem = size > 1 && (data[size - 2] & 1);
  metrics::RougeScore best = metrics::Rouge(candidate, refs[0], variant, stem);
  for (std::size_t i = 1; i < refs.size(); ++i) {
    const metrics::RougeScore s = metrics::Rouge(candidate, refs[i], variant, stem);
    if (s.fmeasure > best.fmeasure) best = s;
  }
  Check(Same(metrics::RougeMulti(candidate, refs, variant, stem), best));
  try {
    metrics::RougeMulti(candidate, {}, variant, stem);
    std::abort();
  } catch (const Error&) {
  }

  FuzzStemmer(candidate);
  FuzzStemmer(reference);
  return 0;
}
