// Ranking metrics for retrieval (RAG), as trec_eval defines them: P_k
// (precision_at_k), recall_k, success_k (hit_rate_at_k), recip_rank, map
// (average_precision) and ndcg_cut (ndcg_at_k, linear gains).
//
// The retrieved list is taken in the order given (trec_eval sorts by score;
// here the caller's order is the ranking). Where trec_eval refuses input or
// leaves a case out, the choice made here:
//   - a document retrieved twice counts once, at its first rank: later copies
//     are dropped and the documents after them move up (trec_eval refuses
//     duplicates);
//   - a query with no relevant document (trec_eval evaluates no such query)
//     has no recall, hit rate, reciprocal rank, average precision or nDCG:
//     std::nullopt, SQL NULL, never 0 or 1; its precision@k is 0;
//   - ids are compared as bytes (UTF-8), no normalisation.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace llmeval::core::metrics {

using DocIds = std::vector<std::string_view>;

// Graded relevance judgements: document id and grade. A grade of 0 or less
// is a judged non-relevant document (trec_eval adds only positive gains).
using Grades = std::vector<std::pair<std::string, double>>;

// Throws Error(kInvalidParameterValue) for k <= 0.
void CheckCutoff(std::int64_t k);

// |top k ∩ relevant| / k, k counted even beyond the end of the list
// (trec_eval's P_k); 0 when nothing is relevant.
double PrecisionAtK(const DocIds& retrieved, const DocIds& relevant, std::int64_t k);

// |top k ∩ relevant| / |relevant|.
std::optional<double> RecallAtK(const DocIds& retrieved, const DocIds& relevant, std::int64_t k);

// 1 when a relevant document is in the top k, else 0.
std::optional<double> HitRateAtK(const DocIds& retrieved, const DocIds& relevant, std::int64_t k);

// 1 / rank of the first relevant document, 0 when none is retrieved.
std::optional<double> ReciprocalRank(const DocIds& retrieved, const DocIds& relevant);

// Σ over relevant retrieved documents of precision at their rank, divided by
// |relevant| (relevant documents never retrieved add 0).
std::optional<double> AveragePrecision(const DocIds& retrieved, const DocIds& relevant);

// DCG@k / IDCG@k with DCG@k = Σ_{r=1..min(k,n)} gain(d_r) / log2(r + 1),
// gain the document's grade when positive, else 0 (unjudged documents
// included), and IDCG@k the DCG@k of all positively graded documents sorted
// by grade, retrieved or not. std::nullopt when no grade is positive.
std::optional<double> NdcgAtK(const DocIds& retrieved, const Grades& grades, std::int64_t k);

// {"id": grade, ...} as Grades. Throws Error(kInvalidParameterValue) when
// json is not an object or a grade is not a number (or does not fit a
// double).
Grades ParseGrades(std::string_view json);

}  // namespace llmeval::core::metrics

#include "core/cpp_only.hpp"
