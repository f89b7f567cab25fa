#include "core/metrics/lexical_score.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "core/metrics/bleu.hpp"
#include "core/metrics/rouge.hpp"

namespace llmeval::core::metrics {
namespace {

TEST(LexicalScore, EachMetricMatchesItsFunction) {
  const std::string_view out = "The cat sat on the mat.";
  const std::string_view ref = "The cat is on the mat.";
  EXPECT_DOUBLE_EQ(*LexicalScore("bleu", out, ref), SentenceBleu(out, {ref}, BleuOptions{}).score);
  EXPECT_DOUBLE_EQ(*LexicalScore("rougeL", out, ref),
                   Rouge(out, ref, ParseRougeVariant("rougeL"), false).fmeasure);
  EXPECT_EQ(*LexicalScore("exact_match", "Paris.", "paris"), 1.0);
  EXPECT_EQ(*LexicalScore("exact_match", "Lyon", "paris"), 0.0);
  for (const char* m : {"chrf", "ter", "rouge1", "rouge2", "rougeLsum", "token_f1", "levenshtein_ratio"}) {
    EXPECT_TRUE(IsLexicalMetric(m)) << m;
    EXPECT_TRUE(LexicalScore(m, out, ref).has_value()) << m;
  }
}

TEST(LexicalScore, UnknownMetricsAreNotScoredHere) {
  EXPECT_FALSE(IsLexicalMetric("faithfulness"));
  EXPECT_FALSE(LexicalScore("faithfulness", "a", "b").has_value());
  EXPECT_FALSE(LexicalScore("rouge", "a", "b").has_value());
  EXPECT_FALSE(LexicalScore("rouge10", "a", "b").has_value());
}

}  // namespace
}  // namespace llmeval::core::metrics
