// libFuzzer target: the SQuAD answer comparison (NormalizeAnswer, ExactMatch,
// TokenF1), LevenshteinRatio and CosineSimilarity on arbitrary bytes.
// The first byte is a selector; the rest is cut to 4 KB (far below the
// Levenshtein work limit) and split into two texts at the first 0xFF byte
// (never valid UTF-8), or taken as both texts when there is none. The same
// bytes, read as floats, are the two embedding vectors.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/metrics/cosine.hpp"
#include "core/metrics/levenshtein.hpp"
#include "core/metrics/squad.hpp"

using namespace llmeval::core;

namespace {

constexpr std::size_t kMaxInput = 4096;

void Check(bool ok) {
  if (!ok) std::abort();
}

void FuzzSquad(std::string_view a, std::string_view b) {
  const std::string na = metrics::NormalizeAnswer(a);
  const std::string nb = metrics::NormalizeAnswer(b);
  Check(metrics::NormalizeAnswer(na) == na);  // idempotent
  Check(metrics::ExactMatch(a, a) && metrics::ExactMatch(a, a, false));
  Check(metrics::ExactMatch(a, na));
  const bool exact = metrics::ExactMatch(a, b);
  Check(exact == (na == nb));
  Check(metrics::ExactMatch(b, a) == exact);
  Check(metrics::ExactMatch(a, b, false) == (a == b));

  const double f1 = metrics::TokenF1(a, b);
  Check(std::isfinite(f1) && f1 >= 0.0 && f1 <= 1.0);
  Check(std::fabs(metrics::TokenF1(b, a) - f1) <= 1e-12);
  Check(metrics::TokenF1(a, a) == 1.0);
  if (exact) Check(f1 == 1.0);
}

void FuzzLevenshtein(std::string_view a, std::string_view b) {
  const double ratio = metrics::LevenshteinRatio(a, b);
  Check(std::isfinite(ratio) && ratio >= 0.0 && ratio <= 1.0);
  Check(metrics::LevenshteinRatio(b, a) == ratio);
  Check(metrics::LevenshteinRatio(a, a) == 1.0);
  if (a == b) Check(ratio == 1.0);
  // Against the empty text nothing is shared: 0, or 1 if both are empty.
  const double empty = metrics::LevenshteinRatio(a, std::string_view());
  Check(empty == (a.empty() ? 1.0 : 0.0));
}

// Calls CosineSimilarity, which must throw Error(kDataException) exactly when
// an element is NaN or infinite. Returns whether it returned.
bool Cosine(const std::vector<float>& a, const std::vector<float>& b,
            std::optional<double>& out) {
  const auto finite = [](float x) { return std::isfinite(x); };
  const bool all_finite =
      std::all_of(a.begin(), a.end(), finite) && std::all_of(b.begin(), b.end(), finite);
  try {
    out = metrics::CosineSimilarity(a.data(), b.data(), a.size());
  } catch (const Error& e) {
    Check(!all_finite && e.kind() == ErrorKind::kDataException);
    return false;
  }
  Check(all_finite);
  return true;
}

void FuzzCosine(uint8_t selector, std::string_view bytes) {
  const std::size_t n = bytes.size() / 8;
  std::vector<float> a(n), b(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (selector & 1) {
      // Raw IEEE bit patterns: NaN, infinities, denormals, huge values.
      std::memcpy(&a[i], bytes.data() + 4 * i, 4);
      std::memcpy(&b[i], bytes.data() + 4 * (n + i), 4);
    } else {
      // Small values, mostly finite and often zero, like real embeddings.
      a[i] = static_cast<float>(static_cast<int8_t>(bytes[4 * i])) / 16.0f;
      b[i] = static_cast<float>(static_cast<int8_t>(bytes[4 * (n + i)])) / 16.0f;
    }
  }
  std::optional<double> ab;
  if (!Cosine(a, b, ab)) return;
  const auto zero = [](const std::vector<float>& v) {
    return std::all_of(v.begin(), v.end(), [](float x) { return x == 0.0f; });
  };
  // Undefined (nullopt) exactly for empty vectors and zero norms; float
  // squares cannot underflow in double, so a zero norm means all zeros.
  Check(ab.has_value() == (n > 0 && !zero(a) && !zero(b)));
  if (!ab) return;
  Check(std::isfinite(*ab) && *ab >= -1.0 && *ab <= 1.0);

  std::optional<double> ba, aa, neg;
  Check(Cosine(b, a, ba) && ba == ab);  // symmetric
  Check(Cosine(a, a, aa) && aa && std::fabs(*aa - 1.0) <= 1e-12);
  std::vector<float> minus_b(b);
  for (float& x : minus_b) x = -x;
  Check(Cosine(a, minus_b, neg) && neg && *neg == -*ab);  // negation is exact
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t selector = data[0];
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  if (input.size() > kMaxInput) input = input.substr(0, kMaxInput);
  const std::size_t cut = input.find('\xFF');
  const std::string_view a = input.substr(0, cut);
  const std::string_view b = cut == std::string_view::npos ? a : input.substr(cut + 1);

  FuzzSquad(a, b);
  FuzzLevenshtein(a, b);
  FuzzCosine(selector, input);
  return 0;
}
