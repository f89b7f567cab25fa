#include "core/metrics/rouge.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/text/unicode.hpp"
#include "core/text/utf8.hpp"
#include "refdata.hpp"

namespace llmeval::core::metrics {
namespace {

using testing::kRougeTolerance;

constexpr RougeVariant kRouge1{RougeVariant::Kind::kNGram, 1};
constexpr RougeVariant kRouge2{RougeVariant::Kind::kNGram, 2};
constexpr RougeVariant kRougeL{RougeVariant::Kind::kLcs, 0};
constexpr RougeVariant kRougeLsum{RougeVariant::Kind::kLcsSum, 0};

void ExpectScore(const RougeScore& got, double precision, double recall, double fmeasure) {
  EXPECT_NEAR(got.precision, precision, kRougeTolerance);
  EXPECT_NEAR(got.recall, recall, kRougeTolerance);
  EXPECT_NEAR(got.fmeasure, fmeasure, kRougeTolerance);
}

TEST(RougeRefdata, MatchesRougeScore) {
  const auto cases = testing::LoadRefCases("rouge");
  ASSERT_GT(cases.size(), 200u);
  int checked = 0;
  int expected_scores = 0;
  for (const auto& c : cases) {
    expected_scores += static_cast<int>(c["expected"].size());
    const std::string candidate = c["candidate"].get<std::string>();
    const auto references = testing::StringList(c["references"]);
    ASSERT_EQ(references.size(), 1u);
    const bool use_stemmer = c["params"].value("use_stemmer", false);
    for (const auto& [name, expected] : c["expected"].items()) {
      SCOPED_TRACE("case " + std::to_string(c["id"].get<int>()) + " " + name);
      const RougeScore got = Rouge(candidate, references[0], ParseRougeVariant(name), use_stemmer);
      ExpectScore(got, expected["precision"].get<double>(), expected["recall"].get<double>(),
                  expected["fmeasure"].get<double>());
      ++checked;
    }
  }
  // rouge1, rouge2, rougeL and rougeLsum per case
  EXPECT_EQ(checked, expected_scores);
  EXPECT_GE(expected_scores, static_cast<int>(cases.size()) * 4);
}

// One tokenisation for all four variants gives exactly the per-variant
// results (and so rouge-score's), for each public case.
TEST(RougeRefdata, SeveralVariantsInOneCall) {
  const auto cases = testing::LoadRefCases("rouge");
  const std::vector<RougeVariant> variants = {kRougeLsum, kRouge1, kRougeL, kRouge2, kRouge1};
  std::vector<RougeScore> scores;
  for (const auto& c : cases) {
    SCOPED_TRACE("case " + std::to_string(c["id"].get<int>()));
    const std::string candidate = c["candidate"].get<std::string>();
    const std::string reference = c["references"][0].get<std::string>();
    const bool use_stemmer = c["params"].value("use_stemmer", false);
    RougeScores(candidate, reference, variants, use_stemmer, scores);
    ASSERT_EQ(scores.size(), variants.size());
    for (std::size_t i = 0; i < variants.size(); ++i) {
      const RougeScore one = Rouge(candidate, reference, variants[i], use_stemmer);
      EXPECT_EQ(scores[i].precision, one.precision);
      EXPECT_EQ(scores[i].recall, one.recall);
      EXPECT_EQ(scores[i].fmeasure, one.fmeasure);
    }
  }
}

TEST(Rouge, SeveralVariantsAgainstSeveralReferences) {
  // Each variant keeps its own best reference (score_multi per rouge type).
  const std::string candidate = "the cat sat on the mat\nthe dog ran";
  const std::vector<std::string_view> refs = {"the dog ran\nthe cat sat on the mat",
                                              "the cat sat on the mat the dog ran"};
  const std::vector<RougeVariant> variants = {kRouge1, kRouge2, kRougeL, kRougeLsum};
  std::vector<RougeScore> scores;
  RougeMultiScores(candidate, refs, variants, false, scores);
  for (std::size_t i = 0; i < variants.size(); ++i) {
    const RougeScore one = RougeMulti(candidate, refs, variants[i], false);
    EXPECT_EQ(scores[i].fmeasure, one.fmeasure);
    EXPECT_EQ(scores[i].precision, one.precision);
  }
  // rougeL prefers the second reference, rougeLsum the first
  EXPECT_EQ(scores[2].fmeasure, Rouge(candidate, refs[1], kRougeL, false).fmeasure);
  EXPECT_EQ(scores[3].fmeasure, Rouge(candidate, refs[0], kRougeLsum, false).fmeasure);
  EXPECT_THROW(RougeMultiScores(candidate, {}, variants, false, scores), Error);
  EXPECT_THROW(RougeScores(candidate, refs[0], {RougeVariant{RougeVariant::Kind::kNGram, 10}},
                           false, scores),
               Error);
  RougeScores(candidate, refs[0], {}, false, scores);
  EXPECT_TRUE(scores.empty());
}

// ROUGE tokenizes non-ASCII text through PyLowerAsciiOnly: it must agree
// with the full lowercasing (ICU) once non-ASCII code points are spaces,
// for every code point, alone and between letters, and on invalid UTF-8.
std::string NonAsciiToSpaces(std::string_view s) {
  std::string out;
  for (std::size_t pos = 0; pos < s.size();) {
    const char32_t cp = text::DecodeUtf8(s, pos);
    out.push_back(cp < 0x80 ? static_cast<char>(cp) : ' ');
  }
  return out;
}

TEST(RougeTokenizer, AsciiOnlyLoweringAgreesWithIcuOnEveryCodePoint) {
  std::string ascii_only;
  for (char32_t cp = 0x80; cp <= 0x10FFFF; ++cp) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    std::string s = "Ab";
    text::AppendUtf8(s, cp);
    s += "Zy";
    text::PyLowerAsciiOnly(s, ascii_only);
    ASSERT_EQ(ascii_only, NonAsciiToSpaces(text::PyLower(s))) << "U+" << std::hex << cp;
  }
  for (const std::string s : {"\xff", "a\xe2\x84", "\xe2\x84\xaa\xc4", "K\xc4\xb0\xf0\xc4\xb0x",
                              "\xe2\xc4\xb0\x84\xaa", "\xce\xa3\xce\x91\xce\xa3 \xe2\x84\xaa" "elvin"}) {
    text::PyLowerAsciiOnly(s, ascii_only);
    EXPECT_EQ(ascii_only, NonAsciiToSpaces(text::PyLower(s))) << s;
  }
}

TEST(RougeTokenizer, DottedCapitalIAndKelvinSign) {
  // "İstanbul" lowercases to "i̇stanbul": tokens "i" and "stanbul".
  ExpectScore(Rouge("\xc4\xb0stanbul", "i stanbul", kRouge1, false), 1.0, 1.0, 1.0);
  // The Kelvin sign lowercases to a plain k, inside the token.
  ExpectScore(Rouge("5 \xe2\x84\xaa" "elvin", "5 kelvin", kRouge1, false), 1.0, 1.0, 1.0);
  ExpectScore(Rouge("caf\xc3\xa9 ol\xc3\xa9", "caf ol", kRougeL, false), 1.0, 1.0, 1.0);
}

TEST(RougeVariantNames, ParsesAll) {
  for (int n = 1; n <= 9; ++n) {
    const RougeVariant v = ParseRougeVariant("rouge" + std::to_string(n));
    EXPECT_EQ(v.kind, RougeVariant::Kind::kNGram);
    EXPECT_EQ(v.n, n);
  }
  EXPECT_EQ(ParseRougeVariant("rougeL").kind, RougeVariant::Kind::kLcs);
  EXPECT_EQ(ParseRougeVariant("rougeLsum").kind, RougeVariant::Kind::kLcsSum);
}

TEST(RougeVariantNames, RejectsUnknown) {
  for (const char* name : {"rouge0", "rouge10", "rougel", "ROUGEL", "rougeLSum", "rouge", "",
                           "rouge1 ", "rouge-1", "bleu"}) {
    try {
      ParseRougeVariant(name);
      ADD_FAILURE() << "accepted " << name;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidParameterValue);
      EXPECT_EQ(std::string(e.what()), std::string("unknown rouge variant \"") + name + "\"");
      EXPECT_NE(e.hint().find("rouge9"), std::string::npos);
      EXPECT_NE(e.hint().find("rougeLsum"), std::string::npos);
    }
  }
  EXPECT_THROW(Rouge("a", "a", RougeVariant{RougeVariant::Kind::kNGram, 10}, false), Error);
  EXPECT_THROW(Rouge("a", "a", RougeVariant{RougeVariant::Kind::kNGram, 0}, false), Error);
}

const RougeVariant kAllVariants[] = {
    {RougeVariant::Kind::kNGram, 1},
    {RougeVariant::Kind::kNGram, 2},
    {RougeVariant::Kind::kNGram, 3},
    {RougeVariant::Kind::kNGram, 9},
    kRougeL,
    kRougeLsum,
};

TEST(Rouge, EmptyAndTokenlessTextsScoreZero) {
  const char* texts[] = {"", "   ", "\n\n", "!!! ... ???", "\xe5\x8c\x97\xe4\xba\xac"};
  for (const RougeVariant& v : kAllVariants) {
    for (const char* empty : texts) {
      for (bool stem : {false, true}) {
        ExpectScore(Rouge(empty, "the cat sat", v, stem), 0, 0, 0);
        ExpectScore(Rouge("the cat sat", empty, v, stem), 0, 0, 0);
        ExpectScore(Rouge(empty, empty, v, stem), 0, 0, 0);
      }
    }
  }
}

TEST(Rouge, MultiTakesTheReferenceWithTheBestFmeasure) {
  const RougeVariant l = ParseRougeVariant("rougeL");
  const RougeScore a = Rouge("the cat sat on the mat", "a dog ran", l, false);
  const RougeScore b = Rouge("the cat sat on the mat", "the cat sat", l, false);
  ASSERT_GT(b.fmeasure, a.fmeasure);
  const RougeScore multi =
      RougeMulti("the cat sat on the mat", {"a dog ran", "the cat sat", "a dog ran"}, l, false);
  EXPECT_EQ(multi.fmeasure, b.fmeasure);
  EXPECT_EQ(multi.precision, b.precision);
  EXPECT_EQ(multi.recall, b.recall);
  EXPECT_THROW(RougeMulti("x", {}, l, false), Error);
}

TEST(Rouge, NoOverlapScoresZero) {
  for (const RougeVariant& v : kAllVariants)
    ExpectScore(Rouge("alpha beta gamma", "delta epsilon\nzeta", v, false), 0, 0, 0);
}

TEST(Rouge, IdenticalTextsScoreOne) {
  const std::string text = "The quick brown fox jumps over the lazy dog.\nIt was not amused.";
  for (const RougeVariant& v : kAllVariants) ExpectScore(Rouge(text, text, v, true), 1, 1, 1);
}

TEST(Rouge, PrecisionIsRelativeToTheCandidate) {
  // Expected values from rouge-score: score(target=reference, prediction=candidate).
  ExpectScore(Rouge("The cat", "The cat is on the mat.", kRouge1, false), 1.0, 0.3333333333333333,
              0.5);
  ExpectScore(Rouge("the quick brown fox jumps over the lazy dog",
                    "the quick brown dog jumps on the log", kRouge2, false),
              0.25, 0.2857142857142857, 0.26666666666666666);
}

TEST(Rouge, TokenizerFollowsPythonLower) {
  // Non-ASCII letters separate tokens: "wörld" is "w" and "rld".
  ExpectScore(Rouge("hello w\u00F6rld", "hello world", kRouge1, false), 0.3333333333333333, 0.5,
              0.4);
  // 'İ' lowers to "i" + U+0307 and the Kelvin sign to 'k'.
  ExpectScore(Rouge("\u0130stanbul \u212Aelvin", "i stanbul kelvin", kRouge1, false), 1, 1, 1);
  // Chinese text has no tokens at all.
  ExpectScore(Rouge("\u5317\u4EAC", "\u5317\u4EAC", kRouge1, false), 0, 0, 0);
  // Digits are token characters; punctuation is not.
  ExpectScore(Rouge("in 1990, it's", "in 1990 it s", kRouge2, false), 1, 1, 1);
}

TEST(Rouge, StemmerAppliesToTokensLongerThanThree) {
  ExpectScore(Rouge("The cats were running quickly", "the cat runs quick", kRouge1, true), 0.6,
              0.75, 0.6666666666666665);
  ExpectScore(Rouge("The cats were running quickly", "the cat runs quick", kRougeL, true), 0.6,
              0.75, 0.6666666666666665);
  // "was" is three characters and stays; "dies" -> "die".
  ExpectScore(Rouge("was dies", "wa die", kRouge1, true), 0.5, 0.5, 0.5);
}

TEST(Rouge, Rouge9) {
  const RougeVariant rouge9{RougeVariant::Kind::kNGram, 9};
  ExpectScore(Rouge("a b c d e f g h i j k", "a b c d e f g h i j k l", rouge9, false), 1.0, 0.75,
              0.8571428571428571);
  // Fewer than nine tokens: no 9-grams, the denominators are max(0, 1).
  ExpectScore(Rouge("a b c", "a b c", rouge9, false), 0, 0, 0);
}

TEST(Rouge, RougeLsumCountsTokenBudgets) {
  // Both reference lines have "a b" as their LCS with the candidate, but the
  // candidate has one "a" and one "b" to give (ROUGE-1.5.5's rule): 2 hits.
  ExpectScore(Rouge("a b", "a b\na b", kRougeLsum, false), 1.0, 0.5, 0.6666666666666666);
  ExpectScore(Rouge("police kill the gunman\nthe gunman was shot",
                    "police killed the gunman\ngunman police shot", kRougeLsum, false),
              0.625, 0.7142857142857143, 0.6666666666666666);
}

TEST(Rouge, RougeLsumFollowsTheBacktrackingTieBreak) {
  // The reference line "c d" has two LCS with the candidate "d c". rouge-score's
  // walk takes "c", whose candidate budget the first line already used: one
  // hit. Taking "d" would give two.
  ExpectScore(Rouge("d c", "c\nc d", kRougeLsum, false), 0.5, 0.3333333333333333, 0.4);
}

TEST(Rouge, RougeLsumDropsEmptyLines) {
  const RougeScore a = Rouge("x y\n\n\nz", "x\n\ny z\n", kRougeLsum, false);
  const RougeScore b = Rouge("x y\nz", "x\ny z", kRougeLsum, false);
  EXPECT_EQ(a.precision, b.precision);
  EXPECT_EQ(a.recall, b.recall);
}

TEST(Rouge, AnyBytesAreSafe) {
  std::mt19937 rng(7);
  for (int i = 0; i < 300; ++i) {
    std::string a(rng() % 40, '\0'), b(rng() % 40, '\0');
    for (char& ch : a) ch = static_cast<char>(rng() % 3 == 0 ? 'a' + rng() % 3 : rng() % 256);
    for (char& ch : b) ch = static_cast<char>(rng() % 3 == 0 ? 'a' + rng() % 3 : rng() % 256);
    for (const RougeVariant& v : kAllVariants) {
      const RougeScore s = Rouge(a, b, v, i % 2 == 0);
      EXPECT_GE(s.precision, 0);
      EXPECT_LE(s.precision, 1);
      EXPECT_GE(s.recall, 0);
      EXPECT_LE(s.recall, 1);
    }
  }
}

TEST(Rouge, AsciiFastPathMatchesGenericTokenizer) {
  // ASCII text is lowercased and split in 4 KB blocks; a trailing non-ASCII
  // character (a separator) sends the same tokens through str.lower() and
  // the generic scan. Texts of ~20 KB with tokens and newlines straddling
  // the block boundaries must score identically both ways.
  std::mt19937 rng(9);
  const char* pieces[] = {"Alpha", "beta", "GAMMA", "d3lta", "x",       "\n", "\n\n",
                          ", ",    "  ",   "-",     "runs",  "running", "ran"};
  for (int round = 0; round < 20; ++round) {
    std::string a, b;
    while (a.size() < 20000) a += std::string(pieces[rng() % 13]) + (rng() % 2 ? " " : "");
    while (b.size() < 3000) b += std::string(pieces[rng() % 13]) + (rng() % 2 ? " " : "");
    for (const RougeVariant& v : {kRouge1, kRouge2, kRougeL, kRougeLsum}) {
      const bool stem = round % 2 == 1;
      const RougeScore fast = Rouge(a, b, v, stem);
      const RougeScore generic = Rouge(a + "\u00E9", b + "\u00E9", v, stem);
      EXPECT_EQ(fast.precision, generic.precision);
      EXPECT_EQ(fast.recall, generic.recall);
    }
  }
}

// A literal C++ transcription of rouge-score's scoring (Counter overlap,
// full LCS table, _backtrack_norec, set union, token budgets) on texts
// whose tokens are lowercase words separated by ' ' and '\n', to check the
// bit-parallel implementation on many shapes.
using Tokens = std::vector<std::string>;

Tokens SplitWords(const std::string& text) {
  Tokens out;
  std::string cur;
  for (char ch : text + " ") {
    if (ch == ' ' || ch == '\n') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += ch;
    }
  }
  return out;
}

RougeScore Literal(double hits_p, double total_p, double hits_r, double total_r) {
  RougeScore s;
  s.precision = hits_p / total_p;
  s.recall = hits_r / total_r;
  s.fmeasure =
      s.precision + s.recall > 0 ? 2 * s.precision * s.recall / (s.precision + s.recall) : 0.0;
  return s;
}

std::vector<std::vector<int>> LcsTable(const Tokens& ref, const Tokens& can) {
  std::vector<std::vector<int>> t(ref.size() + 1, std::vector<int>(can.size() + 1, 0));
  for (std::size_t i = 1; i <= ref.size(); ++i)
    for (std::size_t j = 1; j <= can.size(); ++j)
      t[i][j] = ref[i - 1] == can[j - 1] ? t[i - 1][j - 1] + 1 : std::max(t[i - 1][j], t[i][j - 1]);
  return t;
}

RougeScore LiteralNGram(const std::string& candidate, const std::string& reference, int n) {
  auto grams = [n](const Tokens& t) {
    std::map<Tokens, int> counts;
    for (std::size_t i = 0; i + n <= t.size(); ++i)
      ++counts[Tokens(t.begin() + i, t.begin() + i + n)];
    return counts;
  };
  const auto target = grams(SplitWords(reference));
  const auto prediction = grams(SplitWords(candidate));
  int overlap = 0, target_total = 0, prediction_total = 0;
  for (const auto& [g, count] : target) {
    auto it = prediction.find(g);
    overlap += std::min(count, it == prediction.end() ? 0 : it->second);
    target_total += count;
  }
  for (const auto& [g, count] : prediction) prediction_total += count;
  return Literal(overlap, std::max(prediction_total, 1), overlap, std::max(target_total, 1));
}

RougeScore LiteralLcs(const std::string& candidate, const std::string& reference) {
  const Tokens ref = SplitWords(reference), can = SplitWords(candidate);
  if (ref.empty() || can.empty()) return {};
  const int lcs = LcsTable(ref, can)[ref.size()][can.size()];
  return Literal(lcs, static_cast<double>(can.size()), lcs, static_cast<double>(ref.size()));
}

RougeScore LiteralLcsSum(const std::string& candidate, const std::string& reference) {
  auto sentences = [](const std::string& text) {
    std::vector<Tokens> out;
    std::size_t start = 0;
    while (start <= text.size()) {
      std::size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      if (end > start) out.push_back(SplitWords(text.substr(start, end - start)));
      start = end + 1;
    }
    return out;
  };
  const auto refs = sentences(reference), cans = sentences(candidate);
  std::map<std::string, int> budget_r, budget_c;
  int m = 0, n = 0;
  for (const auto& s : refs)
    for (const auto& t : s) ++budget_r[t], ++m;
  for (const auto& s : cans)
    for (const auto& t : s) ++budget_c[t], ++n;
  if (m == 0 || n == 0) return {};
  int hits = 0;
  for (const Tokens& r : refs) {
    std::set<std::size_t> in_union;
    for (const Tokens& c : cans) {
      const auto t = LcsTable(r, c);
      std::size_t i = r.size(), j = c.size();
      while (i > 0 && j > 0) {
        if (r[i - 1] == c[j - 1]) {
          in_union.insert(i - 1);
          --i, --j;
        } else if (t[i][j - 1] > t[i - 1][j]) {
          --j;
        } else {
          --i;
        }
      }
    }
    for (std::size_t i : in_union) {
      const std::string& token = r[i];
      if (budget_c[token] > 0 && budget_r[token] > 0) ++hits, --budget_c[token], --budget_r[token];
    }
  }
  return Literal(hits, n, hits, m);
}

// Lines of words "t0", "t1", ...; a third of the words come from the first
// three, so with a large vocabulary some tokens are frequent and most rare
// (the bit-parallel LCS treats the two differently).
std::string RandomText(std::mt19937& rng, int max_lines, int max_tokens, int vocabulary) {
  std::string text;
  const int lines = 1 + static_cast<int>(rng() % max_lines);
  for (int l = 0; l < lines; ++l) {
    if (l > 0) text += rng() % 5 == 0 ? "\n\n" : "\n";
    const int tokens = static_cast<int>(rng() % (max_tokens + 1));
    for (int k = 0; k < tokens; ++k) {
      if (k > 0) text += ' ';
      const unsigned word = rng() % 3 == 0 ? rng() % 3 : rng() % vocabulary;
      text += "t" + std::to_string(word);
    }
  }
  return text;
}

void ExpectSame(const RougeScore& got, const RougeScore& want, const std::string& candidate,
                const std::string& reference) {
  SCOPED_TRACE("candidate: " + candidate + "\nreference: " + reference);
  ExpectScore(got, want.precision, want.recall, want.fmeasure);
}

void CompareWithLiteral(std::mt19937& rng, int rounds, int max_lines, int max_tokens,
                        int max_vocabulary = 10) {
  for (int round = 0; round < rounds; ++round) {
    const int vocabulary = 2 + static_cast<int>(rng() % (max_vocabulary - 1));
    const std::string candidate = RandomText(rng, max_lines, max_tokens, vocabulary);
    const std::string reference = RandomText(rng, max_lines, max_tokens, vocabulary);
    for (int n : {1, 2, 3, 4})
      ExpectSame(Rouge(candidate, reference, RougeVariant{RougeVariant::Kind::kNGram, n}, false),
                 LiteralNGram(candidate, reference, n), candidate, reference);
    ExpectSame(Rouge(candidate, reference, kRougeL, false), LiteralLcs(candidate, reference),
               candidate, reference);
    ExpectSame(Rouge(candidate, reference, kRougeLsum, false), LiteralLcsSum(candidate, reference),
               candidate, reference);
  }
}

TEST(RougeLiteral, ShortLines) {
  std::mt19937 rng(1);
  CompareWithLiteral(rng, 1500, 4, 12);
}

TEST(RougeLiteral, LinesLongerThanOneWord) {
  // Lines of more than 64 tokens take the multi-word bit vectors, in both
  // orientations (reference line shorter or longer than the candidate's).
  std::mt19937 rng(2);
  CompareWithLiteral(rng, 120, 3, 200);
}

TEST(RougeLiteral, ManyDistinctTokens) {
  // Long lines mixing frequent tokens (precomputed masks) with rare ones
  // (masks built from position lists).
  std::mt19937 rng(4);
  CompareWithLiteral(rng, 100, 3, 300, 400);
}

TEST(RougeLiteral, NGramsPastTheDirectTable) {
  // rouge2..4 count through a direct table of (tokens or reference length
  // + 1) x tokens entries up to 2^18 of them, and hash n-gram ids beyond:
  // up to 1,200 tokens a side over up to 3,000 distinct words reach both.
  std::mt19937 rng(5);
  CompareWithLiteral(rng, 30, 3, 400, 3000);
}

TEST(RougeLiteral, CheckpointedTables) {
  // With no room for a whole table, every line pair goes through the
  // checkpoints and recomputed blocks.
  const std::size_t previous = internal::SetRougeLsumFullTableWordsForTesting(1);
  std::mt19937 rng(3);
  CompareWithLiteral(rng, 300, 4, 40);
  CompareWithLiteral(rng, 40, 3, 200);
  CompareWithLiteral(rng, 40, 3, 200, 300);
  internal::SetRougeLsumFullTableWordsForTesting(previous);
}

std::string Words(std::size_t count, std::size_t distinct, const char* separator = " ") {
  std::string text;
  for (std::size_t i = 0; i < count; ++i) {
    if (i > 0) text += separator;
    text += "w" + std::to_string(i % distinct);
  }
  return text;
}

TEST(RougeLimits, RougeNIsLinearOnTenMegabytes) {
  std::string big;
  while (big.size() < (10u << 20)) big += "the cat sat on the mat and then it ran off. ";
  const RougeScore one = Rouge(big, "the cat sat on the mat", kRouge1, false);
  EXPECT_NEAR(one.recall, 1.0, kRougeTolerance);
  const RougeScore two = Rouge("the cat sat on the mat", big, kRouge2, true);
  EXPECT_NEAR(two.precision, 1.0, kRougeTolerance);
  // The LCS variants are fine when one side is short.
  const RougeScore lcs = Rouge(big, "the cat sat on the mat", kRougeL, false);
  EXPECT_NEAR(lcs.recall, 1.0, kRougeTolerance);
  const RougeScore lsum = Rouge("the cat sat on the mat", big, kRougeLsum, false);
  EXPECT_NEAR(lsum.precision, 1.0, kRougeTolerance);
}

TEST(RougeLimits, RougeLRejectsHugePairs) {
  // ceil(400000 / 64) * 400000 = 2.5e9 steps > kRougeLMaxWork.
  const std::string a = Words(400000, 400000);
  const std::string b = "x " + a;  // differs at the start and...
  const std::string c = a + " x";  // ...at the end, so nothing is trimmed
  for (const RougeVariant& v : {kRougeL, kRougeLsum}) {
    try {
      Rouge(b, c, v, false);
      ADD_FAILURE() << "no limit error";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kProgramLimitExceeded);
      EXPECT_EQ(std::string(e.what()), v.kind == RougeVariant::Kind::kLcs
                                           ? "input too long for rougeL"
                                           : "input too long for rougeLsum");
      EXPECT_NE(e.detail().find("400001"), std::string::npos) << e.detail();
    }
  }
  // Identical texts are all common prefix: no quadratic work, no error.
  ExpectScore(Rouge(a, a, kRougeL, false), 1, 1, 1);
}

TEST(RougeLimits, RougeLsumRejectsManyLinePairs) {
  // 20000 one-token lines on each side: the backtracking term alone is
  // 2 * (20000 * 20000 * 2) > kRougeLsumMaxWork.
  const std::string lines = Words(20000, 5, "\n");
  try {
    Rouge(lines, lines, kRougeLsum, false);
    ADD_FAILURE() << "no limit error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kProgramLimitExceeded);
    EXPECT_EQ(std::string(e.what()), "input too long for rougeLsum");
  }
  // rougeL on the same texts is one LCS and fine.
  ExpectScore(Rouge(lines, lines, kRougeL, false), 1, 1, 1);
}

TEST(RougeLimits, LargestAllowedRougeLsumIsBounded) {
  // Many short lines just under the limit, the worst shape for the
  // backtracking: must finish (the bound is ~1-2 s in a release build).
  const std::string lines = Words(5000, 3, "\n");
  const auto start = std::chrono::steady_clock::now();
  const RougeScore s = Rouge(lines, lines, kRougeLsum, false);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_NEAR(s.fmeasure, 1.0, kRougeTolerance);
  RecordProperty("seconds", std::to_string(seconds));
}

}  // namespace
}  // namespace llmeval::core::metrics
