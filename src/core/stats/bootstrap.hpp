// Percentile bootstrap confidence interval of the mean, reproducible from a
// seed on every platform.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>

namespace llmeval::core::stats {

inline constexpr double kBootstrapDefaultConfidence = 0.95;
inline constexpr std::int32_t kBootstrapDefaultResamples = 10000;
inline constexpr std::int32_t kBootstrapMaxResamples = 1000000;

struct BootstrapResult {
  std::optional<double> estimate;  // the sample mean (np.mean)
  std::optional<double> ci_low;
  std::optional<double> ci_high;
  std::int32_t resamples = 0;
};

// The algorithm, fixed so that any implementation can reproduce it:
// 1. A Xoshiro256StarStar generator is seeded with `seed` (random.hpp).
// 2. Each of the `resamples` resamples draws n indexes with Below(n), in
//    order, and its mean is (((0.0 + x[i1]) + x[i2]) + ... + x[in]) / n.
// 3. The resample means are sorted and the interval's ends are the
//    (1 - confidence) / 2 and 1 - (1 - confidence) / 2 quantiles, by
//    numpy's default ('linear') rule: at position h = (resamples - 1) * q,
//    v[floor(h)] interpolated towards v[floor(h) + 1] as numpy's _lerp does.
// The estimate is NumpyMean(x). An empty sample gives nullopt estimate and
// interval; one value gives an interval of width 0.
//
// Throws Error(kInvalidParameterValue) unless 0 < confidence < 1 and
// 1 <= resamples <= kBootstrapMaxResamples, Error(kDataException) for NaN or
// infinite values. `check_interrupts`, when set, is called every million or
// so draws and may throw to abandon the computation.
BootstrapResult BootstrapMeanCi(const double* x, std::size_t n, double confidence,
                                std::int32_t resamples, std::uint64_t seed,
                                const std::function<void()>& check_interrupts = {});

}  // namespace llmeval::core::stats

#include "core/cpp_only.hpp"
