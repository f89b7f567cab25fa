#include "core/metrics/cosine.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"

namespace llmeval::core::metrics {

std::optional<double> CosineSimilarity(const float* a, const float* b, std::size_t n) {
  double dot = 0.0;
  double norm_a = 0.0;
  double norm_b = 0.0;
  bool finite = true;
  for (std::size_t i = 0; i < n; ++i) {
    const double x = a[i];
    const double y = b[i];
    // x * 0 is 0 for finite x and NaN for NaN or infinity: one branch-free
    // test per element, checked after the loop.
    finite &= (x * 0.0 == 0.0) & (y * 0.0 == 0.0);
    dot += x * y;
    norm_a += x * x;
    norm_b += y * y;
  }
  if (!finite)
    throw Error(ErrorKind::kDataException,
                "cosine_similarity is undefined for NaN or infinite elements");
  if (n == 0 || norm_a == 0.0 || norm_b == 0.0) return std::nullopt;
  // One square root of the product, as scipy.spatial.distance.cosine does:
  // exact for vectors such as (1, 1) and (-1, -1), where the product of two
  // square roots is not.
  const double cosine = dot / std::sqrt(norm_a * norm_b);
  return std::clamp(cosine, -1.0, 1.0);
}

}  // namespace llmeval::core::metrics
