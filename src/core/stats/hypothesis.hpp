// Two-sample significance tests for A/B comparisons of evaluation scores,
// agreeing with scipy.stats (1.10). Every test is two-sided and reports
// statistic, p_value, effect_size and, where defined, a 95% confidence
// interval (ci_low, ci_high); a value that is undefined for the input is
// std::nullopt (SQL NULL), never NaN.
//
// Common rules:
// - NaN or infinite input values throw Error(kDataException); samples that
//   must be paired but differ in length throw Error(kArraySubscriptError).
// - Too few observations is not an error: the undefined results are
//   nullopt (the t-tests need two values per sample or two pairs; the rank
//   tests need one value per sample or one non-zero difference).
// - Zero variance follows scipy: a non-zero mean difference over a zero
//   standard error gives statistic +/-Infinity and p_value 0; a zero
//   difference gives 0/0, i.e. NaN in scipy and nullopt here.
// - The t quantiles of the intervals are Boost's, accurate to a few ulps.
//   scipy 1.10's special.stdtrit (behind t.ppf and confidence_interval())
//   is off by up to ~4e-9 relative (stdtrit(39, 0.975)); the fixtures use
//   the root of scipy's own CDF instead, which Boost's quantile matches.
//
// Welch's t-test, scipy.stats.ttest_ind(a, b, equal_var=False):
//   t = (mean(a) - mean(b)) / sqrt(s_a^2/n_a + s_b^2/n_b), s^2 with ddof 1;
//   df by Welch-Satterthwaite; ci = mean(a) - mean(b) -/+ t_{0.975,df} * se.
//   effect_size is Cohen's d with the pooled standard deviation:
//   (mean(a) - mean(b)) / sqrt(((n_a-1) s_a^2 + (n_b-1) s_b^2) / (n_a+n_b-2)),
//   with no small-sample (Hedges) correction. When both variances are 0,
//   scipy's df is undefined (it uses 1 internally): df is nullopt here.
//
// Paired t-test, scipy.stats.ttest_rel(a, b): a one-sample t-test of the
//   differences d = a - b, df = n - 1, ci = mean(d) -/+ t_{0.975,df} sd(d)/sqrt(n)
//   (as scipy's confidence_interval()); effect_size is Cohen's d_z =
//   mean(d) / sd(d) (sd with ddof 1).
//
// Mann-Whitney U, scipy.stats.mannwhitneyu(a, b, alternative='two-sided',
//   method='asymptotic', use_continuity=True): statistic is U1 = R1 - n_a(n_a+1)/2,
//   where R1 is the sum of a's average ranks in the pooled sample (U1 counts
//   the pairs with a > b, ties as halves); the normal approximation uses
//   the tie-corrected variance n_a n_b / 12 ((n+1) - sum(t^3 - t) / (n(n-1)))
//   and a continuity correction of 0.5, p = min(1, 2 P(Z > z)).
//   effect_size is the rank-biserial correlation (U1 - U2) / (n_a n_b)
//   = P(a > b) - P(a < b) over all pairs: +1 when every value of a exceeds
//   every value of b, -1 in the opposite case, 0 for no shift. z is the
//   standardized statistic with the continuity correction, signed like
//   effect_size. No confidence interval is computed (nullopt).
//
// Wilcoxon signed-rank, scipy.stats.wilcoxon(a, b, zero_method='wilcox',
//   correction=False, method='approx'): differences d = a - b equal to 0
//   are dropped (n_nonzero counts the rest); |d| is ranked with average
//   ranks for ties; W+ and W- are the rank sums of the positive and
//   negative differences, statistic = min(W+, W-) as scipy reports it for a
//   two-sided test. The normal approximation uses mean n'(n'+1)/4 and
//   variance (n'(n'+1)(2n'+1) - sum(t^3 - t)/2) / 24 over the n' non-zero
//   differences with tie groups of sizes t, no continuity correction.
//   effect_size is the matched-pairs rank-biserial correlation
//   (W+ - W-) / (W+ + W-): positive when a tends to exceed b. z =
//   (W+ - n'(n'+1)/4) / sd, signed the same way (scipy's zstatistic is
//   -|z|). With no non-zero difference (scipy raises an error) statistic,
//   z, p_value and effect_size are nullopt.
//
// Two-proportion z-test (pooled): z = (p_a - p_b) / sqrt(p(1-p)(1/n_a + 1/n_b))
//   with p = (x_a + x_b) / (n_a + n_b), p_value = 2 P(Z > |z|);
//   ci is the Wald interval p_a - p_b -/+ z_{0.975} sqrt(p_a(1-p_a)/n_a +
//   p_b(1-p_b)/n_b) (unpooled); effect_size is Cohen's h =
//   2 asin(sqrt(p_a)) - 2 asin(sqrt(p_b)). When p is 0 or 1 (no successes or
//   no failures at all) z is 0/0: statistic and p_value are nullopt.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

namespace llmeval::core::stats {

// The confidence level of the intervals of the tests.
inline constexpr double kTestConfidence = 0.95;

struct TTestResult {
  std::optional<double> statistic;
  std::optional<double> p_value;
  std::optional<double> effect_size;
  std::optional<double> ci_low;
  std::optional<double> ci_high;
  std::optional<double> df;
  std::int64_t n_a = 0;  // for the paired test, the number of pairs
  std::int64_t n_b = 0;
  std::optional<double> mean_a;
  std::optional<double> mean_b;
  // Welch: mean(a) - mean(b); paired: mean(a - b) (they differ in rounding).
  std::optional<double> mean_diff;
};

struct MannWhitneyResult {
  std::optional<double> statistic;  // U1
  std::optional<double> p_value;
  std::optional<double> effect_size;  // rank-biserial correlation
  std::optional<double> z;
  std::int64_t n_a = 0;
  std::int64_t n_b = 0;
};

struct WilcoxonResult {
  std::optional<double> statistic;  // min(W+, W-)
  std::optional<double> p_value;
  std::optional<double> effect_size;  // matched-pairs rank-biserial correlation
  std::optional<double> z;
  std::int64_t n = 0;          // pairs
  std::int64_t n_nonzero = 0;  // pairs with a non-zero difference
  double w_plus = 0;
  double w_minus = 0;
};

struct ProportionTestResult {
  std::optional<double> statistic;  // z
  std::optional<double> p_value;
  std::optional<double> effect_size;  // Cohen's h
  std::optional<double> ci_low;
  std::optional<double> ci_high;
  std::optional<double> prop_a;
  std::optional<double> prop_b;
  std::optional<double> prop_diff;  // prop_a - prop_b
};

TTestResult WelchTTest(const double* a, std::size_t n_a, const double* b, std::size_t n_b);

// Throws Error(kArraySubscriptError) when n_a != n_b.
TTestResult PairedTTest(const double* a, std::size_t n_a, const double* b, std::size_t n_b);

MannWhitneyResult MannWhitneyU(const double* a, std::size_t n_a, const double* b, std::size_t n_b);

// Throws Error(kArraySubscriptError) when n_a != n_b.
WilcoxonResult WilcoxonSignedRank(const double* a, std::size_t n_a, const double* b,
                                  std::size_t n_b);

// Throws Error(kInvalidParameterValue) unless 0 <= successes <= n for both
// samples. A sample with n = 0 makes everything but the other proportion
// nullopt.
ProportionTestResult TwoProportionZTest(std::int64_t successes_a, std::int64_t n_a,
                                        std::int64_t successes_b, std::int64_t n_b);

}  // namespace llmeval::core::stats

#include "core/cpp_only.hpp"
