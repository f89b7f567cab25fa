// Job counters: every worker transaction that changes tasks appends the
// counters' changes (the trigger on tasks) and, as its last statement, folds
// them into their jobs, never waiting for a job's row. A job passed over
// (its row held by another worker's commit, or by a tenant's open
// transaction) is folded with the next transaction's jobs, or on its own a
// few milliseconds later, backing off while the row stays held.
#include "pg/worker.hpp"

namespace llmeval::pg::worker {

void Worker::FoldJobCounters(std::vector<int64_t> job_ids, bool every_job) {
  job_ids.insert(job_ids.end(), fold_pending_.begin(), fold_pending_.end());
  std::sort(job_ids.begin(), job_ids.end());
  job_ids.erase(std::unique(job_ids.begin(), job_ids.end()), job_ids.end());
  if (job_ids.empty() && !every_job) return;
  static spi::Statement fold("SELECT llmeval._fold_job_counters($1, false)", {INT8ARRAYOID});
  fold.Execute({every_job ? Datum(0) : spi::Int64ArrayDatum(job_ids)}, {every_job ? 'n' : ' '});
  std::vector<int64_t> left = spi::Int64Array(0, 1);
  if (left.empty()) {
    fold_pending_.clear();
    fold_retry_ms_ = kFoldRetryMs;
    return;
  }
  // Still held after the last look: wait longer before the next.
  if (!fold_pending_.empty()) fold_retry_ms_ = std::min(fold_retry_ms_ * 2, kFoldRetryMaxMs);
  fold_pending_ = std::move(left);
  next_fold_ms_ = NowMs() + fold_retry_ms_;
}

void Worker::FoldPendingJobCounters(bool every_job) {
  try {
    spi::InExtensionTransaction([&] { FoldJobCounters({}, every_job); });
  } catch (const llmeval::pg::PgError& e) {
    // A fold of its own fails alone: the claims and calls of this worker
    // are not given up for it, and the next sweep folds those jobs.
    if (e.sqlerrcode() == ERRCODE_QUERY_CANCELED || e.sqlerrcode() == ERRCODE_ADMIN_SHUTDOWN) throw;
    Log(WARNING, std::string("pg_llmeval worker: could not fold job counters: ") + e.what());
    fold_pending_.clear();
    next_fold_ms_ = NowMs() + kFoldRetryMaxMs;
  }
}

}  // namespace llmeval::pg::worker
