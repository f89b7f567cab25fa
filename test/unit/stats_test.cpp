// The statistics against scipy.stats: every case of test/data/stats_fixtures.json
// (written by test/data/make_stats_fixtures.py from scipy 1.10) within 1e-9
// relative, plus the edge cases the SQL functions document.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/stats/bootstrap.hpp"
#include "core/stats/distributions.hpp"
#include "core/stats/hypothesis.hpp"
#include "core/stats/random.hpp"
#include "core/stats/sample.hpp"

namespace llmeval::core::stats {
namespace {

using nlohmann::json;

constexpr double kRelative = 1e-9;
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

const json& Fixtures() {
  static const json doc = [] {
    std::ifstream in(std::string(LLMEVAL_TEST_DATA) + "/stats_fixtures.json");
    if (!in) throw std::runtime_error("cannot open stats_fixtures.json");
    return json::parse(in);
  }();
  return doc;
}

std::vector<json> CasesOf(const std::string& test) {
  std::vector<json> out;
  for (const json& c : Fixtures().at("cases"))
    if (c.at("test") == test) out.push_back(c);
  return out;
}

std::vector<double> Values(const json& array) { return array.get<std::vector<double>>(); }

// null -> nullopt (NaN in scipy), "Infinity"/"-Infinity" -> infinities.
std::optional<double> ExpectedValue(const json& expected, const std::string& key) {
  const json& v = expected.at(key);
  if (v.is_null()) return std::nullopt;
  if (v.is_string()) return v == "Infinity" ? kInf : -kInf;
  return v.get<double>();
}

std::string Show(const std::optional<double>& v) {
  if (!v) return "NULL";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.17g", *v);
  return buffer;
}

// Within kRelative of the expected value, plus `floor` absolutely (p-values
// may underflow differently below 1e-300; a CI end may be near 0).
void ExpectClose(const json& c, const std::string& key, const std::optional<double>& got,
                 double floor) {
  const std::optional<double> want = ExpectedValue(c.at("expected"), key);
  bool ok;
  if (!want || !got) {
    ok = !want && !got;
  } else if (std::isinf(*want) || std::isinf(*got)) {
    ok = *want == *got;
  } else {
    ok = std::fabs(*got - *want) <= kRelative * std::fabs(*want) + floor;
  }
  EXPECT_TRUE(ok) << c.at("id").get<std::string>() << " " << key << ": got " << Show(got)
                  << ", scipy " << Show(want);
}

void ExpectCommon(const json& c, const std::optional<double>& statistic,
                  const std::optional<double>& p_value, const std::optional<double>& effect_size,
                  const std::optional<double>& ci_low, const std::optional<double>& ci_high) {
  ExpectClose(c, "statistic", statistic, 1e-12);
  ExpectClose(c, "p_value", p_value, 1e-300);
  ExpectClose(c, "effect_size", effect_size, 1e-12);
  ExpectClose(c, "ci_low", ci_low, 1e-12);
  ExpectClose(c, "ci_high", ci_high, 1e-12);
}

void ExpectTTest(const json& c, const TTestResult& r) {
  ExpectCommon(c, r.statistic, r.p_value, r.effect_size, r.ci_low, r.ci_high);
  ExpectClose(c, "df", r.df, 1e-12);
  ExpectClose(c, "mean_a", r.mean_a, 0);
  ExpectClose(c, "mean_b", r.mean_b, 0);
  ExpectClose(c, "mean_diff", r.mean_diff, 1e-15);
  EXPECT_EQ(r.n_a, c.at("expected").at("n_a").get<std::int64_t>());
  EXPECT_EQ(r.n_b, c.at("expected").at("n_b").get<std::int64_t>());
}

TEST(StatsFixtures, Loaded) {
  EXPECT_GE(Fixtures().at("cases").size(), 60u);
  EXPECT_GE(CasesOf("welch_t_test").size(), 10u);
  EXPECT_GE(CasesOf("paired_t_test").size(), 10u);
  EXPECT_GE(CasesOf("mann_whitney_u").size(), 10u);
  EXPECT_GE(CasesOf("wilcoxon_signed_rank").size(), 10u);
  EXPECT_GE(CasesOf("two_proportion_z_test").size(), 8u);
  EXPECT_GE(CasesOf("bootstrap_ci").size(), 5u);
}

TEST(StatsFixtures, WelchTTestMatchesScipy) {
  for (const json& c : CasesOf("welch_t_test")) {
    const auto a = Values(c.at("a"));
    const auto b = Values(c.at("b"));
    ExpectTTest(c, WelchTTest(a.data(), a.size(), b.data(), b.size()));
  }
}

TEST(StatsFixtures, PairedTTestMatchesScipy) {
  for (const json& c : CasesOf("paired_t_test")) {
    const auto a = Values(c.at("a"));
    const auto b = Values(c.at("b"));
    ExpectTTest(c, PairedTTest(a.data(), a.size(), b.data(), b.size()));
  }
}

TEST(StatsFixtures, MannWhitneyUMatchesScipy) {
  for (const json& c : CasesOf("mann_whitney_u")) {
    const auto a = Values(c.at("a"));
    const auto b = Values(c.at("b"));
    const MannWhitneyResult r = MannWhitneyU(a.data(), a.size(), b.data(), b.size());
    ExpectCommon(c, r.statistic, r.p_value, r.effect_size, std::nullopt, std::nullopt);
    ExpectClose(c, "z", r.z, 1e-12);
    EXPECT_EQ(r.n_a, c.at("expected").at("n_a").get<std::int64_t>());
    EXPECT_EQ(r.n_b, c.at("expected").at("n_b").get<std::int64_t>());
  }
}

TEST(StatsFixtures, WilcoxonSignedRankMatchesScipy) {
  for (const json& c : CasesOf("wilcoxon_signed_rank")) {
    const auto a = Values(c.at("a"));
    const auto b = Values(c.at("b"));
    const WilcoxonResult r = WilcoxonSignedRank(a.data(), a.size(), b.data(), b.size());
    ExpectCommon(c, r.statistic, r.p_value, r.effect_size, std::nullopt, std::nullopt);
    ExpectClose(c, "z", r.z, 1e-12);
    ExpectClose(c, "w_plus", r.w_plus, 0);
    ExpectClose(c, "w_minus", r.w_minus, 0);
    EXPECT_EQ(r.n, c.at("expected").at("n").get<std::int64_t>());
    EXPECT_EQ(r.n_nonzero, c.at("expected").at("n_nonzero").get<std::int64_t>());
  }
}

TEST(StatsFixtures, TwoProportionZTestMatchesScipy) {
  for (const json& c : CasesOf("two_proportion_z_test")) {
    const ProportionTestResult r =
        TwoProportionZTest(c.at("successes_a"), c.at("n_a"), c.at("successes_b"), c.at("n_b"));
    ExpectCommon(c, r.statistic, r.p_value, r.effect_size, r.ci_low, r.ci_high);
    ExpectClose(c, "prop_a", r.prop_a, 0);
    ExpectClose(c, "prop_b", r.prop_b, 0);
    ExpectClose(c, "prop_diff", r.prop_diff, 0);
  }
}

// Bit for bit: the fixtures come from an independent Python implementation
// of the documented algorithm.
TEST(StatsFixtures, BootstrapReproducesPythonBitForBit) {
  for (const json& c : CasesOf("bootstrap_ci")) {
    const auto x = Values(c.at("x"));
    const BootstrapResult r =
        BootstrapMeanCi(x.data(), x.size(), c.at("confidence"), c.at("resamples"),
                        static_cast<std::uint64_t>(c.at("seed").get<std::int64_t>()));
    const std::string id = c.at("id");
    const json& e = c.at("expected");
    EXPECT_EQ(Show(r.estimate), Show(ExpectedValue(e, "estimate"))) << id;
    EXPECT_EQ(Show(r.ci_low), Show(ExpectedValue(e, "ci_low"))) << id;
    EXPECT_EQ(Show(r.ci_high), Show(ExpectedValue(e, "ci_high"))) << id;
    EXPECT_EQ(r.resamples, e.at("resamples").get<int>()) << id;
  }
}

TEST(StatsRandom, ReferenceOutputs) {
  const json& g = Fixtures().at("generators");
  SplitMix64 split(0);
  for (const json& v : g.at("splitmix64_seed_0"))
    EXPECT_EQ(split.Next(), std::stoull(v.get<std::string>()));
  // Vigna's splitmix64.c from state 0.
  EXPECT_EQ(SplitMix64(0).Next(), 0xe220a8397b1dcdafULL);
  Xoshiro256StarStar rng(0);
  for (const json& v : g.at("xoshiro256starstar_seed_0"))
    EXPECT_EQ(rng.Next(), std::stoull(v.get<std::string>()));
  Xoshiro256StarStar bounded(2024);
  for (const json& group : g.at("below_seed_2024")) {
    const std::uint64_t range = std::stoull(group.at("range").get<std::string>());
    for (const json& v : group.at("values"))
      EXPECT_EQ(bounded.Below(range), std::stoull(v.get<std::string>())) << "range " << range;
  }
}

TEST(StatsRandom, BelowStaysInRangeAndCoversIt) {
  Xoshiro256StarStar rng(99);
  std::vector<int> seen(7);
  for (int i = 0; i < 7000; ++i) {
    const std::uint64_t v = rng.Below(7);
    ASSERT_LT(v, 7u);
    ++seen[v];
  }
  for (int count : seen) EXPECT_GT(count, 800);
}

TEST(StatsSample, NumpySumBitForBit) {
  for (const json& s : Fixtures().at("generators").at("numpy_sums")) {
    const std::size_t n = s.at("n");
    std::vector<double> x(n);
    for (std::size_t i = 0; i < n; ++i)
      x[i] = static_cast<double>(i * 7919 % 10007) / 7.0 - 700.0 + (i % 3 == 0 ? 1e10 : 0.0);
    EXPECT_EQ(NumpySum(x.data(), n), s.at("sum").get<double>()) << "n = " << n;
    EXPECT_EQ(NumpyMean(x.data(), n), s.at("mean").get<double>()) << "n = " << n;
  }
  EXPECT_EQ(NumpySum(nullptr, 0), 0.0);
}

TEST(StatsSample, AverageRanks) {
  const Ranks r = AverageRanks({3.0, 1.0, 3.0, 2.0, 3.0, -0.0, 0.0});
  // Sorted: -0 0 (ranks 1, 2 -> 1.5) 1 (3) 2 (4) 3 3 3 (5, 6, 7 -> 6).
  EXPECT_EQ(r.doubled_ranks, (std::vector<std::int64_t>{12, 6, 12, 8, 12, 3, 3}));
  EXPECT_EQ(r.tie_sizes, (std::vector<std::int64_t>{2, 3}));
  EXPECT_TRUE(AverageRanks({}).doubled_ranks.empty());
}

TEST(StatsDistributions, KnownValues) {
  EXPECT_NEAR(StudentTTwoSidedP(2.0, 10), 0.07338803477074039, 1e-16);
  EXPECT_EQ(StudentTTwoSidedP(0.0, 3), 1.0);
  EXPECT_EQ(StudentTTwoSidedP(kInf, 3), 0.0);
  EXPECT_EQ(StudentTTwoSidedP(-kInf, 3), 0.0);
  EXPECT_TRUE(std::isnan(StudentTTwoSidedP(kNaN, 3)));
  EXPECT_TRUE(std::isnan(StudentTTwoSidedP(1.0, 0)));
  EXPECT_NEAR(NormalSf(1.959963984540054), 0.025, 1e-16);
  EXPECT_EQ(NormalSf(-kInf), 1.0);
  EXPECT_EQ(NormalSf(kInf), 0.0);
  EXPECT_NEAR(NormalUpperQuantile(0.025), 1.959963984540054, 1e-14);
  // The root of P(T > q) = 0.025 (scipy 1.10's stdtrit says 2.2281388519649385,
  // 1e-11 off: its CDF at that point is 0.02500000000090431).
  EXPECT_NEAR(StudentTUpperQuantile(10, 0.025), 2.228138851986273, 1e-14);
  EXPECT_TRUE(std::isnan(StudentTUpperQuantile(10, 0)));
}

// ---- edge cases -----------------------------------------------------------

template <typename Fn>
void ExpectError(ErrorKind kind, Fn&& fn) {
  try {
    fn();
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
  }
}

TEST(StatsEdgeCases, NonFiniteValuesAreErrors) {
  const std::vector<double> ok{1, 2, 3};
  for (double bad : {kNaN, kInf, -kInf}) {
    const std::vector<double> x{1, bad, 3};
    ExpectError(ErrorKind::kDataException, [&] { WelchTTest(x.data(), 3, ok.data(), 3); });
    ExpectError(ErrorKind::kDataException, [&] { WelchTTest(ok.data(), 3, x.data(), 3); });
    ExpectError(ErrorKind::kDataException, [&] { PairedTTest(x.data(), 3, ok.data(), 3); });
    ExpectError(ErrorKind::kDataException, [&] { MannWhitneyU(ok.data(), 3, x.data(), 3); });
    ExpectError(ErrorKind::kDataException, [&] { WilcoxonSignedRank(x.data(), 3, ok.data(), 3); });
    ExpectError(ErrorKind::kDataException, [&] { BootstrapMeanCi(x.data(), 3, 0.95, 10, 0); });
  }
  try {
    const std::vector<double> x{1, 2, kNaN};
    WelchTTest(ok.data(), 3, x.data(), 3);
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "b must not contain NaN or infinite values");
    EXPECT_EQ(e.detail(), "Element 3 is NaN.");
  }
}

TEST(StatsEdgeCases, PairedLengthsMustMatch) {
  const std::vector<double> a{1, 2, 3};
  const std::vector<double> b{1, 2};
  ExpectError(ErrorKind::kArraySubscriptError, [&] { PairedTTest(a.data(), 3, b.data(), 2); });
  ExpectError(ErrorKind::kArraySubscriptError,
              [&] { WilcoxonSignedRank(a.data(), 3, b.data(), 2); });
}

TEST(StatsEdgeCases, TooFewObservationsGiveNullopt) {
  const std::vector<double> one{4.0};
  const std::vector<double> three{1.0, 2.0, 4.0};
  const TTestResult welch = WelchTTest(one.data(), 1, three.data(), 3);
  EXPECT_FALSE(welch.statistic || welch.p_value || welch.df || welch.effect_size || welch.ci_low ||
               welch.ci_high);
  EXPECT_EQ(*welch.mean_a, 4.0);
  EXPECT_EQ(*welch.mean_diff, 4.0 - 7.0 / 3.0);
  const TTestResult empty = WelchTTest(nullptr, 0, three.data(), 3);
  EXPECT_FALSE(empty.mean_a || empty.mean_diff || empty.p_value);
  EXPECT_EQ(empty.n_a, 0);
  EXPECT_EQ(empty.n_b, 3);

  const TTestResult paired = PairedTTest(one.data(), 1, one.data(), 1);
  EXPECT_FALSE(paired.statistic || paired.p_value || paired.df);
  EXPECT_EQ(*paired.mean_diff, 0.0);
  EXPECT_FALSE(PairedTTest(nullptr, 0, nullptr, 0).mean_a);

  const MannWhitneyResult mwu = MannWhitneyU(nullptr, 0, three.data(), 3);
  EXPECT_FALSE(mwu.statistic || mwu.p_value || mwu.effect_size || mwu.z);
  EXPECT_EQ(mwu.n_b, 3);

  const WilcoxonResult w = WilcoxonSignedRank(nullptr, 0, nullptr, 0);
  EXPECT_FALSE(w.statistic || w.p_value || w.effect_size || w.z);
  const WilcoxonResult zeros = WilcoxonSignedRank(three.data(), 3, three.data(), 3);
  EXPECT_FALSE(zeros.statistic || zeros.p_value || zeros.effect_size);
  EXPECT_EQ(zeros.n, 3);
  EXPECT_EQ(zeros.n_nonzero, 0);
}

TEST(StatsEdgeCases, SwappingSamplesFlipsSigns) {
  const std::vector<double> a{1.5, 2.25, 3.0, 7.5, 2.0, 2.0, 4.0};
  const std::vector<double> b{0.5, 1.0, 2.0, 2.0, 2.0, 1.25, 0.0};
  const TTestResult ab = WelchTTest(a.data(), 7, b.data(), 7);
  const TTestResult ba = WelchTTest(b.data(), 7, a.data(), 7);
  EXPECT_EQ(*ab.statistic, -*ba.statistic);
  EXPECT_EQ(*ab.p_value, *ba.p_value);
  EXPECT_EQ(*ab.effect_size, -*ba.effect_size);
  EXPECT_EQ(*ab.ci_low, -*ba.ci_high);
  EXPECT_LT(*ab.ci_low, *ab.mean_diff);
  EXPECT_GT(*ab.ci_high, *ab.mean_diff);

  const MannWhitneyResult mab = MannWhitneyU(a.data(), 7, b.data(), 7);
  const MannWhitneyResult mba = MannWhitneyU(b.data(), 7, a.data(), 7);
  EXPECT_EQ(*mab.statistic + *mba.statistic, 49.0);
  EXPECT_EQ(*mab.p_value, *mba.p_value);
  EXPECT_EQ(*mab.effect_size, -*mba.effect_size);
  EXPECT_GT(*mab.effect_size, 0);  // a tends to be larger
  EXPECT_GT(*mab.z, 0);
  EXPECT_EQ(*mab.z, -*mba.z);

  const WilcoxonResult wab = WilcoxonSignedRank(a.data(), 7, b.data(), 7);
  const WilcoxonResult wba = WilcoxonSignedRank(b.data(), 7, a.data(), 7);
  EXPECT_EQ(*wab.statistic, *wba.statistic);
  EXPECT_EQ(*wab.p_value, *wba.p_value);
  EXPECT_EQ(wab.w_plus, wba.w_minus);
  EXPECT_GT(*wab.effect_size, 0);
  EXPECT_GT(*wab.z, 0);
  EXPECT_EQ(*wab.effect_size, -*wba.effect_size);
  // One zero difference (2.0 - 2.0) is dropped.
  EXPECT_EQ(wab.n, 7);
  EXPECT_EQ(wab.n_nonzero, 6);
  EXPECT_EQ(wab.w_plus + wab.w_minus, 21.0);

  const ProportionTestResult pab = TwoProportionZTest(30, 50, 20, 60);
  const ProportionTestResult pba = TwoProportionZTest(20, 60, 30, 50);
  EXPECT_EQ(*pab.statistic, -*pba.statistic);
  EXPECT_EQ(*pab.p_value, *pba.p_value);
  EXPECT_EQ(*pab.effect_size, -*pba.effect_size);
  EXPECT_EQ(*pab.prop_diff, 30.0 / 50 - 20.0 / 60);
}

TEST(StatsEdgeCases, PairedTestIsOneSampleTestOfDifferences) {
  const std::vector<double> a{10, 12, 9, 14, 11, 13};
  const std::vector<double> b{9, 12.5, 7, 12, 11.5, 10};
  const TTestResult r = PairedTTest(a.data(), 6, b.data(), 6);
  // d = 1, -0.5, 2, 2, -0.5, 3: mean 7/6, sd sqrt(2.141666...).
  const double mean = 7.0 / 6.0;
  const double sd = std::sqrt((std::pow(1 - mean, 2) + 2 * std::pow(-0.5 - mean, 2) +
                               2 * std::pow(2 - mean, 2) + std::pow(3 - mean, 2)) /
                              5);
  EXPECT_NEAR(*r.statistic, mean / (sd / std::sqrt(6.0)), 1e-12);
  EXPECT_NEAR(*r.effect_size, mean / sd, 1e-12);
  EXPECT_EQ(*r.df, 5.0);
  EXPECT_EQ(r.n_a, 6);
  EXPECT_NEAR(*r.effect_size * std::sqrt(6.0), *r.statistic, 1e-12);
}

TEST(StatsEdgeCases, ZeroVarianceFollowsScipy) {
  const std::vector<double> ones(5, 1.0);
  const std::vector<double> twos(4, 2.0);
  const TTestResult diff = WelchTTest(ones.data(), 5, twos.data(), 4);
  EXPECT_EQ(*diff.statistic, -kInf);
  EXPECT_EQ(*diff.p_value, 0.0);
  EXPECT_FALSE(diff.df);
  EXPECT_EQ(*diff.ci_low, -1.0);
  EXPECT_EQ(*diff.ci_high, -1.0);
  const TTestResult same = WelchTTest(ones.data(), 5, ones.data(), 3);
  EXPECT_FALSE(same.statistic || same.p_value || same.effect_size);
  EXPECT_EQ(*same.mean_diff, 0.0);

  // All values tied: U's variance is 0; scipy's z is -inf and p clips to 1.
  const MannWhitneyResult tied = MannWhitneyU(ones.data(), 5, ones.data(), 3);
  EXPECT_EQ(*tied.p_value, 1.0);
  EXPECT_EQ(*tied.z, 0.0);
  EXPECT_EQ(*tied.effect_size, 0.0);
}

TEST(StatsEdgeCases, TwoProportionZTest) {
  ExpectError(ErrorKind::kInvalidParameterValue, [] { TwoProportionZTest(5, 3, 1, 2); });
  ExpectError(ErrorKind::kInvalidParameterValue, [] { TwoProportionZTest(-1, 3, 1, 2); });
  ExpectError(ErrorKind::kInvalidParameterValue, [] { TwoProportionZTest(1, 3, 1, -2); });
  const ProportionTestResult none = TwoProportionZTest(0, 40, 0, 30);
  EXPECT_FALSE(none.statistic || none.p_value);
  EXPECT_EQ(*none.effect_size, 0.0);
  EXPECT_EQ(*none.ci_low, 0.0);
  const ProportionTestResult empty = TwoProportionZTest(0, 0, 2, 4);
  EXPECT_FALSE(empty.statistic || empty.prop_a || empty.prop_diff || empty.ci_low);
  EXPECT_EQ(*empty.prop_b, 0.5);
  // Counts beyond 2^62 neither overflow nor fail.
  const std::int64_t big = std::int64_t{1} << 62;
  const ProportionTestResult huge = TwoProportionZTest(big, big + 5, big / 2, big + 7);
  EXPECT_EQ(*huge.p_value, 0.0);
  EXPECT_NEAR(*huge.prop_diff, 0.5, 1e-15);
}

TEST(StatsBootstrap, Validation) {
  const std::vector<double> x{1, 2, 3};
  for (double confidence : {0.0, 1.0, -0.5, 1.5, kNaN})
    ExpectError(ErrorKind::kInvalidParameterValue,
                [&] { BootstrapMeanCi(x.data(), 3, confidence, 100, 0); });
  for (int resamples : {0, -1, kBootstrapMaxResamples + 1})
    ExpectError(ErrorKind::kInvalidParameterValue,
                [&] { BootstrapMeanCi(x.data(), 3, 0.95, resamples, 0); });
  const BootstrapResult empty = BootstrapMeanCi(nullptr, 0, 0.95, 10, 0);
  EXPECT_FALSE(empty.estimate || empty.ci_low || empty.ci_high);
  EXPECT_EQ(empty.resamples, 10);
}

TEST(StatsBootstrap, SeededAndSensible) {
  std::vector<double> x;
  for (int i = 0; i < 40; ++i) x.push_back((i * 37 % 11) * 0.5);
  const BootstrapResult r1 = BootstrapMeanCi(x.data(), x.size(), 0.95, 2000, 7);
  const BootstrapResult r2 = BootstrapMeanCi(x.data(), x.size(), 0.95, 2000, 7);
  const BootstrapResult r3 = BootstrapMeanCi(x.data(), x.size(), 0.95, 2000, 8);
  EXPECT_EQ(*r1.ci_low, *r2.ci_low);
  EXPECT_EQ(*r1.ci_high, *r2.ci_high);
  EXPECT_NE(*r1.ci_low, *r3.ci_low);
  EXPECT_LT(*r1.ci_low, *r1.estimate);
  EXPECT_GT(*r1.ci_high, *r1.estimate);
  // Roughly the normal interval mean +/- 1.96 sd / sqrt(n).
  double m = *r1.estimate, ss = 0;
  for (double v : x) ss += (v - m) * (v - m);
  const double half = 1.96 * std::sqrt(ss / x.size() / x.size());
  EXPECT_NEAR(*r1.ci_high - *r1.ci_low, 2 * half, 0.2 * half);
  // A wider confidence gives a wider interval.
  const BootstrapResult wide = BootstrapMeanCi(x.data(), x.size(), 0.99, 2000, 7);
  EXPECT_LT(*wide.ci_low, *r1.ci_low);
  EXPECT_GT(*wide.ci_high, *r1.ci_high);
}

TEST(StatsBootstrap, InterruptCallbackCanAbandon) {
  std::vector<double> x(100000, 1.0);
  int calls = 0;
  EXPECT_THROW(BootstrapMeanCi(x.data(), x.size(), 0.95, 1000, 0,
                               [&] {
                                 if (++calls == 3) throw std::runtime_error("cancel");
                               }),
               std::runtime_error);
  EXPECT_EQ(calls, 3);
}

}  // namespace
}  // namespace llmeval::core::stats
