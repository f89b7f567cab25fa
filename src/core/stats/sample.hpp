// Sums, means, variances and ranks of samples, computed the way numpy and
// scipy.stats compute them, so that the tests built on them reproduce
// scipy's statistics to the last bit or two rather than merely to 1e-12.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace llmeval::core::stats {

// numpy's float64 add.reduce (np.sum, np.mean's numerator), bit for bit: the
// data is reduced in buffer chunks of 8192 elements, starting from 0.0, and
// each chunk is summed pairwise (8 interleaved accumulators up to 128
// elements, recursive halves beyond). Pairwise summation also keeps the
// rounding error at O(log n) ulps instead of the O(n) of a plain loop.
double NumpySum(const double* x, std::size_t n);

// np.mean: NumpySum / n. n must be positive.
double NumpyMean(const double* x, std::size_t n);

// The sample variance with ddof = 1 as scipy.stats' t-tests compute it
// (scipy.stats._stats_py._var): the mean of the squared deviations from
// NumpyMean, times n / (n - 1). n must be at least 2. A constant sample whose
// mean is not exactly representable (0.1, 0.1, 0.1) gets a tiny positive
// variance, exactly as in scipy.
double ScipyVariance(const double* x, std::size_t n, double mean);

// Throws Error(kDataException) naming `what` and the 1-based element if any
// value is NaN or infinite.
void RequireFinite(const double* x, std::size_t n, const char* what);

// Average ranks (scipy.stats.rankdata's 'average' method) of values that
// hold no NaN. Ranks of tied values are half-integers, so they are returned
// doubled, as exact integers: doubled_ranks[i] = 2 * rank(values[i]).
struct Ranks {
  std::vector<std::int64_t> doubled_ranks;
  // The sizes of the groups of tied values (only groups of two or more).
  std::vector<std::int64_t> tie_sizes;
};
Ranks AverageRanks(const std::vector<double>& values);

}  // namespace llmeval::core::stats

#include "core/cpp_only.hpp"
