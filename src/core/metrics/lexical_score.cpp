#include "core/metrics/lexical_score.hpp"

#include <vector>

#include "core/error.hpp"

#include "core/metrics/bleu.hpp"
#include "core/metrics/chrf.hpp"
#include "core/metrics/levenshtein.hpp"
#include "core/metrics/rouge.hpp"
#include "core/metrics/squad.hpp"
#include "core/metrics/ter.hpp"

namespace llmeval::core::metrics {

namespace {

// rouge1, rouge2, rougeL, rougeLsum: the ROUGE variants a job can name.
bool IsRougeMetric(std::string_view metric) {
  return metric.substr(0, 5) == "rouge" && IsLexicalMetric(metric);
}

}  // namespace

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
  if (IsRougeMetric(metric))
    return Rouge(output, reference, ParseRougeVariant(metric), /*use_stemmer=*/false).fmeasure;
  return std::nullopt;
}

std::vector<std::optional<double>> LexicalScores(const std::vector<std::string>& metrics,
                                                 std::string_view output,
                                                 std::string_view reference) {
  std::vector<std::optional<double>> values(metrics.size());
  // The ROUGE variants in one call; should one exceed its limits, each is
  // scored alone below so the others still get their value.
  std::vector<std::size_t> rouge_slots;
  std::vector<RougeVariant> variants;
  for (std::size_t i = 0; i < metrics.size(); ++i) {
    if (!IsRougeMetric(metrics[i])) continue;
    rouge_slots.push_back(i);
    variants.push_back(ParseRougeVariant(metrics[i]));
  }
  bool rouge_done = false;
  if (variants.size() > 1) {
    try {
      std::vector<RougeScore> scores;
      RougeScores(output, reference, variants, /*use_stemmer=*/false, scores);
      for (std::size_t k = 0; k < rouge_slots.size(); ++k) values[rouge_slots[k]] = scores[k].fmeasure;
      rouge_done = true;
    } catch (const Error&) {
    }
  }
  for (std::size_t i = 0; i < metrics.size(); ++i) {
    if (rouge_done && IsRougeMetric(metrics[i])) continue;
    try {
      values[i] = LexicalScore(metrics[i], output, reference);
    } catch (const Error&) {
      values[i] = std::nullopt;  // beyond the metric's limits
    }
  }
  return values;
}

}  // namespace llmeval::core::metrics
