// The arithmetic below follows scipy 1.10's code path operation by
// operation (the order of additions and divisions, where integers become
// doubles), so that statistics agree to the last bit or two and p-values to
// the accuracy of the distribution functions (Boost.Math here, Cephes in
// scipy): about 1e-14 relative, even for p-values near 1e-300.
#include "core/stats/hypothesis.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/stats/distributions.hpp"
#include "core/stats/sample.hpp"

namespace llmeval::core::stats {

namespace {

std::optional<double> Defined(double x) {
  if (std::isnan(x)) return std::nullopt;
  return x;
}

// The tail probability of each side of the two-sided interval, computed as
// scipy does ((1 - 0.95) / 2 is 0.025000000000000022 in doubles).
double IntervalTail() { return (1.0 - kTestConfidence) / 2.0; }

void RequireSameLength(std::size_t n_a, std::size_t n_b) {
  if (n_a != n_b)
    throw Error(
        ErrorKind::kArraySubscriptError, "paired samples must have the same length",
        "a has " + std::to_string(n_a) + " elements and b has " + std::to_string(n_b) + ".");
}

// sum(t * (t^2 - 1)) over tie groups. The terms are exact integers; long
// double keeps the sum exact well past 2^53 (numpy sums them as int64).
double TieTerm(const std::vector<std::int64_t>& tie_sizes) {
  long double sum = 0;
  for (const std::int64_t size : tie_sizes) {
    const auto t = static_cast<long double>(size);
    sum += t * t * t - t;
  }
  return static_cast<double>(sum);
}

}  // namespace

TTestResult WelchTTest(const double* a, std::size_t n_a, const double* b, std::size_t n_b) {
  RequireFinite(a, n_a, "a");
  RequireFinite(b, n_b, "b");
  TTestResult r;
  r.n_a = static_cast<std::int64_t>(n_a);
  r.n_b = static_cast<std::int64_t>(n_b);
  if (n_a > 0) r.mean_a = NumpyMean(a, n_a);
  if (n_b > 0) r.mean_b = NumpyMean(b, n_b);
  if (n_a > 0 && n_b > 0) r.mean_diff = Defined(*r.mean_a - *r.mean_b);
  // A sample variance needs two values.
  if (n_a < 2 || n_b < 2) return r;

  const double diff = *r.mean_a - *r.mean_b;
  const double v1 = ScipyVariance(a, n_a, *r.mean_a);
  const double v2 = ScipyVariance(b, n_b, *r.mean_b);
  const auto n1 = static_cast<double>(n_a);
  const auto n2 = static_cast<double>(n_b);
  // scipy.stats._stats_py._unequal_var_ttest_denom
  const double vn1 = v1 / n1;
  const double vn2 = v2 / n2;
  double df = (vn1 + vn2) * (vn1 + vn2) / (vn1 * vn1 / (n1 - 1) + vn2 * vn2 / (n2 - 1));
  // Both variances 0: df is 0/0. scipy then uses 1, which matters for no
  // result (t is +/-inf or NaN and the interval has width 0).
  const bool df_defined = !std::isnan(df);
  if (!df_defined) df = 1;
  const double se = std::sqrt(vn1 + vn2);
  const double t = diff / se;

  r.statistic = Defined(t);
  r.p_value = Defined(StudentTTwoSidedP(t, df));
  if (df_defined) r.df = df;
  const double q = StudentTUpperQuantile(df, IntervalTail());
  r.ci_low = Defined(diff - q * se);
  r.ci_high = Defined(diff + q * se);
  const double pooled_variance = ((n1 - 1) * v1 + (n2 - 1) * v2) / (n1 + n2 - 2);
  r.effect_size = Defined(diff / std::sqrt(pooled_variance));
  return r;
}

TTestResult PairedTTest(const double* a, std::size_t n_a, const double* b, std::size_t n_b) {
  RequireSameLength(n_a, n_b);
  RequireFinite(a, n_a, "a");
  RequireFinite(b, n_b, "b");
  const std::size_t n = n_a;
  TTestResult r;
  r.n_a = r.n_b = static_cast<std::int64_t>(n);
  if (n == 0) return r;
  r.mean_a = NumpyMean(a, n);
  r.mean_b = NumpyMean(b, n);
  std::vector<double> d(n);
  for (std::size_t i = 0; i < n; ++i) d[i] = a[i] - b[i];
  const double dm = NumpyMean(d.data(), n);
  r.mean_diff = Defined(dm);
  if (n < 2) return r;

  const double v = ScipyVariance(d.data(), n, dm);
  const double se = std::sqrt(v / static_cast<double>(n));
  const double t = dm / se;
  const auto df = static_cast<double>(n - 1);
  r.statistic = Defined(t);
  r.p_value = Defined(StudentTTwoSidedP(t, df));
  r.df = df;
  const double q = StudentTUpperQuantile(df, IntervalTail());
  r.ci_low = Defined(dm - q * se);
  r.ci_high = Defined(dm + q * se);
  r.effect_size = Defined(dm / std::sqrt(v));
  return r;
}

MannWhitneyResult MannWhitneyU(const double* a, std::size_t n_a, const double* b, std::size_t n_b) {
  RequireFinite(a, n_a, "a");
  RequireFinite(b, n_b, "b");
  MannWhitneyResult r;
  r.n_a = static_cast<std::int64_t>(n_a);
  r.n_b = static_cast<std::int64_t>(n_b);
  if (n_a == 0 || n_b == 0) return r;

  std::vector<double> pooled(a, a + n_a);
  pooled.insert(pooled.end(), b, b + n_b);
  const Ranks ranks = AverageRanks(pooled);
  std::int64_t r1_doubled = 0;
  for (std::size_t i = 0; i < n_a; ++i) r1_doubled += ranks.doubled_ranks[i];

  // scipy.stats._mannwhitneyu: mannwhitneyu and _get_mwu_z.
  const std::int64_t n1 = r.n_a;
  const std::int64_t n2 = r.n_b;
  const std::int64_t n = n1 + n2;
  const auto n1n2 = static_cast<double>(n1 * n2);
  const double u1 =
      static_cast<double>(r1_doubled) / 2.0 - static_cast<double>(n1 * (n1 + 1)) / 2.0;
  const double u2 = n1n2 - u1;
  const double mu = n1n2 / 2.0;
  const double tie_term = TieTerm(ranks.tie_sizes);
  const double s = std::sqrt(
      n1n2 / 12.0 * (static_cast<double>(n + 1) - tie_term / static_cast<double>(n * (n - 1))));
  // The continuity correction moves max(U1, U2) towards the mean; when U1
  // is the mean, z < 0 and the doubled tail exceeds 1, hence the clip.
  const double z_upper = (std::max(u1, u2) - mu - 0.5) / s;
  const double p = NormalSf(z_upper) * 2.0;
  r.statistic = u1;
  r.p_value = Defined(std::isnan(p) ? p : std::clamp(p, 0.0, 1.0));
  r.effect_size = (u1 - u2) / n1n2;
  if (u1 == mu) {
    r.z = 0.0;
  } else {
    r.z = Defined(u1 > mu ? z_upper : -z_upper);
  }
  return r;
}

WilcoxonResult WilcoxonSignedRank(const double* a, std::size_t n_a, const double* b,
                                  std::size_t n_b) {
  RequireSameLength(n_a, n_b);
  RequireFinite(a, n_a, "a");
  RequireFinite(b, n_b, "b");
  WilcoxonResult r;
  r.n = static_cast<std::int64_t>(n_a);
  // zero_method='wilcox': zero differences are dropped before ranking.
  std::vector<double> d;
  d.reserve(n_a);
  for (std::size_t i = 0; i < n_a; ++i) {
    const double diff = a[i] - b[i];
    if (diff != 0) d.push_back(diff);
  }
  const std::size_t count = d.size();
  r.n_nonzero = static_cast<std::int64_t>(count);
  if (count == 0) return r;

  std::vector<double> magnitudes(count);
  for (std::size_t i = 0; i < count; ++i) magnitudes[i] = std::fabs(d[i]);
  const Ranks ranks = AverageRanks(magnitudes);
  std::int64_t plus_doubled = 0;
  std::int64_t minus_doubled = 0;
  for (std::size_t i = 0; i < count; ++i) {
    (d[i] > 0 ? plus_doubled : minus_doubled) += ranks.doubled_ranks[i];
  }
  r.w_plus = static_cast<double>(plus_doubled) / 2.0;
  r.w_minus = static_cast<double>(minus_doubled) / 2.0;
  const double t = std::min(r.w_plus, r.w_minus);

  // scipy.stats._morestats.wilcoxon, mode 'approx'.
  const auto c = static_cast<double>(count);
  const double mn = c * (c + 1.0) * 0.25;
  double se = c * (c + 1.0) * (2.0 * c + 1.0);
  if (!ranks.tie_sizes.empty()) se -= 0.5 * TieTerm(ranks.tie_sizes);
  se = std::sqrt(se / 24);
  const double z_min = (t - mn) / se;
  r.statistic = t;
  r.p_value = Defined(2.0 * NormalSf(std::fabs(z_min)));
  r.z = Defined((r.w_plus - mn) / se);
  r.effect_size = static_cast<double>(plus_doubled - minus_doubled) /
                  static_cast<double>(plus_doubled + minus_doubled);
  return r;
}

ProportionTestResult TwoProportionZTest(std::int64_t successes_a, std::int64_t n_a,
                                        std::int64_t successes_b, std::int64_t n_b) {
  const auto check = [](std::int64_t successes, std::int64_t n, const char* side) {
    if (n < 0 || successes < 0 || successes > n)
      throw Error(ErrorKind::kInvalidParameterValue,
                  std::string("successes_") + side + " must be between 0 and n_" + side,
                  std::string("successes_") + side + " is " + std::to_string(successes) +
                      " and n_" + side + " is " + std::to_string(n) + ".");
  };
  check(successes_a, n_a, "a");
  check(successes_b, n_b, "b");
  ProportionTestResult r;
  if (n_a > 0) r.prop_a = static_cast<double>(successes_a) / static_cast<double>(n_a);
  if (n_b > 0) r.prop_b = static_cast<double>(successes_b) / static_cast<double>(n_b);
  if (n_a == 0 || n_b == 0) return r;

  const double pa = *r.prop_a;
  const double pb = *r.prop_b;
  const auto na = static_cast<double>(n_a);
  const auto nb = static_cast<double>(n_b);
  const double diff = pa - pb;
  // Unsigned: the sums of two bigints cannot overflow.
  const double pooled =
      static_cast<double>(static_cast<std::uint64_t>(successes_a) +
                          static_cast<std::uint64_t>(successes_b)) /
      static_cast<double>(static_cast<std::uint64_t>(n_a) + static_cast<std::uint64_t>(n_b));
  const double se = std::sqrt(pooled * (1 - pooled) * (1 / na + 1 / nb));
  const double z = diff / se;
  r.prop_diff = diff;
  r.statistic = Defined(z);
  r.p_value = Defined(2.0 * NormalSf(std::fabs(z)));
  r.effect_size = 2 * std::asin(std::sqrt(pa)) - 2 * std::asin(std::sqrt(pb));
  const double wald_se = std::sqrt(pa * (1 - pa) / na + pb * (1 - pb) / nb);
  const double q = NormalUpperQuantile(IntervalTail());
  r.ci_low = diff - q * wald_se;
  r.ci_high = diff + q * wald_se;
  return r;
}

}  // namespace llmeval::core::stats
