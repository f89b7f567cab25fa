// BLEU as sacrebleu 2.x computes it: sentence_bleu (effective order,
// exponential smoothing by default) and corpus_bleu (statistics summed over
// segments first), with its smoothing methods and brevity penalty.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/metrics/bleu_tokenizer.hpp"

namespace llmeval::core::metrics {

// sacrebleu's BLEU(max_ngram_order=...): 4 by default; this project accepts
// 1..9, so statistics fit fixed arrays (an aggregate state is a flat struct).
inline constexpr int kBleuDefaultNgramOrder = 4;
inline constexpr int kBleuMaxNgramOrder = 9;

enum class SmoothMethod { kNone, kFloor, kAddK, kExp };

SmoothMethod ParseSmoothMethod(std::string_view name);
const char* SmoothMethodName(SmoothMethod method) noexcept;

struct BleuOptions {
  BleuTokenizer tokenizer = BleuTokenizer::k13a;
  SmoothMethod smooth_method = SmoothMethod::kExp;
  // nullopt: sacrebleu's default for the method (floor 0.1, add-k 1).
  std::optional<double> smooth_value;
  bool lowercase = false;
  // n-gram orders 1..max_ngram_order (1..kBleuMaxNgramOrder).
  int max_ngram_order = kBleuDefaultNgramOrder;
  // sacrebleu's use_effective_order: orders the candidate has no n-gram of
  // leave the geometric mean. nullopt: the function's own default, on for
  // sentence BLEU and off for corpus BLEU, as in sacrebleu.
  std::optional<bool> use_effective_order;

  bool operator==(const BleuOptions& o) const {
    return tokenizer == o.tokenizer && smooth_method == o.smooth_method &&
           smooth_value == o.smooth_value && lowercase == o.lowercase &&
           max_ngram_order == o.max_ngram_order && use_effective_order == o.use_effective_order;
  }
};

// Options from a JSON object with keys tokenize, smooth_method, smooth_value,
// lowercase, use_effective_order, max_ngram_order (the aggregates' `options
// jsonb`). Unknown keys are errors, so a typo cannot silently fall back to a
// default.
BleuOptions ParseBleuOptionsJson(std::string_view json);

// sacrebleu's sufficient statistics for one segment, or a sum over segments.
struct BleuStats {
  int64_t sys_len = 0;
  int64_t ref_len = 0;
  // Orders beyond the options' max_ngram_order stay 0.
  std::array<int64_t, kBleuMaxNgramOrder> correct{};
  std::array<int64_t, kBleuMaxNgramOrder> total{};

  void Add(const BleuStats& other) noexcept;
};

struct BleuScore {
  double score = 0;
  int max_ngram_order = kBleuDefaultNgramOrder;  // entries in use below
  std::array<double, kBleuMaxNgramOrder> precisions{};
  // sacrebleu's counts and totals: the statistics, add-k's addition included.
  std::array<double, kBleuMaxNgramOrder> counts{};
  std::array<double, kBleuMaxNgramOrder> totals{};
  bool effective_order = false;
  double bp = 0;
  int64_t sys_len = 0;
  int64_t ref_len = 0;
  double ratio = 0;
};

// Statistics of one candidate against its references (at least one). An
// empty reference counts, as in sacrebleu 2.6.0 (its _cache_references drops
// only None): it matches no n-gram but its length 0 competes for the closest
// reference length, so in a multi-stream corpus a row missing its k-th
// reference ("") can get ref_len 0.
BleuStats BleuSegmentStats(std::string_view candidate,
                           const std::vector<std::string_view>& references,
                           const BleuOptions& options);

// sacrebleu's BLEU.compute_bleu; effective_order as resolved by the caller.
BleuScore BleuFromStats(const BleuStats& stats, const BleuOptions& options,
                        bool effective_order);

// sacrebleu.corpus_bleu over summed statistics: effective order off unless
// the options turn it on.
BleuScore CorpusBleuFromStats(const BleuStats& stats, const BleuOptions& options);

// sacrebleu.sentence_bleu: effective order on unless the options turn it off.
BleuScore SentenceBleu(std::string_view candidate, const std::vector<std::string_view>& references,
                       const BleuOptions& options);

// Rejects an explicit smooth_value that sacrebleu would not accept and a
// max_ngram_order outside 1..kBleuMaxNgramOrder.
void ValidateBleuOptions(const BleuOptions& options);

namespace internal {
// For tests only: sentences whose n-gram tables (orders 2..4) would exceed
// this many entries each are counted with hashed 64-bit keys
// (PackedNGramCounts) instead of direct tables (DirectNGramCounts); a test
// sets 0 to compare the two. Returns the previous value. Not synchronised:
// the extension never calls it.
std::size_t SetBleuDirectTableMaxEntriesForTesting(std::size_t entries);
}  // namespace internal

}  // namespace llmeval::core::metrics

#include "core/cpp_only.hpp"
