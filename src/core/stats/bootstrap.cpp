#include "core/stats/bootstrap.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/stats/random.hpp"
#include "core/stats/sample.hpp"

namespace llmeval::core::stats {

namespace {

// numpy's _lerp: a + (b - a) t, or b - (b - a)(1 - t) from t = 0.5 on.
// The product goes through a volatile so that no compiler fuses it with
// the addition into an FMA, whose single rounding would change the bits.
double Lerp(double a, double b, double t) {
  const double diff = b - a;
  if (t >= 0.5) {
    volatile double product = diff * (1 - t);
    return b - product;
  }
  volatile double product = diff * t;
  return a + product;
}

// numpy.quantile(sorted, q, method='linear') of sorted values.
double LinearQuantile(const std::vector<double>& sorted, double q) {
  const double h = static_cast<double>(sorted.size() - 1) * q;
  const double floor_h = std::floor(h);
  const auto last = sorted.size() - 1;
  const std::size_t lower = std::min(static_cast<std::size_t>(floor_h), last);
  const std::size_t upper = std::min(lower + 1, last);
  return Lerp(sorted[lower], sorted[upper], h - floor_h);
}

constexpr std::uint64_t kDrawsBetweenInterruptChecks = 1 << 20;

}  // namespace

BootstrapResult BootstrapMeanCi(const double* x, std::size_t n, double confidence,
                                std::int32_t resamples, std::uint64_t seed,
                                const std::function<void()>& check_interrupts) {
  if (!(confidence > 0 && confidence < 1))
    throw Error(ErrorKind::kInvalidParameterValue,
                "confidence must be greater than 0 and less than 1",
                "confidence is " + std::to_string(confidence) + ".");
  if (resamples < 1 || resamples > kBootstrapMaxResamples)
    throw Error(ErrorKind::kInvalidParameterValue,
                "resamples must be between 1 and " + std::to_string(kBootstrapMaxResamples),
                "resamples is " + std::to_string(resamples) + ".");
  RequireFinite(x, n, "x");
  BootstrapResult r;
  r.resamples = resamples;
  if (n == 0) return r;
  r.estimate = NumpyMean(x, n);

  Xoshiro256StarStar rng(seed);
  std::vector<double> means(static_cast<std::size_t>(resamples));
  std::uint64_t draws_since_check = 0;
  for (double& mean : means) {
    double sum = 0.0;
    for (std::size_t i = 0; i < n; ++i) sum += x[rng.Below(n)];
    mean = sum / static_cast<double>(n);
    // -0.0 and 0.0 compare equal, so their order after sorting is up to the
    // sort; one zero keeps the interpolation reproducible.
    if (mean == 0) mean = 0.0;
    draws_since_check += n;
    if (check_interrupts && draws_since_check >= kDrawsBetweenInterruptChecks) {
      check_interrupts();
      draws_since_check = 0;
    }
  }
  std::sort(means.begin(), means.end());
  const double tail = (1 - confidence) / 2;
  r.ci_low = LinearQuantile(means, tail);
  r.ci_high = LinearQuantile(means, 1 - tail);
  return r;
}

}  // namespace llmeval::core::stats
