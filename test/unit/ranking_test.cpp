#include "core/metrics/ranking.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace llmeval::core::metrics {
namespace {

DocIds Ids(const std::vector<std::string>& ids) { return DocIds(ids.begin(), ids.end()); }

// Storage for the views in DocIds.
const std::vector<std::string> kRun = {"d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8", "d9", "d10"};
const std::vector<std::string> kRel = {"d1", "d3", "d6", "d9", "d20"};

TEST(Ranking, PrecisionAtKDividesByKBeyondTheList) {
  const DocIds run = Ids(kRun), rel = Ids(kRel);
  EXPECT_DOUBLE_EQ(PrecisionAtK(run, rel, 1), 1.0);
  EXPECT_DOUBLE_EQ(PrecisionAtK(run, rel, 2), 0.5);
  EXPECT_DOUBLE_EQ(PrecisionAtK(run, rel, 5), 2.0 / 5);
  EXPECT_DOUBLE_EQ(PrecisionAtK(run, rel, 10), 4.0 / 10);
  // trec_eval's P_20 on a 10-document run: 4 / 20
  EXPECT_DOUBLE_EQ(PrecisionAtK(run, rel, 20), 4.0 / 20);
  EXPECT_DOUBLE_EQ(PrecisionAtK({}, rel, 3), 0.0);
  // nothing relevant: 0, not NULL
  EXPECT_DOUBLE_EQ(PrecisionAtK(run, {}, 3), 0.0);
}

TEST(Ranking, RecallAndHitRate) {
  const DocIds run = Ids(kRun), rel = Ids(kRel);
  EXPECT_DOUBLE_EQ(*RecallAtK(run, rel, 1), 1.0 / 5);
  EXPECT_DOUBLE_EQ(*RecallAtK(run, rel, 5), 2.0 / 5);
  EXPECT_DOUBLE_EQ(*RecallAtK(run, rel, 100), 4.0 / 5);
  EXPECT_DOUBLE_EQ(*RecallAtK({}, rel, 5), 0.0);
  EXPECT_FALSE(RecallAtK(run, {}, 5).has_value());
  EXPECT_DOUBLE_EQ(*HitRateAtK(run, rel, 1), 1.0);
  const std::vector<std::string> late = {"x", "y", "d6"};
  EXPECT_DOUBLE_EQ(*HitRateAtK(Ids(late), rel, 2), 0.0);
  EXPECT_DOUBLE_EQ(*HitRateAtK(Ids(late), rel, 3), 1.0);
  EXPECT_FALSE(HitRateAtK(run, {}, 5).has_value());
}

TEST(Ranking, ReciprocalRank) {
  const DocIds rel = Ids(kRel);
  const std::vector<std::string> third = {"x", "y", "d3", "d1"};
  EXPECT_DOUBLE_EQ(*ReciprocalRank(Ids(third), rel), 1.0 / 3);
  const std::vector<std::string> none = {"x", "y"};
  EXPECT_DOUBLE_EQ(*ReciprocalRank(Ids(none), rel), 0.0);
  EXPECT_DOUBLE_EQ(*ReciprocalRank({}, rel), 0.0);
  EXPECT_FALSE(ReciprocalRank(Ids(third), {}).has_value());
}

TEST(Ranking, AveragePrecisionByHand) {
  // relevant at ranks 1, 3, 6, 9 of 5 relevant:
  // (1/1 + 2/3 + 3/6 + 4/9) / 5
  const DocIds run = Ids(kRun), rel = Ids(kRel);
  EXPECT_DOUBLE_EQ(*AveragePrecision(run, rel), (1.0 + 2.0 / 3 + 3.0 / 6 + 4.0 / 9) / 5);
  // Manning, Raghavan, Schütze (IR book, 8.4): relevant at ranks 1, 3 of 2
  const std::vector<std::string> r = {"a", "b", "c"}, rr = {"a", "c"};
  EXPECT_DOUBLE_EQ(*AveragePrecision(Ids(r), Ids(rr)), (1.0 + 2.0 / 3) / 2);
  EXPECT_DOUBLE_EQ(*AveragePrecision({}, Ids(rr)), 0.0);
  EXPECT_FALSE(AveragePrecision(Ids(r), {}).has_value());
}

TEST(Ranking, DuplicatesCountOnceAtTheirFirstRank) {
  const std::vector<std::string> dup = {"a", "a", "b", "a", "c"}, rel = {"a", "c"};
  // distinct ranking: a, b, c
  EXPECT_DOUBLE_EQ(PrecisionAtK(Ids(dup), Ids(rel), 2), 0.5);
  EXPECT_DOUBLE_EQ(PrecisionAtK(Ids(dup), Ids(rel), 3), 2.0 / 3);
  EXPECT_DOUBLE_EQ(*RecallAtK(Ids(dup), Ids(rel), 2), 0.5);
  EXPECT_DOUBLE_EQ(*AveragePrecision(Ids(dup), Ids(rel)), (1.0 + 2.0 / 3) / 2);
  const std::vector<std::string> dup_rel = {"c", "c", "a", "a"};
  EXPECT_DOUBLE_EQ(*RecallAtK(Ids(dup), Ids(dup_rel), 3), 1.0);
  // a repeated relevant id counts once in the ideal too
  const std::vector<std::string> twice = {"b", "b", "c"};
  EXPECT_DOUBLE_EQ(*ReciprocalRank(Ids(twice), Ids(rel)), 0.5);
}

double Dcg(const std::vector<double>& gains) {
  double s = 0;
  for (std::size_t i = 0; i < gains.size(); ++i) s += gains[i] / std::log2(i + 2.0);
  return s;
}

TEST(Ranking, NdcgWikipediaExample) {
  // Wikipedia, "Discounted cumulative gain": D1..D6 graded 3, 2, 3, 0, 1, 2;
  // D7 (3) and D8 (2) judged but not retrieved. DCG6 = 6.861, IDCG6 = 8.740
  // (ideal 3, 3, 3, 2, 2, 2), nDCG6 = 0.785.
  const std::vector<std::string> run = {"D1", "D2", "D3", "D4", "D5", "D6"};
  const Grades grades = {{"D1", 3}, {"D2", 2}, {"D3", 3}, {"D4", 0},
                         {"D5", 1}, {"D6", 2}, {"D7", 3}, {"D8", 2}};
  const double ndcg = *NdcgAtK(Ids(run), grades, 6);
  EXPECT_NEAR(Dcg({3, 2, 3, 0, 1, 2}), 6.861, 5e-4);
  EXPECT_NEAR(Dcg({3, 3, 3, 2, 2, 2}), 8.740, 5e-4);
  EXPECT_NEAR(ndcg, 0.785, 5e-4);
  EXPECT_DOUBLE_EQ(ndcg, Dcg({3, 2, 3, 0, 1, 2}) / Dcg({3, 3, 3, 2, 2, 2}));
}

TEST(Ranking, NdcgCutoffsAndEdges) {
  const std::vector<std::string> run = {"a", "b", "c"};
  const Grades grades = {{"a", 1}, {"c", 2}, {"z", 1}};
  // k = 1: dcg 1, ideal 2
  EXPECT_DOUBLE_EQ(*NdcgAtK(Ids(run), grades, 1), 0.5);
  // k = 3: dcg 1 + 2/log2(4); ideal 2 + 1/log2(3) + 1/log2(4)
  EXPECT_DOUBLE_EQ(*NdcgAtK(Ids(run), grades, 3), Dcg({1, 0, 2}) / Dcg({2, 1, 1}));
  // k beyond the list: the ideal keeps growing, DCG does not
  EXPECT_DOUBLE_EQ(*NdcgAtK(Ids(run), grades, 10), Dcg({1, 0, 2}) / Dcg({2, 1, 1}));
  // perfect ranking
  const std::vector<std::string> best = {"c", "a", "z"};
  EXPECT_DOUBLE_EQ(*NdcgAtK(Ids(best), grades, 3), 1.0);
  EXPECT_DOUBLE_EQ(*NdcgAtK({}, grades, 3), 0.0);
  // no positive grade: undefined
  EXPECT_FALSE(NdcgAtK(Ids(run), {}, 3).has_value());
  EXPECT_FALSE(NdcgAtK(Ids(run), {{"a", 0}, {"b", -1}}, 3).has_value());
  // negative grades add nothing; fractional grades are linear gains
  EXPECT_DOUBLE_EQ(*NdcgAtK(Ids(run), {{"a", -2}, {"b", 0.5}}, 2), Dcg({0, 0.5}) / Dcg({0.5}));
  // duplicates: the second "a" is dropped, "c" moves to rank 2
  const std::vector<std::string> dup = {"a", "a", "c"};
  EXPECT_DOUBLE_EQ(*NdcgAtK(Ids(dup), grades, 2), Dcg({1, 2}) / Dcg({2, 1}));
}

TEST(Ranking, BadInput) {
  const DocIds run = Ids(kRun), rel = Ids(kRel);
  for (std::int64_t k : {0, -1}) {
    EXPECT_THROW(PrecisionAtK(run, rel, k), Error);
    EXPECT_THROW(RecallAtK(run, rel, k), Error);
    EXPECT_THROW(HitRateAtK(run, rel, k), Error);
    EXPECT_THROW(NdcgAtK(run, {{"d1", 1}}, k), Error);
  }
  try {
    PrecisionAtK(run, rel, 0);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidParameterValue);
    EXPECT_STREQ(e.what(), "k must be positive");
  }
  EXPECT_THROW(ParseGrades("[1, 2]"), Error);
  EXPECT_THROW(ParseGrades("{\"a\": \"2\"}"), Error);
  EXPECT_THROW(ParseGrades("{\"a\": true}"), Error);
  EXPECT_THROW(ParseGrades("{\"a\": 1e400}"), Error);
  const Grades g = ParseGrades("{\"b\": 2, \"a\": 1.5, \"é\": 0}");
  ASSERT_EQ(g.size(), 3u);
  EXPECT_EQ(g[0].first, "a");
  EXPECT_DOUBLE_EQ(g[0].second, 1.5);
}

TEST(Ranking, LargeInputsAreLinear) {
  std::vector<std::string> run, rel;
  for (int i = 0; i < 200000; ++i) run.push_back("doc" + std::to_string(i));
  for (int i = 0; i < 200000; i += 2) rel.push_back("doc" + std::to_string(i));
  const DocIds r = Ids(run), q = Ids(rel);
  EXPECT_DOUBLE_EQ(PrecisionAtK(r, q, 200000), 0.5);
  EXPECT_DOUBLE_EQ(*RecallAtK(r, q, 200000), 1.0);
  EXPECT_DOUBLE_EQ(*ReciprocalRank(r, q), 1.0);
  Grades grades;
  for (const auto& id : rel) grades.emplace_back(id, 1);
  EXPECT_GT(*NdcgAtK(r, grades, 1000000), 0.5);
}

}  // namespace
}  // namespace llmeval::core::metrics
