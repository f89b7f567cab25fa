// Levenshtein.ratio from python-Levenshtein / rapidfuzz: the normalized InDel
// similarity over Unicode code points.
#pragma once

#include <cstdint>
#include <string_view>

namespace llmeval::core::metrics {

// The most 64-bit word steps one call may take: ceil(m / 64) * n, where m <= n
// are the code point lengths of the two texts after their common prefix and
// suffix are removed. 2^31 steps (e.g. two different 370,000-character
// texts) take about 2 to 3 seconds on one core of a CI machine, so a call is
// bounded by a few seconds. Much longer texts pass when they differ only in
// a middle part, or when one of them is short (a 10 MB text against 10,000
// characters is 1.6e9 steps).
inline constexpr uint64_t kLevenshteinMaxWork = uint64_t{1} << 31;

// 1 - indel_distance / (len(a) + len(b)), where the InDel distance (insertions
// and deletions only) is len(a) + len(b) - 2 * LCS(a, b); 1.0 when both are
// empty. Computed as rapidfuzz does (1.0 - dist / lensum). The LCS uses
// Hyyrö's bit-parallel algorithm. Throws Error(kProgramLimitExceeded) when
// the work would exceed kLevenshteinMaxWork.
double LevenshteinRatio(std::string_view a, std::string_view b);

}  // namespace llmeval::core::metrics

#include "core/cpp_only.hpp"
