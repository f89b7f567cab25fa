#include "core/metrics/lexical_score.hpp"

#include <vector>

#include "core/metrics/bleu.hpp"
#include "core/metrics/chrf.hpp"
#include "core/metrics/levenshtein.hpp"
#include "core/metrics/rouge.hpp"
#include "core/metrics/squad.hpp"
#include "core/metrics/ter.hpp"

namespace llmeval::core::metrics {

bool IsLexicalMetric(std::string_view metric) {
  static constexpr std::string_view kNames[] = {"bleu",    "chrf",      "ter",         "rouge1",
                                                "rouge2",  "rougeL",    "rougeLsum",   "exact_match",
                                                "token_f1", "levenshtein_ratio"};
  for (std::string_view name : kNames)
    if (metric == name) return true;
  return false;
}

std::optional<double> LexicalScore(std::string_view metric, std::string_view output,
                                   std::string_view reference) {
  const std::vector<std::string_view> refs{reference};
  if (metric == "bleu") return SentenceBleu(output, refs, BleuOptions{}).score;
  if (metric == "chrf") return SentenceChrf(output, refs);
  if (metric == "ter") return SentenceTer(output, refs);
  if (metric == "exact_match") return ExactMatch(output, reference) ? 1.0 : 0.0;
  if (metric == "token_f1") return TokenF1(output, reference);
  if (metric == "levenshtein_ratio") return LevenshteinRatio(output, reference);
  if (metric.substr(0, 5) == "rouge" && IsLexicalMetric(metric))
    return Rouge(output, reference, ParseRougeVariant(metric), /*use_stemmer=*/false).fmeasure;
  return std::nullopt;
}

}  // namespace llmeval::core::metrics
