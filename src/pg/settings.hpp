// The llmeval.* settings (defined in module.cpp).
#pragma once

namespace llmeval::pg {

extern char* setting_database_name;  // where the workers run (postmaster)
extern int setting_workers;          // how many (postmaster)
extern int setting_max_inflight;     // concurrent HTTP requests per worker (sighup)
extern int setting_connect_timeout_ms;
extern int setting_request_timeout_ms;
extern int setting_max_attempts;     // calls per task before it fails
extern int setting_lease_seconds;    // how long a claim lasts without its worker
extern int setting_batch_poll_interval_ms;  // how often a provider batch is asked about (sighup)
extern int setting_batch_max_lines;         // requests per provider batch at most (sighup)
extern int setting_retention_days;   // kept for maintenance()
extern int setting_job_lock_wait_ms;     // a write-back's try for a busy job row (internal)
extern bool setting_defer_job_counters;  // workers fold job counters themselves (internal)
extern bool setting_share_caches;       // tenants share caches (superuser)
extern int setting_sql_metric_timeout_ms;  // one call of a tenant's SQL metric (superuser)
extern char* setting_judge_model;      // default judge model of new jobs (superuser)
extern char* setting_embedding_model;  // default embedding model of new jobs (superuser)
extern char* setting_langsmith_endpoint;     // tracing export URL; empty: off (sighup)
extern char* setting_langsmith_api_key_env;  // environment variable with its key
extern char* setting_langsmith_project;
extern char* setting_api_key_env_names;  // variables that may hold provider keys (superuser)
extern char* setting_provider_hosts;     // hosts providers may use; empty: any (superuser)

}  // namespace llmeval::pg
