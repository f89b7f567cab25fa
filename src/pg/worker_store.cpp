// Write-backs: results, lexical scores and verdicts stored in one
// transaction that locks the jobs' rows first; results of a job held
// elsewhere deferred; a batch that fails for one task stored one by one.
#include "pg/worker.hpp"

namespace llmeval::pg::worker {

bool Worker::IsPerTaskError(int sqlerrcode) {
  switch (sqlerrcode) {
    case ERRCODE_QUERY_CANCELED:
    case ERRCODE_ADMIN_SHUTDOWN:
    case ERRCODE_CRASH_SHUTDOWN:
    case ERRCODE_CANNOT_CONNECT_NOW:
    case ERRCODE_OUT_OF_MEMORY:
    case ERRCODE_T_R_DEADLOCK_DETECTED:
    case ERRCODE_T_R_SERIALIZATION_FAILURE:
    case ERRCODE_LOCK_NOT_AVAILABLE:
      return false;
    default:
      return true;
  }
}

bool Worker::IsTransient(int sqlerrcode) {
  return sqlerrcode == ERRCODE_T_R_DEADLOCK_DETECTED ||
         sqlerrcode == ERRCODE_T_R_SERIALIZATION_FAILURE || sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE;
}

void Worker::Settle(const std::vector<int64_t>& settled) {
  for (int64_t id : settled) tasks_.erase(id);
}

void Worker::StoreDeferred() {
  std::vector<Completion> completions;
  std::vector<Failure> failures;
  completions.swap(deferred_completions_);
  failures.swap(deferred_failures_);
  const std::size_t waiting = completions.size() + failures.size();
  Settle(Store(completions, failures));
  // Still held: wait longer before the next look (a tenant's transaction
  // can stay open for hours); any progress starts over at the short wait.
  deferred_retry_ms_ = HasDeferred() && deferred_completions_.size() + deferred_failures_.size() == waiting
                           ? std::min(deferred_retry_ms_ * 2, kDeferredRetryMaxMs)
                           : kDeferredRetryMs;
  next_deferred_ms_ = NowMs() + deferred_retry_ms_;
}

std::vector<int64_t> Worker::Store(const std::vector<Completion>& completions,
                           const std::vector<Failure>& failures) {
  std::vector<int64_t> settled;
  for (int attempt = 1;; ++attempt) {
    try {
      StoreBatch(completions, failures, settled);
      return settled;
    } catch (const llmeval::pg::PgError& e) {
      if (IsTransient(e.sqlerrcode()) && attempt < 5) {
        Log(LOG, std::string("pg_llmeval worker: write-back retried after: ") + e.what());
        continue;
      }
      if (!IsPerTaskError(e.sqlerrcode()) || completions.size() + failures.size() <= 1) throw;
      Log(LOG, "pg_llmeval worker: write-back of " +
                   std::to_string(completions.size() + failures.size()) + " results failed (" +
                   e.what() + "); storing them one by one");
      break;
    }
  }
  for (const Completion& c : completions) {
    try {
      StoreBatch({c}, {}, settled);
    } catch (const llmeval::pg::PgError& e) {
      if (!IsPerTaskError(e.sqlerrcode())) throw;
      const Failure failed{c.task, std::string("could not store the result: ") + e.what(), 0, true,
                           c.latency_ms};
      StoreAlone(failed, settled);
    }
  }
  for (const Failure& f : failures) StoreAlone(f, settled);
  return settled;
}

void Worker::StoreAlone(const Failure& f, std::vector<int64_t>& settled) {
  try {
    StoreBatch({}, {f}, settled);
  } catch (const llmeval::pg::PgError& e) {
    if (!IsPerTaskError(e.sqlerrcode())) throw;
    Log(LOG, "pg_llmeval worker: could not store the failure of task " +
                 std::to_string(f.task->id) + ": " + e.what());
    settled.push_back(f.task->id);
  }
}

void Worker::StoreBatch(const std::vector<Completion>& all_completions, const std::vector<Failure>& all_failures,
                std::vector<int64_t>& settled) {
  std::vector<Completion> completions;
  std::vector<Failure> failures;
  // Scores are computed before the transaction opens.
  std::vector<int64_t> score_ids;
  std::vector<std::string> score_metrics;
  std::vector<double> score_values;
  std::vector<bool> score_nulls;
  for (const Completion& c : all_completions) {
    if (!c.task->has_expected) continue;
    for (const std::string& metric : c.task->metrics) {
      if (!core::metrics::IsLexicalMetric(metric)) continue;
      std::optional<double> value;
      try {
        value = core::metrics::LexicalScore(metric, c.output, c.task->expected);
      } catch (const core::Error&) {
        // beyond the metric's limits: stored as NULL
      }
      score_ids.push_back(c.task->id);
      score_metrics.push_back(metric);
      score_values.push_back(value.value_or(0));
      score_nulls.push_back(!value);
    }
  }
  std::vector<int64_t> all_ids;
  for (const Completion& c : all_completions) all_ids.push_back(c.task->id);
  for (const Failure& f : all_failures) all_ids.push_back(f.task->id);
  std::vector<int64_t> held_ids;
  spi::InTransaction([&] {
    static spi::Statement lock("SELECT llmeval._lock_jobs_of($1, $2)", {INT8ARRAYOID, INT4OID});
    lock.Execute({spi::Int64ArrayDatum(all_ids), Int32GetDatum(kJobLockWaitMs)});
    held_ids = spi::Int64Array(0, 1);
    const std::unordered_set<int64_t> held(held_ids.begin(), held_ids.end());
    completions.clear();
    failures.clear();
    for (const Completion& c : all_completions)
      if (held.count(c.task->id)) completions.push_back(c);
    for (const Failure& f : all_failures)
      if (held.count(f.task->id)) failures.push_back(f);
    if (held.size() < all_ids.size()) {
      std::size_t kept = 0;
      for (std::size_t i = 0; i < score_ids.size(); ++i) {
        if (!held.count(score_ids[i])) continue;
        score_ids[kept] = score_ids[i];
        score_metrics[kept] = std::move(score_metrics[i]);
        score_values[kept] = score_values[i];
        score_nulls[kept] = score_nulls[i];
        ++kept;
      }
      score_ids.resize(kept);
      score_metrics.resize(kept);
      score_values.resize(kept);
      score_nulls.resize(kept);
    }
    RecordVerdicts(completions);
    if (!completions.empty()) {
      std::vector<int64_t> ids, in_tokens, out_tokens;
      std::vector<spi::Uuid> tokens;
      std::vector<std::string> outputs, keys;
      std::vector<double> latencies;
      std::vector<bool> cached, key_nulls;
      std::vector<bool> in_nulls, out_nulls;
      for (const Completion& c : completions) {
        ids.push_back(c.task->id);
        tokens.push_back(c.task->token);
        outputs.push_back(c.output);
        latencies.push_back(c.latency_ms);
        in_tokens.push_back(c.input_tokens.value_or(0));
        in_nulls.push_back(!c.input_tokens);
        out_tokens.push_back(c.output_tokens.value_or(0));
        out_nulls.push_back(!c.output_tokens);
        cached.push_back(c.cached);
        keys.push_back(c.task->cache_key);
        key_nulls.push_back(c.task->cache_key.empty());
      }
      static spi::Statement complete(
          "SELECT llmeval._complete_tasks($1, $2, $3, $4, $5::float8[]::int[], $6::float8[]::int[],"
          " $7, $8, $9, $10, $11)",
          {INT8ARRAYOID, UUIDARRAYOID, TEXTARRAYOID, FLOAT8ARRAYOID, FLOAT8ARRAYOID,
           FLOAT8ARRAYOID, BOOLARRAYOID, BYTEAARRAYOID, INT8ARRAYOID, TEXTARRAYOID,
           FLOAT8ARRAYOID});
      std::vector<double> in_d(in_tokens.begin(), in_tokens.end());
      std::vector<double> out_d(out_tokens.begin(), out_tokens.end());
      complete.Execute({spi::Int64ArrayDatum(ids), spi::UuidArrayDatum(tokens),
                        spi::TextArrayDatum(outputs), spi::Float8ArrayDatum(latencies),
                        spi::Float8ArrayDatum(in_d, in_nulls), spi::Float8ArrayDatum(out_d, out_nulls),
                        spi::BoolArrayDatum(cached), spi::ByteaArrayDatum(keys, key_nulls),
                        spi::Int64ArrayDatum(score_ids), spi::TextArrayDatum(score_metrics),
                        spi::Float8ArrayDatum(score_values, score_nulls)});
    }
    if (!failures.empty()) {
      std::vector<int64_t> ids, delays;
      std::vector<spi::Uuid> tokens;
      std::vector<std::string> errors;
      std::vector<bool> finals;
      std::vector<double> latencies;
      for (const Failure& f : failures) {
        ids.push_back(f.task->id);
        tokens.push_back(f.task->token);
        errors.push_back(f.error);
        delays.push_back(f.delay_ms);
        finals.push_back(f.final);
        latencies.push_back(f.latency_ms);
      }
      static spi::Statement fail("SELECT llmeval._fail_tasks($1, $2, $3, $4, $5, $6)",
                                 {INT8ARRAYOID, UUIDARRAYOID, TEXTARRAYOID, INT8ARRAYOID,
                                  BOOLARRAYOID, FLOAT8ARRAYOID});
      fail.Execute({spi::Int64ArrayDatum(ids), spi::UuidArrayDatum(tokens),
                    spi::TextArrayDatum(errors), spi::Int64ArrayDatum(delays),
                    spi::BoolArrayDatum(finals), spi::Float8ArrayDatum(latencies)});
    }
  });
  settled.insert(settled.end(), held_ids.begin(), held_ids.end());
  if (held_ids.size() < all_ids.size()) {
    const std::unordered_set<int64_t> held(held_ids.begin(), held_ids.end());
    for (const Completion& c : all_completions)
      if (!held.count(c.task->id)) deferred_completions_.push_back(c);
    for (const Failure& f : all_failures)
      if (!held.count(f.task->id)) deferred_failures_.push_back(f);
    next_deferred_ms_ = std::max(next_deferred_ms_, NowMs() + deferred_retry_ms_);
  }
  for (const Failure& f : failures) (f.final ? failed_ : retried_) += 1;
  completed_ += static_cast<int64_t>(completions.size());
  Trace(completions, failures);
  for (const Failure& f : failures) {
    if (!f.final) continue;
    Log(LOG, "pg_llmeval: task failed job=" + std::to_string(f.task->job_id) +
                 " task=" + std::to_string(f.task->id) + " model=" + f.task->model +
                 " attempt=" + std::to_string(f.task->attempt) +
                 " correlation_id=" + f.task->correlation_id + " error=" + f.error);
  }
}

void Worker::RecordVerdicts(const std::vector<Completion>& completions) {
  std::vector<int64_t> ids;
  std::vector<spi::Uuid> tokens;
  std::vector<double> scores, weighted;
  std::vector<bool> score_nulls, weighted_nulls, repaired, first_nulls;
  std::vector<std::string> reasons, verdicts, errors, first_replies;
  nlohmann::json embeddings = nlohmann::json::array();
  for (const Completion& c : completions) {
    if (!c.verdict) continue;
    const judge::Judgement& j = c.verdict->judgement;
    ids.push_back(c.task->id);
    tokens.push_back(c.task->token);
    scores.push_back(j.score.value_or(0));
    score_nulls.push_back(!j.score);
    weighted.push_back(j.weighted_score.value_or(0));
    weighted_nulls.push_back(!j.weighted_score);
    reasons.push_back(j.reason);
    verdicts.push_back(j.verdict);
    errors.push_back(j.error);
    repaired.push_back(c.verdict->repaired);
    first_replies.push_back(c.verdict->first_reply);
    first_nulls.push_back(!c.verdict->repaired);
    for (const auto& [text, vector] : c.verdict->new_embeddings)
      embeddings.push_back({{"task_id", c.task->id}, {"model_id", c.task->model_id},
                            {"text", text}, {"vector", vector}});
  }
  if (ids.empty()) return;
  static spi::Statement record(
      "SELECT llmeval._record_judgements($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb)",
      {INT8ARRAYOID, UUIDARRAYOID, FLOAT8ARRAYOID, FLOAT8ARRAYOID, TEXTARRAYOID, TEXTARRAYOID,
       TEXTARRAYOID, BOOLARRAYOID, TEXTARRAYOID, TEXTOID});
  const std::string embeddings_text = embeddings.dump();
  record.Execute({spi::Int64ArrayDatum(ids), spi::UuidArrayDatum(tokens),
                  spi::Float8ArrayDatum(scores, score_nulls),
                  spi::Float8ArrayDatum(weighted, weighted_nulls), spi::TextArrayDatum(reasons),
                  spi::TextArrayDatum(verdicts), spi::TextArrayDatum(errors),
                  spi::BoolArrayDatum(repaired), spi::TextArrayDatum(first_replies, first_nulls),
                  spi::TextDatum(embeddings_text)});
}

}  // namespace llmeval::pg::worker
