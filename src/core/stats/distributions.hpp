// The distribution functions the tests need, from Boost.Math. Arguments that
// make a result undefined give NaN rather than an exception, so callers turn
// them into SQL NULLs.
#pragma once

namespace llmeval::core::stats {

// P(|T| >= |t|) for Student's t with df degrees of freedom (df > 0, not
// necessarily an integer): scipy's special.stdtr(df, -|t|) * 2. 0 for an
// infinite t; NaN for a NaN t or an invalid df.
double StudentTTwoSidedP(double t, double df);

// The upper quantile of Student's t: q with P(T > q) = tail (0 < tail < 1).
double StudentTUpperQuantile(double df, double tail);

// P(Z > z) for the standard normal (scipy.stats.norm.sf): 1 at -Infinity, 0
// at +Infinity, NaN for NaN.
double NormalSf(double z);

// The upper quantile of the standard normal: z with P(Z > z) = tail.
double NormalUpperQuantile(double tail);

}  // namespace llmeval::core::stats

#include "core/cpp_only.hpp"
