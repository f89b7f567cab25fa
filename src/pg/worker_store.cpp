// Write-backs: results, lexical scores and verdicts stored in one
// transaction that locks the jobs' rows first; results of a job held
// elsewhere deferred; a batch that fails for one task stored one by one.
#include <map>

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
  return sqlerrcode == ERRCODE_T_R_DEADLOCK_DETECTED || sqlerrcode == ERRCODE_T_R_SERIALIZATION_FAILURE;
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
  // A short try only: the row was held the last time, and a worker that
  // waits 200 ms on each of several held jobs does nothing else meanwhile.
  job_lock_wait_ms_ = kDeferredLockWaitMs;
  try {
    Settle(Store(completions, failures));
  } catch (...) {
    job_lock_wait_ms_ = kJobLockWaitMs;
    throw;
  }
  job_lock_wait_ms_ = kJobLockWaitMs;
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
      if (e.sqlerrcode() == ERRCODE_LOCK_NOT_AVAILABLE) {
        // A job's row stayed held: the other jobs' results are stored, that
        // job's wait.
        StoreByJob(completions, failures, settled);
        return settled;
      }
      if (IsTransient(e.sqlerrcode()) && attempt < 5) {
        Log(LOG, std::string("pg_llmeval worker: write-back retried after: ") + e.what());
        continue;
      }
      if (!IsPerTaskError(e.sqlerrcode())) throw;
      if (completions.size() + failures.size() == 1) {
        // The one result cannot be stored: its task fails alone, with the
        // reason (never the worker: it holds other tenants' claims).
        if (completions.empty()) {
          StoreAlone(failures.front(), settled);
        } else {
          const Completion& c = completions.front();
          StoreAlone({c.task, std::string("could not store the result: ") + e.what(), 0, true,
                      c.latency_ms},
                     settled);
        }
        return settled;
      }
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
      if (e.sqlerrcode() == ERRCODE_LOCK_NOT_AVAILABLE) {
        Defer({c}, {});
        continue;
      }
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
    if (e.sqlerrcode() == ERRCODE_LOCK_NOT_AVAILABLE) {
      Defer({}, {f});
      return;
    }
    if (!IsPerTaskError(e.sqlerrcode())) throw;
    Log(LOG, "pg_llmeval worker: could not store the failure of task " +
                 std::to_string(f.task->id) + ": " + e.what());
    settled.push_back(f.task->id);
  }
}

void Worker::StoreBatch(const std::vector<Completion>& all_completions, const std::vector<Failure>& all_failures,
                std::vector<int64_t>& settled) {
  // Scores are computed before the transaction opens.
  std::vector<int64_t> score_ids;
  std::vector<std::string> score_metrics;
  std::vector<double> score_values;
  std::vector<bool> score_nulls;
  std::vector<std::string> lexical;
  for (const Completion& c : all_completions) {
    if (!c.task->has_expected) continue;
    lexical.clear();
    for (const std::string& metric : c.task->metrics)
      if (core::metrics::IsLexicalMetric(metric)) lexical.push_back(metric);
    if (lexical.empty()) continue;
    // Several ROUGE variants share one tokenisation; a metric beyond its
    // limits is stored as NULL.
    const std::vector<std::optional<double>> values =
        core::metrics::LexicalScores(lexical, c.output, c.task->expected);
    for (std::size_t i = 0; i < lexical.size(); ++i) {
      score_ids.push_back(c.task->id);
      score_metrics.push_back(lexical[i]);
      score_values.push_back(values[i].value_or(0));
      score_nulls.push_back(!values[i]);
    }
  }
  // The tool-call metrics: against the calls the test case expects, and the
  // calls' validity against the tools the request declared.
  for (const Completion& c : all_completions) {
    for (const std::string& metric : c.task->metrics) {
      std::optional<double> value;
      if (metric == "tool_call_valid") {
        const nlohmann::json& params = c.task->chat.params;
        value = core::metrics::ToolCallValidShare(
            c.tool_calls, params.is_object() ? params.value("tools", nlohmann::json()) : nlohmann::json());
      } else if (core::metrics::IsToolCallMetric(metric) && !c.task->expected_tool_calls.empty()) {
        value = core::metrics::ToolCallMetric(metric, c.tool_calls, c.task->expected_tool_calls);
      } else {
        continue;
      }
      score_ids.push_back(c.task->id);
      score_metrics.push_back(metric);
      score_values.push_back(value.value_or(0));
      score_nulls.push_back(!value);
    }
  }
  const std::vector<Completion>& completions = all_completions;
  const std::vector<Failure>& failures = all_failures;
  std::vector<int64_t> applied;  // the tasks whose results were stored
  spi::InExtensionTransaction([&] {
    // This transaction holds its own task rows (SKIP LOCKED) before it needs
    // their jobs' rows; it tries for those for kJobLockWaitMs, then gives up
    // (55P03), rather than wait on a job row a tenant holds.
    static spi::Statement wait("SELECT pg_catalog.set_config('llmeval.job_lock_wait_ms', $1, true)",
                               {TEXTOID});
    wait.Execute({spi::TextDatum(std::to_string(job_lock_wait_ms_))});
    RecordVerdicts(completions);
    if (!completions.empty()) {
      std::vector<int64_t> ids, in_tokens, out_tokens;
      std::vector<spi::Uuid> tokens;
      std::vector<std::string> outputs, keys;
      std::vector<double> latencies;
      std::vector<bool> cached, key_nulls;
      std::vector<bool> in_nulls, out_nulls;
      // the parts of the tokens (cached input, cache writes, reasoning)
      std::vector<double> cached_in, cache_write, reasoning;
      std::vector<bool> cached_in_nulls, cache_write_nulls, reasoning_nulls;
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
        cached_in.push_back(static_cast<double>(c.parts.cached_input.value_or(0)));
        cached_in_nulls.push_back(!c.parts.cached_input);
        cache_write.push_back(static_cast<double>(c.parts.cache_write.value_or(0)));
        cache_write_nulls.push_back(!c.parts.cache_write);
        reasoning.push_back(static_cast<double>(c.parts.reasoning.value_or(0)));
        reasoning_nulls.push_back(!c.parts.reasoning);
      }
      static spi::Statement complete(
          "SELECT llmeval._complete_tasks($1, $2, $3, $4, $5::float8[]::int[], $6::float8[]::int[],"
          " $7, $8, $9, $10, $11, $12::float8[]::int[], $13::float8[]::int[], $14::float8[]::int[])",
          {INT8ARRAYOID, UUIDARRAYOID, TEXTARRAYOID, FLOAT8ARRAYOID, FLOAT8ARRAYOID,
           FLOAT8ARRAYOID, BOOLARRAYOID, BYTEAARRAYOID, INT8ARRAYOID, TEXTARRAYOID,
           FLOAT8ARRAYOID, FLOAT8ARRAYOID, FLOAT8ARRAYOID, FLOAT8ARRAYOID});
      std::vector<double> in_d(in_tokens.begin(), in_tokens.end());
      std::vector<double> out_d(out_tokens.begin(), out_tokens.end());
      complete.Execute({spi::Int64ArrayDatum(ids), spi::UuidArrayDatum(tokens),
                        spi::TextArrayDatum(outputs), spi::Float8ArrayDatum(latencies),
                        spi::Float8ArrayDatum(in_d, in_nulls), spi::Float8ArrayDatum(out_d, out_nulls),
                        spi::BoolArrayDatum(cached), spi::ByteaArrayDatum(keys, key_nulls),
                        spi::Int64ArrayDatum(score_ids), spi::TextArrayDatum(score_metrics),
                        spi::Float8ArrayDatum(score_values, score_nulls),
                        spi::Float8ArrayDatum(cached_in, cached_in_nulls),
                        spi::Float8ArrayDatum(cache_write, cache_write_nulls),
                        spi::Float8ArrayDatum(reasoning, reasoning_nulls)});
      const std::vector<int64_t> done = spi::Int64Array(0, 1);
      applied.insert(applied.end(), done.begin(), done.end());
      std::vector<int64_t> call_ids;
      std::vector<std::string> calls;
      for (const Completion& c : completions)
        if (!c.tool_calls.empty() && std::find(done.begin(), done.end(), c.task->id) != done.end()) {
          call_ids.push_back(c.task->id);
          calls.push_back(c.tool_calls);
        }
      if (!call_ids.empty()) {
        static spi::Statement store_calls("SELECT llmeval._store_tool_calls($1, $2)", {INT8ARRAYOID, TEXTARRAYOID});
        store_calls.Execute({spi::Int64ArrayDatum(call_ids), spi::TextArrayDatum(calls)});
      }
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
      const std::vector<int64_t> changed = spi::Int64Array(0, 1);
      applied.insert(applied.end(), changed.begin(), changed.end());
    }
    if (!applied.empty()) {
      std::vector<int64_t> jobs;
      for (const Completion& c : completions) jobs.push_back(c.task->job_id);
      for (const Failure& f : failures) jobs.push_back(f.task->job_id);
      FoldJobCounters(std::move(jobs));
    }
  });
  // Results not applied: their task row was held elsewhere (a tenant's
  // cancel_job not yet committed), or their claim is gone. They wait in
  // deferred_* until the row is free, or DropLostClaims finds the claim gone.
  settled.insert(settled.end(), applied.begin(), applied.end());
  const std::unordered_set<int64_t> stored(applied.begin(), applied.end());
  std::vector<Completion> stored_completions, waiting_completions;
  std::vector<Failure> stored_failures, waiting_failures;
  for (const Completion& c : completions)
    (stored.count(c.task->id) ? stored_completions : waiting_completions).push_back(c);
  for (const Failure& f : failures)
    (stored.count(f.task->id) ? stored_failures : waiting_failures).push_back(f);
  if (!waiting_completions.empty() || !waiting_failures.empty())
    Defer(std::move(waiting_completions), std::move(waiting_failures));
  for (const Failure& f : stored_failures) (f.final ? failed_ : retried_) += 1;
  completed_ += static_cast<int64_t>(stored_completions.size());
  Trace(stored_completions, stored_failures);
  for (const Failure& f : stored_failures) {
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

void Worker::StoreByJob(const std::vector<Completion>& completions, const std::vector<Failure>& failures,
                        std::vector<int64_t>& settled) {
  std::map<int64_t, std::pair<std::vector<Completion>, std::vector<Failure>>> by_job;
  for (const Completion& c : completions) by_job[c.task->job_id].first.push_back(c);
  for (const Failure& f : failures) by_job[f.task->job_id].second.push_back(f);
  if (by_job.size() == 1) {
    Defer(completions, failures);
    return;
  }
  for (auto& [job, results] : by_job) {
    const std::vector<int64_t> stored = Store(results.first, results.second);
    settled.insert(settled.end(), stored.begin(), stored.end());
  }
}

void Worker::Defer(std::vector<Completion> completions, std::vector<Failure> failures) {
  for (Completion& c : completions) deferred_completions_.push_back(std::move(c));
  for (Failure& f : failures) deferred_failures_.push_back(std::move(f));
  next_deferred_ms_ = std::max(next_deferred_ms_, NowMs() + deferred_retry_ms_);
}

}  // namespace llmeval::pg::worker
