// ROUGE as Google's rouge-score computes it (rouge_scorer.RougeScorer with the
// default tokenizer and split_summaries=False; NLTK 3.8's PorterStemmer when
// use_stemmer is true).
//
// Tokens: the text is lowercased with Python's str.lower(), every run of
// characters outside [a-z0-9] separates tokens (so accented and non-Latin
// letters vanish: "wörld" gives "w" and "rld"), and with use_stemmer tokens
// longer than three characters are Porter-stemmed.
//
// Variants:
// - rougeN (N = 1..9): clipped n-gram overlap; an empty side counts as one
//   n-gram in the denominator, so it scores 0 rather than failing.
// - rougeL: longest common subsequence over all tokens (newlines are plain
//   separators).
// - rougeLsum: both texts are split on '\n' (empty lines dropped); each
//   reference line takes the union of its LCS with every candidate line, as
//   the indices rouge-score's backtracking picks, and a token counts as a hit
//   only while it has budget left in both texts (ROUGE-1.5.5's rule).
// Precision is relative to the candidate, recall to the reference; fmeasure
// is 2pr/(p+r), or 0 when p + r is 0.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace llmeval::core::metrics {

struct RougeVariant {
  enum class Kind { kNGram, kLcs, kLcsSum } kind;
  int n;  // the n-gram order for kNGram (1..9); unused otherwise
};

// "rouge1" .. "rouge9", "rougeL", "rougeLsum" (case-sensitive, as rouge-score).
// Anything else throws Error(kInvalidParameterValue).
RougeVariant ParseRougeVariant(std::string_view name);

struct RougeScore {
  double precision = 0;
  double recall = 0;
  double fmeasure = 0;
};

// Limits of the quadratic variants (rougeN is linear: a 10 MB text takes
// well under a second). Each is set so the worst case allowed takes about
// one to two seconds on one core; beyond it Rouge throws
// Error(kProgramLimitExceeded, "input too long for rougeL" / "... rougeLsum")
// with the counts in its detail. Memory stays in tens of megabytes.
//
// rougeL, and rougeLsum when neither text has more than one line with
// tokens (it is then the same computation): with a <= b the token counts
// after the common prefix and suffix of the two token lists are removed,
// ceil(a / 64) * b must not exceed kRougeLMaxWork (64-bit steps of the
// bit-parallel LCS). Two texts of 262,000 tokens (about 1.7 MB of English
// each) pass; a 10 MB text against a reference of up to ~45,000 tokens
// passes.
inline constexpr uint64_t kRougeLMaxWork = uint64_t{1} << 30;

// rougeLsum otherwise: with m and n the token counts of the reference and
// the candidate and R and C their numbers of lines with tokens,
// m * n / 64 + 2 * (m * C + n * R) must not exceed kRougeLsumMaxWork. The
// first term is the bit-parallel tables of all line pairs, the second the
// backtracking through each of them, which dominates when there are many
// short lines (8,000 one-token lines on each side are about the most
// allowed; 35,000 tokens in 20-token lines on each side pass).
inline constexpr uint64_t kRougeLsumMaxWork = uint64_t{1} << 28;

// rouge-score's score(target=reference, prediction=candidate)[variant].
// Any bytes are accepted (invalid UTF-8 reads as U+FFFD).
RougeScore Rouge(std::string_view candidate, std::string_view reference, RougeVariant variant,
                 bool use_stemmer);

// rouge-score's score_multi: the score against the reference with the
// highest fmeasure (the first one on ties). references must not be empty.
RougeScore RougeMulti(std::string_view candidate, const std::vector<std::string_view>& references,
                      RougeVariant variant, bool use_stemmer);

// RougeScorer(variants).score(reference, candidate): every variant from one
// tokenisation of each text, as rouge-score does. scores[i] receives
// variants[i]'s score (scores is resized). The same results as Rouge() per
// variant; a limit exceeded by one variant throws for the call.
void RougeScores(std::string_view candidate, std::string_view reference,
                 const std::vector<RougeVariant>& variants, bool use_stemmer,
                 std::vector<RougeScore>& scores);

// RougeScorer(variants).score_multi: for each variant separately, the score
// against the reference with the highest fmeasure (the first on ties); each
// reference is tokenised once. references must not be empty.
void RougeMultiScores(std::string_view candidate, const std::vector<std::string_view>& references,
                      const std::vector<RougeVariant>& variants, bool use_stemmer,
                      std::vector<RougeScore>& scores);

namespace internal {
// For tests only: rougeLsum keeps a line pair's whole bit-vector table while
// it fits in this many 64-bit words (2^21 by default) and only checkpoints
// beyond; a test lowers it to reach the checkpoint path on small inputs.
// Returns the previous value. Not synchronised: the extension never calls it.
std::size_t SetRougeLsumFullTableWordsForTesting(std::size_t words);
}  // namespace internal

}  // namespace llmeval::core::metrics

#include "core/cpp_only.hpp"
