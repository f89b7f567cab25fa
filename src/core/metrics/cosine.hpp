// Cosine similarity of two embedding vectors.
#pragma once

#include <cstddef>
#include <optional>

namespace llmeval::core::metrics {

// dot(a, b) / (|a| * |b|), accumulated in double and clamped to [-1, 1]
// (rounding can otherwise give 1.0000000000000002 for parallel vectors).
// The similarity is undefined, and std::nullopt is returned, for empty
// vectors (n == 0) and when either vector has norm 0. A NaN or infinite
// element throws Error(kDataException). Equal lengths and the absence of
// NULL elements are the caller's to check.
std::optional<double> CosineSimilarity(const float* a, const float* b, std::size_t n);

}  // namespace llmeval::core::metrics

#include "core/cpp_only.hpp"
