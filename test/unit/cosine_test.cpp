#include "core/metrics/cosine.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/error.hpp"

namespace llmeval::core::metrics {
namespace {

std::optional<double> Cos(const std::vector<float>& a, const std::vector<float>& b) {
  return CosineSimilarity(a.data(), b.data(), a.size());
}

TEST(Cosine, KnownValues) {
  EXPECT_NEAR(*Cos({1, 2, 3}, {4, 5, 6}), 32.0 / (std::sqrt(14.0) * std::sqrt(77.0)), 1e-15);
  EXPECT_EQ(*Cos({1, 0}, {0, 1}), 0.0);
  EXPECT_EQ(*Cos({0.1f, 0.2f, 0.3f}, {0.1f, 0.2f, 0.3f}), 1.0);
  EXPECT_EQ(*Cos({0.1f, 0.2f, 0.3f}, {-0.1f, -0.2f, -0.3f}), -1.0);
  EXPECT_NEAR(*Cos({3, 4}, {6, 8}), 1.0, 1e-15);
  EXPECT_EQ(*Cos({2}, {-5}), -1.0);
}

TEST(Cosine, ClampedToUnitRange) {
  std::vector<float> v(1000);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(std::sin(i * 0.37) * 1e-3);
  const double c = *Cos(v, v);
  EXPECT_LE(c, 1.0);
  EXPECT_NEAR(c, 1.0, 1e-15);
}

TEST(Cosine, UndefinedForEmptyOrZeroVectors) {
  EXPECT_FALSE(CosineSimilarity(nullptr, nullptr, 0).has_value());
  EXPECT_FALSE(Cos({0, 0, 0}, {1, 2, 3}).has_value());
  EXPECT_FALSE(Cos({1, 2, 3}, {0, 0, 0}).has_value());
  // tiny but non-zero elements still have a norm in double
  EXPECT_NEAR(*Cos({1e-30f, 0}, {1e-30f, 1e-30f}), std::sqrt(0.5), 1e-15);
}

TEST(Cosine, NanOrInfinityIsAnError) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  for (const auto& [a, b] : std::vector<std::pair<std::vector<float>, std::vector<float>>>{
           {{1, nan}, {1, 1}}, {{1, 1}, {inf, 1}}, {{-inf, 0}, {0, 0}}, {{0, 0}, {nan, 0}}}) {
    try {
      Cos(a, b);
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kDataException);
      EXPECT_STREQ(e.what(), "cosine_similarity is undefined for NaN or infinite elements");
    }
  }
}

}  // namespace
}  // namespace llmeval::core::metrics

TEST(CosineSimilarity, OppositeVectorsAreExactlyMinusOne) {
  const float a[] = {1, 1};
  const float b[] = {-1, -1};
  EXPECT_EQ(*llmeval::core::metrics::CosineSimilarity(a, b, 2), -1.0);
}
