// TER (translation edit rate) as sacrebleu 2.6.0 computes it
// (sacrebleu.metrics.ter.TER and its lib_ter): Tercom's greedy block-shift
// search on top of a beam-restricted word edit distance, with sacrebleu's own
// limits (shift size, shift distance, beam width, candidate budget). Scores
// are identical to sacrebleu's, not approximations of "true" TER.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace llmeval::core::metrics {

// Texts longer than this (in words after tokenization, on either side) are
// rejected with kProgramLimitExceeded. The shift search evaluates up to about
// a thousand candidate shifts, each over up to the whole banded matrix; at
// this length the slowest inputs we found take about a second per reference
// (see ter.cpp), and each reference is searched separately.
inline constexpr std::size_t kTerMaxWords = 20000;

// sacrebleu's TercomTokenizer switches, with its defaults.
struct TerOptions {
  bool normalized = false;      // Tercom's punctuation/XML-entity normalization
  bool no_punct = false;        // drop . , ? : ; ! " ( )
  bool asian_support = false;   // with the two above: CJK characters and punctuation
  bool case_sensitive = false;  // false: Python str.lower() first

  bool operator==(const TerOptions& o) const {
    return normalized == o.normalized && no_punct == o.no_punct &&
           asian_support == o.asian_support && case_sensitive == o.case_sensitive;
  }
};

// sacrebleu's per-segment statistics [best_num_edits, avg_ref_len], or their
// sum over segments (corpus TER). Both are doubles as in sacrebleu: the
// average reference length is fractional with several references.
// Options from a JSON object with boolean keys normalized, no_punct,
// asian_support, case_sensitive (the corpus_ter aggregate's options).
TerOptions ParseTerOptionsJson(std::string_view json);

struct TerStats {
  double num_edits = 0;
  double ref_length = 0;
};

// Statistics of one candidate against its references: the fewest edits over
// the references and the mean reference length. An empty reference counts,
// as in sacrebleu 2.6.0 (its _cache_references drops only None): it costs one
// deletion per candidate word and brings the mean length down. Throws
// kInvalidParameterValue for an empty references vector and
// kProgramLimitExceeded past kTerMaxWords.
TerStats TerSegmentStats(std::string_view candidate,
                         const std::vector<std::string_view>& references,
                         const TerOptions& options = {});

// Corpus accumulation, in row order (sacrebleu's sum_of_lists).
void TerStatsAdd(TerStats& into, const TerStats& from);

// sacrebleu's TER._compute_score_from_stats on the 0-100(+) scale:
// 100 * edits / ref_length; with no reference words, 100 if there are edits,
// else 0. Scores above 100 are possible (more edits than reference words).
double TerFromStats(const TerStats& stats);

// sacrebleu.sentence_ter.
double SentenceTer(std::string_view candidate, const std::vector<std::string_view>& references,
                   const TerOptions& options = {});

// The edit count of sacrebleu's translation_edit_rate for word id sequences
// (shifts plus beam edit distance); an empty reference costs one edit per
// hypothesis word. Exposed for tests and benchmarks: it does not apply
// kTerMaxWords (only a 2^24-word guard against overflow).
int64_t TerEditsForIds(const std::vector<uint32_t>& hypothesis,
                       const std::vector<uint32_t>& reference);

}  // namespace llmeval::core::metrics

#include "core/cpp_only.hpp"
