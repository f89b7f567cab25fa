#include "core/metrics/levenshtein.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/text/utf8.hpp"

namespace llmeval::core::metrics {
namespace {

double NaiveRatio(std::string_view a_text, std::string_view b_text) {
  std::u32string a, b;
  text::DecodeUtf8All(a_text, a);
  text::DecodeUtf8All(b_text, b);
  if (a.empty() && b.empty()) return 1.0;
  std::vector<std::vector<int64_t>> dp(a.size() + 1, std::vector<int64_t>(b.size() + 1, 0));
  for (std::size_t i = 1; i <= a.size(); ++i)
    for (std::size_t j = 1; j <= b.size(); ++j)
      dp[i][j] = a[i - 1] == b[j - 1] ? dp[i - 1][j - 1] + 1 : std::max(dp[i - 1][j], dp[i][j - 1]);
  const auto lensum = static_cast<int64_t>(a.size() + b.size());
  const int64_t dist = lensum - 2 * dp[a.size()][b.size()];
  return 1.0 - static_cast<double>(dist) / static_cast<double>(lensum);
}

TEST(Levenshtein, KnownValues) {
  // python-Levenshtein: ratio("kitten", "sitting") == 0.6153846153846154
  EXPECT_EQ(LevenshteinRatio("kitten", "sitting"), 0.6153846153846154);
  EXPECT_EQ(LevenshteinRatio("", ""), 1.0);
  EXPECT_EQ(LevenshteinRatio("abc", ""), 0.0);
  EXPECT_EQ(LevenshteinRatio("", "abc"), 0.0);
  EXPECT_EQ(LevenshteinRatio("abc", "abc"), 1.0);
  EXPECT_EQ(LevenshteinRatio("abc", "xyz"), 0.0);
  // code points, not bytes: one substitution in 4 + 4 characters is 2 indels
  EXPECT_EQ(LevenshteinRatio("café", "cafe"), 1.0 - 2.0 / 8);
  EXPECT_EQ(LevenshteinRatio("中文字", "中文"), 1.0 - 1.0 / 5);
  // symmetric
  EXPECT_EQ(LevenshteinRatio("sitting", "kitten"), LevenshteinRatio("kitten", "sitting"));
}

std::string RandomText(std::mt19937& rng, std::size_t len) {
  static const std::vector<std::string> alphabet = {"a", "b", "c", "d", " ", "é", "中", "😀"};
  std::string s;
  for (std::size_t i = 0; i < len; ++i) s += alphabet[rng() % alphabet.size()];
  return s;
}

TEST(Levenshtein, MatchesDynamicProgrammingAcrossBlockSizes) {
  std::mt19937 rng(42);
  // 1 to 11 blocks of 64: every mix of the 4-, 2- and 1-block groups
  const std::vector<std::size_t> lengths = {0,   1,   5,   63,  64,  65,  127,
                                            128, 129, 200, 256, 300, 500, 700};
  for (std::size_t la : lengths) {
    for (std::size_t lb : lengths) {
      for (int rep = 0; rep < 3; ++rep) {
        std::string a = RandomText(rng, la);
        std::string b = RandomText(rng, lb);
        if (rep == 2 && !a.empty()) b = "xx" + a.substr(0, a.size() / 2) + "yy" + b;  // affixes
        SCOPED_TRACE(a + " | " + b);
        EXPECT_EQ(LevenshteinRatio(a, b), NaiveRatio(a, b));
      }
    }
  }
}

TEST(Levenshtein, LongTextsAndTheWorkLimit) {
  // near-identical long texts are cheap: the common prefix and suffix are stripped
  std::string big(5'000'000, 'a');
  std::string big2 = big;
  big2[2'500'000] = 'b';
  EXPECT_EQ(LevenshteinRatio(big, big2), 1.0 - 2.0 / 10'000'000);
  // a long text against a short one
  EXPECT_GT(LevenshteinRatio(big, "xaax"), 0.0);
  // 40,000 x 40,000 characters that differ throughout: 625 * 40,000 word steps
  std::mt19937 rng(1);
  const std::string a = RandomText(rng, 40'000);
  const std::string b = RandomText(rng, 40'000);
  const double r = LevenshteinRatio(a, b);
  EXPECT_GT(r, 0.5);
  EXPECT_LT(r, 1.0);
  // 1 MB x 1 MB of different text is over the limit
  std::string c(1'000'000, 'c');
  std::string d(1'000'000, 'd');
  try {
    LevenshteinRatio(c, d);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kProgramLimitExceeded);
    EXPECT_STREQ(e.what(), "input too long for levenshtein_ratio");
    EXPECT_NE(e.detail().find("1000000"), std::string::npos);
  }
}

}  // namespace
}  // namespace llmeval::core::metrics
