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

inline constexpr int kBleuMaxOrder = 4;

enum class SmoothMethod { kNone, kFloor, kAddK, kExp };

SmoothMethod ParseSmoothMethod(std::string_view name);
const char* SmoothMethodName(SmoothMethod method) noexcept;

struct BleuOptions {
  BleuTokenizer tokenizer = BleuTokenizer::k13a;
  SmoothMethod smooth_method = SmoothMethod::kExp;
  // nullopt: sacrebleu's default for the method (floor 0.1, add-k 1).
  std::optional<double> smooth_value;
  bool lowercase = false;

  bool operator==(const BleuOptions& o) const {
    return tokenizer == o.tokenizer && smooth_method == o.smooth_method &&
           smooth_value == o.smooth_value && lowercase == o.lowercase;
  }
};

// Options from a JSON object with keys tokenize, smooth_method, smooth_value,
// lowercase (the aggregates' `options jsonb`). Unknown keys are errors, so a
// typo cannot silently fall back to a default.
BleuOptions ParseBleuOptionsJson(std::string_view json);

// sacrebleu's sufficient statistics for one segment, or a sum over segments.
struct BleuStats {
  int64_t sys_len = 0;
  int64_t ref_len = 0;
  std::array<int64_t, kBleuMaxOrder> correct{};
  std::array<int64_t, kBleuMaxOrder> total{};

  void Add(const BleuStats& other) noexcept;
};

struct BleuScore {
  double score = 0;
  std::array<double, kBleuMaxOrder> precisions{};
  double bp = 0;
  int64_t sys_len = 0;
  int64_t ref_len = 0;
  double ratio = 0;
};

// Statistics of one candidate against its references (at least one). Empty
// references are dropped while a non-empty one remains, as sacrebleu's
// corpus path does; if all are empty the segment has one empty reference.
BleuStats BleuSegmentStats(std::string_view candidate,
                           const std::vector<std::string_view>& references,
                           const BleuOptions& options);

// sacrebleu's BLEU.compute_bleu.
BleuScore BleuFromStats(const BleuStats& stats, const BleuOptions& options,
                        bool effective_order);

// sacrebleu.sentence_bleu: effective order on.
BleuScore SentenceBleu(std::string_view candidate, const std::vector<std::string_view>& references,
                       const BleuOptions& options);

// Rejects an explicit smooth_value that sacrebleu would not accept.
void ValidateBleuOptions(const BleuOptions& options);

}  // namespace llmeval::core::metrics

#include "core/cpp_only.hpp"
