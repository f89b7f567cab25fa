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

TEST(LexicalScores, SeveralMetricsAtOnceMatchOneByOne) {
  const std::string_view out = "The cat sat on the mat.\nIt purred.";
  const std::string_view ref = "The cat is on the mat.\nIt slept.";
  const std::vector<std::string> metrics = {"rouge1", "bleu", "rougeLsum", "rouge2", "rougeL",
                                            "faithfulness", "chrf"};
  const std::vector<std::optional<double>> values = LexicalScores(metrics, out, ref);
  ASSERT_EQ(values.size(), metrics.size());
  for (std::size_t i = 0; i < metrics.size(); ++i)
    EXPECT_EQ(values[i], LexicalScore(metrics[i], out, ref)) << metrics[i];
  EXPECT_FALSE(values[5].has_value());
}

TEST(LexicalScores, AVariantBeyondItsLimitLeavesTheOthers) {
  // rougeL refuses two long different texts; rouge1 and rouge2 are linear.
  std::string a, b;
  for (int i = 0; i < 300000; ++i) {
    a += "w" + std::to_string(i % 1000) + " ";
    b += "v" + std::to_string(i % 997) + " ";
  }
  const std::vector<std::optional<double>> values =
      LexicalScores({"rouge1", "rougeL", "rouge2"}, a, b);
  EXPECT_TRUE(values[0].has_value());
  EXPECT_FALSE(values[1].has_value());
  EXPECT_TRUE(values[2].has_value());
}

TEST(LexicalScore, UnknownMetricsAreNotScoredHere) {
  EXPECT_FALSE(IsLexicalMetric("faithfulness"));
  EXPECT_FALSE(LexicalScore("faithfulness", "a", "b").has_value());
  EXPECT_FALSE(LexicalScore("rouge", "a", "b").has_value());
  EXPECT_FALSE(LexicalScore("rouge10", "a", "b").has_value());
}

}  // namespace
}  // namespace llmeval::core::metrics
