#include "core/stats/distributions.hpp"

#include <boost/math/distributions/normal.hpp>
#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <limits>

namespace llmeval::core::stats {

namespace {

namespace policies = boost::math::policies;

// Boost.Math throws on domain errors, poles and overflow by default; here
// they give NaN or infinity (errno_on_error), and callers check the inputs
// anyway. Underflow to 0 in the far tails is what scipy does too.
using Policy = policies::policy<policies::domain_error<policies::errno_on_error>,
                                policies::pole_error<policies::errno_on_error>,
                                policies::overflow_error<policies::errno_on_error>,
                                policies::evaluation_error<policies::errno_on_error>>;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

}  // namespace

double StudentTTwoSidedP(double t, double df) {
  if (std::isnan(t) || !(df > 0)) return kNaN;
  if (std::isinf(t)) return 0.0;
  const boost::math::students_t_distribution<double, Policy> dist(df);
  return 2.0 * boost::math::cdf(boost::math::complement(dist, std::fabs(t)));
}

double StudentTUpperQuantile(double df, double tail) {
  if (!(df > 0) || !(tail > 0 && tail < 1)) return kNaN;
  const boost::math::students_t_distribution<double, Policy> dist(df);
  return boost::math::quantile(boost::math::complement(dist, tail));
}

double NormalSf(double z) {
  if (std::isnan(z)) return kNaN;
  if (std::isinf(z)) return z > 0 ? 0.0 : 1.0;
  const boost::math::normal_distribution<double, Policy> dist;
  return boost::math::cdf(boost::math::complement(dist, z));
}

double NormalUpperQuantile(double tail) {
  if (!(tail > 0 && tail < 1)) return kNaN;
  const boost::math::normal_distribution<double, Policy> dist;
  return boost::math::quantile(boost::math::complement(dist, tail));
}

}  // namespace llmeval::core::stats
