// The lexical metrics a job can name (llmeval.metrics, kind 'lexical'), as
// one number per response: what the workers store in llmeval.task_scores.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llmeval::core::metrics {

// Whether `metric` is one of bleu, chrf, ter, rouge1, rouge2, rougeL,
// rougeLsum, exact_match, token_f1, levenshtein_ratio.
bool IsLexicalMetric(std::string_view metric);

// The metric of output against the reference with default options (BLEU,
// chrF and TER on sacrebleu's 0-100 scale; ROUGE's F1, exact match as 0 or
// 1, token F1 and the Levenshtein ratio in 0-1). nullopt when it cannot be
// computed: no reference, an unknown metric, or an input beyond the metric's
// limits (the error is the caller's to record).
std::optional<double> LexicalScore(std::string_view metric, std::string_view output,
                                   std::string_view reference);

// LexicalScore of each of `metrics` (nullopt also for one beyond its limits,
// whose error is not thrown), the ROUGE variants among them from one
// tokenisation of each text, as a job scoring several variants needs.
std::vector<std::optional<double>> LexicalScores(const std::vector<std::string>& metrics,
                                                 std::string_view output,
                                                 std::string_view reference);

}  // namespace llmeval::core::metrics

#include "core/cpp_only.hpp"
