#include "core/metrics/chrf.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/text/utf8.hpp"
#include "refdata.hpp"

namespace llmeval::core::metrics {
namespace {

using testing::kSacrebleuTolerance;

ChrfOptions OptionsFromParams(const nlohmann::json& params) {
  ChrfOptions options;
  if (params.contains("char_order")) options.char_order = params["char_order"].get<int>();
  if (params.contains("word_order")) options.word_order = params["word_order"].get<int>();
  if (params.contains("beta")) options.beta = params["beta"].get<int>();
  if (params.contains("eps_smoothing")) options.eps_smoothing = params["eps_smoothing"].get<bool>();
  if (params.contains("remove_whitespace"))
    options.remove_whitespace = params["remove_whitespace"].get<bool>();
  return options;
}

std::vector<std::string_view> Views(const std::vector<std::string>& strings) {
  return {strings.begin(), strings.end()};
}

TEST(ChrfRefdata, SentenceChrfMatchesSacrebleu) {
  const auto cases = testing::LoadRefCases("sentence_chrf");
  ASSERT_GT(cases.size(), 150u);
  for (const auto& c : cases) {
    SCOPED_TRACE("case " + std::to_string(c["id"].get<int>()));
    const auto refs = testing::StringList(c["references"]);
    const ChrfOptions options = OptionsFromParams(c["params"]);
    EXPECT_NEAR(SentenceChrf(c["candidate"].get<std::string>(), Views(refs), options),
                c["expected"]["score"].get<double>(), kSacrebleuTolerance);
  }
}

TEST(ChrfRefdata, CorpusChrfMatchesSacrebleu) {
  const auto cases = testing::LoadRefCases("corpus_chrf");
  ASSERT_GE(cases.size(), 3u);
  for (const auto& c : cases) {
    SCOPED_TRACE("case " + std::to_string(c["id"].get<int>()));
    const ChrfOptions options = OptionsFromParams(c["params"]);
    ChrfStats stats;
    for (const testing::CorpusRow& row : testing::CorpusRows(c))
      ChrfStatsAdd(stats, ChrfSegmentStats(row.candidate, Views(row.references), options));
    EXPECT_NEAR(ChrfFromStats(stats, options), c["expected"]["score"].get<double>(),
                kSacrebleuTolerance);
  }
}

// ---------------------------------------------------------------------------
// A literal transcription of sacrebleu's CHRF (Counters of substrings and of
// space-joined word n-grams), used as an oracle on random inputs.

using Counter = std::map<std::u32string, int64_t>;

std::u32string Decode(std::string_view s) {
  std::u32string out;
  text::DecodeUtf8All(s, out);
  return out;
}

std::vector<std::u32string> PySplit(const std::u32string& s) {
  std::vector<std::u32string> out;
  std::u32string cur;
  for (char32_t c : s) {
    if (text::IsPythonSpace(c)) {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

bool InPuncts(char32_t c) {
  return c < 128 && std::string("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~").find(static_cast<char>(c)) !=
                        std::string::npos;
}

std::vector<std::u32string> OracleRemovePunctuation(const std::u32string& sent) {
  std::vector<std::u32string> tokenized;
  for (const auto& w : PySplit(sent)) {
    if (w.size() == 1) {
      tokenized.push_back(w);
    } else if (InPuncts(w.back())) {
      tokenized.push_back(w.substr(0, w.size() - 1));
      tokenized.push_back(w.substr(w.size() - 1));
    } else if (InPuncts(w.front())) {
      tokenized.push_back(w.substr(0, 1));
      tokenized.push_back(w.substr(1));
    } else {
      tokenized.push_back(w);
    }
  }
  return tokenized;
}

// sacrebleu's extract_all_char_ngrams + word n-grams; whitespace is
// "".join(line.split())'d away unless remove_whitespace is off.
std::vector<Counter> OracleNGrams(const std::u32string& line, int char_order, int word_order,
                                  bool remove_whitespace) {
  std::u32string joined;
  if (remove_whitespace) {
    for (const auto& w : PySplit(line)) joined += w;
  } else {
    joined = line;
  }
  std::vector<Counter> all;
  for (int n = 1; n <= char_order; ++n) {
    Counter c;
    for (std::size_t i = 0; i + n <= joined.size(); ++i) ++c[joined.substr(i, n)];
    all.push_back(c);
  }
  const auto words = OracleRemovePunctuation(line);
  for (int n = 1; n <= word_order; ++n) {
    Counter c;
    for (std::size_t i = 0; i + n <= words.size(); ++i) {
      std::u32string g;
      for (int k = 0; k < n; ++k) g += (k ? U" " : U"") + words[i + k];
      ++c[g];
    }
    all.push_back(c);
  }
  return all;
}

// sacrebleu's CHRF._compute_f_score, line for line.
double OracleFScore(const std::vector<int64_t>& statistics, const ChrfOptions& o) {
  const double eps = 1e-16;
  double score = 0.0;
  int effective_order = 0;
  const int factor = o.beta * o.beta;
  double avg_prec = 0.0, avg_rec = 0.0;
  const int order = o.char_order + o.word_order;
  for (int i = 0; i < order; ++i) {
    const int64_t n_hyp = statistics[3 * i], n_ref = statistics[3 * i + 1],
                  n_match = statistics[3 * i + 2];
    const double prec = n_hyp > 0 ? static_cast<double>(n_match) / n_hyp : eps;
    const double rec = n_ref > 0 ? static_cast<double>(n_match) / n_ref : eps;
    const double denom = factor * prec + rec;
    score += denom > 0 ? ((1 + factor) * prec * rec / denom) : eps;
    if (n_hyp > 0 && n_ref > 0) {
      avg_prec += prec;
      avg_rec += rec;
      effective_order += 1;
    }
  }
  if (o.eps_smoothing) return 100 * score / order;
  if (effective_order == 0) {
    avg_prec = avg_rec = 0.0;
  } else {
    avg_prec /= effective_order;
    avg_rec /= effective_order;
  }
  if (avg_prec + avg_rec != 0.0) {
    score = (1 + factor) * avg_prec * avg_rec;
    score /= ((factor * avg_prec) + avg_rec);
    return 100 * score;
  }
  return 0.0;
}

std::vector<int64_t> OracleStats(const std::string& hyp, const std::vector<std::string>& refs,
                                 const ChrfOptions& o) {
  const std::vector<std::string>& used = refs;  // empty ones too, as sacrebleu 2.6.0
  const auto hyp_ngrams =
      OracleNGrams(Decode(hyp), o.char_order, o.word_order, o.remove_whitespace);
  std::vector<int64_t> best;
  double best_f = -1.0;
  for (const auto& r : used) {
    const auto ref_ngrams =
        OracleNGrams(Decode(r), o.char_order, o.word_order, o.remove_whitespace);
    std::vector<int64_t> stats;
    for (std::size_t i = 0; i < hyp_ngrams.size(); ++i) {
      int64_t hyp_count = 0, ref_count = 0, match = 0;
      for (const auto& [g, c] : hyp_ngrams[i]) {
        hyp_count += c;
        auto it = ref_ngrams[i].find(g);
        if (it != ref_ngrams[i].end()) match += std::min(c, it->second);
      }
      for (const auto& [g, c] : ref_ngrams[i]) ref_count += c;
      stats.push_back(ref_ngrams[i].empty() ? 0 : hyp_count);
      stats.push_back(ref_count);
      stats.push_back(match);
    }
    const double f = OracleFScore(stats, o);
    if (f > best_f) {
      best_f = f;
      best = stats;
    }
  }
  return best;
}

std::string RandomText(std::mt19937& rng, int max_len) {
  static const std::vector<std::string> pieces = {
      "a", "b", "c",  "a",  "b",  " ",      " ",      " ",  ".",   ",", "(",  ")", "!",
      "é", "ß", "中", "文", "\t", "\u00a0", "\u3000", "ab", "the", "'", "\"", "-", "x"};
  std::uniform_int_distribution<int> len(0, max_len);
  std::uniform_int_distribution<std::size_t> pick(0, pieces.size() - 1);
  std::string s;
  const int n = len(rng);
  for (int i = 0; i < n; ++i) s += pieces[pick(rng)];
  return s;
}

TEST(ChrfOracle, RandomInputsMatchLiteralSacrebleu) {
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> nrefs(1, 3);
  std::uniform_int_distribution<int> corder(0, 8);
  std::uniform_int_distribution<int> worder(0, 3);
  std::uniform_int_distribution<int> beta(0, 3);
  for (int iter = 0; iter < 3000; ++iter) {
    ChrfOptions o;
    o.char_order = corder(rng);
    o.word_order = worder(rng);
    if (o.char_order + o.word_order == 0) o.char_order = 6;
    o.beta = beta(rng);
    o.eps_smoothing = rng() % 4 == 0;
    o.remove_whitespace = rng() % 4 != 0;
    // similar texts are the interesting case: derive references from the hypothesis
    const std::string hyp = RandomText(rng, 30);
    std::vector<std::string> refs;
    const int k = nrefs(rng);
    for (int r = 0; r < k; ++r) {
      switch (rng() % 4) {
        case 0:
          refs.push_back(RandomText(rng, 30));
          break;
        case 1:
          refs.push_back(hyp + RandomText(rng, 4));
          break;
        case 2:
          refs.push_back(RandomText(rng, 4) + hyp.substr(0, hyp.size() / 2));
          break;
        default:
          refs.push_back(rng() % 2 ? std::string() : hyp);
          break;
      }
    }
    SCOPED_TRACE("iter " + std::to_string(iter) + " hyp=\"" + hyp + "\"");
    const ChrfStats got = ChrfSegmentStats(hyp, Views(refs), o);
    const std::vector<int64_t> expected = OracleStats(hyp, refs, o);
    EXPECT_EQ(got.values, expected);
    // the same doubles as sacrebleu's arithmetic, eps smoothing or not
    EXPECT_EQ(SentenceChrf(hyp, Views(refs), o), OracleFScore(expected, o));
  }
}

// Derives a text similar to `base`: random spans deleted, replaced or repeated.
std::string Mutate(std::mt19937& rng, const std::u32string& base, const std::u32string& alphabet) {
  std::u32string out;
  for (std::size_t i = 0; i < base.size(); ++i) {
    switch (rng() % 40) {
      case 0:
        break;  // delete
      case 1:
        out.push_back(alphabet[rng() % alphabet.size()]);
        break;  // replace
      case 2:
        out += base.substr(i, 5);
        out.push_back(base[i]);
        break;  // repeat a span
      default:
        out.push_back(base[i]);
        break;
    }
  }
  std::string utf8;
  for (char32_t c : out) text::AppendUtf8(utf8, c);
  return utf8;
}

// Long texts and wide alphabets take the hash table instead of the direct
// table (and mixes of both across orders); check them against the oracle too.
TEST(ChrfOracle, LargeInputsMatchLiteralSacrebleu) {
  std::mt19937 rng(99);
  struct Shape {
    std::size_t length;
    std::size_t alphabet;
  };
  // ~ (length x alphabet) entries decide the table: below, around and above 2^20
  for (const Shape shape :
       {Shape{3000, 30}, Shape{12000, 100}, Shape{2500, 1000}, Shape{6000, 3000}}) {
    std::u32string alphabet;
    for (std::size_t i = 0; i < shape.alphabet; ++i)
      alphabet.push_back(i < 26 ? U'a' + static_cast<char32_t>(i)
                                : 0x4E00 + static_cast<char32_t>(i));
    alphabet += U"  ";
    std::u32string base;
    for (std::size_t i = 0; i < shape.length; ++i)
      base.push_back(alphabet[rng() % alphabet.size()]);
    const std::string hyp = Mutate(rng, base, alphabet);
    const std::vector<std::string> refs = {Mutate(rng, base, alphabet),
                                           Mutate(rng, base, alphabet)};
    for (const ChrfOptions o : {ChrfOptions{6, 0, 2}, ChrfOptions{8, 2, 1},
                                ChrfOptions{6, 2, 2, /*eps_smoothing=*/true,
                                            /*remove_whitespace=*/false}}) {
      SCOPED_TRACE("length " + std::to_string(shape.length) + " alphabet " +
                   std::to_string(shape.alphabet) + " char_order " + std::to_string(o.char_order));
      EXPECT_EQ(ChrfSegmentStats(hyp, Views(refs), o).values, OracleStats(hyp, refs, o));
      EXPECT_EQ(ChrfSegmentStats(refs[0], {hyp}, o).values, OracleStats(refs[0], {hyp}, o));
    }
  }
  // Many distinct words: the word n-grams take the hash table too.
  std::vector<std::string> vocabulary;
  for (int i = 0; i < 3000; ++i) vocabulary.push_back("w" + std::to_string(i) + (i % 7 ? "" : ","));
  std::string hyp, ref;
  for (int i = 0; i < 5000; ++i) {
    const std::string& w = vocabulary[rng() % vocabulary.size()];
    hyp += w + " ";
    ref += (rng() % 10 ? w : vocabulary[rng() % vocabulary.size()]) + " ";
  }
  const ChrfOptions o{0, 3, 2};
  EXPECT_EQ(ChrfSegmentStats(hyp, {ref}, o).values, OracleStats(hyp, {ref}, o));
  EXPECT_EQ(ChrfSegmentStats(ref + ref, {hyp}, o).values, OracleStats(ref + ref, {hyp}, o));
}

// ---------------------------------------------------------------------------

TEST(Chrf, EmptyCandidateOrReferenceScoresZero) {
  EXPECT_EQ(SentenceChrf("", {"The cat sat on the mat."}), 0.0);
  EXPECT_EQ(SentenceChrf("The cat sat on the mat.", {""}), 0.0);
  EXPECT_EQ(SentenceChrf("", {""}), 0.0);
  EXPECT_EQ(SentenceChrf("   ", {" \t "}), 0.0);
  EXPECT_EQ(SentenceChrf("", {"abc"}, {6, 2, 2}), 0.0);
}

TEST(Chrf, IdenticalScores100) {
  EXPECT_DOUBLE_EQ(SentenceChrf("The cat sat on the mat.", {"The cat sat on the mat."}), 100.0);
  EXPECT_DOUBLE_EQ(SentenceChrf("a", {"a"}), 100.0);
  EXPECT_DOUBLE_EQ(SentenceChrf("Ünïcödé 中文 text", {"Ünïcödé 中文 text"}, {6, 2, 2}), 100.0);
  // whitespace does not count for character n-grams
  EXPECT_DOUBLE_EQ(SentenceChrf("ab cd", {"abcd"}), 100.0);
  EXPECT_DOUBLE_EQ(SentenceChrf("ab\u3000cd\u00a0", {"a b c d"}), 100.0);
}

TEST(Chrf, StatisticsLayout) {
  // "abc" vs "abd": orders 1..3 -> {3,3,2}, {2,2,1}, {1,1,0}; orders 4..6 have
  // no n-grams on either side.
  const ChrfStats s = ChrfSegmentStats("abc", {"abd"}, {});
  const std::vector<int64_t> expected = {3, 3, 2, 2, 2, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(s.values, expected);
  // precision = recall = (2/3 + 1/2 + 0) / 3
  const double p = (2.0 / 3 + 1.0 / 2 + 0.0) / 3;
  EXPECT_NEAR(ChrfFromStats(s, {}), 100 * (5 * p * p) / (4 * p + p), 1e-12);
}

TEST(Chrf, UnicodeCountsCodePoints) {
  // "héllo" is 5 characters: 5 unigrams, 4 bigrams, ...
  const ChrfStats s = ChrfSegmentStats("héllo", {"hello"}, {2, 0, 2});
  const std::vector<int64_t> expected = {5, 5, 4, 4, 4, 2};
  EXPECT_EQ(s.values, expected);
  const ChrfStats cjk = ChrfSegmentStats("中文文本", {"中文"}, {2, 0, 2});
  const std::vector<int64_t> expected_cjk = {4, 2, 2, 3, 1, 1};
  EXPECT_EQ(cjk.values, expected_cjk);
}

TEST(Chrf, HypothesisCountZeroWhenReferenceHasNoNGramOfThatOrder) {
  // sacrebleu: `hyp_count if ref_ngrams else 0`
  const ChrfStats s = ChrfSegmentStats("abcd", {"ab"}, {3, 0, 2});
  const std::vector<int64_t> expected = {4, 2, 2, 3, 1, 1, 0, 0, 0};
  EXPECT_EQ(s.values, expected);
}

TEST(Chrf, ChrfPlusPlusSplitsPunctuation) {
  // char_order 0 isolates the word statistics. "(hi)" -> "(hi" ")" (only the
  // last character is split off when both ends are punctuation), "(hi" -> "(" "hi",
  // "x." -> "x" ".", a one-character word stays whole.
  const ChrfOptions words{0, 1, 2};
  EXPECT_EQ(ChrfSegmentStats("(hi)", {"(hi )"}, words).values, (std::vector<int64_t>{2, 3, 1}));
  EXPECT_EQ(ChrfSegmentStats("x. .", {"x ."}, words).values, (std::vector<int64_t>{3, 2, 2}));
  // non-ASCII punctuation is not split
  EXPECT_EQ(ChrfSegmentStats("hi…", {"hi …"}, words).values, (std::vector<int64_t>{1, 2, 0}));
  // word bigrams: "Hello , world !" vs "Hello world !"
  EXPECT_EQ(ChrfSegmentStats("Hello, world!", {"Hello world!"}, {0, 2, 2}).values,
            (std::vector<int64_t>{4, 3, 3, 3, 2, 1}));
  // chrF++ layout: char orders first, then word orders
  const ChrfStats s = ChrfSegmentStats("ab, c", {"ab c"}, {2, 2, 2});
  EXPECT_EQ(s.values, (std::vector<int64_t>{4, 3, 3, 3, 2, 1, 3, 2, 2, 2, 1, 0}));
}

TEST(Chrf, MultipleReferencesKeepBestAndFirstOnTies) {
  // The better reference wins regardless of position.
  const double good = SentenceChrf("the cat sat", {"the cat sat"});
  EXPECT_DOUBLE_EQ(SentenceChrf("the cat sat", {"a dog ran", "the cat sat"}), good);
  EXPECT_DOUBLE_EQ(SentenceChrf("the cat sat", {"the cat sat", "a dog ran"}), good);
  // Both references score 0 with different statistics: the first is kept.
  const ChrfOptions o{2, 0, 2};
  EXPECT_EQ(ChrfSegmentStats("a", {"b", "bb"}, o).values, (std::vector<int64_t>{1, 1, 0, 0, 0, 0}));
  EXPECT_EQ(ChrfSegmentStats("a", {"bb", "b"}, o).values, (std::vector<int64_t>{1, 2, 0, 0, 1, 0}));
}

// sacrebleu 2.6.0 keeps empty references: one scores 0, so it is kept only
// when it comes first and nothing scores better.
TEST(Chrf, EmptyReferencesCount) {
  EXPECT_DOUBLE_EQ(SentenceChrf("abc", {"", "abc", ""}), 100.0);
  EXPECT_EQ(ChrfSegmentStats("abc", {"", ""}, {2, 0, 2}).values,
            (std::vector<int64_t>{0, 0, 0, 0, 0, 0}));
  // "xyz" scores 0 too: the first reference, the empty one, stays
  EXPECT_EQ(ChrfSegmentStats("abc", {"", "xyz"}, {2, 0, 2}).values,
            (std::vector<int64_t>{0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(ChrfSegmentStats("abc", {"xyz", ""}, {2, 0, 2}).values,
            (std::vector<int64_t>{3, 3, 0, 2, 2, 0}));
  EXPECT_THROW(ChrfSegmentStats("abc", {}, {}), Error);
  try {
    ChrfSegmentStats("abc", {}, {});
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidParameterValue);
    EXPECT_STREQ(e.what(), "at least one reference is required");
  }
}

TEST(Chrf, CorpusSumsStatisticsFirst) {
  ChrfStats total;
  ChrfStatsAdd(total, ChrfSegmentStats("abc", {"abc"}, {}));
  ChrfStatsAdd(total, ChrfSegmentStats("xyz", {"uvw"}, {}));
  EXPECT_EQ(total.values[0], 6);
  EXPECT_EQ(total.values[1], 6);
  EXPECT_EQ(total.values[2], 3);
  // not the mean of the sentence scores (100 and 0)
  EXPECT_NEAR(ChrfFromStats(total, {}), 50.0, 1e-12);
  EXPECT_EQ(ChrfFromStats(ChrfStats{}, {}), 0.0);
  ChrfStats other = ChrfSegmentStats("abc", {"abc"}, {6, 2, 2});
  EXPECT_THROW(ChrfStatsAdd(total, other), Error);
  EXPECT_THROW(ChrfFromStats(other, {}), Error);
}

TEST(Chrf, BetaWeighsRecall) {
  // precision 1, recall 1/2 at every order with beta 0 -> F0 = precision
  EXPECT_NEAR(SentenceChrf("ab", {"abab"}, {1, 0, 0}), 100.0, 1e-12);
  EXPECT_NEAR(SentenceChrf("ab", {"abxy"}, {1, 0, 1}), 100 * (2 * 0.5) / (1 + 0.5), 1e-12);
  // a huge beta is plain recall up to rounding
  EXPECT_NEAR(SentenceChrf("ab", {"abxy"}, {1, 0, 1000000}), 50.0, 1e-6);
}

void ExpectInvalid(const ChrfOptions& o, const std::string& message) {
  try {
    ValidateChrfOptions(o);
    ADD_FAILURE() << "no error for " << message;
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidParameterValue);
    EXPECT_EQ(std::string(e.what()), message);
  }
  EXPECT_THROW(SentenceChrf("a", {"a"}, o), Error);
}

TEST(Chrf, OptionValidation) {
  ExpectInvalid({-1, 0, 2}, "char_order must be between 0 and 32");
  ExpectInvalid({33, 0, 2}, "char_order must be between 0 and 32");
  ExpectInvalid({6, -1, 2}, "word_order must be between 0 and 32");
  ExpectInvalid({6, 33, 2}, "word_order must be between 0 and 32");
  ExpectInvalid({0, 0, 2}, "char_order and word_order cannot both be 0");
  ExpectInvalid({6, 0, -1}, "beta must be greater than or equal to 0");
  EXPECT_NO_THROW(ValidateChrfOptions({32, 32, 0}));
  EXPECT_NO_THROW(ValidateChrfOptions({0, 2, 2}));
  EXPECT_NEAR(SentenceChrf("a b c", {"a b d"}, {32, 32, 3}),
              SentenceChrf("a b c", {"a b d"}, {32, 32, 3}), 0.0);
}

TEST(Chrf, TenMegabyteTexts) {
  // The pgTAP suite's 10 MB text: few distinct n-grams, so dense ids keep the
  // direct table small.
  std::string t;
  for (int i = 0; i < 233017; ++i) t += "the quick brown fox jumps over the lazy dog. ";
  ASSERT_GT(t.size(), 10'000'000u);
  EXPECT_DOUBLE_EQ(SentenceChrf(t, {t}), 100.0);
  EXPECT_DOUBLE_EQ(SentenceChrf(t, {t}, {6, 2, 2}), 100.0);
  const double short_ref = SentenceChrf(t, {"the quick brown fox"}, {6, 2, 2});
  EXPECT_GT(short_ref, 0.0);
  EXPECT_LT(short_ref, 0.01);
  EXPECT_LT(SentenceChrf("the quick brown fox", {t}), 1.0);
  // 2 MB of similar text with many distinct n-grams on each side (hash table).
  std::string a, b;
  std::mt19937 rng(7);
  while (a.size() < 2'000'000) {
    const std::string w = "w" + std::to_string(rng() % 5000);
    a += w + " ";
    b += (rng() % 10 == 0 ? std::string("x") : w) + " ";
  }
  const double score = SentenceChrf(a, {b}, {6, 2, 2});
  EXPECT_GT(score, 50.0);
  EXPECT_LT(score, 100.0);
  // and the thread's workspace still works for small inputs afterwards
  EXPECT_DOUBLE_EQ(SentenceChrf("abc", {"abc"}), 100.0);
  EXPECT_EQ(ChrfSegmentStats("abc", {"abd"}, {}).values[2], 2);
}

// Values worked out by hand from sacrebleu's CHRF code.
TEST(Chrf, RemoveWhitespaceOffCountsSpaces) {
  ChrfOptions keep;
  keep.remove_whitespace = false;
  // with spaces removed both are "ab"
  EXPECT_DOUBLE_EQ(SentenceChrf("a b", {"ab"}), 100.0);
  // "a b" vs "ab": order 1 p=2/3 r=1, order 2 p=r=0, order 3 has no reference
  // n-gram; F2 of the averages 1/3 and 1/2 is 5/11
  EXPECT_EQ(ChrfSegmentStats("a b", {"ab"}, keep).values,
            (std::vector<int64_t>{3, 2, 2, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_NEAR(SentenceChrf("a b", {"ab"}, keep), 500.0 / 11, 1e-12);
  // a non-ASCII space is a character too
  EXPECT_LT(SentenceChrf("a　b", {"ab"}, keep), 100.0);
  EXPECT_DOUBLE_EQ(SentenceChrf("a　b", {"ab"}), 100.0);
}

TEST(Chrf, EpsSmoothingAveragesEveryOrder) {
  ChrfOptions eps;
  eps.eps_smoothing = true;
  // orders 1 and 2 have F = 1; orders 3-6 exist on neither side and add
  // about 1e-16 each: the mean over 6 orders, not over the 2 effective ones
  EXPECT_DOUBLE_EQ(SentenceChrf("ab", {"ab"}), 100.0);
  EXPECT_NEAR(SentenceChrf("ab", {"ab"}, eps), 100.0 / 3, 1e-12);
  // identical texts long enough for every order still score 100
  EXPECT_NEAR(SentenceChrf("abcdefgh", {"abcdefgh"}, eps), 100.0, 1e-12);
  // no match at all: every order adds eps
  EXPECT_GT(SentenceChrf("abc", {"xyz"}, eps), 0.0);
  EXPECT_LT(SentenceChrf("abc", {"xyz"}, eps), 1e-12);
  // the corpus score smooths the summed statistics the same way
  ChrfStats corpus;
  ChrfStatsAdd(corpus, ChrfSegmentStats("ab", {"ab"}, eps));
  EXPECT_NEAR(ChrfFromStats(corpus, eps), 100.0 / 3, 1e-12);
}

}  // namespace
}  // namespace llmeval::core::metrics

TEST(ChrfOptionsJson, ParsesAndRejects) {
  using llmeval::core::Error;
  using llmeval::core::ErrorKind;
  const llmeval::core::metrics::ChrfOptions o =
      llmeval::core::metrics::ParseChrfOptionsJson(R"({"char_order":4,"word_order":2.0,"beta":1})");
  EXPECT_EQ(o.char_order, 4);
  EXPECT_EQ(o.word_order, 2);
  EXPECT_EQ(o.beta, 1);
  EXPECT_EQ(llmeval::core::metrics::ParseChrfOptionsJson("{}"),
            llmeval::core::metrics::ChrfOptions{});
  auto kind_of = [](const char* json) {
    try {
      llmeval::core::metrics::ParseChrfOptionsJson(json);
    } catch (const Error& e) {
      return e.kind();
    }
    return ErrorKind::kInternal;
  };
  EXPECT_EQ(kind_of("{"), ErrorKind::kInvalidTextRepresentation);
  EXPECT_EQ(kind_of("[]"), ErrorKind::kInvalidParameterValue);
  EXPECT_EQ(kind_of(R"({"order":2})"), ErrorKind::kInvalidParameterValue);
  EXPECT_EQ(kind_of(R"({"beta":"2"})"), ErrorKind::kInvalidParameterValue);
  EXPECT_EQ(kind_of(R"({"beta":2.5})"), ErrorKind::kInvalidParameterValue);
  EXPECT_EQ(kind_of(R"({"char_order":33})"), ErrorKind::kInvalidParameterValue);
  EXPECT_EQ(kind_of(R"({"char_order":0,"word_order":0})"), ErrorKind::kInvalidParameterValue);
  EXPECT_EQ(kind_of(R"({"beta":-1})"), ErrorKind::kInvalidParameterValue);
  const llmeval::core::metrics::ChrfOptions sacrebleu_options =
      llmeval::core::metrics::ParseChrfOptionsJson(
          R"({"eps_smoothing":true,"remove_whitespace":false})");
  EXPECT_TRUE(sacrebleu_options.eps_smoothing);
  EXPECT_FALSE(sacrebleu_options.remove_whitespace);
  EXPECT_EQ(kind_of(R"({"eps_smoothing":null})"), ErrorKind::kInvalidParameterValue);
  EXPECT_EQ(kind_of(R"({"remove_whitespace":"no"})"), ErrorKind::kInvalidParameterValue);
  EXPECT_EQ(kind_of(R"({"whitespace":true})"), ErrorKind::kInvalidParameterValue);
}
