// The job engine's background worker.
//
// Each worker loops: claim due tasks in a short transaction (FOR UPDATE SKIP
// LOCKED, a lease and a claim token; llmeval._claim_tasks), commit, send the
// provider calls through libcurl's multi interface with no transaction or
// snapshot open, then write the results back in new transactions that apply
// only where the claim token still matches (llmeval._complete_tasks,
// _fail_tasks). Scores of the job's lexical metrics are computed here and
// stored in the same transaction as the response. Judge and embed tasks
// (queued by that transaction for the job's judge and embedding metrics) go
// through the same loop: a judge's reply is parsed here (with one repair
// call when it cannot be read), an embedding's vectors compared here.
// A task is never lost: a worker that dies leaves leases that expire and are
// reclaimed by any worker; it is never written twice: a cancelled or
// reclaimed claim no longer matches.
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
#include <unordered_set>
#include <algorithm>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/http/client.hpp"
#include "core/judge/judgement.hpp"
#include "core/metrics/cosine.hpp"
#include "core/metrics/lexical_score.hpp"
#include "core/prompt/template.hpp"
#include "core/provider/chat.hpp"
#include "core/provider/embedding.hpp"
#include "core/trace/langsmith.hpp"
// Postgres headers after core headers (see core/cpp_only.hpp).
#include "pg/engine_shared.hpp"
#include "pg/provider_policy.hpp"
#include "pg/settings.hpp"
#include "pg/spi.hpp"

namespace core = llmeval::core;
namespace provider = llmeval::core::provider;
namespace http = llmeval::core::http;
namespace judge = llmeval::core::judge;
namespace spi = llmeval::pg::spi;
using llmeval::pg::PgCall;

namespace {

constexpr int kClaimBatch = 64;             // tasks per claim transaction at most
constexpr int64_t kIdleClaimMs = 1000;      // slow timer: due retries, new work missed
constexpr int64_t kLeaseCheckMs = 5000;     // how often expired leases are reclaimed
constexpr int64_t kCancelCheckMs = 250;     // how often held claims are checked
constexpr int64_t kDeferredRetryMs = 50;    // results whose job row was held: tried again after,
constexpr int64_t kDeferredRetryMaxMs = 2000;  // doubling up to this while it stays held
constexpr int kJobLockWaitMs = 200;         // a write-back's wait for a job row at most
constexpr int kPollSliceMs = 10;            // socket wait while calls are in flight
constexpr std::size_t kBatchSize = 32;      // results written back together at most...
constexpr int64_t kBatchWaitMs = 20;        // ...or after the oldest waited this long
constexpr uint64_t kTraceTag = 1ULL << 63;  // marks LangSmith requests among the calls
constexpr std::size_t kTraceBatch = 100;    // runs per LangSmith request at most...
constexpr int64_t kTraceWaitMs = 1000;      // ...or after a second
constexpr std::size_t kTraceBacklog = 10000;  // runs kept while LangSmith is slow; then dropped

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void Log(int level, const std::string& message) {
  PgCall([&]() noexcept { ereport(level, (errmsg_internal("%s", message.c_str()))); });
}

enum class TaskKind { kGenerate, kJudge, kEmbed };

// A claimed task, from its claim to its write-back.
struct Task {
  TaskKind task_kind = TaskKind::kGenerate;
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

  // judge tasks
  std::string metric;
  judge::Scale scale;
  bool pairwise = false;
  provider::ChatRequest chat;  // kept to build the repair request and the trace
  std::string base_url;
  std::string first_reply;     // set once the repair call is sent
  double spent_latency_ms = 0; // of the unreadable first reply
  int64_t spent_input_tokens = 0, spent_output_tokens = 0;
  // embed tasks: the texts, and their vectors where cached
  std::vector<std::string> texts;
  std::vector<std::optional<std::vector<double>>> vectors;
  std::vector<std::size_t> missing;  // indexes of texts sent to the provider
};

// The parsed outcome of a judge or embed task.
struct Verdict {
  judge::Judgement judgement;
  bool repaired = false;
  std::string first_reply;
  std::vector<std::pair<std::string, std::vector<double>>> new_embeddings;
};

// A response from the cache (with a judge reply's G-Eval score, which needs
// the logprobs the cache does not keep).
struct CachedReply {
  std::string output;
  std::optional<int64_t> input_tokens, output_tokens;
  std::optional<double> weighted_score;
};

// What a finished task turns into.
struct Completion {
  const Task* task;
  std::string output;
  double latency_ms;
  std::optional<int64_t> input_tokens, output_tokens;
  bool cached;
  std::optional<Verdict> verdict;  // judge and embed tasks
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
    if (!tasks_.empty() && now >= next_renewal_ms_) {
      next_renewal_ms_ = now + llmeval::pg::setting_lease_seconds * 1000 / 3;
      RenewLeases();
    }
    if (HasDeferred() && now >= next_deferred_ms_) StoreDeferred();
    // Results waiting for their job's row take no slot: their calls are done.
    const int held = static_cast<int>(tasks_.size() - deferred_completions_.size() -
                                      deferred_failures_.size());
    const int room = std::min(kClaimBatch, llmeval::pg::setting_max_inflight - held);
    // Claim in batches too: when a quarter of the slots are free, or all.
    const int worth_claiming = std::max(1, llmeval::pg::setting_max_inflight / 4);
    if (room > 0 && (room >= worth_claiming || held == 0) && (woken || now >= next_claim_ms_)) {
      const int claimed = Claim(room);
      // A full batch suggests more is waiting; otherwise back to the timer.
      next_claim_ms_ = claimed == room ? now : now + kIdleClaimMs;
    }
    StartDueCalls();
    SendTraces();
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
    if (HasDeferred()) next = std::min(next, next_deferred_ms_);
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

  void ReloadSettings() {
    client_.SetOptions(ClientOptions());
    next_renewal_ms_ = 0;  // the lease may have changed: renew on the new one
  }

  // Gives back every claim held (shutdown): calls are abandoned and the
  // tasks become claimable again without an attempt counted.
  void ReleaseAll() {
    client_.CancelAll();
    finished_.clear();
    deferred_completions_.clear();
    deferred_failures_.clear();
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

  // After an error (a cancel by pg_cancel_backend among them) the worker
  // gives its claims back, or, if even that fails, forgets them (the reclaim
  // of claims whose worker is gone, or their leases, bring them back), and
  // checks the extension again before claiming.
  void ResetAfterError() {
    try {
      ReleaseAll();
    } catch (const std::exception& e) {
      spi::AbortQuietly();
      Log(LOG, std::string("pg_llmeval worker: could not release its tasks: ") + e.what());
    }
    client_.CancelAll();
    finished_.clear();
    deferred_completions_.clear();
    deferred_failures_.clear();
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
    std::vector<std::optional<CachedReply>> cached;
    try {
      ClaimInTransaction(max_tasks, claimed, cached);
    } catch (const llmeval::pg::PgError& e) {
      if (!IsPerTaskError(e.sqlerrcode())) throw;
      // One task whose request cannot be built fails the whole claim, and
      // would head every claim after it: the due tasks are tried one by
      // one, and those that fail, fail alone.
      Log(LOG, std::string("pg_llmeval worker: claim failed (") + e.what() +
                   "); checking the due tasks one by one");
      int64_t quarantined = 0;
      spi::InTransaction([&] {
        static spi::Statement quarantine("SELECT llmeval._quarantine_unclaimable($1)", {INT4OID});
        quarantine.Execute({Int32GetDatum(max_tasks)});
        quarantined = spi::Int64(0, 1);
      });
      Log(LOG, "pg_llmeval worker: " + std::to_string(quarantined) +
                   " tasks failed: their request could not be built");
      return 0;
    }
    if (claimed.empty()) return 0;
    return Answer(claimed, cached);
  }

  // Errors of the data, not of the server: a claim or write-back that fails
  // with one of them is retried task by task, so that one task fails alone.
  // A cancel, a shutdown, a lost connection or an out-of-memory is none of
  // these: the whole step fails and the loop starts over.
  static bool IsPerTaskError(int sqlerrcode) {
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

  static bool IsTransient(int sqlerrcode) {
    return sqlerrcode == ERRCODE_T_R_DEADLOCK_DETECTED ||
           sqlerrcode == ERRCODE_T_R_SERIALIZATION_FAILURE || sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE;
  }

  void ClaimInTransaction(int max_tasks, std::vector<Task>& claimed,
                          std::vector<std::optional<CachedReply>>& cached) {
    spi::InTransaction([&] {
      static spi::Statement claim(
          "SELECT task_id, claim_token, attempt, job_id, correlation_id::text, model_id, model,"
          " provider_kind, base_url, api_key, api_key_env, api_model, params, template, system,"
          " input, expected, metrics, use_cache, requests_per_minute, tokens_per_minute,"
          " task_kind, metric, scale_min, scale_max, pairwise"
          " FROM llmeval._claim_tasks($1, $2)",
          {INT4OID, INT4OID});
      const uint64_t n = claim.Execute(
          {Int32GetDatum(max_tasks), Int32GetDatum(llmeval::pg::setting_lease_seconds)});
      for (uint64_t r = 0; r < n; ++r) claimed.push_back(ReadClaim(r));
      cached.assign(claimed.size(), std::nullopt);
      if (!claimed.empty()) LookUpCache(claimed, cached);
    });
  }

  // Answers cache hits and tasks that cannot be called at once; keeps the
  // rest for their calls. Returns how many were claimed.
  int Answer(std::vector<Task>& claimed, std::vector<std::optional<CachedReply>>& cached) {

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
      } else if (task.task_kind == TaskKind::kEmbed && task.missing.empty()) {
        // every vector cached: no call at all
        completions.push_back({&task, "", 0, std::nullopt, std::nullopt, true, CompareEmbeddings(task)});
      } else if (cached[i]) {
        CachedReply& hit = *cached[i];
        if (task.task_kind == TaskKind::kJudge) {
          // read like a fresh reply, with the weighted score the original had
          std::optional<Completion> done = JudgeReply(task, std::move(hit.output), "", 0,
                                                      hit.input_tokens, hit.output_tokens, true);
          if (!done) continue;
          if (done->verdict && done->verdict->judgement.score)
            done->verdict->judgement.weighted_score = hit.weighted_score;
          completions.push_back(std::move(*done));
        } else {
          completions.push_back({&task, std::move(hit.output), 0, hit.input_tokens,
                                 hit.output_tokens, true, std::nullopt});
        }
      } else {
        continue;
      }
      answered.push_back(id);
    }
    if (!answered.empty()) Settle(Store(completions, failures));
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
    const std::string task_kind = spi::Text(r, 22);
    t.task_kind = task_kind == "judge"   ? TaskKind::kJudge
                  : task_kind == "embed" ? TaskKind::kEmbed
                                         : TaskKind::kGenerate;
    t.metric = spi::Text(r, 23);
    if (!spi::IsNull(r, 24)) t.scale.min = spi::Float8(r, 24);
    if (!spi::IsNull(r, 25)) t.scale.max = spi::Float8(r, 25);
    t.pairwise = spi::Bool(r, 26);
    // Checked again here (not only at create_provider): the settings may have
    // narrowed since, and a row may have been written before they existed.
    const std::string refused = llmeval::pg::ProviderPolicyProblem(has_secret ? "" : key_env, base_url);
    if (!refused.empty()) {
      t.problem = refused;
      return t;
    }
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
      if (t.task_kind == TaskKind::kEmbed) {
        PrepareEmbedding(t, base_url, api_model, input_json);
        return t;
      }
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
      // kept for a judge's repair call and for tracing
      t.chat = std::move(chat);
      t.base_url = base_url;
    } catch (const std::exception& e) {
      t.problem = std::string("cannot build the request: ") + e.what();
    }
    return t;
  }

  // The texts of an embed task, the vectors already cached, and the request
  // for the others.
  static void PrepareEmbedding(Task& t, const std::string& base_url, const std::string& api_model,
                               const nlohmann::json& input) {
    const nlohmann::json& texts = input.at("texts");
    const nlohmann::json& vectors = input.at("vectors");
    std::vector<std::string> to_embed;
    for (std::size_t i = 0; i < texts.size(); ++i) {
      t.texts.push_back(texts[i].is_string() ? texts[i].get<std::string>() : std::string());
      if (i < vectors.size() && vectors[i].is_array()) {
        t.vectors.emplace_back(vectors[i].get<std::vector<double>>());
      } else {
        t.vectors.emplace_back(std::nullopt);
        t.missing.push_back(i);
        to_embed.push_back(t.texts.back());
      }
    }
    t.use_cache = false;  // the embedding cache is by text, not by request
    if (!to_embed.empty())
      t.request = provider::BuildEmbeddingRequest(t.kind, base_url, t.api_key, api_model, to_embed);
    int64_t bytes = 0;
    for (const std::string& text : to_embed) bytes += static_cast<int64_t>(text.size());
    t.estimated_tokens = bytes / 4 + 1;
  }

  // The cosine similarity of an embed task's two vectors, as its judgement.
  static Verdict CompareEmbeddings(const Task& t) {
    Verdict v;
    if (t.vectors.size() != 2 || !t.vectors[0] || !t.vectors[1] ||
        t.vectors[0]->size() != t.vectors[1]->size()) {
      v.judgement.error = "the two embeddings differ in dimension";
      return v;
    }
    const std::vector<float> a(t.vectors[0]->begin(), t.vectors[0]->end());
    const std::vector<float> b(t.vectors[1]->begin(), t.vectors[1]->end());
    v.judgement.score = core::metrics::CosineSimilarity(a.data(), b.data(), a.size());
    if (!v.judgement.score) v.judgement.error = "an embedding is all zeros";
    return v;
  }

  // Reads a judge's reply. An unreadable first reply sends the repair call
  // instead (returns nothing: the task stays in flight); an unreadable repair
  // is stored with its error, and the sample counts as failed.
  std::optional<Completion> JudgeReply(Task& task, std::string output, std::string_view body,
                                       double latency_ms, std::optional<int64_t> in_tokens,
                                       std::optional<int64_t> out_tokens, bool cached) {
    Verdict v;
    v.judgement = task.pairwise ? judge::ParsePairwiseReply(output)
                                : judge::ParseScoreReply(output, task.scale);
    if (v.judgement.error.empty() && !task.pairwise && !body.empty())
      v.judgement.weighted_score = judge::WeightedScore(body, output, task.scale);
    if (!v.judgement.error.empty() && task.first_reply.empty()) {
      task.first_reply = output;
      task.cache_key.clear();  // the reply cached would not be the one to this request
      task.spent_latency_ms = latency_ms;
      task.spent_input_tokens = in_tokens.value_or(0);
      task.spent_output_tokens = out_tokens.value_or(0);
      provider::ChatRequest repair = task.chat;
      repair.prompt = judge::RepairPrompt(task.chat.prompt, output, v.judgement.error);
      task.request = provider::BuildChatRequest(task.kind, task.base_url, task.api_key, repair);
      task.in_flight = false;
      task.not_before_ms = 0;
      return std::nullopt;
    }
    if (!task.first_reply.empty()) {
      v.repaired = true;
      v.first_reply = task.first_reply;
      latency_ms += task.spent_latency_ms;
      if (in_tokens || task.spent_input_tokens) in_tokens = in_tokens.value_or(0) + task.spent_input_tokens;
      if (out_tokens || task.spent_output_tokens)
        out_tokens = out_tokens.value_or(0) + task.spent_output_tokens;
    }
    return Completion{&task, std::move(output), latency_ms, in_tokens, out_tokens, cached, std::move(v)};
  }

  // Reads an embedding response into the task's missing vectors.
  static std::optional<Completion> EmbeddingReply(Task& task, const provider::EmbeddingResponse& reply,
                                                  double latency_ms) {
    Verdict v;
    for (std::size_t k = 0; k < task.missing.size() && k < reply.vectors.size(); ++k) {
      task.vectors[task.missing[k]] = reply.vectors[k];
      v.new_embeddings.emplace_back(task.texts[task.missing[k]], reply.vectors[k]);
    }
    Verdict compared = CompareEmbeddings(task);
    v.judgement = std::move(compared.judgement);
    return Completion{&task, "", latency_ms, reply.input_tokens, std::nullopt, false, std::move(v)};
  }

  void LookUpCache(std::vector<Task>& claimed, std::vector<std::optional<CachedReply>>& cached) {
    std::vector<int64_t> ids;
    std::vector<int32_t> models;
    std::vector<std::string> bodies;
    for (const Task& t : claimed) {
      ids.push_back(t.id);
      models.push_back(t.model_id);
      bodies.push_back(t.request.body);
    }
    static spi::Statement lookup("SELECT * FROM llmeval._cached_responses($1, $2, $3)",
                                 {INT8ARRAYOID, INT4ARRAYOID, TEXTARRAYOID});
    const uint64_t n = lookup.Execute({spi::Int64ArrayDatum(ids), spi::Int32ArrayDatum(models),
                                       spi::TextArrayDatum(bodies)});
    for (uint64_t r = 0; r < n && r < claimed.size(); ++r) {
      const std::size_t i = static_cast<std::size_t>(spi::Int64(r, 1) - 1);
      Task& t = claimed[i];
      if (!t.use_cache || !t.problem.empty()) continue;
      t.cache_key = spi::Text(r, 2);
      if (spi::IsNull(r, 3)) continue;
      CachedReply hit;
      hit.output = spi::Text(r, 3);
      if (!spi::IsNull(r, 4)) hit.input_tokens = spi::Int64(r, 4);
      if (!spi::IsNull(r, 5)) hit.output_tokens = spi::Int64(r, 5);
      if (!spi::IsNull(r, 6)) hit.weighted_score = spi::Float8(r, 6);
      cached[i] = std::move(hit);
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
    if (lost.empty()) return;
    const std::unordered_set<int64_t> gone(lost.begin(), lost.end());
    auto lost_task = [&](const auto& item) { return gone.count(item.task->id) > 0; };
    deferred_completions_.erase(std::remove_if(deferred_completions_.begin(), deferred_completions_.end(), lost_task),
                                deferred_completions_.end());
    deferred_failures_.erase(std::remove_if(deferred_failures_.begin(), deferred_failures_.end(), lost_task),
                             deferred_failures_.end());
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
      if (response.tag & kTraceTag) {
        TraceSent(response);
        continue;
      }
      auto it = tasks_.find(static_cast<int64_t>(response.tag));
      if (it == tasks_.end()) continue;
      Task& task = it->second;
      provider::ChatResponse chat;
      std::optional<provider::EmbeddingResponse> embedding;
      if (response.transport == http::Transport::kOk && task.task_kind == TaskKind::kEmbed) {
        embedding = provider::ParseEmbeddingResponse(task.kind, response.status, response.body,
                                                     response.retry_after, now_unix,
                                                     task.missing.size());
        chat.outcome = embedding->outcome;
        chat.error = embedding->error;
        chat.retry_after_ms = embedding->retry_after_ms;
        chat.input_tokens = embedding->input_tokens;
      } else if (response.transport == http::Transport::kOk) {
        chat = provider::ParseChatResponse(task.kind, response.status, response.body,
                                           response.retry_after, now_unix);
      } else {
        chat.outcome = provider::Outcome::kRetry;
        chat.error = http::TransportErrorText(response);
      }
      chat.error = provider::Redact(chat.error, task.api_key);
      if (chat.outcome == provider::Outcome::kOk) {
        if (chat.input_tokens || chat.output_tokens)
          llmeval::pg::ChargeTokens(task.model_id, chat.input_tokens.value_or(0) +
                                                       chat.output_tokens.value_or(0) -
                                                       task.estimated_tokens);
        std::optional<Completion> done_call;
        if (task.task_kind == TaskKind::kJudge) {
          done_call = JudgeReply(task, std::move(chat.output), response.body, response.elapsed_ms,
                                 chat.input_tokens, chat.output_tokens, false);
        } else if (task.task_kind == TaskKind::kEmbed) {
          done_call = EmbeddingReply(task, *embedding, response.elapsed_ms);
        } else {
          done_call = Completion{&task, std::move(chat.output), response.elapsed_ms,
                                 chat.input_tokens, chat.output_tokens, false, std::nullopt};
        }
        if (done_call) completions.push_back(std::move(*done_call));
      } else {
        const bool final = chat.outcome == provider::Outcome::kFail ||
                           task.attempt >= llmeval::pg::setting_max_attempts;
        const int64_t delay =
            final ? 0 : provider::BackoffMs(task.attempt, unit(rng_), chat.retry_after_ms);
        failures.push_back({&task, chat.error, delay, final, response.elapsed_ms});
      }
    }
    if (completions.empty() && failures.empty()) return;
    Settle(Store(completions, failures));
  }

  // Forgets the tasks whose results are stored (or given up on).
  void Settle(const std::vector<int64_t>& settled) {
    for (int64_t id : settled) tasks_.erase(id);
  }

  bool HasDeferred() const { return !deferred_completions_.empty() || !deferred_failures_.empty(); }

  // Results whose job's row was held elsewhere (a tenant's open transaction
  // on its own job) wait here and are tried again: the worker goes on with
  // every other job meanwhile, and the responses already paid for are kept.
  void StoreDeferred() {
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

  // Extends the leases of every task held, so that none expires while its
  // worker still waits for its turn, its answer or its job's row.
  void RenewLeases() {
    std::vector<int64_t> ids;
    std::vector<spi::Uuid> tokens;
    for (const auto& [id, task] : tasks_) {
      ids.push_back(id);
      tokens.push_back(task.token);
    }
    spi::InTransaction([&] {
      static spi::Statement renew("SELECT llmeval._renew_leases($1, $2, $3)",
                                  {INT8ARRAYOID, UUIDARRAYOID, INT4OID});
      renew.Execute({spi::Int64ArrayDatum(ids), spi::UuidArrayDatum(tokens),
                     Int32GetDatum(llmeval::pg::setting_lease_seconds)});
    });
  }

  // Writes completions (with their scores) and failures in one transaction.
  // A deadlock or serialisation failure is retried; any other failure of the
  // data writes the results one by one, so that a result that cannot be
  // stored fails its own task alone and the responses already paid for are
  // kept.
  // Returns the tasks settled: stored, or given up on (their leases bring
  // them back); the others wait in deferred_*.
  std::vector<int64_t> Store(const std::vector<Completion>& completions,
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

  // A failure written on its own; if even that cannot be stored, the task is
  // given up on (its claim comes back to the queue once this worker lets go).
  void StoreAlone(const Failure& f, std::vector<int64_t>& settled) {
    try {
      StoreBatch({}, {f}, settled);
    } catch (const llmeval::pg::PgError& e) {
      if (!IsPerTaskError(e.sqlerrcode())) throw;
      Log(LOG, "pg_llmeval worker: could not store the failure of task " +
                   std::to_string(f.task->id) + ": " + e.what());
      settled.push_back(f.task->id);
    }
  }

  // One write-back transaction: it locks the jobs' rows first (the lock
  // order of every transaction on jobs and tasks), waiting at most
  // kJobLockWaitMs for each; results of a job whose row stays held are
  // deferred, the rest written.
  void StoreBatch(const std::vector<Completion>& all_completions, const std::vector<Failure>& all_failures,
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

  static const char* KindName(TaskKind kind) {
    return kind == TaskKind::kJudge ? "judge" : kind == TaskKind::kEmbed ? "embed" : "generate";
  }

  // One LangSmith run per call stored (llmeval.langsmith_endpoint set), with
  // the job, task, model, attempt and correlation id as metadata.
  void Trace(const std::vector<Completion>& completions, const std::vector<Failure>& failures) {
    if (llmeval::pg::setting_langsmith_endpoint == nullptr ||
        *llmeval::pg::setting_langsmith_endpoint == '\0')
      return;
    const int64_t now = static_cast<int64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::system_clock::now().time_since_epoch())
            .count());
    auto run_of = [&](const Task& t, double latency_ms) {
      core::trace::Run run;
      run.id = core::trace::NewRunId(rng_(), rng_());
      run.name = std::string(KindName(t.task_kind)) + " " + t.model;
      run.run_type = t.task_kind == TaskKind::kEmbed ? "embedding" : "llm";
      run.end_unix_ms = now;
      run.start_unix_ms = now - static_cast<int64_t>(latency_ms);
      if (t.task_kind == TaskKind::kEmbed) {
        run.inputs = {{"texts", t.texts}};
      } else {
        run.inputs = {{"prompt", t.chat.prompt}, {"params", t.chat.params}};
        if (!t.chat.system.empty()) run.inputs["system"] = t.chat.system;
      }
      run.metadata = {{"job_id", t.job_id}, {"task_id", t.id}, {"correlation_id", t.correlation_id},
                      {"model", t.model}, {"attempt", t.attempt}, {"kind", KindName(t.task_kind)}};
      if (!t.metric.empty()) run.metadata["metric"] = t.metric;
      run.tags = {"pg_llmeval", KindName(t.task_kind)};
      return run;
    };
    for (const Completion& c : completions) {
      core::trace::Run run = run_of(*c.task, c.latency_ms);
      run.outputs = {{"output", c.output}, {"cached", c.cached}};
      if (c.input_tokens) run.outputs["input_tokens"] = *c.input_tokens;
      if (c.output_tokens) run.outputs["output_tokens"] = *c.output_tokens;
      if (c.verdict && c.verdict->judgement.score) run.outputs["score"] = *c.verdict->judgement.score;
      traces_.push_back(std::move(run));
    }
    for (const Failure& f : failures) {
      core::trace::Run run = run_of(*f.task, f.latency_ms);
      run.error = f.error;
      run.outputs = {{"final", f.final}};
      traces_.push_back(std::move(run));
    }
    if (traces_.size() > kTraceBacklog) {
      traces_dropped_ += static_cast<int64_t>(traces_.size() - kTraceBacklog);
      traces_.erase(traces_.begin(), traces_.begin() + static_cast<std::ptrdiff_t>(traces_.size() - kTraceBacklog));
    }
  }

  // Sends a batch of runs when it is full or a second old.
  void SendTraces() {
    if (traces_.empty()) return;
    const int64_t now = NowMs();
    if (traces_.size() < kTraceBatch && now < next_trace_send_ms_) return;
    next_trace_send_ms_ = now + kTraceWaitMs;
    const char* key_env = llmeval::pg::setting_langsmith_api_key_env;
    const char* key = key_env != nullptr && *key_env != '\0' ? std::getenv(key_env) : nullptr;
    if (key == nullptr || *key == '\0' || *llmeval::pg::setting_langsmith_endpoint == '\0') {
      if (!trace_key_warned_)
        Log(LOG, std::string("pg_llmeval: LangSmith tracing is on but the server's environment "
                             "variable ") + (key_env ? key_env : "") + " holding its key is not set");
      trace_key_warned_ = true;
      traces_dropped_ += static_cast<int64_t>(traces_.size());
      traces_.clear();
      return;
    }
    while (!traces_.empty() && static_cast<int>(client_.inflight()) < llmeval::pg::setting_max_inflight) {
      const std::size_t n = std::min(kTraceBatch, traces_.size());
      std::vector<core::trace::Run> batch(std::make_move_iterator(traces_.begin()),
                                          std::make_move_iterator(traces_.begin() + static_cast<std::ptrdiff_t>(n)));
      http::Request request = core::trace::BuildBatchRequest(
          llmeval::pg::setting_langsmith_endpoint, key, llmeval::pg::setting_langsmith_project, batch);
      request.tag = kTraceTag | ++trace_seq_;
      if (!client_.Submit(std::move(request))) break;
      traces_.erase(traces_.begin(), traces_.begin() + static_cast<std::ptrdiff_t>(n));
      if (traces_.size() < kTraceBatch) break;
    }
  }

  // A LangSmith answer: failures are logged (once a minute at most), the
  // runs are not sent again.
  void TraceSent(const http::Response& response) {
    if (response.transport == http::Transport::kOk && response.status < 300) return;
    ++trace_failures_;
    const int64_t now = NowMs();
    if (now < next_trace_warning_ms_) return;
    next_trace_warning_ms_ = now + 60000;
    Log(LOG, "pg_llmeval: LangSmith export failed (" + std::to_string(trace_failures_) +
                 " batches so far, " + std::to_string(traces_dropped_) +
                 " runs dropped while it lagged): " +
                 (response.transport == http::Transport::kOk
                      ? "HTTP " + std::to_string(response.status)
                      : http::TransportErrorText(response)));
  }

  // The parsed replies of judge and embed tasks, and new embeddings for the
  // cache, stored just before their tasks are completed.
  static void RecordVerdicts(const std::vector<Completion>& completions) {
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

  http::Client client_;
  std::mt19937_64 rng_;
  std::unordered_map<int64_t, Task> tasks_;
  std::vector<http::Response> finished_;  // not yet written back
  std::vector<core::trace::Run> traces_;  // LangSmith runs not yet sent
  int64_t next_trace_send_ms_ = 0, next_trace_warning_ms_ = 0;
  int64_t traces_dropped_ = 0, trace_failures_ = 0;
  uint64_t trace_seq_ = 0;
  bool trace_key_warned_ = false;
  int64_t oldest_finished_ms_ = 0;
  // results whose job's row was held elsewhere, to be stored again
  std::vector<Completion> deferred_completions_;
  std::vector<Failure> deferred_failures_;
  int64_t next_deferred_ms_ = 0;
  int64_t deferred_retry_ms_ = kDeferredRetryMs;
  int64_t next_renewal_ms_ = 0;
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
    PgCall([&]() noexcept { MemoryContextSwitchTo(loop_context); });
    try {
      // Interrupts and settings inside the try: a cancel (pg_cancel_backend)
      // is an error like any other, and the claims are given back.
      PgCall([]() noexcept { CHECK_FOR_INTERRUPTS(); });
      if (ConfigReloadPending) {
        ConfigReloadPending = false;
        PgCall([]() noexcept { ProcessConfigFile(PGC_SIGHUP); });
        worker.ReloadSettings();
      }
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
    // otherwise sleep on the latch until woken or the next timer. The latch
    // is reset only when it was seen set, just before the claim it causes:
    // a wake-up that comes after that stays set for the next pass.
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
      woken = (rc & WL_LATCH_SET) != 0;
    } else {
      woken = PgCall([]() noexcept { return MyLatch->is_set; });
    }
    if (woken) PgCall([]() noexcept { ResetLatch(MyLatch); });
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
