// The job engine's background worker, in one class whose concerns live in
// their own files:
//   worker_main.cpp    the loop, its signals and timers (Step, RunWorker)
//   worker_claim.cpp   claims, leases, releases and lost claims
//   worker_calls.cpp   provider calls over HTTP and reading their replies
//   worker_store.cpp   write-backs: results, scores, verdicts, deferral
//   worker_trace.cpp   LangSmith runs
//   worker_counters.cpp  job counters folded at the end of each transaction
//   worker_refusals.cpp  requests sent again without a parameter the model refused
//
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
#pragma once

#include <chrono>
#include <deque>
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
#include "core/metrics/tool_calls.hpp"
#include "core/prompt/template.hpp"
#include "core/provider/batch.hpp"
#include "core/provider/chat.hpp"
#include "core/provider/embedding.hpp"
#include "core/trace/langsmith.hpp"
// Postgres headers after core headers (see core/cpp_only.hpp).
#include "pg/engine_shared.hpp"
#include "pg/provider_policy.hpp"
#include "pg/settings.hpp"
#include "pg/spi.hpp"

namespace llmeval::pg::worker {

namespace core = llmeval::core;
namespace provider = llmeval::core::provider;
namespace http = llmeval::core::http;
namespace judge = llmeval::core::judge;
namespace spi = llmeval::pg::spi;
using llmeval::pg::PgCall;


constexpr int kClaimBatch = 64;             // tasks per claim transaction at most
constexpr int64_t kIdleClaimMs = 1000;      // slow timer: due retries, new work missed
constexpr int64_t kLeaseCheckMs = 5000;     // how often expired leases are reclaimed
constexpr int64_t kOnlineIngestMs = 1000;   // how often online rules' sampled rows are read,
constexpr int64_t kOnlineIdleMs = 10000;    // ...or looked for when there is no rule (or when woken)
constexpr int kOnlineIngestRows = 500;      // rows per rule and pass at most
constexpr int64_t kCancelCheckMs = 250;     // how often held claims are checked
constexpr int64_t kFoldRetryMs = 5;         // job counters passed over (row held): folded again after,
constexpr int64_t kFoldRetryMaxMs = 1000;   // doubling up to this while a row stays held
constexpr int64_t kDeferredRetryMs = 50;    // results whose job row was held: tried again after,
constexpr int64_t kDeferredRetryMaxMs = 1000;  // doubling up to this while it stays held
constexpr int kJobLockWaitMs = 200;         // a write-back's try for a job row at most
constexpr int kDeferredLockWaitMs = 10;     // ... when it was held the last time
constexpr int kPollSliceMs = 10;            // socket wait while calls are in flight
constexpr std::size_t kBatchSize = 32;      // results written back together at most...
constexpr int64_t kBatchWaitMs = 20;        // ...or after the oldest waited this long
constexpr uint64_t kTraceTag = 1ULL << 63;  // marks LangSmith requests among the calls
constexpr uint64_t kBatchTag = 1ULL << 62;  // marks provider batch exchanges among the calls
constexpr int64_t kBatchStepMs = 1000;      // how often provider batches are looked at
constexpr int kBatchStepsInFlight = 4;      // batch exchanges in flight per worker at most
constexpr int kBatchLeaseSeconds = 300;     // a batch row's lease while its exchange runs
constexpr int kBatchMaxFailures = 16;       // a result download given up after this many in a row
constexpr std::size_t kBatchMaxRequestBytes = std::size_t{100} << 20;  // a batch's requests at most
constexpr std::size_t kBatchMaxEmbedLines = 1000;  // embeddings: two vectors a line in the results
constexpr std::size_t kBatchMaxResultBytes = std::size_t{1} << 30;  // a result file at most
constexpr int64_t kBatchCreationGraceSeconds = 180;  // a creation maybe on its way
constexpr std::size_t kTraceBatch = 100;    // runs per LangSmith request at most...
constexpr int64_t kTraceWaitMs = 1000;      // ...or after a second
constexpr std::size_t kTraceBacklog = 10000;  // runs kept while LangSmith is slow; then dropped

inline int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

inline void Log(int level, const std::string& message) {
  PgCall([&]() noexcept { ereport(level, (errmsg_internal("%s", message.c_str()))); });
}

enum class TaskKind { kGenerate, kJudge, kEmbed };

// The parts of a call's tokens that its API reported (see
// provider::ChatResponse): input read from and written to the provider's
// prompt cache, output spent reasoning. Priced in llmeval._call_cost.
struct TokenParts {
  std::optional<int64_t> cached_input, cache_write, reasoning;
  static TokenParts Of(const provider::ChatResponse& r) {
    return {r.cached_input_tokens, r.cache_write_tokens, r.reasoning_tokens};
  }
  // Both calls' parts (a judge's unreadable reply and its repair).
  void Add(const TokenParts& other) {
    auto add = [](std::optional<int64_t>& a, const std::optional<int64_t>& b) {
      if (b) a = a.value_or(0) + *b;
    };
    add(cached_input, other.cached_input);
    add(cache_write, other.cache_write);
    add(reasoning, other.reasoning);
  }
};

// A claimed task, from its claim to its write-back.
struct Task {
  TaskKind task_kind = TaskKind::kGenerate;
  int64_t id = 0;
  spi::Uuid token{};
  int attempt = 0;
  int max_attempts = 5;  // the job's option, else llmeval.max_attempts
  int64_t job_id = 0;
  std::string correlation_id;
  int32_t model_id = 0;
  std::string model;
  std::string api_key;
  provider::Kind kind = provider::Kind::kOpenAI;
  std::string expected;
  bool has_expected = false;
  std::string expected_tool_calls;  // JSON text; "" when the test case states none
  std::vector<std::string> metrics;
  int requests_per_minute = 0;
  int tokens_per_minute = 0;
  bool use_cache = true;
  std::string cache_key;  // sha256 of model and request body (bytes)
  provider::HttpRequest request;
  int64_t estimated_tokens = 0;
  std::string problem;       // set when the task cannot be called at all
  bool in_flight = false;    // sent; otherwise waiting for its rate limit
  bool from_batch = false;   // answered by a provider batch (no rate limit was taken for it)
  // Its result came without a call (the cache, a problem, out of attempts):
  // never sent, even while that result waits to be stored (deferred).
  bool answered = false;
  int64_t not_before_ms = 0;

  // judge tasks
  std::string metric;
  judge::Scale scale;
  bool pairwise = false;
  // a judge of verdicts (definition "verdicts"): how its score is made, and
  // how many verdicts it must give (-1: as many as it finds)
  std::optional<judge::VerdictRule> verdict_rule;
  int verdict_count = -1;
  provider::ChatRequest chat;  // kept to build the repair request and the trace
  std::string base_url;
  std::string first_reply;     // set once the repair call is sent
  double spent_latency_ms = 0; // of the unreadable first reply
  int64_t spent_input_tokens = 0, spent_output_tokens = 0;
  TokenParts spent_parts;
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
  TokenParts parts;
  std::string tool_calls;  // the model's calls, normalised JSON; "" for none
};
struct Failure {
  const Task* task;
  std::string error;
  int64_t delay_ms;
  bool final;
  double latency_ms;
};

// A provider batch's exchange in flight (worker_batches.cpp).
enum class BatchOp { kUpload, kCreate, kList, kStatus, kCancel, kDownload };
struct BatchStep {
  BatchOp op = BatchOp::kStatus;
  int64_t batch_id = 0;
  std::string status;  // the row's: submitting, submitted, ended
  provider::Kind kind = provider::Kind::kOpenAI;
  std::string base_url, api_key, key_problem;
  std::string endpoint;
  std::vector<std::string> lines;  // a new batch's requests
  int64_t lines_count = 0;
  int64_t created_at = 0;          // Unix seconds
  int failures = 0;                // exchanges of this batch failed in a row
  bool cancel = false;             // the job was cancelled: cancel it at the provider
  std::string remote_id, input_file_id, output_file_id, error_file_id, results_url;
  std::string results;             // result lines downloaded so far
};

class Worker {
 public:
  explicit Worker(int slot)
      : client_(ClientOptions()), rng_(static_cast<uint64_t>(std::random_device{}()) + slot) {}
  // One pass: reclaim expired leases now and then, claim when there is room
  // (at once when woken, else on the slow timer), start calls whose rate
  // limit allows, and drop calls whose claim was cancelled.
  void Step(bool woken);
  bool HasCalls() const { return client_.inflight() > 0 || !finished_.empty(); }
  std::size_t InFlight() const { return client_.inflight(); }
  bool HasTasks() const { return !tasks_.empty(); }
  // Milliseconds until the worker has something to do without being woken.
  int64_t IdleTimeoutMs() const;
  // Waits on the calls in flight for a short slice; writes back results.
  //
  // Results are written back in batches: one transaction per result would
  // cost more than the call itself at high rates. A batch is written when
  // it is large, when its oldest result has waited kBatchWaitMs, or when
  // nothing else is in flight.
  void PollCalls();
  void FlushFinished(bool force);
  void ReloadSettings();
  // Gives back every claim held (shutdown): calls are abandoned and the
  // tasks become claimable again without an attempt counted.
  void ReleaseAll(bool count_attempt = false);
  // The ids and claim tokens of every task held.
  void HeldClaims(std::vector<int64_t>& ids, std::vector<spi::Uuid>& tokens) const;
  // After an error (a cancel by pg_cancel_backend among them) the worker
  // gives its claims back, or, if even that fails, forgets them (the reclaim
  // of claims whose worker is gone, or their leases, bring them back), and
  // checks the extension again before claiming. With extension_gone (the
  // extension was dropped) there are no claims left to give back.
  void ResetAfterError(bool extension_gone = false);
  // Provider batches: new ones from batch jobs' due tasks, and the next
  // exchange of those running (at most every kBatchStepMs unless woken).
  void DriveBatches(bool woken);
 private:
  void StartBatchStep(BatchStep step);
  void SendBatchRequest(BatchStep step, const provider::HttpRequest& request);
 public:
  // Batch exchanges that found every call slot taken, sent before new calls.
  void SendWaitingBatchRequests();
 private:
  void DownloadNext(BatchStep step);
  void SubmitNewBatch();
  void BatchResponse(const http::Response& response);
  void RecordRemote(int64_t batch_id, const provider::batch::Remote& remote, bool created);
  // A batch left 'submitting' found at the provider (candidates, the likeliest
  // first) is adopted; one not found minutes after it was begun is given up.
  void AdoptOrAbandon(const BatchStep& step, const std::vector<std::string>& candidates);
  void AbandonBatch(int64_t batch_id, const std::string& reason, bool counted);
  // Claims the tasks an ended batch holds and hands each its line's answer
  // as the reply of a call (lines that never ran: as a failed call).
  void StoreBatchResults(const BatchStep& step);
  // After an error: the exchanges in flight are gone; their rows' leases
  // are given back so that the next step takes them up at once.
  void ForgetBatchSteps();
  static http::ClientOptions ClientOptions();
  void CheckExtension();
  void ReclaimExpiredLeases();
  // Reads the rows online rules sampled and queues them for scoring
  // (llmeval._online_ingest; worker_online.cpp); returns whether any rule exists.
  bool IngestOnlineRows();
  // Folds the job counter changes this transaction can see into these jobs
  // (every job's, with every_job), passing over job rows held elsewhere
  // (worker_counters.cpp). The last statement of every worker transaction
  // that changes tasks: the job row is held only while the transaction
  // commits. Jobs passed over are folded again soon (with the next
  // transaction's, or FoldPendingJobCounters).
  void FoldJobCounters(std::vector<int64_t> job_ids, bool every_job = false);
  // In a transaction of its own; its errors are logged, not thrown (except
  // a cancel or shutdown).
  void FoldPendingJobCounters(bool every_job = false);
  // Claims up to max_tasks; answers cache hits and tasks that cannot be
  // called at once; returns how many were claimed.
  int Claim(int max_tasks);
  // Errors of the data, not of the server: a claim or write-back that fails
  // with one of them is retried task by task, so that one task fails alone.
  // A cancel, a shutdown, a lost connection or an out-of-memory is none of
  // these: the whole step fails and the loop starts over.
  static bool IsPerTaskError(int sqlerrcode);
  static bool IsTransient(int sqlerrcode);
  // The requests of claimed tasks (llmeval._task_requests) and their cached
  // replies, in one transaction.
  void BuildRequests(const std::vector<int64_t>& ids, std::vector<Task>& claimed,
                     std::vector<std::optional<CachedReply>>& cached, bool look_up_cache);
  // BuildRequests for claims just made; a task whose request cannot be built
  // (its data fails rendering or a cast) would fail them all: they are then
  // built one by one, and that task gets the reason as its problem.
  void BuildClaimed(const std::vector<int64_t>& ids, const std::vector<spi::Uuid>& tokens,
                    std::vector<Task>& claimed, std::vector<std::optional<CachedReply>>& cached,
                    bool look_up_cache);
  // Answers cache hits and tasks that cannot be called at once; keeps the
  // rest for their calls. Returns how many were claimed.
  int Answer(std::vector<Task>& claimed, std::vector<std::optional<CachedReply>>& cached);
  Task ReadClaim(uint64_t r);
  // The texts of an embed task, the vectors already cached, and the request
  // for the others.
  static void PrepareEmbedding(Task& t, const std::string& base_url, const std::string& api_model,
                               const nlohmann::json& input);
  // The cosine similarity of an embed task's two vectors, as its judgement.
  static Verdict CompareEmbeddings(const Task& t);
  // Reads a judge's reply. An unreadable first reply sends the repair call
  // instead (returns nothing: the task stays in flight); an unreadable repair
  // is stored with its error, and the sample counts as failed.
  std::optional<Completion> JudgeReply(Task& task, std::string output, std::string_view body,
                                       double latency_ms, std::optional<int64_t> in_tokens,
                                       std::optional<int64_t> out_tokens, TokenParts parts,
                                       bool cached);
  // A 400 refusing a parameter the model does not take (a reasoning model's
  // temperature or logprobs, see core/provider/refusal.hpp): the task's
  // request is sent again without it, with no attempt counted, and the model
  // remembers it (RememberRefusals). False when the request no longer sends
  // it (a refusal is answered once) or the reply is no such refusal.
  bool ResendWithout(Task& task, long http_status, std::string_view body);
  // Stores the refusals met since the last call in llmeval.models, so that
  // the next claims build their requests without them.
  void RememberRefusals();
  // Reads an embedding response into the task's missing vectors.
  static std::optional<Completion> EmbeddingReply(Task& task, const provider::EmbeddingResponse& reply,
                                                  double latency_ms);
  void LookUpCache(std::vector<Task>& claimed, std::vector<std::optional<CachedReply>>& cached);
  void StartDueCalls();
  // Abandons calls for tasks whose claim is gone: the job was cancelled, or
  // the lease expired and someone else has the task.
  void DropLostClaims();
  void WriteBack(const std::vector<http::Response>& done);
  // Forgets the tasks whose results are stored (or given up on).
  void Settle(const std::vector<int64_t>& settled);
  bool HasDeferred() const { return !deferred_completions_.empty() || !deferred_failures_.empty(); }
  // Results whose job's row was held elsewhere (a tenant's open transaction
  // on its own job) wait here and are tried again: the worker goes on with
  // every other job meanwhile, and the responses already paid for are kept.
  void StoreDeferred();
  // Extends the leases of every task held, so that none expires while its
  // worker still waits for its turn, its answer or its job's row.
  void RenewLeases();
  // Writes completions (with their scores) and failures in one transaction.
  // A deadlock or serialisation failure is retried; any other failure of the
  // data writes the results one by one, so that a result that cannot be
  // stored fails its own task alone and the responses already paid for are
  // kept.
  // Returns the tasks settled: stored, or given up on (their leases bring
  // them back); the others wait in deferred_*.
  std::vector<int64_t> Store(const std::vector<Completion>& completions,
                             const std::vector<Failure>& failures);
  // A failure written on its own; if even that cannot be stored, the task is
  // given up on (its claim comes back to the queue once this worker lets go).
  void StoreAlone(const Failure& f, std::vector<int64_t>& settled);
  // One write-back transaction. It holds its own task rows first (SKIP
  // LOCKED) and tries for their jobs' rows for kJobLockWaitMs (in the
  // counters' trigger); results whose task row was held elsewhere wait in
  // deferred_*.
  void StoreBatch(const std::vector<Completion>& all_completions, const std::vector<Failure>& all_failures,
                  std::vector<int64_t>& settled);
  // After a write-back that could not get a job's row (55P03): each job's
  // results stored on their own, the held job's deferred.
  void StoreByJob(const std::vector<Completion>& completions, const std::vector<Failure>& failures,
                  std::vector<int64_t>& settled);
  // Keeps results to be stored again later (StoreDeferred).
  void Defer(std::vector<Completion> completions, std::vector<Failure> failures);
  static const char* KindName(TaskKind kind);
  // One LangSmith run per call stored (llmeval.langsmith_endpoint set), with
  // the job, task, model, attempt and correlation id as metadata.
  void Trace(const std::vector<Completion>& completions, const std::vector<Failure>& failures);
  // Sends a batch of runs when it is full or a second old.
  void SendTraces();
  // A LangSmith answer: failures are logged (once a minute at most), the
  // runs are not sent again.
  void TraceSent(const http::Response& response);
  // The parsed replies of judge and embed tasks, and new embeddings for the
  // cache, stored just before their tasks are completed.
  static void RecordVerdicts(const std::vector<Completion>& completions);
  http::Client client_;
  std::mt19937_64 rng_;
  std::unordered_map<int64_t, Task> tasks_;
  std::unordered_map<uint64_t, BatchStep> batch_steps_;  // by request tag
  std::deque<http::Request> batch_waiting_;               // of those, not yet sent
  uint64_t batch_seq_ = 0;
  int64_t next_batch_ms_ = 0;
  std::vector<http::Response> finished_;  // not yet written back
  std::vector<std::pair<int32_t, std::string>> refusals_;  // (model, parameter) to remember
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
  // jobs whose counter changes were left unfolded (their row was held elsewhere)
  std::vector<int64_t> fold_pending_;
  int64_t next_fold_ms_ = 0;
  int64_t fold_retry_ms_ = kFoldRetryMs;
  int job_lock_wait_ms_ = kJobLockWaitMs;  // the write-back's try for a job row
  // since the last heartbeat
  int64_t completed_ = 0, failed_ = 0, retried_ = 0;
 public:
  // Reports to llmeval.worker_status and resets the counters.
  void Heartbeat(int slot);
  bool extension_ready_ = false;
  int64_t next_extension_check_ms_ = 0;
  int64_t next_lease_check_ms_ = 0;
  int64_t next_online_ms_ = 0;
  int64_t last_online_ms_ = 0;
  int64_t next_claim_ms_ = 0;
  int64_t next_cancel_check_ms_ = 0;
};

// The loop, until shutdown (worker_main.cpp).
void RunWorker(int slot);

}  // namespace llmeval::pg::worker
