#include "core/metrics/squad.hpp"

#include <gtest/gtest.h>

namespace llmeval::core::metrics {
namespace {

TEST(Squad, NormalizeAnswerFollowsTheOfficialScript) {
  EXPECT_EQ(NormalizeAnswer("The Cat!"), "cat");
  EXPECT_EQ(NormalizeAnswer("an apple, a day"), "apple day");
  EXPECT_EQ(NormalizeAnswer("A"), "");
  EXPECT_EQ(NormalizeAnswer("THE"), "");
  EXPECT_EQ(NormalizeAnswer(""), "");
  EXPECT_EQ(NormalizeAnswer("  hello\t\n world  "), "hello world");
  // articles only as whole words
  EXPECT_EQ(NormalizeAnswer("theater then anthem a1 the1 1the"),
            "theater then anthem a1 the1 1the");
  // punctuation goes first: "a.b" becomes the word "ab", "the-end" the word "theend",
  // and '_' (punctuation, although \w) joins words too
  EXPECT_EQ(NormalizeAnswer("a.b the-end the_cat don't"), "ab theend thecat dont");
  // "a." loses its period and is then an article
  EXPECT_EQ(NormalizeAnswer("a. b"), "b");
  // only ASCII punctuation is removed
  EXPECT_EQ(NormalizeAnswer("«Hi» — there…"), "«hi» — there…");
}

TEST(Squad, NormalizeAnswerUnicodeWordBoundaries) {
  // letters and numbers of any script are \w: no boundary inside these runs
  EXPECT_EQ(NormalizeAnswer("thé café"), "thé café");
  EXPECT_EQ(NormalizeAnswer("an中 中the the中"), "an中 中the the中");
  EXPECT_EQ(NormalizeAnswer("the٣"), "the٣");  // Arabic-Indic digit (Nd)
  // a combining mark (Mn) is not \w in Python's re: "the" is a whole word before it
  EXPECT_EQ(NormalizeAnswer("the\u0301 x"), "\u0301 x");
  // non-breaking and ideographic spaces are Python whitespace
  EXPECT_EQ(NormalizeAnswer("the\u00a0cat\u3000a\u2003dog"), "cat dog");
  // Python's full lowercasing, including the final sigma
  EXPECT_EQ(NormalizeAnswer("ΟΔΟΣ THE"), "οδος");
  // fullwidth letters lowercase but are not ASCII "a"
  EXPECT_EQ(NormalizeAnswer("Ａ"), "ａ");
}

TEST(Squad, ExactMatch) {
  EXPECT_TRUE(ExactMatch("The Cat.", "cat", true));
  EXPECT_TRUE(ExactMatch("  Cat ", "a cat", true));
  EXPECT_FALSE(ExactMatch("The Cat.", "cat", false));
  EXPECT_TRUE(ExactMatch("cat", "cat", false));
  EXPECT_FALSE(ExactMatch("cat ", "cat", false));
  EXPECT_FALSE(ExactMatch("cats", "cat", true));
  EXPECT_TRUE(ExactMatch("", "", true));
  EXPECT_TRUE(ExactMatch("the", "", true));
}

TEST(Squad, TokenF1) {
  EXPECT_DOUBLE_EQ(TokenF1("the cat sat", "cat sat on the mat"), 2 * 1.0 * 0.5 / 1.5);
  EXPECT_EQ(TokenF1("the cat sat", "cat sat on the mat"), (2 * 1.0 * 0.5) / (1.0 + 0.5));
  // Counter intersection clips repeated tokens
  const double p = 2.0 / 3, r = 2.0 / 4;
  EXPECT_EQ(TokenF1("x y y", "y y y z"), (2 * p * r) / (p + r));
  EXPECT_EQ(TokenF1("Cat!", "cat"), 1.0);
  EXPECT_EQ(TokenF1("dog", "cat"), 0.0);
  // no tokens on either side: 1 if both are empty, else 0
  EXPECT_EQ(TokenF1("", ""), 1.0);
  EXPECT_EQ(TokenF1("the", "a"), 1.0);
  EXPECT_EQ(TokenF1("", "cat"), 0.0);
  EXPECT_EQ(TokenF1("cat", "!!"), 0.0);
}

}  // namespace
}  // namespace llmeval::core::metrics
