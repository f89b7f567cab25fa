-- Observability: the workers' status, health checks and Prometheus metrics.

CREATE FUNCTION llmeval._worker_heartbeats()
RETURNS TABLE (worker int, pid int, heartbeat timestamptz, in_flight int, completed bigint,
               failed bigint, retried bigint)
AS 'MODULE_PATHNAME', 'llmeval_worker_heartbeats'
LANGUAGE C VOLATILE;

-- One row per running worker: its own report (shared memory, updated on
-- every pass of its loop, at least once a second) and its backend.
CREATE VIEW llmeval.worker_status AS
SELECT h.worker, h.pid, h.heartbeat, now() - h.heartbeat AS heartbeat_age, h.in_flight,
       h.completed, h.failed, h.retried, a.datname AS database, a.backend_start, a.state,
       a.query AS activity
FROM llmeval._worker_heartbeats() h
LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = h.pid;
COMMENT ON VIEW llmeval.worker_status IS
  'the pg_llmeval workers: heartbeat, calls in flight, tasks completed, failed and retried since start';
GRANT SELECT ON llmeval.worker_status TO llmeval_user;

-- A job's life, in order: submitted, status changes, retries and failures.
CREATE VIEW llmeval.job_events WITH (security_invoker = true) AS
SELECT e.job_id, e.correlation_id, e.created_at, e.kind, e.task_id, e.detail
FROM llmeval.events e
ORDER BY e.job_id, e.id;
COMMENT ON VIEW llmeval.job_events IS 'what happened to each job and its tasks, in order';
GRANT SELECT ON llmeval.job_events TO llmeval_user;

-- Overall status and checks: workers alive and heartbeating, age of the
-- oldest due task, provider error rate over the last 15 minutes, pg_cron
-- jobs present. Each check is ok, warning or failing; the status is the
-- worst of them.
CREATE FUNCTION llmeval.health(max_queue_age interval DEFAULT '15 minutes',
                               max_error_rate float8 DEFAULT 0.2)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  expected int := coalesce(nullif(current_setting('llmeval.workers', true), '')::int, 0);
  alive int;
  beating int;
  oldest interval;
  calls bigint;
  errors bigint;
  rate float8;
  cron_jobs int;
  checks jsonb := '{}';
  worst int := 0;
  level text[] := ARRAY['ok', 'warning', 'failing'];
  severity int;
BEGIN
  SELECT count(*), count(*) FILTER (WHERE w.heartbeat_age < interval '30 seconds')
  INTO alive, beating FROM llmeval.worker_status w;
  severity := CASE WHEN expected = 0 THEN 1 WHEN beating = 0 THEN 2 WHEN beating < expected THEN 1 ELSE 0 END;
  checks := checks || jsonb_build_object('workers', jsonb_build_object(
    'status', level[severity + 1], 'expected', expected, 'alive', alive, 'heartbeating', beating,
    'detail', CASE WHEN expected = 0 THEN 'no workers: pg_llmeval is not in shared_preload_libraries, or llmeval.workers = 0' END));
  worst := greatest(worst, severity);

  SELECT now() - min(t.next_attempt_at) INTO oldest
  FROM llmeval.tasks t WHERE t.status = 'pending' AND t.next_attempt_at <= now();
  severity := CASE WHEN oldest IS NULL OR oldest <= max_queue_age THEN 0
                   WHEN oldest <= 2 * max_queue_age THEN 1 ELSE 2 END;
  checks := checks || jsonb_build_object('queue', jsonb_build_object(
    'status', level[severity + 1], 'oldest_due_seconds', round(extract(epoch FROM coalesce(oldest, '0')))::bigint,
    'pending', (SELECT count(*) FROM llmeval.tasks t WHERE t.status = 'pending'),
    'running', (SELECT count(*) FROM llmeval.tasks t WHERE t.status = 'running')));
  worst := greatest(worst, severity);

  SELECT count(*) INTO calls FROM llmeval.responses r WHERE r.created_at > now() - interval '15 minutes';
  SELECT count(*) INTO errors FROM llmeval.events e
  WHERE e.created_at > now() - interval '15 minutes' AND e.kind IN ('task_retry', 'task_failed');
  rate := errors::float8 / nullif(calls + errors, 0);
  severity := CASE WHEN coalesce(rate, 0) <= max_error_rate THEN 0
                   WHEN rate <= 2 * max_error_rate THEN 1 ELSE 2 END;
  checks := checks || jsonb_build_object('provider_errors', jsonb_build_object(
    'status', level[severity + 1], 'calls_15m', calls + errors, 'errors_15m', errors,
    'error_rate', round(coalesce(rate, 0)::numeric, 4)));
  worst := greatest(worst, severity);

  IF to_regclass('cron.job') IS NULL THEN
    checks := checks || jsonb_build_object('pg_cron', jsonb_build_object(
      'status', 'warning', 'detail', 'pg_cron is not installed in this database'));
    worst := greatest(worst, 1);
  ELSE
    EXECUTE 'SELECT count(*) FROM cron.job WHERE jobname LIKE ''llmeval\_%'' AND active' INTO cron_jobs;
    severity := CASE WHEN cron_jobs >= 3 THEN 0 ELSE 1 END;
    checks := checks || jsonb_build_object('pg_cron', jsonb_build_object(
      'status', level[severity + 1], 'jobs', cron_jobs,
      'detail', CASE WHEN cron_jobs < 3 THEN 'call llmeval.schedule_jobs()' END));
    worst := greatest(worst, severity);
  END IF;
  RETURN jsonb_build_object('status', level[worst + 1], 'checked_at', now(), 'checks', checks);
END $$;
COMMENT ON FUNCTION llmeval.health(interval, float8) IS
  'overall status (ok, warning, failing) and checks: workers, queue age, provider error rate, pg_cron jobs';

-- A Prometheus label value: backslash, double quote and newline escaped.
CREATE FUNCTION llmeval._prom_label(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT replace(replace(replace(coalesce(value, ''), E'\\', E'\\\\'), '"', E'\\"'), E'\n', E'\\n') $$;

-- Metrics in the Prometheus text exposition format (version 0.0.4), for a
-- scrape through prometheus-postgres-exporter or any HTTP bridge. With
-- row-level security, a tenant sees its own numbers; the exporter's role
-- (an administrator) sees all.
CREATE FUNCTION llmeval.prometheus_metrics()
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
  WITH lines AS (
    SELECT 1 AS part, 0 AS ord, E'# HELP llmeval_tasks Tasks in the queue by status.\n# TYPE llmeval_tasks gauge' AS line
    UNION ALL
    SELECT 1, 1, format('llmeval_tasks{status="%s"} %s', s.status, coalesce(c.n, 0))
    FROM unnest(ARRAY['pending', 'running', 'completed', 'failed', 'cancelled']) AS s(status)
    LEFT JOIN (SELECT t.status, count(*) AS n FROM llmeval.tasks t GROUP BY t.status) c ON c.status = s.status
    UNION ALL
    SELECT 2, 0, E'# HELP llmeval_oldest_pending_seconds Age of the oldest due pending task.\n# TYPE llmeval_oldest_pending_seconds gauge'
    UNION ALL
    SELECT 2, 1, format('llmeval_oldest_pending_seconds %s', coalesce(round(extract(epoch FROM now() - min(t.next_attempt_at))::numeric, 3), 0))
    FROM llmeval.tasks t WHERE t.status = 'pending' AND t.next_attempt_at <= now()
    UNION ALL
    SELECT 3, 0, E'# HELP llmeval_tasks_finished_total Tasks that ended, by model and outcome.\n# TYPE llmeval_tasks_finished_total counter'
    UNION ALL
    SELECT 3, 1, format('llmeval_tasks_finished_total{model="%s",outcome="%s"} %s', llmeval._prom_label(m.name), t.status, count(*))
    FROM llmeval.tasks t JOIN llmeval.models m ON m.id = t.model_id
    WHERE t.status IN ('completed', 'failed') GROUP BY m.name, t.status
    UNION ALL
    SELECT 4, 0, E'# HELP llmeval_provider_errors_total Failed provider calls by HTTP status or transport error.\n# TYPE llmeval_provider_errors_total counter'
    UNION ALL
    SELECT 4, 1, format('llmeval_provider_errors_total{code="%s"} %s', llmeval._prom_label(x.code), count(*))
    FROM (SELECT coalesce(substring(e.detail ->> 'error' FROM '^HTTP ([0-9]{3})'),
                          substring(e.detail ->> 'error' FROM '^([a-z ]+):'), 'other') AS code
          FROM llmeval.events e WHERE e.kind IN ('task_retry', 'task_failed')) x
    GROUP BY x.code
    UNION ALL
    SELECT 5, 0, E'# HELP llmeval_retries_total Provider calls put back for a retry.\n# TYPE llmeval_retries_total counter'
    UNION ALL
    SELECT 5, 1, format('llmeval_retries_total %s', count(*)) FROM llmeval.events e WHERE e.kind = 'task_retry'
    UNION ALL
    SELECT 6, 0, E'# HELP llmeval_request_latency_ms Latency of completed provider calls.\n# TYPE llmeval_request_latency_ms histogram'
    UNION ALL
    SELECT 6, 1 + b.i, format('llmeval_request_latency_ms_bucket{model="%s",le="%s"} %s', llmeval._prom_label(m.name),
                              CASE WHEN b.le = 'Infinity' THEN '+Inf' ELSE b.le::text END,
                              count(*) FILTER (WHERE r.latency_ms <= b.le))
    FROM llmeval.responses r JOIN llmeval.tasks t ON t.id = r.task_id JOIN llmeval.models m ON m.id = t.model_id
    CROSS JOIN unnest(ARRAY[100, 250, 500, 1000, 2500, 5000, 10000, 'Infinity']::float8[]) WITH ORDINALITY AS b(le, i)
    WHERE r.output IS NOT NULL
    GROUP BY m.name, b.le, b.i
    UNION ALL
    SELECT 6, 20, format(E'llmeval_request_latency_ms_sum{model="%1$s"} %2$s\nllmeval_request_latency_ms_count{model="%1$s"} %3$s',
                         llmeval._prom_label(m.name), coalesce(sum(r.latency_ms), 0), count(r.latency_ms))
    FROM llmeval.responses r JOIN llmeval.tasks t ON t.id = r.task_id JOIN llmeval.models m ON m.id = t.model_id
    WHERE r.output IS NOT NULL GROUP BY m.name
    UNION ALL
    SELECT 7, 0, E'# HELP llmeval_tokens_total Tokens used, by model and direction.\n# TYPE llmeval_tokens_total counter'
    UNION ALL
    SELECT 7, 1, format(E'llmeval_tokens_total{model="%1$s",direction="input"} %2$s\nllmeval_tokens_total{model="%1$s",direction="output"} %3$s',
                        llmeval._prom_label(m.name), coalesce(sum(r.input_tokens), 0), coalesce(sum(r.output_tokens), 0))
    FROM llmeval.responses r JOIN llmeval.tasks t ON t.id = r.task_id JOIN llmeval.models m ON m.id = t.model_id
    GROUP BY m.name
    UNION ALL
    SELECT 8, 0, E'# HELP llmeval_cost_total Cost of provider calls, by model (the price table''s currency).\n# TYPE llmeval_cost_total counter'
    UNION ALL
    SELECT 8, 1, format('llmeval_cost_total{model="%s"} %s', llmeval._prom_label(m.name), coalesce(sum(r.cost), 0))
    FROM llmeval.responses r JOIN llmeval.tasks t ON t.id = r.task_id JOIN llmeval.models m ON m.id = t.model_id
    GROUP BY m.name
    UNION ALL
    SELECT 9, 0, E'# HELP llmeval_worker_up Whether a worker heartbeat is recent (30 s).\n# TYPE llmeval_worker_up gauge\n# HELP llmeval_worker_heartbeat_age_seconds Seconds since a worker''s last heartbeat.\n# TYPE llmeval_worker_heartbeat_age_seconds gauge'
    UNION ALL
    SELECT 9, w.worker, format(E'llmeval_worker_up{worker="%1$s"} %2$s\nllmeval_worker_heartbeat_age_seconds{worker="%1$s"} %3$s',
                               w.worker, (w.heartbeat_age < interval '30 seconds')::int,
                               round(extract(epoch FROM w.heartbeat_age)::numeric, 3))
    FROM llmeval.worker_status w
  )
  SELECT string_agg(line, E'\n' ORDER BY part, ord, line) || E'\n' FROM lines
$$;
COMMENT ON FUNCTION llmeval.prometheus_metrics() IS
  'queue, outcomes, provider errors, retries, latency histogram, tokens, cost and worker heartbeats in Prometheus text format';
