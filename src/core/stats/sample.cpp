#include "core/stats/sample.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "core/error.hpp"

namespace llmeval::core::stats {

namespace {

// numpy's pairwise_sum_DOUBLE (numpy/core/src/umath/loops_utils.h.src).
double PairwiseSum(const double* x, std::size_t n) {
  if (n < 8) {
    double res = 0.0;
    for (std::size_t i = 0; i < n; ++i) res += x[i];
    return res;
  }
  if (n <= 128) {
    double r[8];
    for (int j = 0; j < 8; ++j) r[j] = x[j];
    std::size_t i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (int j = 0; j < 8; ++j) r[j] += x[i + j];
    }
    double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += x[i];
    return res;
  }
  // Halves, rounded down to a multiple of the unroll factor.
  std::size_t n2 = n / 2;
  n2 -= n2 % 8;
  return PairwiseSum(x, n2) + PairwiseSum(x + n2, n - n2);
}

// numpy's ufunc reductions run their inner loop over buffers of this many
// elements (NPY_BUFSIZE) and add the partial sums in order.
constexpr std::size_t kNumpyBufferSize = 8192;

}  // namespace

double NumpySum(const double* x, std::size_t n) {
  double sum = 0.0;
  for (std::size_t start = 0; start < n; start += kNumpyBufferSize)
    sum += PairwiseSum(x + start, std::min(kNumpyBufferSize, n - start));
  return sum;
}

double NumpyMean(const double* x, std::size_t n) { return NumpySum(x, n) / static_cast<double>(n); }

double ScipyVariance(const double* x, std::size_t n, double mean) {
  std::vector<double> squares(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double deviation = x[i] - mean;
    squares[i] = deviation * deviation;
  }
  const double second_moment = NumpyMean(squares.data(), n);
  return second_moment * (static_cast<double>(n) / static_cast<double>(n - 1));
}

void RequireFinite(const double* x, std::size_t n, const char* what) {
  for (std::size_t i = 0; i < n; ++i) {
    if (std::isfinite(x[i])) continue;
    const char* value = std::isnan(x[i]) ? "NaN" : x[i] > 0 ? "Infinity" : "-Infinity";
    throw Error(ErrorKind::kDataException,
                std::string(what) + " must not contain NaN or infinite values",
                "Element " + std::to_string(i + 1) + " is " + value + ".");
  }
}

Ranks AverageRanks(const std::vector<double>& values) {
  const std::size_t n = values.size();
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  // Tied values end up adjacent whatever the sort's stability: only the
  // group boundaries matter for average ranks.
  std::sort(order.begin(), order.end(),
            [&](std::size_t i, std::size_t j) { return values[i] < values[j]; });
  Ranks ranks;
  ranks.doubled_ranks.resize(n);
  for (std::size_t start = 0; start < n;) {
    std::size_t end = start + 1;
    while (end < n && values[order[end]] == values[order[start]]) ++end;
    // Positions start..end-1 hold ranks start+1..end, whose average is
    // (start + 1 + end) / 2.
    const auto doubled = static_cast<std::int64_t>(start + 1 + end);
    for (std::size_t k = start; k < end; ++k) ranks.doubled_ranks[order[k]] = doubled;
    if (end - start > 1) ranks.tie_sizes.push_back(static_cast<std::int64_t>(end - start));
    start = end;
  }
  return ranks;
}

}  // namespace llmeval::core::stats
