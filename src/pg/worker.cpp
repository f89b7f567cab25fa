// The job engine's background worker.
//
// Each worker loops: claim due tasks in a short transaction (FOR UPDATE SKIP
// LOCKED, a lease and a claim token; llmeval._claim_tasks), commit, send the
// provider calls through libcurl's multi interface with no transaction or
// snapshot open, then write the results back in new transactions that apply
// only where the claim token still matches (llmeval._complete_tasks,
// _fail_tasks). Scores of the job's lexical metrics are computed here and
// stored in the same transaction as the response. A task is never lost: a
// worker that dies leaves leases that expire and are reclaimed by any
// worker; it is never written twice: a cancelled or reclaimed claim no
// longer matches.
//
// The worker sleeps on its latch, set by a committing llmeval.submit_job (see
// fn_wake.cpp), with a slow timer for retries whose backoff has passed and
// for expired leases; while calls are in flight it waits on their sockets in
// short slices instead. SIGTERM releases the claims it holds; SIGHUP reloads
// the settings.
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/http/client.hpp"
#include "core/metrics/lexical_score.hpp"
#include "core/prompt/template.hpp"
#include "core/provider/chat.hpp"
// Postgres headers after core headers (see core/cpp_only.hpp).
#include "pg/engine_shared.hpp"
#include "pg/settings.hpp"
#include "pg/spi.hpp"

namespace core = llmeval::core;
namespace provider = llmeval::core::provider;
namespace http = llmeval::core::http;
namespace spi = llmeval::pg::spi;
using llmeval::pg::PgCall;

namespace {

constexpr int kClaimBatch = 64;             // tasks per claim transaction at most
constexpr int64_t kIdleClaimMs = 1000;      // slow timer: due retries, new work missed
constexpr int64_t kLeaseCheckMs = 5000;     // how often expired leases are reclaimed
constexpr int64_t kCancelCheckMs = 250;     // how often held claims are checked
constexpr int kPollSliceMs = 10;            // socket wait while calls are in flight
constexpr std::size_t kBatchSize = 32;      // results written back together at most...
constexpr int64_t kBatchWaitMs = 20;        // ...or after the oldest waited this long

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void Log(int level, const std::string& message) {
  PgCall([&]() noexcept { ereport(level, (errmsg_internal("%s", message.c_str()))); });
}

// A claimed task, from its claim to its write-back.
struct Task {
  int64_t id = 0;
  spi::Uuid token{};
  int attempt = 0;
  int64_t job_id = 0;
  std::string correlation_id;
  int32_t model_id = 0;
  std::string model;
  std::string api_key;
  provider::Kind kind = provider::Kind::kOpenAI;
  std::string expected;
  bool has_expected = false;
  std::vector<std::string> metrics;
  int requests_per_minute = 0;
  int tokens_per_minute = 0;
  bool use_cache = true;
  std::string cache_key;  // sha256 of model and request body (bytes)
  provider::HttpRequest request;
  int64_t estimated_tokens = 0;
  std::string problem;       // set when the task cannot be called at all
  bool in_flight = false;    // sent; otherwise waiting for its rate limit
  int64_t not_before_ms = 0;
};

// What a finished task turns into.
struct Completion {
  const Task* task;
  std::string output;
  double latency_ms;
  std::optional<int64_t> input_tokens, output_tokens;
  bool cached;
};
struct Failure {
  const Task* task;
  std::string error;
  int64_t delay_ms;
  bool final;
  double latency_ms;
};

class Worker {
 public:
  explicit Worker(int slot)
      : client_(ClientOptions()), rng_(static_cast<uint64_t>(std::random_device{}()) + slot) {}

  // One pass: reclaim expired leases now and then, claim when there is room
  // (at once when woken, else on the slow timer), start calls whose rate
  // limit allows, and drop calls whose claim was cancelled.
  void Step(bool woken) {
    const int64_t now = NowMs();
    if (!extension_ready_) {
      // A wake-up comes from a commit in this database that queued tasks:
      // the extension exists by then.
      if (!woken && now < next_extension_check_ms_) return;
      next_extension_check_ms_ = now + 10000;
      CheckExtension();
      if (!extension_ready_) return;
    }
    if (now >= next_lease_check_ms_) {
      next_lease_check_ms_ = now + kLeaseCheckMs;
      ReclaimExpiredLeases();
    }
    const int room = std::min(kClaimBatch, llmeval::pg::setting_max_inflight -
                                               static_cast<int>(tasks_.size()));
    // Claim in batches too: when a quarter of the slots are free, or all.
    const int worth_claiming = std::max(1, llmeval::pg::setting_max_inflight / 4);
    if (room > 0 && (room >= worth_claiming || tasks_.empty()) && (woken || now >= next_claim_ms_)) {
      const int claimed = Claim(room);
      // A full batch suggests more is waiting; otherwise back to the timer.
      next_claim_ms_ = claimed == room ? now : now + kIdleClaimMs;
    }
    StartDueCalls();
    if (!tasks_.empty() && now >= next_cancel_check_ms_) {
      next_cancel_check_ms_ = now + kCancelCheckMs;
      DropLostClaims();
    }
  }

  bool HasCalls() const { return client_.inflight() > 0 || !finished_.empty(); }
  std::size_t InFlight() const { return client_.inflight(); }
  bool HasTasks() const { return !tasks_.empty(); }
  // Milliseconds until the worker has something to do without being woken.
  int64_t IdleTimeoutMs() const {
    const int64_t now = NowMs();
    int64_t next = std::min(next_claim_ms_, next_lease_check_ms_);
    if (!extension_ready_) next = next_extension_check_ms_;
    for (const auto& entry : tasks_)
      if (!entry.second.in_flight) next = std::min(next, entry.second.not_before_ms);
    return std::max<int64_t>(0, next - now);
  }

  // Waits on the calls in flight for a short slice; writes back results.
  //
  // Results are written back in batches: one transaction per result would
  // cost more than the call itself at high rates. A batch is written when
  // it is large, when its oldest result has waited kBatchWaitMs, or when
  // nothing else is in flight.
  void PollCalls() {
    const std::size_t before = finished_.size();
    client_.Poll(kPollSliceMs, finished_);
    if (finished_.size() > before && before == 0) oldest_finished_ms_ = NowMs();
    FlushFinished(false);
  }

  void FlushFinished(bool force) {
    if (finished_.empty()) return;
    const bool due = force || client_.inflight() == 0 || finished_.size() >= kBatchSize ||
                     NowMs() - oldest_finished_ms_ >= kBatchWaitMs;
    if (!due) return;
    std::vector<http::Response> batch;
    batch.swap(finished_);
    WriteBack(batch);
  }

  void ReloadSettings() { client_.SetOptions(ClientOptions()); }

  // Gives back every claim held (shutdown): calls are abandoned and the
  // tasks become claimable again without an attempt counted.
  void ReleaseAll() {
    client_.CancelAll();
    finished_.clear();
    if (tasks_.empty()) return;
    std::vector<int64_t> ids;
    std::vector<spi::Uuid> tokens;
    for (const auto& [id, task] : tasks_) {
      ids.push_back(id);
      tokens.push_back(task.token);
    }
    tasks_.clear();
    spi::InTransaction([&] {
      static spi::Statement release("SELECT llmeval._release_tasks($1, $2)",
                                    {INT8ARRAYOID, UUIDARRAYOID});
      release.Execute({spi::Int64ArrayDatum(ids), spi::UuidArrayDatum(tokens)});
    });
  }

  // After an error the worker forgets its claims (their leases bring the
  // tasks back) and checks the extension again before claiming.
  void ResetAfterError() {
    client_.CancelAll();
    finished_.clear();
    tasks_.clear();
    extension_ready_ = false;
    next_extension_check_ms_ = NowMs() + 1000;
  }

 private:
  static http::ClientOptions ClientOptions() {
    http::ClientOptions o;
    o.max_inflight = llmeval::pg::setting_max_inflight;
    o.connect_timeout_ms = llmeval::pg::setting_connect_timeout_ms;
    o.request_timeout_ms = llmeval::pg::setting_request_timeout_ms;
    return o;
  }

  void CheckExtension() {
    spi::InTransaction([&] {
      static spi::Statement check(
          "SELECT count(*) FROM pg_catalog.pg_extension WHERE extname = 'pg_llmeval'", {});
      check.Execute({});
      extension_ready_ = spi::Int64(0, 1) > 0;
    });
  }

  void ReclaimExpiredLeases() {
    int64_t n = 0;
    spi::InTransaction([&] {
      static spi::Statement reclaim("SELECT llmeval._reclaim_expired_leases()", {});
      reclaim.Execute({});
      n = spi::Int64(0, 1);
    });
    if (n > 0) Log(LOG, "pg_llmeval: reclaimed " + std::to_string(n) + " tasks whose lease expired");
  }

  // Claims up to max_tasks; answers cache hits and tasks that cannot be
  // called at once; returns how many were claimed.
  int Claim(int max_tasks) {
    std::vector<Task> claimed;
    std::vector<std::string> cached_output;
    std::vector<std::optional<int64_t>> cached_in, cached_out;
    spi::InTransaction([&] {
      static spi::Statement claim(
          "SELECT task_id, claim_token, attempt, job_id, correlation_id::text, model_id, model,"
          " provider_kind, base_url, api_key, api_key_env, api_model, params, template, system,"
          " input, expected, metrics, use_cache, requests_per_minute, tokens_per_minute"
          " FROM llmeval._claim_tasks($1, $2)",
          {INT4OID, INT4OID});
      const uint64_t n = claim.Execute(
          {Int32GetDatum(max_tasks), Int32GetDatum(llmeval::pg::setting_lease_seconds)});
      for (uint64_t r = 0; r < n; ++r) claimed.push_back(ReadClaim(r));
      cached_output.assign(claimed.size(), std::string());
      cached_in.assign(claimed.size(), std::nullopt);
      cached_out.assign(claimed.size(), std::nullopt);
      if (!claimed.empty()) LookUpCache(claimed, cached_output, cached_in, cached_out);
    });
    if (claimed.empty()) return 0;

    std::vector<Completion> completions;
    std::vector<Failure> failures;
    std::vector<int64_t> answered;
    for (std::size_t i = 0; i < claimed.size(); ++i) {
      const int64_t id = claimed[i].id;
      Task& task = tasks_.insert_or_assign(id, std::move(claimed[i])).first->second;
      if (!task.problem.empty()) {
        failures.push_back({&task, task.problem, 0, true, 0});
      } else if (task.attempt > llmeval::pg::setting_max_attempts) {
        failures.push_back({&task, "gave up after " + std::to_string(task.attempt - 1) +
                                       " attempts; the last did not finish",
                            0, true, 0});
      } else if (!cached_output[i].empty()) {
        completions.push_back({&task, cached_output[i], 0, cached_in[i], cached_out[i], true});
      } else {
        continue;
      }
      answered.push_back(id);
    }
    if (!answered.empty()) {
      Store(completions, failures);
      for (int64_t id : answered) tasks_.erase(id);
    }
    return static_cast<int>(claimed.size());
  }

  Task ReadClaim(uint64_t r) {
    Task t;
    // columns of llmeval._claim_tasks
    t.id = spi::Int64(r, 1);
    t.token = spi::UuidValue(r, 2);
    t.attempt = static_cast<int>(spi::Int64(r, 3));
    t.job_id = spi::Int64(r, 4);
    t.correlation_id = spi::Text(r, 5);
    t.model_id = static_cast<int32_t>(spi::Int64(r, 6));
    t.model = spi::Text(r, 7);
    const std::string kind = spi::Text(r, 8);
    const std::string base_url = spi::Text(r, 9);
    const bool has_secret = !spi::IsNull(r, 10);
    const std::string key_env = spi::Text(r, 11);
    const std::string api_model = spi::Text(r, 12);
    const std::string params = spi::JsonText(r, 13);
    const std::string tmpl = spi::Text(r, 14);
    const std::string system = spi::Text(r, 15);
    const std::string input = spi::JsonText(r, 16);
    t.has_expected = !spi::IsNull(r, 17);
    t.expected = spi::Text(r, 17);
    t.metrics = spi::TextArray(r, 18);
    t.use_cache = spi::Bool(r, 19);
    t.requests_per_minute = static_cast<int>(spi::Int64(r, 20));
    t.tokens_per_minute = static_cast<int>(spi::Int64(r, 21));
    if (has_secret) {
      t.api_key = spi::Text(r, 10);
    } else if (!key_env.empty()) {
      const char* value = std::getenv(key_env.c_str());
      if (value == nullptr || *value == '\0') {
        t.problem = "no API key: the server's environment variable " + key_env +
                    " is not set (or use llmeval.set_provider_secret)";
        return t;
      }
      t.api_key = value;
    }
    try {
      t.kind = provider::ParseKind(kind);
      const nlohmann::json input_json = nlohmann::json::parse(input);
      provider::ChatRequest chat;
      chat.model = api_model;
      chat.prompt = core::prompt::RenderTemplate(tmpl, input_json);
      if (!system.empty()) chat.system = core::prompt::RenderTemplate(system, input_json);
      chat.params = nlohmann::json::parse(params);
      t.request = provider::BuildChatRequest(t.kind, base_url, t.api_key, chat);
      // About four bytes a token, for the token rate limit until usage is known.
      const auto max_tokens = chat.params.find("max_tokens");
      t.estimated_tokens = static_cast<int64_t>((chat.prompt.size() + chat.system.size()) / 4) +
                           (max_tokens != chat.params.end() && max_tokens->is_number_integer()
                                ? max_tokens->get<int64_t>()
                                : 256);
    } catch (const std::exception& e) {
      t.problem = std::string("cannot build the request: ") + e.what();
    }
    return t;
  }

  void LookUpCache(std::vector<Task>& claimed, std::vector<std::string>& output,
                   std::vector<std::optional<int64_t>>& in_tokens,
                   std::vector<std::optional<int64_t>>& out_tokens) {
    std::vector<int32_t> models;
    std::vector<std::string> bodies;
    for (const Task& t : claimed) {
      models.push_back(t.model_id);
      bodies.push_back(t.request.body);
    }
    static spi::Statement lookup("SELECT * FROM llmeval._cached_responses($1, $2)",
                                 {INT4ARRAYOID, TEXTARRAYOID});
    const uint64_t n = lookup.Execute({spi::Int32ArrayDatum(models), spi::TextArrayDatum(bodies)});
    for (uint64_t r = 0; r < n && r < claimed.size(); ++r) {
      const std::size_t i = static_cast<std::size_t>(spi::Int64(r, 1) - 1);
      Task& t = claimed[i];
      if (!t.use_cache || !t.problem.empty()) continue;
      t.cache_key = spi::Text(r, 2);
      if (spi::IsNull(r, 3)) continue;
      output[i] = spi::Text(r, 3);
      if (!spi::IsNull(r, 4)) in_tokens[i] = spi::Int64(r, 4);
      if (!spi::IsNull(r, 5)) out_tokens[i] = spi::Int64(r, 5);
    }
  }

  void StartDueCalls() {
    const int64_t now = NowMs();
    for (auto& [id, task] : tasks_) {
      if (task.in_flight || task.not_before_ms > now) continue;
      if (static_cast<int>(client_.inflight()) >= llmeval::pg::setting_max_inflight) break;
      const int64_t wait = llmeval::pg::TryAcquireRate(task.model_id, task.requests_per_minute,
                                                       task.tokens_per_minute, task.estimated_tokens);
      if (wait > 0) {
        task.not_before_ms = now + wait;
        continue;
      }
      http::Request request;
      request.tag = static_cast<uint64_t>(id);
      request.url = task.request.url;
      request.headers = task.request.headers;
      request.body = task.request.body;
      if (!client_.Submit(std::move(request))) break;
      task.in_flight = true;
    }
  }

  // Abandons calls for tasks whose claim is gone: the job was cancelled, or
  // the lease expired and someone else has the task.
  void DropLostClaims() {
    std::vector<int64_t> ids;
    std::vector<spi::Uuid> tokens;
    for (const auto& [id, task] : tasks_) {
      ids.push_back(id);
      tokens.push_back(task.token);
    }
    std::vector<int64_t> lost;
    spi::InTransaction([&] {
      static spi::Statement check("SELECT llmeval._lost_claims($1, $2)", {INT8ARRAYOID, UUIDARRAYOID});
      check.Execute({spi::Int64ArrayDatum(ids), spi::UuidArrayDatum(tokens)});
      lost = spi::Int64Array(0, 1);
    });
    for (int64_t id : lost) {
      client_.Cancel(static_cast<uint64_t>(id));
      tasks_.erase(id);
    }
  }

  void WriteBack(const std::vector<http::Response>& done) {
    std::vector<Completion> completions;
    std::vector<Failure> failures;
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    const int64_t now_unix = static_cast<int64_t>(std::time(nullptr));
    for (const http::Response& response : done) {
      auto it = tasks_.find(static_cast<int64_t>(response.tag));
      if (it == tasks_.end()) continue;
      const Task& task = it->second;
      provider::ChatResponse chat;
      if (response.transport == http::Transport::kOk) {
        chat = provider::ParseChatResponse(task.kind, response.status, response.body,
                                           response.retry_after, now_unix);
      } else {
        chat.outcome = provider::Outcome::kRetry;
        chat.error = TransportError(response);
      }
      chat.error = provider::Redact(chat.error, task.api_key);
      if (chat.outcome == provider::Outcome::kOk) {
        if (chat.input_tokens || chat.output_tokens)
          llmeval::pg::ChargeTokens(task.model_id, chat.input_tokens.value_or(0) +
                                                       chat.output_tokens.value_or(0) -
                                                       task.estimated_tokens);
        completions.push_back({&task, std::move(chat.output), response.elapsed_ms,
                               chat.input_tokens, chat.output_tokens, false});
      } else {
        const bool final = chat.outcome == provider::Outcome::kFail ||
                           task.attempt >= llmeval::pg::setting_max_attempts;
        const int64_t delay =
            final ? 0 : provider::BackoffMs(task.attempt, unit(rng_), chat.retry_after_ms);
        failures.push_back({&task, chat.error, delay, final, response.elapsed_ms});
      }
    }
    if (completions.empty() && failures.empty()) return;
    Store(completions, failures);
    for (const Completion& c : completions) tasks_.erase(c.task->id);
    for (const Failure& f : failures) tasks_.erase(f.task->id);
  }

  static std::string TransportError(const http::Response& response) {
    switch (response.transport) {
      case http::Transport::kTimeout: return "timeout: " + response.error;
      case http::Transport::kConnectFailed: return "connection failed: " + response.error;
      case http::Transport::kReset: return "connection reset: " + response.error;
      default: return "request failed: " + response.error;
    }
  }

  // Writes completions (with their scores) and failures in one transaction.
  void Store(const std::vector<Completion>& completions, const std::vector<Failure>& failures) {
    // Scores are computed before the transaction opens.
    std::vector<int64_t> score_ids;
    std::vector<std::string> score_metrics;
    std::vector<double> score_values;
    std::vector<bool> score_nulls;
    for (const Completion& c : completions) {
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
    spi::InTransaction([&] {
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
    for (const Failure& f : failures) (f.final ? failed_ : retried_) += 1;
    completed_ += static_cast<int64_t>(completions.size());
    for (const Failure& f : failures) {
      if (!f.final) continue;
      Log(LOG, "pg_llmeval: task failed job=" + std::to_string(f.task->job_id) +
                   " task=" + std::to_string(f.task->id) + " model=" + f.task->model +
                   " attempt=" + std::to_string(f.task->attempt) +
                   " correlation_id=" + f.task->correlation_id + " error=" + f.error);
    }
  }

  http::Client client_;
  std::mt19937_64 rng_;
  std::unordered_map<int64_t, Task> tasks_;
  std::vector<http::Response> finished_;  // not yet written back
  int64_t oldest_finished_ms_ = 0;
  // since the last heartbeat
  int64_t completed_ = 0, failed_ = 0, retried_ = 0;

 public:
  // Reports to llmeval.worker_status and resets the counters.
  void Heartbeat(int slot) {
    llmeval::pg::Heartbeat(slot, static_cast<int32_t>(client_.inflight()), completed_, failed_,
                           retried_);
    completed_ = failed_ = retried_ = 0;
  }
  bool extension_ready_ = false;
  int64_t next_extension_check_ms_ = 0;
  int64_t next_lease_check_ms_ = 0;
  int64_t next_claim_ms_ = 0;
  int64_t next_cancel_check_ms_ = 0;
};

// The loop, with every C++ object inside this function's scope: it returns
// (destructors run) before the process exits.
void RunWorker(int slot) {
  Worker worker(slot);
  MemoryContext loop_context = PgCall([]() noexcept {
    return AllocSetContextCreate(TopMemoryContext, "pg_llmeval worker loop", ALLOCSET_DEFAULT_SIZES);
  });
  bool woken = true;
  int64_t error_backoff_ms = 0;
  while (!ShutdownRequestPending) {
    if (ConfigReloadPending) {
      ConfigReloadPending = false;
      PgCall([]() noexcept { ProcessConfigFile(PGC_SIGHUP); });
      worker.ReloadSettings();
    }
    PgCall([&]() noexcept { MemoryContextSwitchTo(loop_context); });
    try {
      const std::string activity =
          "pg_llmeval worker: " + std::to_string(worker.InFlight()) + " calls in flight";
      PgCall([&]() noexcept { pgstat_report_activity(STATE_RUNNING, activity.c_str()); });
      worker.Step(woken);
      if (worker.HasCalls()) worker.PollCalls();
      error_backoff_ms = 0;
    } catch (const std::exception& e) {
      spi::AbortQuietly();
      Log(LOG, std::string("pg_llmeval worker: ") + e.what());
      worker.ResetAfterError();
      error_backoff_ms = std::min<int64_t>(std::max<int64_t>(error_backoff_ms * 2, 500), 10000);
    }
    PgCall([&]() noexcept {
      MemoryContextSwitchTo(TopMemoryContext);
      MemoryContextReset(loop_context);
    });
    worker.Heartbeat(slot);
    woken = false;
    // With calls in flight the socket wait in PollCalls paces the loop;
    // otherwise sleep on the latch until woken or the next timer.
    const bool busy = worker.HasCalls();
    const long timeout = error_backoff_ms > 0 ? error_backoff_ms
                         : busy               ? 0
                                              : static_cast<long>(std::min<int64_t>(worker.IdleTimeoutMs(), kIdleClaimMs));
    if (timeout > 0 || !busy) {
      const int rc = PgCall([&]() noexcept {
        pgstat_report_activity(STATE_IDLE, nullptr);
        return WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, timeout,
                         PG_WAIT_EXTENSION);
      });
      if (rc & WL_LATCH_SET) woken = true;
    } else if (PgCall([]() noexcept { return MyLatch->is_set; })) {
      woken = true;
    }
    PgCall([]() noexcept {
      ResetLatch(MyLatch);
      CHECK_FOR_INTERRUPTS();
    });
  }
  try {
    worker.ReleaseAll();
  } catch (const std::exception& e) {
    spi::AbortQuietly();
    Log(LOG, std::string("pg_llmeval worker: could not release its tasks: ") + e.what());
  }
}

}  // namespace

extern "C" {

PGDLLEXPORT void llmeval_worker_main(Datum arg);

void llmeval_worker_main(Datum arg) {
  const int slot = DatumGetInt32(arg);
  pqsignal(SIGHUP, SignalHandlerForConfigReload);
  pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
  BackgroundWorkerUnblockSignals();
  BackgroundWorkerInitializeConnection(llmeval::pg::setting_database_name, nullptr, 0);
  pgstat_report_appname("pg_llmeval worker");
  llmeval::pg::SetWorkerLatch(slot, MyLatch);
  try {
    RunWorker(slot);
  } catch (...) {
    // RunWorker handles errors itself; nothing should get here.
  }
  llmeval::pg::SetWorkerLatch(slot, nullptr);
  // Exit code 1, never 0: the postmaster then starts the worker again after
  // bgw_restart_time, so a worker stopped by pg_terminate_backend comes
  // back (at server shutdown nothing is restarted anyway).
  proc_exit(1);
}
}
