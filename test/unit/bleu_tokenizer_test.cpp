// The one-pass 13a/zh tokenizer against a literal transcription of
// sacrebleu's regular-expression passes (bleu_tokenizer_oracle.hpp).
#include <cstdio>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "bleu_tokenizer_oracle.hpp"
#include "core/metrics/bleu.hpp"
#include "core/text/utf8.hpp"
#include "refdata.hpp"

namespace llmeval::core::metrics {
namespace {

void ReplaceAllIn(std::string& s, const std::string& from, const std::string& to) {
  for (std::size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size())
    s.replace(pos, from.size(), to);
}

// sacrebleu's Tokenizer13a.__call__ after BLEU's rstrip.
std::string Oracle13a(const std::string& text) {
  std::string line(text::RstripPython(text));
  ReplaceAllIn(line, "<skipped>", "");
  ReplaceAllIn(line, "-\n", "");
  ReplaceAllIn(line, "\n", " ");
  ReplaceAllIn(line, "&quot;", "\"");
  ReplaceAllIn(line, "&amp;", "&");
  ReplaceAllIn(line, "&lt;", "<");
  ReplaceAllIn(line, "&gt;", ">");
  return testing::OracleRegexpTokenize(" " + line + " ");
}

// TokenizerZh on text without CJK characters: strip, then the passes.
std::string OracleZhNoCjk(const std::string& text) {
  return testing::OracleRegexpTokenize(std::string(text::StripPython(text::RstripPython(text))));
}

TEST(BleuTokenizerOracle, KnownTrickyCases) {
  for (const char* s : {"a.,5", "x...", "1,000.50", "a.5", "5.a", "a,.,", ".,.,", "-1-2--3",
                        "3-.4", "(1.)", "\"q\".", ",5", "5,", ".", "..", "a-b", "9-", "9--9",
                        "e.g.,", "U.S.A.", "$3.50,", "1.2.3", "x.,y", "1.,2", "a ,.5"}) {
    EXPECT_EQ(BleuTokenizeString(s, BleuTokenizer::k13a), Oracle13a(s)) << s;
    EXPECT_EQ(BleuTokenizeString(s, BleuTokenizer::kZh), OracleZhNoCjk(s)) << s;
  }
}

TEST(BleuTokenizerOracle, RandomStrings) {
  // An alphabet dense in the characters the passes act on.
  const std::vector<std::string> alphabet = {"a", "b", "1", "9", ".", ",", "-", " ", "$", "(",
                                             "'", "\t", "é", "\xe3\x80\x80", "&amp;", "\n"};
  std::mt19937 rng(12345);
  for (int iteration = 0; iteration < 200000; ++iteration) {
    std::string s;
    const int length = static_cast<int>(rng() % 12);
    for (int k = 0; k < length; ++k) s += alphabet[rng() % alphabet.size()];
    ASSERT_EQ(BleuTokenizeString(s, BleuTokenizer::k13a), Oracle13a(s)) << "input: " << s;
    // U+3000 is a "Chinese" character for zh, which the oracle does not model.
    if (s.find("\xe3\x80\x80") == std::string::npos) {
      ASSERT_EQ(BleuTokenizeString(s, BleuTokenizer::kZh), OracleZhNoCjk(s)) << "input: " << s;
    }
  }
}

// Long ASCII strings: the 13a scan works on 64-byte words, and what a
// period, comma or dash does depends on its neighbours, which may lie in the
// next or previous word. Few periods and commas, so that most strings take
// that scan (two adjacent ones send a string down the general path).
TEST(BleuTokenizerOracle, RandomLongAsciiStrings) {
  const std::vector<std::string> alphabet = {"a", "bc", "1", "9", "0", ".", ",", "-", " ", "$",
                                             "(", "'", "\t", "word", "7", "x", "/", "  "};
  std::mt19937 rng(54321);
  for (int iteration = 0; iteration < 50000; ++iteration) {
    std::string s;
    const int length = static_cast<int>(rng() % 150);
    for (int k = 0; k < length; ++k) s += alphabet[rng() % alphabet.size()];
    ASSERT_EQ(BleuTokenizeString(s, BleuTokenizer::k13a), Oracle13a(s)) << "input: " << s;
    ASSERT_EQ(BleuTokenizeString(s, BleuTokenizer::kZh), OracleZhNoCjk(s)) << "input: " << s;
  }
}

// Non-ASCII text takes the 64-byte scan unless it holds Python whitespace
// beyond ASCII (NBSP, U+2028, U+3000 here); letters, symbols, malformed and
// truncated sequences are token bytes either way, next to periods, commas,
// dashes and digits, across word boundaries.
TEST(BleuTokenizerOracle, RandomNonAsciiStrings) {
  const std::vector<std::string> alphabet = {
      "a", "bc", "1", "9", ".", ",", "-", " ", "$", "(", "word",
      "\xc3\xa9", "\xe2\x82\xac", "\xe2\x80\x94", "\xe4\xb8\xad", "\xf0\x9f\x98\x80",  // é € — 中 😀
      "\x80", "\xe2", "\xe2\x80", "\xff",  // malformed ("\xe2\x80" "\x80" is U+2000, a space)
      "\xc2\xa0", "\xe2\x80\xa8", "\xe3\x80\x80", "\xc2"};  // NBSP, U+2028, U+3000, a lone lead
  std::mt19937 rng(777);
  for (int iteration = 0; iteration < 50000; ++iteration) {
    std::string s;
    const int length = static_cast<int>(rng() % (iteration % 2 ? 12 : 90));
    // A quarter of the strings may hold the last four entries; the others
    // have no non-ASCII whitespace unless the malformed pieces form one.
    const std::size_t letters = iteration % 4 == 0 ? alphabet.size() : alphabet.size() - 4;
    for (int k = 0; k < length; ++k) s += alphabet[rng() % letters];
    ASSERT_EQ(BleuTokenizeString(s, BleuTokenizer::k13a), Oracle13a(s)) << "input: " << s;
  }
}

TEST(BleuTokenizerOracle, WholeWorkloadAndRefdata) {
  const std::string cmd = std::string("gzip -dc '") + LLMEVAL_TEST_DATA + "/workload_100k.tsv.gz'";
  FILE* in = popen(cmd.c_str(), "r");
  ASSERT_NE(in, nullptr);
  std::string line;
  std::size_t checked = 0;
  auto check = [&](const std::string& text) {
    ASSERT_EQ(BleuTokenizeString(text, BleuTokenizer::k13a), Oracle13a(text)) << text;
    ++checked;
  };
  for (int c; (c = std::fgetc(in)) != EOF;) {
    if (c != '\n') {
      line.push_back(static_cast<char>(c));
      continue;
    }
    const auto tab = line.find('\t');
    check(line.substr(0, tab));
    check(line.substr(tab + 1));
    line.clear();
  }
  pclose(in);
  for (const char* metric : {"sentence_bleu", "sentence_chrf", "sentence_ter", "rouge"})
    for (const auto& c : testing::LoadRefCases(metric)) check(c["candidate"].get<std::string>());
  EXPECT_GT(checked, 200000u);
}

}  // namespace
}  // namespace llmeval::core::metrics
