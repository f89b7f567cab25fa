// The extension's entry: module magic, settings and, when preloaded, the job
// engine's shared memory and background workers.
//
// The metric functions need nothing from _PG_init, so the library works when
// loaded on first use as well as through shared_preload_libraries; only then
// are the workers registered.
#include <cstdio>

#include "pg/engine_shared.hpp"
#include "pg/settings.hpp"

namespace llmeval::pg {

char* setting_database_name = nullptr;
int setting_workers = 2;
int setting_max_inflight = 16;
int setting_connect_timeout_ms = 5000;
int setting_request_timeout_ms = 60000;
int setting_max_attempts = 5;
int setting_lease_seconds = 300;
int setting_batch_poll_interval_ms = 30000;
int setting_batch_max_lines = 10000;
int setting_retention_days = 30;
int setting_sql_metric_timeout_ms = 5000;
bool setting_share_caches = false;
int setting_job_lock_wait_ms = 0;
bool setting_defer_job_counters = false;
char* setting_judge_model = nullptr;
char* setting_embedding_model = nullptr;
char* setting_langsmith_endpoint = nullptr;
char* setting_langsmith_api_key_env = nullptr;
char* setting_langsmith_project = nullptr;
char* setting_api_key_env_names = nullptr;
char* setting_provider_hosts = nullptr;

namespace {

void DefineSettings() {
  // Postmaster settings can only be defined while preloading; loaded later
  // (the metric functions need no preloading), there are no workers anyway.
  if (process_shared_preload_libraries_in_progress) {
    DefineCustomStringVariable("llmeval.database_name",
                               "Database in which the pg_llmeval workers run.", nullptr,
                               &setting_database_name, "postgres", PGC_POSTMASTER, 0, nullptr,
                               nullptr, nullptr);
    DefineCustomIntVariable("llmeval.workers", "Number of pg_llmeval background workers.", nullptr,
                            &setting_workers, 2, 0, kMaxWorkers, PGC_POSTMASTER, 0, nullptr,
                            nullptr, nullptr);
  }
  DefineCustomIntVariable("llmeval.max_inflight",
                          "Concurrent provider requests per pg_llmeval worker.", nullptr,
                          &setting_max_inflight, 16, 1, 1024, PGC_SIGHUP, 0, nullptr, nullptr,
                          nullptr);
  DefineCustomIntVariable("llmeval.connect_timeout_ms", "Timeout for connecting to a provider.",
                          nullptr, &setting_connect_timeout_ms, 5000, 1, 600000, PGC_SIGHUP,
                          GUC_UNIT_MS, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("llmeval.request_timeout_ms",
                          "Timeout for a whole provider request, connection included.", nullptr,
                          &setting_request_timeout_ms, 60000, 1, 3600000, PGC_SIGHUP, GUC_UNIT_MS,
                          nullptr, nullptr, nullptr);
  DefineCustomIntVariable("llmeval.max_attempts",
                          "Provider calls per task before it fails with its last error.", nullptr,
                          &setting_max_attempts, 5, 1, 100, PGC_SIGHUP, 0, nullptr, nullptr,
                          nullptr);
  DefineCustomIntVariable("llmeval.lease_seconds",
                          "How long a claimed task stays claimed if its worker stops.", nullptr,
                          &setting_lease_seconds, 300, 5, 86400, PGC_SIGHUP, GUC_UNIT_S, nullptr,
                          nullptr, nullptr);
  DefineCustomIntVariable("llmeval.batch_poll_interval_ms",
                          "How often the workers ask a provider about a batch it is running.", nullptr,
                          &setting_batch_poll_interval_ms, 30000, 100, 3600000, PGC_SIGHUP, GUC_UNIT_MS,
                          nullptr, nullptr, nullptr);
  DefineCustomIntVariable("llmeval.batch_max_lines",
                          "Requests per provider batch at most (OpenAI takes 50,000 a file).", nullptr,
                          &setting_batch_max_lines, 10000, 1, 50000, PGC_SIGHUP, 0, nullptr, nullptr,
                          nullptr);
  // Server defaults for jobs whose options name no judge or embedding model;
  // submit_job pins the value in the job, so a later change leaves it alone.
  DefineCustomStringVariable("llmeval.judge_model",
                             "Model (provider/model) that runs judge metrics by default.", nullptr,
                             &setting_judge_model, "", PGC_SUSET, 0, nullptr, nullptr, nullptr);
  DefineCustomStringVariable("llmeval.embedding_model",
                             "Model (provider/model) that embeds texts for semantic_similarity.",
                             nullptr, &setting_embedding_model, "", PGC_SUSET, 0, nullptr, nullptr,
                             nullptr);
  // llmeval_admin, which need not be a superuser, writes providers; the
  // workers send the variable a provider names to its host. Only a
  // superuser decides which variables and hosts those may be
  // (src/core/provider/policy.hpp).
  DefineCustomStringVariable(
      "llmeval.api_key_env_names", "Server environment variables that may hold provider API keys.",
      "Comma-separated glob patterns; empty: keys only from "
      "llmeval.set_provider_secret.",
      &setting_api_key_env_names, "*_API_KEY,*_KEY", PGC_SUSET, 0, nullptr, nullptr, nullptr);
  DefineCustomStringVariable("llmeval.provider_hosts", "Hosts that providers may be sent to.",
                             "Comma-separated glob patterns; empty: any host. Cloud metadata "
                             "endpoints are always refused.",
                             &setting_provider_hosts, "", PGC_SUSET, 0, nullptr, nullptr, nullptr);
  // Tracing is off until an endpoint is set; the key stays in the server's
  // environment, named here.
  DefineCustomStringVariable("llmeval.langsmith_endpoint",
                             "LangSmith API URL the workers export runs to; empty: no tracing.",
                             nullptr, &setting_langsmith_endpoint, "", PGC_SIGHUP, 0, nullptr,
                             nullptr, nullptr);
  DefineCustomStringVariable("llmeval.langsmith_api_key_env",
                             "Environment variable holding the LangSmith API key.", nullptr,
                             &setting_langsmith_api_key_env, "LANGSMITH_API_KEY", PGC_SIGHUP, 0,
                             nullptr, nullptr, nullptr);
  DefineCustomStringVariable("llmeval.langsmith_project", "LangSmith project (session) name.",
                             nullptr, &setting_langsmith_project, "pg_llmeval", PGC_SIGHUP, 0,
                             nullptr, nullptr, nullptr);
  DefineCustomIntVariable("llmeval.retention_days",
                          "Days responses and events are kept by llmeval.maintenance().", nullptr,
                          &setting_retention_days, 30, 1, 36500, PGC_SIGHUP, 0, nullptr, nullptr,
                          nullptr);
  // A tenant's SQL metric runs inside a worker's write-back: bounded, so
  // that no tenant's function can hold the worker (superuser-only).
  DefineCustomIntVariable("llmeval.sql_metric_timeout_ms",
                          "Time one call of a tenant's SQL metric may take before it is cancelled.",
                          nullptr, &setting_sql_metric_timeout_ms, 5000, 1, 3600000, PGC_SUSET,
                          GUC_UNIT_MS, nullptr, nullptr, nullptr);
  DefineCustomBoolVariable("llmeval.share_caches",
                           "Whether tenants share the response and embedding caches.",
                           "Off: each tenant has its own; a shared cache tells a tenant, by a cost "
                           "of 0, that another tenant sent the same request.",
                           &setting_share_caches, false, PGC_SUSET, 0, nullptr, nullptr, nullptr);
  // Set by the workers for their write-backs (SET LOCAL): how long the job
  // counters' trigger tries for a busy job row before it gives up (55P03),
  // so that a worker never waits on a row a tenant holds. 0: wait, as
  // everyone else does.
  DefineCustomIntVariable("llmeval.job_lock_wait_ms",
                          "How long a write-back tries for a busy job row (internal; 0: wait).",
                          nullptr, &setting_job_lock_wait_ms, 0, 0, 60000, PGC_USERSET,
                          GUC_NOT_IN_SAMPLE, nullptr, nullptr, nullptr);
  // On in the workers' sessions: their changes of tasks leave the job
  // counters to be folded at the end of each transaction, by whichever
  // worker gets the job's row without waiting (see 72_triggers.sql).
  DefineCustomBoolVariable("llmeval.defer_job_counters",
                           "Whether task changes leave job counters to be folded later (internal).",
                           nullptr, &setting_defer_job_counters, false, PGC_SUSET,
                           GUC_NOT_IN_SAMPLE | GUC_NO_SHOW_ALL, nullptr, nullptr, nullptr);
}

void RegisterWorkers() {
  for (int i = 0; i < setting_workers; ++i) {
    BackgroundWorker worker;
    memset(&worker, 0, sizeof worker);
    worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
    worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
    worker.bgw_restart_time = 1;  // seconds: restarted after a crash
    snprintf(worker.bgw_library_name, BGW_MAXLEN, "pg_llmeval");
    snprintf(worker.bgw_function_name, BGW_MAXLEN, "llmeval_worker_main");
    snprintf(worker.bgw_name, BGW_MAXLEN, "pg_llmeval worker %d", i + 1);
    snprintf(worker.bgw_type, BGW_MAXLEN, "pg_llmeval worker");
    worker.bgw_main_arg = Int32GetDatum(i);
    RegisterBackgroundWorker(&worker);
  }
}

}  // namespace
}  // namespace llmeval::pg

extern "C" {

PG_MODULE_MAGIC;

void _PG_init(void);

void _PG_init(void) {
  if (IsBinaryUpgrade) return;
  llmeval::pg::DefineSettings();
  // Settings under llmeval.* are ours: a misspelt one is an error, not a
  // silently ignored placeholder.
  MarkGUCPrefixReserved("llmeval");
  if (!process_shared_preload_libraries_in_progress) return;
  llmeval::pg::InstallEngineSharedMemoryHooks();
  llmeval::pg::RegisterWorkers();
}
}
