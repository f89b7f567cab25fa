#include "core/metrics/bleu.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "refdata.hpp"

namespace llmeval::core::metrics {
namespace {

using testing::kSacrebleuTolerance;

BleuOptions OptionsFromParams(const nlohmann::json& params) {
  BleuOptions options;
  if (params.contains("tokenize")) options.tokenizer = ParseBleuTokenizer(params["tokenize"].get<std::string>());
  if (params.contains("smooth_method"))
    options.smooth_method = ParseSmoothMethod(params["smooth_method"].get<std::string>());
  if (params.contains("smooth_value")) options.smooth_value = params["smooth_value"].get<double>();
  if (params.contains("lowercase")) options.lowercase = params["lowercase"].get<bool>();
  return options;
}

std::vector<std::string_view> Views(const std::vector<std::string>& strings) {
  return {strings.begin(), strings.end()};
}

void ExpectScoreMatches(const BleuScore& got, const nlohmann::json& expected, int id) {
  SCOPED_TRACE("case " + std::to_string(id));
  EXPECT_NEAR(got.score, expected["score"].get<double>(), kSacrebleuTolerance);
  EXPECT_NEAR(got.bp, expected["bp"].get<double>(), kSacrebleuTolerance);
  EXPECT_EQ(got.sys_len, expected["sys_len"].get<int64_t>());
  EXPECT_EQ(got.ref_len, expected["ref_len"].get<int64_t>());
  for (int i = 0; i < kBleuMaxOrder; ++i)
    EXPECT_NEAR(got.precisions[i], expected["precisions"][i].get<double>(), kSacrebleuTolerance);
}

TEST(BleuRefdata, SentenceBleuMatchesSacrebleu) {
  const auto cases = testing::LoadRefCases("sentence_bleu");
  ASSERT_GT(cases.size(), 300u);
  for (const auto& c : cases) {
    const auto refs = testing::StringList(c["references"]);
    const BleuOptions options = OptionsFromParams(c["params"]);
    ExpectScoreMatches(SentenceBleu(c["candidate"].get<std::string>(), Views(refs), options),
                       c["expected"], c["id"].get<int>());
  }
}

TEST(BleuRefdata, CorpusBleuMatchesSacrebleu) {
  const auto cases = testing::LoadRefCases("corpus_bleu");
  ASSERT_GT(cases.size(), 30u);
  for (const auto& c : cases) {
    const BleuOptions options = OptionsFromParams(c["params"]);
    BleuStats stats;
    const auto candidates = testing::StringList(c["candidate"]);
    for (std::size_t row = 0; row < candidates.size(); ++row) {
      const auto refs = testing::StringList(c["references"][row]);
      stats.Add(BleuSegmentStats(candidates[row], Views(refs), options));
    }
    ExpectScoreMatches(BleuFromStats(stats, options, false), c["expected"], c["id"].get<int>());
  }
}

TEST(BleuTokenizer, Mteval13aRules) {
  EXPECT_EQ(BleuTokenizeString("Hello, world!", BleuTokenizer::k13a), "Hello , world !");
  // period and comma stay inside numbers, dash splits after a digit
  EXPECT_EQ(BleuTokenizeString("It costs 1,000.50 in 2019-2020.", BleuTokenizer::k13a),
            "It costs 1,000.50 in 2019 - 2020 .");
  // a match consumes its characters: ",5" stays together as in re.sub
  EXPECT_EQ(BleuTokenizeString("a.,5", BleuTokenizer::k13a), "a . ,5");
  EXPECT_EQ(BleuTokenizeString("&quot;x&quot; &amp;lt; y<skipped>", BleuTokenizer::k13a),
            "\" x \" < y");
  EXPECT_EQ(BleuTokenizeString("line-\nbreak\nnext", BleuTokenizer::k13a), "linebreak next");
  EXPECT_EQ(BleuTokenizeString("don't", BleuTokenizer::k13a), "don't");
  EXPECT_EQ(BleuTokenizeString("", BleuTokenizer::k13a), "");
}

TEST(BleuTokenizer, IntlUsesUnicodeClasses) {
  EXPECT_EQ(BleuTokenizeString("«Bonjour», dit-il… 3,5€", BleuTokenizer::kIntl),
            "« Bonjour » , dit - il … 3,5 €");
  // a number followed by a final dot keeps the dot (as in mteval-v14)
  EXPECT_EQ(BleuTokenizeString("in 2019.", BleuTokenizer::kIntl), "in 2019.");
}

TEST(BleuTokenizer, ZhSplitsCjkAndSacrebleuRanges) {
  EXPECT_EQ(BleuTokenizeString("我爱北京abc.", BleuTokenizer::kZh), "我 爱 北 京 abc .");
  // U+2192 (arrow) falls in sacrebleu's effective U+2001..U+2A6D range;
  // U+20000 (Extension B) does not.
  EXPECT_EQ(BleuTokenizeString("a→b", BleuTokenizer::kZh), "a → b");
  EXPECT_EQ(BleuTokenizeString("a\U00020000b", BleuTokenizer::kZh), "a\U00020000b");
}

TEST(BleuTokenizer, CharAndNone) {
  EXPECT_EQ(BleuTokenizeString("ab c", BleuTokenizer::kChar), "a b c");
  EXPECT_EQ(BleuTokenizeString("né", BleuTokenizer::kChar), "n é");
  EXPECT_EQ(BleuTokenizeString(" a,b \u3000c ", BleuTokenizer::kNone), "a,b c");
}

TEST(Bleu, EdgeCases) {
  const BleuOptions defaults;
  EXPECT_EQ(SentenceBleu("", {"the cat"}, defaults).score, 0.0);
  EXPECT_EQ(SentenceBleu("the cat", {""}, defaults).score, 0.0);
  EXPECT_EQ(SentenceBleu("a b c", {"d e f"}, defaults).score, 0.0);
  EXPECT_NEAR(SentenceBleu("the cat sat on the mat", {"the cat sat on the mat"}, defaults).score,
              100.0, 1e-9);
  // an empty reference is dropped while a non-empty one remains
  EXPECT_EQ(SentenceBleu("the cat", {"", "the cat"}, defaults).ref_len, 2);
  EXPECT_THROW(SentenceBleu("x", {}, defaults), Error);
}

TEST(Bleu, MultipleReferencesTakeMaxCounts) {
  const BleuOptions defaults;
  const BleuScore one = SentenceBleu("the the the", {"the cat"}, defaults);
  const BleuScore two = SentenceBleu("the the the", {"the cat", "the the dog"}, defaults);
  EXPECT_NEAR(one.precisions[0], 100.0 / 3, 1e-12);
  EXPECT_NEAR(two.precisions[0], 200.0 / 3, 1e-12);
}

TEST(Bleu, LongTextIsLinear) {
  std::string big;
  for (int i = 0; i < 200000; ++i) big += "word" + std::to_string(i % 5000) + " ";
  const BleuScore s = SentenceBleu(big, {big}, BleuOptions{});
  EXPECT_NEAR(s.score, 100.0, 1e-9);
  EXPECT_EQ(s.sys_len, 200000);
}

TEST(Bleu, OptionsJson) {
  const BleuOptions o = ParseBleuOptionsJson(
      R"({"tokenize":"intl","smooth_method":"floor","smooth_value":0.3,"lowercase":true})");
  EXPECT_EQ(o.tokenizer, BleuTokenizer::kIntl);
  EXPECT_EQ(o.smooth_method, SmoothMethod::kFloor);
  EXPECT_EQ(*o.smooth_value, 0.3);
  EXPECT_TRUE(o.lowercase);
  EXPECT_THROW(ParseBleuOptionsJson(R"({"tokenizer":"13a"})"), Error);
  EXPECT_THROW(ParseBleuOptionsJson(R"({"lowercase":"yes"})"), Error);
  EXPECT_THROW(ParseBleuOptionsJson("[1]"), Error);
  EXPECT_THROW(ParseBleuOptionsJson("{"), Error);
  EXPECT_THROW(ParseBleuOptionsJson(R"({"smooth_value":-1})"), Error);
  EXPECT_THROW(ParseBleuTokenizer("13b"), Error);
}

}  // namespace
}  // namespace llmeval::core::metrics
