// SQL entry points for the ranking metrics: precision_at_k, recall_at_k,
// hit_rate_at_k, reciprocal_rank, average_precision and ndcg_at_k. All are
// STRICT: a NULL argument gives NULL before any of this runs.
#include <optional>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/metrics/ranking.hpp"
// Postgres headers after core headers (see core/cpp_only.hpp).
#include "pg/args.hpp"

namespace metrics = llmeval::core::metrics;

namespace {

Datum OptionalFloat8(FunctionCallInfo fcinfo, const std::optional<double>& value) {
  if (!value) PG_RETURN_NULL();
  PG_RETURN_FLOAT8(*value);
}

// retrieved (argument 0) and relevant (argument 1), both text[] without NULLs.
struct RankingArgs {
  metrics::DocIds retrieved;
  metrics::DocIds relevant;
};

RankingArgs ReadIds(FunctionCallInfo fcinfo) {
  RankingArgs args;
  llmeval::pg::TextArrayArg(fcinfo, 0, "retrieved", args.retrieved);
  llmeval::pg::TextArrayArg(fcinfo, 1, "relevant", args.relevant);
  return args;
}

}  // namespace

LLMEVAL_PG_FUNCTION(llmeval_precision_at_k) {
  const int k = PG_GETARG_INT32(2);
  metrics::CheckCutoff(k);
  const RankingArgs args = ReadIds(fcinfo);
  PG_RETURN_FLOAT8(metrics::PrecisionAtK(args.retrieved, args.relevant, k));
}

LLMEVAL_PG_FUNCTION(llmeval_recall_at_k) {
  const int k = PG_GETARG_INT32(2);
  metrics::CheckCutoff(k);
  const RankingArgs args = ReadIds(fcinfo);
  return OptionalFloat8(fcinfo, metrics::RecallAtK(args.retrieved, args.relevant, k));
}

LLMEVAL_PG_FUNCTION(llmeval_hit_rate_at_k) {
  const int k = PG_GETARG_INT32(2);
  metrics::CheckCutoff(k);
  const RankingArgs args = ReadIds(fcinfo);
  return OptionalFloat8(fcinfo, metrics::HitRateAtK(args.retrieved, args.relevant, k));
}

LLMEVAL_PG_FUNCTION(llmeval_reciprocal_rank) {
  const RankingArgs args = ReadIds(fcinfo);
  return OptionalFloat8(fcinfo, metrics::ReciprocalRank(args.retrieved, args.relevant));
}

LLMEVAL_PG_FUNCTION(llmeval_average_precision) {
  const RankingArgs args = ReadIds(fcinfo);
  return OptionalFloat8(fcinfo, metrics::AveragePrecision(args.retrieved, args.relevant));
}

LLMEVAL_PG_FUNCTION(llmeval_ndcg_at_k) {
  const int k = PG_GETARG_INT32(2);
  metrics::CheckCutoff(k);
  const metrics::Grades grades = metrics::ParseGrades(llmeval::pg::JsonbArgAsText(fcinfo, 1));
  std::vector<std::string_view> retrieved;
  llmeval::pg::TextArrayArg(fcinfo, 0, "retrieved", retrieved);
  return OptionalFloat8(fcinfo, metrics::NdcgAtK(retrieved, grades, k));
}
