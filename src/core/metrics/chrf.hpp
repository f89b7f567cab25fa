// chrF and chrF++ as sacrebleu 2.6.0 computes them (sacrebleu.metrics.chrf.CHRF
// with lowercase=False): sentence_chrf, and corpus_chrf by summing segment
// statistics first, with their options remove_whitespace and eps_smoothing.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace llmeval::core::metrics {

// The largest char_order and word_order accepted. sacrebleu has no limit, but
// orders beyond a few words or characters are meaningless for chrF and each
// order costs a pass over the text, so a huge order would only burn CPU.
inline constexpr int kChrfMaxOrder = 32;

struct ChrfOptions {
  int char_order = 6;  // character n-gram orders 1..char_order (0..kChrfMaxOrder)
  int word_order = 0;  // word n-gram orders 1..word_order; 2 gives chrF++
  int beta = 2;        // recall weight, >= 0
  // sacrebleu's eps_smoothing: average the per-order F-scores with 1e-16 for
  // an order missing on a side (chrF++.py) rather than averaging precision
  // and recall over the orders present on both sides.
  bool eps_smoothing = false;
  // sacrebleu's remove_whitespace (CHRF's whitespace=False): character
  // n-grams skip Python whitespace; false counts spaces as characters.
  bool remove_whitespace = true;

  bool operator==(const ChrfOptions& o) const {
    return char_order == o.char_order && word_order == o.word_order && beta == o.beta &&
           eps_smoothing == o.eps_smoothing && remove_whitespace == o.remove_whitespace;
  }
};

// Throws Error(kInvalidParameterValue) unless 0 <= char_order <= kChrfMaxOrder,
// 0 <= word_order <= kChrfMaxOrder, char_order + word_order >= 1, beta >= 0.
void ValidateChrfOptions(const ChrfOptions& options);

// Options from a JSON object with keys char_order, word_order, beta,
// eps_smoothing, remove_whitespace (the corpus_chrf aggregates' options
// argument); validated.
ChrfOptions ParseChrfOptionsJson(std::string_view json);

// sacrebleu's statistics layout: for each order, character orders 1..char_order
// first and then word orders 1..word_order, the triple
// {hypothesis n-grams, reference n-grams, matching n-grams}
// (size 3 * (char_order + word_order)). Empty means "no segment yet".
struct ChrfStats {
  std::vector<int64_t> values;
};

// Statistics of one candidate against its references. With several references
// sacrebleu keeps the statistics of the one with the highest sentence chrF,
// the first on ties. An empty reference counts, as in sacrebleu 2.6.0 (its
// _cache_references drops only None): it scores 0, and its statistics are
// kept when it comes first and no other reference scores above 0. Throws
// kInvalidParameterValue for an empty references vector or invalid options.
ChrfStats ChrfSegmentStats(std::string_view candidate,
                           const std::vector<std::string_view>& references,
                           const ChrfOptions& options);

// Adds `from` into `into` (corpus_chrf). An empty `into` takes `from` as is;
// statistics of different sizes (different orders) are an error.
void ChrfStatsAdd(ChrfStats& into, const ChrfStats& from);

// sacrebleu's CHRF._compute_f_score on the 0-100 scale. Empty statistics
// score 0. Throws kInvalidParameterValue if the size does not fit the options.
double ChrfFromStats(const ChrfStats& stats, const ChrfOptions& options);

// sacrebleu.sentence_chrf.
double SentenceChrf(std::string_view candidate, const std::vector<std::string_view>& references,
                    const ChrfOptions& options = {});

}  // namespace llmeval::core::metrics

#include "core/cpp_only.hpp"
