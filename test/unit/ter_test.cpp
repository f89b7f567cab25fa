#include "core/metrics/ter.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "core/error.hpp"
#include "refdata.hpp"

namespace llmeval::core::metrics {
namespace {

using testing::kSacrebleuTolerance;

std::vector<std::string_view> Views(const std::vector<std::string>& strings) {
  return {strings.begin(), strings.end()};
}

TerStats Stats(std::string_view candidate, std::vector<std::string_view> references,
               const TerOptions& options = {}) {
  return TerSegmentStats(candidate, references, options);
}

std::string Repeat(std::string_view word, std::size_t times) {
  std::string out;
  for (std::size_t i = 0; i < times; ++i) {
    if (i) out.push_back(' ');
    out.append(word);
  }
  return out;
}

TEST(TerRefdata, SentenceTerMatchesSacrebleu) {
  const auto cases = testing::LoadRefCases("sentence_ter");
  ASSERT_GE(cases.size(), 60u);
  for (const auto& c : cases) {
    SCOPED_TRACE("case " + std::to_string(c["id"].get<int>()));
    ASSERT_TRUE(c["params"].empty()) << "only sacrebleu's default TER options are expected";
    const auto refs = testing::StringList(c["references"]);
    EXPECT_NEAR(SentenceTer(c["candidate"].get<std::string>(), Views(refs)),
                c["expected"]["score"].get<double>(), kSacrebleuTolerance);
  }
}

// Expected values below come from sacrebleu 2.6.0's TER code run on the same
// inputs.

TEST(TerTest, IdenticalTextsScoreZero) {
  const TerStats s = Stats("The cat is on the mat.", {"The cat is on the mat."});
  EXPECT_EQ(s.num_edits, 0);
  EXPECT_EQ(s.ref_length, 6);
  EXPECT_EQ(SentenceTer("a b c", {"a b c"}), 0.0);
  // Only whitespace differs: both are split on Python's whitespace.
  EXPECT_EQ(SentenceTer("  a\tb\n c \u00a0", {"a b c"}), 0.0);
}

TEST(TerTest, EmptyCandidateDeletesEveryReferenceWord) {
  const TerStats s = Stats("", {"The cat is on the mat."});
  EXPECT_EQ(s.num_edits, 6);
  EXPECT_EQ(s.ref_length, 6);
  EXPECT_EQ(TerFromStats(s), 100.0);
  EXPECT_EQ(SentenceTer("   ", {"a b"}), 100.0);
}

TEST(TerTest, EmptyReference) {
  // No reference words: sacrebleu scores 100 if there is anything to delete.
  TerStats s = Stats("a b", {""});
  EXPECT_EQ(s.num_edits, 2);
  EXPECT_EQ(s.ref_length, 0);
  EXPECT_EQ(TerFromStats(s), 100.0);
  EXPECT_EQ(SentenceTer("", {""}), 0.0);
  EXPECT_EQ(SentenceTer(" ", {"\t"}), 0.0);
  s = Stats("a b", {"", "", ""});
  EXPECT_EQ(s.num_edits, 2);
  EXPECT_EQ(s.ref_length, 0);
}

// sacrebleu 2.6.0 keeps empty references (public case 2771 is this shape).
TEST(TerTest, EmptyReferencesCountInTheMeanLength) {
  const TerStats s = Stats("a b c", {"", "a b c", ""});
  EXPECT_EQ(s.num_edits, 0);
  EXPECT_EQ(s.ref_length, 1);  // (0 + 3 + 0) / 3
  const TerStats one = Stats("The cat sat on the mat.", {"", "The cat sat on a mat."});
  EXPECT_EQ(one.num_edits, 1);
  EXPECT_EQ(one.ref_length, 3);
  EXPECT_NEAR(TerFromStats(one), 100.0 / 3, 1e-12);
  // A whitespace-only reference is not the empty string: it stays, with no words.
  const TerStats w = Stats("a b", {"   ", "a b"});
  EXPECT_EQ(w.num_edits, 0);
  EXPECT_EQ(w.ref_length, 1);
}

TEST(TerTest, EmptyReferenceListIsAnError) {
  try {
    SentenceTer("a", {});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidParameterValue);
  }
}

TEST(TerTest, ShiftsCountAsOneEdit) {
  // Moving "a" to the front is one shift; plain edit distance would be 2.
  TerStats s = Stats("b c a", {"a b c"});
  EXPECT_EQ(s.num_edits, 1);
  EXPECT_EQ(TerFromStats(s), 33.33333333333333);  // 100 * (1 / 3), as sacrebleu
  // A three-word block moves as one shift.
  s = Stats("d e f a b c", {"a b c d e f"});
  EXPECT_EQ(s.num_edits, 1);
  EXPECT_EQ(TerFromStats(s), 16.666666666666664);
  EXPECT_EQ(SentenceTer("the cat sat on the mat", {"on the mat the cat sat"}), 16.666666666666664);
  EXPECT_EQ(SentenceTer("the the the cat", {"cat the the the"}), 25.0);
}

TEST(TerTest, CaseInsensitiveByDefault) {
  EXPECT_EQ(SentenceTer("THE Cat", {"the cat"}), 0.0);
  TerOptions cased;
  cased.case_sensitive = true;
  EXPECT_EQ(SentenceTer("THE Cat", {"the cat"}, cased), 100.0);
  EXPECT_EQ(SentenceTer("the cat", {"the cat"}, cased), 0.0);
}

TEST(TerTest, UnicodeLowercasingIsPythons) {
  // str.lower(): final sigma, and İ becoming i + U+0307.
  EXPECT_EQ(SentenceTer("ΟΔΟΣ İstanbul", {"οδος i\u0307stanbul"}), 0.0);
  const TerStats s = Stats("ΟΔΟΣ straße", {"οδοσ STRASSE"});
  EXPECT_EQ(s.num_edits, 2);  // οδος != οδοσ, straße != strasse
  EXPECT_EQ(s.ref_length, 2);
  EXPECT_EQ(SentenceTer("日本語 テキスト", {"日本語 テキスト"}), 0.0);
}

TEST(TerTest, MultipleReferencesTakeFewestEditsAndMeanLength) {
  const TerStats s = Stats("a b c", {"x y z w", "a b c d"});
  EXPECT_EQ(s.num_edits, 1);
  EXPECT_EQ(s.ref_length, 4);
  EXPECT_EQ(TerFromStats(s), 25.0);
  const TerStats t = Stats("one two", {"one two three four", "one"});
  EXPECT_EQ(t.num_edits, 1);
  EXPECT_EQ(t.ref_length, 2.5);
}

TEST(TerTest, CorpusSumsSegmentStatistics) {
  TerStats corpus;
  TerStatsAdd(corpus, Stats("b c a", {"a b c"}));
  TerStatsAdd(corpus, Stats("one two", {"one two three four", "one"}));
  EXPECT_EQ(corpus.num_edits, 2);
  EXPECT_EQ(corpus.ref_length, 5.5);
  EXPECT_EQ(TerFromStats(corpus), 36.36363636363637);
  // Not the mean of the sentence scores.
  EXPECT_NE(TerFromStats(corpus), (SentenceTer("b c a", {"a b c"}) +
                                   SentenceTer("one two", {"one two three four", "one"})) /
                                      2);
  EXPECT_EQ(TerFromStats(TerStats{}), 0.0);
  EXPECT_EQ(TerFromStats(TerStats{3, 0}), 100.0);
  EXPECT_EQ(TerFromStats(TerStats{9, 3}), 300.0);  // more edits than reference words
}

TEST(TerTest, TokenizerOptions) {
  TerOptions normalized;
  normalized.normalized = true;
  EXPECT_EQ(SentenceTer("Hello, world! It's John's &amp; Mary's 3.5-4 cats.",
                        {"hello world it's john's & mary's 3.5 - 4 cats"}, normalized),
            23.076923076923077);
  EXPECT_EQ(SentenceTer("A-1 x.y 1,000 a.b, end.", {"a - 1 x . y 1,000 a . b , end ."}, normalized),
            23.076923076923077);
  EXPECT_EQ(
      SentenceTer("line one\n-continued &quot;q&quot;", {"line onecontinued \" q \""}, normalized),
      0.0);

  TerOptions no_punct;
  no_punct.no_punct = true;
  EXPECT_EQ(SentenceTer("Hello, world! (yes)", {"hello world yes"}, no_punct), 0.0);

  TerOptions asian = normalized;
  asian.asian_support = true;
  EXPECT_EQ(SentenceTer("我爱北京天安门。", {"我 爱 北京 天安门"}, asian), 14.285714285714285);
  asian.no_punct = true;
  EXPECT_EQ(SentenceTer("我爱北京天安门。", {"我 爱 北京 天安门"}, asian), 0.0);
  // Removing the ideographic comma without normalizing joins the words.
  TerOptions asian_punct;
  asian_punct.no_punct = true;
  asian_punct.asian_support = true;
  EXPECT_EQ(SentenceTer("東京、大阪", {"東京 大阪"}, asian_punct), 100.0);
}

TEST(TerTest, LengthLimit) {
  // At the limit, identical texts are quick (no shift has a reason to exist).
  const std::string at_limit = Repeat("w", kTerMaxWords);
  EXPECT_EQ(SentenceTer(at_limit, {at_limit}), 0.0);

  const std::string over = Repeat("w", kTerMaxWords + 1);
  for (const auto& [cand, ref] :
       {std::make_pair(over, std::string("w")), std::make_pair(std::string("w"), over)}) {
    try {
      SentenceTer(cand, {"x", ref});
      FAIL() << "expected an error";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kProgramLimitExceeded);
      EXPECT_STREQ(e.what(), "input too long for ter");
      EXPECT_NE(e.detail().find(std::to_string(kTerMaxWords + 1)), std::string::npos) << e.detail();
      EXPECT_NE(e.detail().find(std::to_string(kTerMaxWords) + " words"), std::string::npos)
          << e.detail();
    }
  }
}

TEST(TerTest, ArbitraryBytesNeverFail) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> len(0, 60);
  for (int iter = 0; iter < 300; ++iter) {
    std::string a, b;
    for (int i = len(rng); i > 0; --i)
      a.push_back(static_cast<char>(byte(rng) % 3 ? byte(rng) : ' '));
    for (int i = len(rng); i > 0; --i)
      b.push_back(static_cast<char>(byte(rng) % 3 ? byte(rng) : ' '));
    TerOptions options;
    options.normalized = iter % 2;
    options.no_punct = iter % 3 == 0;
    options.asian_support = iter % 5 < 2;
    options.case_sensitive = iter % 7 == 0;
    const double score = SentenceTer(a, {b}, options);
    EXPECT_TRUE(std::isfinite(score));
    EXPECT_GE(score, 0.0);
  }
  // Malformed sequences decode as U+FFFD, with or without lowercasing.
  EXPECT_EQ(SentenceTer("\xff x", {"\xfe x"}), 0.0);
  TerOptions cased;
  cased.case_sensitive = true;
  EXPECT_EQ(SentenceTer("\xff x", {"\xfe x"}, cased), 0.0);
}

// ---------------------------------------------------------------------------
// A literal transcription of sacrebleu's lib_ter (full matrix rows of
// (cost, op), operations as characters, Python's slicing and tuple order,
// no cache), used as an oracle for the optimised engine on random inputs.

namespace oracle {

using Words = std::vector<uint32_t>;
constexpr int64_t kInf = 10000000000000000;  // int(1e16)

struct Cell {
  int64_t cost;
  char op;
};

std::pair<int64_t, std::string> EditDistance(const Words& h, const Words& r) {
  const std::size_t n = h.size();
  const std::size_t m = r.size();
  std::vector<std::vector<Cell>> dist(n + 1, std::vector<Cell>(m + 1, Cell{kInf, 'x'}));
  for (std::size_t j = 0; j <= m; ++j) dist[0][j] = Cell{static_cast<int64_t>(j), 'i'};
  const double ratio = n ? static_cast<double>(m) / static_cast<double>(n) : 1.0;
  const int64_t beam =
      25 < ratio / 2 ? static_cast<int64_t>(std::ceil(ratio / 2 + 25)) : int64_t{25};
  for (std::size_t i = 1; i <= n; ++i) {
    const auto diag = static_cast<int64_t>(std::floor(static_cast<double>(i) * ratio));
    const int64_t min_j = std::max<int64_t>(0, diag - beam);
    int64_t max_j = std::min<int64_t>(static_cast<int64_t>(m) + 1, diag + beam);
    if (i == n) max_j = static_cast<int64_t>(m) + 1;
    for (int64_t jj = min_j; jj < max_j; ++jj) {
      const auto j = static_cast<std::size_t>(jj);
      if (j == 0) {
        dist[i][j] = Cell{dist[i - 1][j].cost + 1, 'd'};
        continue;
      }
      const bool same = h[i - 1] == r[j - 1];
      const Cell ops[3] = {{dist[i - 1][j - 1].cost + (same ? 0 : 1), same ? ' ' : 's'},
                           {dist[i - 1][j].cost + 1, 'd'},
                           {dist[i][j - 1].cost + 1, 'i'}};
      for (const Cell& op : ops)
        if (dist[i][j].cost > op.cost) dist[i][j] = op;
    }
  }
  std::string trace;
  std::size_t i = n;
  std::size_t j = m;
  while (i > 0 || j > 0) {
    const char op = dist[i][j].op;
    trace.insert(trace.begin(), op);
    if (op == 's' || op == ' ') {
      --i;
      --j;
    } else if (op == 'i') {
      --j;
    } else if (op == 'd') {
      --i;
    } else {
      ADD_FAILURE() << "unknown operation";
      return {-1, ""};
    }
  }
  return {dist[n][m].cost, trace};
}

Words PerformShift(const Words& w, int64_t start, int64_t length, int64_t target) {
  auto slice = [&w](int64_t a, int64_t b) {
    a = std::clamp<int64_t>(a, 0, static_cast<int64_t>(w.size()));
    b = std::clamp<int64_t>(b, 0, static_cast<int64_t>(w.size()));
    return a < b ? Words(w.begin() + a, w.begin() + b) : Words();
  };
  std::vector<Words> parts;
  if (target < start) {
    parts = {slice(0, target), slice(start, start + length), slice(target, start),
             slice(start + length, static_cast<int64_t>(w.size()))};
  } else if (target > start + length) {
    parts = {slice(0, start), slice(start + length, target), slice(start, start + length),
             slice(target, static_cast<int64_t>(w.size()))};
  } else {
    parts = {slice(0, start), slice(start + length, length + target), slice(start, start + length),
             slice(length + target, static_cast<int64_t>(w.size()))};
  }
  Words out;
  for (const Words& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

int64_t TranslationEditRate(const Words& hyp, const Words& ref) {
  if (ref.empty()) return static_cast<int64_t>(hyp.size());
  int64_t shifts = 0;
  int64_t checked = 0;
  Words words = hyp;
  for (;;) {
    // _shift
    const auto [pre_score, inv_trace] = EditDistance(words, ref);
    std::string trace = inv_trace;
    for (char& c : trace) c = c == 'i' ? 'd' : c == 'd' ? 'i' : c;
    std::vector<int64_t> align(ref.size(), -7);
    std::vector<int> hyp_err, ref_err;
    int64_t pos_hyp = -1;
    int64_t pos_ref = -1;
    for (char op : trace) {
      if (op == ' ' || op == 's') {
        ++pos_hyp;
        ++pos_ref;
        align[static_cast<std::size_t>(pos_ref)] = pos_hyp;
        hyp_err.push_back(op == 's');
        ref_err.push_back(op == 's');
      } else if (op == 'i') {
        ++pos_hyp;
        hyp_err.push_back(1);
      } else {
        ++pos_ref;
        align[static_cast<std::size_t>(pos_ref)] = pos_hyp;
        ref_err.push_back(1);
      }
    }
    auto sum = [](const std::vector<int>& v, int64_t a, int64_t len) {
      int s = 0;
      for (int64_t k = a; k < a + len && k < static_cast<int64_t>(v.size()); ++k)
        s += v[static_cast<std::size_t>(k)];
      return s;
    };
    bool have_best = false;
    std::tuple<int64_t, int64_t, int64_t, int64_t> best;
    Words best_words;
    const auto nh = static_cast<int64_t>(words.size());
    const auto nr = static_cast<int64_t>(ref.size());
    bool stop = false;
    for (int64_t sh = 0; sh < nh && !stop; ++sh) {
      for (int64_t sr = 0; sr < nr && !stop; ++sr) {
        if (std::abs(sr - sh) > 50) continue;
        int64_t length = 0;
        while (words[static_cast<std::size_t>(sh + length)] ==
                   ref[static_cast<std::size_t>(sr + length)] &&
               length < 10) {
          ++length;
          // one yielded (sh, sr, length)
          if (sum(hyp_err, sh, length) != 0 && sum(ref_err, sr, length) != 0 &&
              !(sh <= align[static_cast<std::size_t>(sr)] &&
                align[static_cast<std::size_t>(sr)] < sh + length)) {
            int64_t prev_idx = -1;
            for (int64_t offset = -1; offset < length; ++offset) {
              int64_t idx;
              if (sr + offset == -1) {
                idx = 0;
              } else if (sr + offset < nr) {
                idx = align[static_cast<std::size_t>(sr + offset)] + 1;
              } else {
                break;
              }
              if (idx == prev_idx) continue;
              prev_idx = idx;
              Words shifted = PerformShift(words, sh, length, idx);
              EXPECT_EQ(shifted.size(), words.size());
              const auto candidate =
                  std::make_tuple(pre_score - EditDistance(shifted, ref).first, length, -sh, -idx);
              ++checked;
              if (!have_best || candidate > best || (candidate == best && shifted > best_words)) {
                have_best = true;
                best = candidate;
                best_words = shifted;
              }
            }
            if (checked >= 1000) stop = true;
          }
          if (stop || nh == sh + length || nr == sr + length) break;
        }
      }
    }
    const int64_t delta = have_best ? std::get<0>(best) : 0;
    if (checked >= 1000) break;
    if (delta <= 0) break;
    ++shifts;
    words = best_words;
  }
  return shifts + EditDistance(words, ref).first;
}

}  // namespace oracle

std::vector<uint32_t> RandomWords(std::mt19937& rng, std::size_t n, uint32_t vocab) {
  std::uniform_int_distribution<uint32_t> word(0, vocab - 1);
  std::vector<uint32_t> out(n);
  for (auto& w : out) w = word(rng);
  return out;
}

// A reference with blocks moved and words changed: what shifts are for.
std::vector<uint32_t> Perturb(std::mt19937& rng, std::vector<uint32_t> w, uint32_t vocab) {
  std::uniform_int_distribution<int> coin(0, 99);
  std::uniform_int_distribution<uint32_t> word(0, vocab - 1);
  const int moves = coin(rng) % 6;
  for (int k = 0; k < moves && !w.empty(); ++k) {
    const std::size_t s = static_cast<std::size_t>(coin(rng)) % w.size();
    const std::size_t len = std::min<std::size_t>(1 + coin(rng) % 8, w.size() - s);
    std::vector<uint32_t> block(w.begin() + static_cast<std::ptrdiff_t>(s),
                                w.begin() + static_cast<std::ptrdiff_t>(s + len));
    w.erase(w.begin() + static_cast<std::ptrdiff_t>(s),
            w.begin() + static_cast<std::ptrdiff_t>(s + len));
    const std::size_t t = static_cast<std::size_t>(coin(rng)) % (w.size() + 1);
    w.insert(w.begin() + static_cast<std::ptrdiff_t>(t), block.begin(), block.end());
  }
  const int edits = coin(rng) % 5;
  for (int k = 0; k < edits; ++k) {
    const int op = coin(rng) % 3;
    if (op == 0 && !w.empty()) w[static_cast<std::size_t>(coin(rng)) % w.size()] = word(rng);
    if (op == 1)
      w.insert(w.begin() + static_cast<std::ptrdiff_t>(coin(rng) % (w.size() + 1)), word(rng));
    if (op == 2 && !w.empty())
      w.erase(w.begin() +
              static_cast<std::ptrdiff_t>(static_cast<std::size_t>(coin(rng)) % w.size()));
  }
  return w;
}

TEST(TerOracle, RandomInputsMatchLiteralTranscription) {
  std::mt19937 rng(20240611);
  std::uniform_int_distribution<int> pick(0, 99);
  const uint32_t vocabs[] = {2, 3, 5, 10, 40, 1000};
  for (int iter = 0; iter < 400; ++iter) {
    const uint32_t vocab = vocabs[static_cast<std::size_t>(pick(rng)) % 6];
    std::vector<uint32_t> hyp, ref;
    const int mode = pick(rng);
    if (mode < 35) {
      hyp = RandomWords(rng, static_cast<std::size_t>(pick(rng) % 40), vocab);
      ref = RandomWords(rng, static_cast<std::size_t>(pick(rng) % 40), vocab);
    } else if (mode < 80) {
      ref = RandomWords(rng, 1 + static_cast<std::size_t>(pick(rng) % 60), vocab);
      hyp = Perturb(rng, ref, vocab);
    } else if (mode < 90) {
      // Lengths far apart: the beam widens, or rows hold few columns.
      hyp = RandomWords(rng, static_cast<std::size_t>(pick(rng) % 3), vocab);
      ref = RandomWords(rng, 60 + static_cast<std::size_t>(pick(rng)) * 2, vocab);
      if (pick(rng) % 2) std::swap(hyp, ref);
    } else {
      // Long enough for the beam to matter and, with few distinct words, for
      // the candidate budget to run out.
      ref = RandomWords(rng, 60 + static_cast<std::size_t>(pick(rng) % 50), vocab);
      hyp = pick(rng) % 2 ? Perturb(rng, ref, vocab)
                          : RandomWords(rng, 60 + static_cast<std::size_t>(pick(rng) % 50), vocab);
    }
    SCOPED_TRACE("iteration " + std::to_string(iter));
    EXPECT_EQ(TerEditsForIds(hyp, ref), oracle::TranslationEditRate(hyp, ref));
  }
}

}  // namespace
}  // namespace llmeval::core::metrics

TEST(TerOptionsJson, ParsesAndRejects) {
  const llmeval::core::metrics::TerOptions o = llmeval::core::metrics::ParseTerOptionsJson(
      R"({"normalized":true,"no_punct":true,"asian_support":true,"case_sensitive":true})");
  EXPECT_TRUE(o.normalized && o.no_punct && o.asian_support && o.case_sensitive);
  EXPECT_EQ(llmeval::core::metrics::ParseTerOptionsJson("{}"), llmeval::core::metrics::TerOptions{});
  EXPECT_THROW(llmeval::core::metrics::ParseTerOptionsJson(R"({"normalized":1})"),
               llmeval::core::Error);
  EXPECT_THROW(llmeval::core::metrics::ParseTerOptionsJson(R"({"lowercase":true})"),
               llmeval::core::Error);
  EXPECT_THROW(llmeval::core::metrics::ParseTerOptionsJson("nope"), llmeval::core::Error);
}
