// llmeval._acquire_rate(model_id, requests_per_minute, tokens_per_minute,
// estimated_tokens): a turn in a model's shared rate limit for a call made
// from SQL (llmeval.semantic_similarity), the same buckets the workers use:
// 0 when the call may go now, else the milliseconds to wait. Without the
// preloaded library there are no buckets, and no workers to share them with.
#include "pg/engine_shared.hpp"
#include "pg/guard.hpp"

LLMEVAL_PG_FUNCTION(llmeval_acquire_rate) {
  if (PG_ARGISNULL(0)) PG_RETURN_INT64(0);
  const int rpm = PG_ARGISNULL(1) ? 0 : PG_GETARG_INT32(1);
  const int tpm = PG_ARGISNULL(2) ? 0 : PG_GETARG_INT32(2);
  const int64_t tokens = PG_ARGISNULL(3) ? 0 : PG_GETARG_INT64(3);
  PG_RETURN_INT64(llmeval::pg::TryAcquireRate(PG_GETARG_INT32(0), rpm, tpm, tokens));
}
