-- Observability: the workers' status, health checks, cumulative counters and
-- Prometheus metrics.

CREATE FUNCTION llmeval._worker_heartbeats()
RETURNS TABLE (worker int, pid int, heartbeat timestamptz, in_flight int, completed bigint,
               failed bigint, retried bigint)
AS 'MODULE_PATHNAME', 'llmeval_worker_heartbeats'
LANGUAGE C VOLATILE;

-- One row per running worker: its own report (shared memory, updated on
-- every pass of its loop, at least once a second) and its backend.
-- (security_invoker: a tenant sees the workers, but not what they are doing,
-- which can name another tenant's SQL metric; administrators with
-- pg_read_all_stats see everything)
CREATE VIEW llmeval.worker_status WITH (security_invoker = true) AS
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

-- When the oldest due pending task became due (NULL: none), what
-- health() and the llmeval_oldest_pending_seconds gauge report. A job
-- paused at its budget waits for its owner, not for the workers: its tasks
-- do not count.
CREATE FUNCTION llmeval._oldest_due_pending() RETURNS timestamptz
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT min(t.next_attempt_at)
  FROM llmeval.tasks t WHERE t.status = 'pending' AND t.next_attempt_at <= now()
    AND NOT EXISTS (SELECT 1 FROM llmeval.jobs j WHERE j.id = t.job_id AND j.status = 'paused')
$$;

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

  oldest := now() - llmeval._oldest_due_pending();
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

-- Cumulative counters for the Prometheus *_total series and the latency
-- histogram. They are not computed from the rows the database keeps:
-- maintenance() deletes old jobs and retry_failed() turns failed tasks back
-- into pending ones, and a series computed from those rows would go down,
-- which Prometheus reads as a counter reset. Statement-level triggers with
-- transition tables add each write's figures instead, once per statement
-- (a worker's write-back of a batch is one statement per table).
--
-- No hot row: each backend adds to rows of its own (shard = its pid), so
-- concurrent workers never wait on one another; readers sum the shards.
-- maintenance() folds the shards of backends that have exited into shard 0
-- and drops the counters of deleted models, so the table stays small.
-- A rewritten response (the write-backs set created_at again) is a new call
-- and counts again; responses and events deleted count nothing.
CREATE TABLE llmeval.counter_shards (
  metric   text NOT NULL,
  tenant   text NOT NULL,
  model_id int NOT NULL DEFAULT 0,    -- 0: a series without a model label
  label    text NOT NULL DEFAULT '',  -- outcome, error code, direction or bucket bound
  shard    int NOT NULL,              -- the adding backend's pid; 0 once folded
  value    numeric NOT NULL DEFAULT 0 CHECK (value >= 0),
  PRIMARY KEY (metric, tenant, model_id, label, shard)
) WITH (fillfactor = 50);  -- room for HOT updates: every write-back updates a row
COMMENT ON TABLE llmeval.counter_shards IS
  'cumulative counters behind the Prometheus *_total series, one row per writing backend; read llmeval.counters';
REVOKE ALL ON llmeval.counter_shards FROM PUBLIC;
GRANT SELECT ON llmeval.counter_shards TO llmeval_user;
ALTER TABLE llmeval.counter_shards ENABLE ROW LEVEL SECURITY;
-- (read only: only the triggers below, as the extension owner, write)
CREATE POLICY tenant_read ON llmeval.counter_shards FOR SELECT
  USING (tenant = (SELECT llmeval.current_tenant()));
CREATE POLICY admin_read ON llmeval.counter_shards FOR SELECT TO llmeval_admin USING (true);

-- The counters, shards summed, per tenant (row-level security: a tenant
-- sees its own).
CREATE VIEW llmeval.counters WITH (security_invoker = true) AS
SELECT c.metric, c.tenant, m.name AS model, c.label, sum(c.value) AS value
FROM llmeval.counter_shards c
LEFT JOIN llmeval.models m ON m.id = c.model_id
WHERE c.model_id = 0 OR m.id IS NOT NULL
GROUP BY c.metric, c.tenant, m.name, c.label;
COMMENT ON VIEW llmeval.counters IS
  'cumulative counters (tasks finished, provider errors, retries, latency histogram, tokens, cost) that never decrease';
GRANT SELECT ON llmeval.counters TO llmeval_user;

-- The latency histogram's upper bounds, in seconds.
CREATE FUNCTION llmeval._latency_buckets() RETURNS float8[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT ARRAY[0.1, 0.25, 0.5, 1, 2.5, 5, 10, 'Infinity']::float8[] $$;

-- Adds deltas to this backend's shards; rows in key order, so that one
-- statement never locks two rows in an order another statement reverses.
CREATE FUNCTION llmeval._count(metrics text[], tenants text[], model_ids int[], labels text[],
                               deltas numeric[])
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
  INSERT INTO llmeval.counter_shards AS c (metric, tenant, model_id, label, shard, value)
  SELECT d.metric, d.tenant, d.model_id, d.label, pg_backend_pid(), sum(d.delta)
  FROM unnest(metrics, tenants, model_ids, labels, deltas) AS d(metric, tenant, model_id, label, delta)
  WHERE d.delta > 0
  GROUP BY d.metric, d.tenant, d.model_id, d.label
  ORDER BY d.metric, d.tenant, d.model_id, d.label
  ON CONFLICT (metric, tenant, model_id, label, shard) DO UPDATE SET value = c.value + EXCLUDED.value;
END
$$;

-- Tasks that reached completed or failed (from another status, or inserted
-- so). The trigger functions are the extension owner's: tenants' statements
-- fire them (through submit_job, retry_failed, ...), and tenants cannot
-- write the counters themselves.
CREATE FUNCTION llmeval._count_tasks_finished() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    PERFORM llmeval._count(array_agg('tasks_finished'::text), array_agg(x.tenant), array_agg(x.model_id),
                           array_agg(x.status), array_agg(x.n))
    FROM (SELECT n.tenant, n.model_id, n.status, count(*)::numeric AS n
          FROM new_tasks n
          WHERE n.status IN ('completed', 'failed')
            AND NOT EXISTS (SELECT 1 FROM old_tasks o WHERE o.id = n.id AND o.status = n.status)
          GROUP BY 1, 2, 3) x
    HAVING count(*) > 0;
  ELSE
    PERFORM llmeval._count(array_agg('tasks_finished'::text), array_agg(x.tenant), array_agg(x.model_id),
                           array_agg(x.status), array_agg(x.n))
    FROM (SELECT n.tenant, n.model_id, n.status, count(*)::numeric AS n
          FROM new_tasks n WHERE n.status IN ('completed', 'failed')
          GROUP BY 1, 2, 3) x
    HAVING count(*) > 0;
  END IF;
  RETURN NULL;
END $$;

-- Provider calls written back (parallel arrays, one element per call):
-- latency histogram and its sum (calls with an output), tokens and cost,
-- by the task's model.
CREATE FUNCTION llmeval._count_calls(task_ids bigint[], tenants text[], answered boolean[],
                                     latencies_ms float8[], input_tokens int[], output_tokens int[],
                                     costs numeric[])
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
  PERFORM FROM (
  WITH calls AS (
    SELECT x.tenant, t.model_id, x.answered AND x.latency IS NOT NULL AS timed,
           x.latency / 1000 AS seconds, x.itok, x.otok, x.cost
    FROM unnest(task_ids, tenants, answered, latencies_ms, input_tokens, output_tokens, costs)
      AS x(task_id, tenant, answered, latency, itok, otok, cost)
    JOIN llmeval.tasks t ON t.id = x.task_id
  ), deltas AS (
    SELECT 'request_latency_bucket' AS metric, c.tenant, c.model_id,
           CASE WHEN b.le = 'Infinity' THEN '+Inf' ELSE b.le::text END AS label,
           count(*)::numeric AS delta
    FROM calls c JOIN unnest(llmeval._latency_buckets()) AS b(le) ON c.seconds <= b.le
    WHERE c.timed
    GROUP BY 1, 2, 3, 4
    UNION ALL
    SELECT 'request_latency_sum', c.tenant, c.model_id, '', sum(c.seconds)::numeric
    FROM calls c WHERE c.timed GROUP BY 1, 2, 3, 4
    UNION ALL
    SELECT 'tokens', c.tenant, c.model_id, d.direction, d.n
    FROM (SELECT c.tenant, c.model_id, coalesce(sum(c.itok), 0)::numeric AS itok,
                 coalesce(sum(c.otok), 0)::numeric AS otok
          FROM calls c GROUP BY 1, 2) c
    CROSS JOIN LATERAL (VALUES ('input', c.itok), ('output', c.otok)) AS d(direction, n)
    UNION ALL
    SELECT 'cost', c.tenant, c.model_id, '', coalesce(sum(c.cost), 0) FROM calls c GROUP BY 1, 2, 3, 4
  )
  SELECT llmeval._count(array_agg(d.metric), array_agg(d.tenant), array_agg(d.model_id),
                        array_agg(d.label), array_agg(d.delta))
  FROM deltas d
  ) AS done;
END
$$;

CREATE FUNCTION llmeval._count_responses() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    -- a rewritten response (the write-backs set created_at again) is a new call
    PERFORM llmeval._count_calls(array_agg(n.task_id), array_agg(n.tenant), array_agg(n.output IS NOT NULL),
                                 array_agg(n.latency_ms), array_agg(n.input_tokens),
                                 array_agg(n.output_tokens), array_agg(n.cost))
    FROM new_responses n JOIN old_responses o ON o.task_id = n.task_id
    WHERE n.created_at IS DISTINCT FROM o.created_at
    HAVING count(*) > 0;
    PERFORM llmeval._append_job_cost(array_agg(n.task_id), array_agg(n.cost))
    FROM new_responses n JOIN old_responses o ON o.task_id = n.task_id
    WHERE n.created_at IS DISTINCT FROM o.created_at AND n.cost > 0
    HAVING count(*) > 0;
  ELSE
    PERFORM llmeval._count_calls(array_agg(n.task_id), array_agg(n.tenant), array_agg(n.output IS NOT NULL),
                                 array_agg(n.latency_ms), array_agg(n.input_tokens),
                                 array_agg(n.output_tokens), array_agg(n.cost))
    FROM new_responses n
    HAVING count(*) > 0;
    PERFORM llmeval._append_job_cost(array_agg(n.task_id), array_agg(n.cost))
    FROM new_responses n WHERE n.cost > 0
    HAVING count(*) > 0;
  END IF;
  RETURN NULL;
END $$;

-- Failed provider calls (task_retry and task_failed events): by HTTP status
-- or transport error, and the retries among them.
CREATE FUNCTION llmeval._count_events() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM llmeval._count(array_agg(x.metric), array_agg(x.tenant), array_agg(0),
                         array_agg(x.label), array_agg(x.n))
  FROM (SELECT m.metric, e.tenant, m.label, count(*)::numeric AS n
        FROM new_events e
        CROSS JOIN LATERAL (
          VALUES ('provider_errors', coalesce(substring(e.detail ->> 'error' FROM '^HTTP ([0-9]{3})'),
                                              substring(e.detail ->> 'error' FROM '^([a-z ]+):'), 'other')),
                 ('retries', CASE WHEN e.kind = 'task_retry' THEN '' END)) AS m(metric, label)
        WHERE e.kind IN ('task_retry', 'task_failed') AND m.label IS NOT NULL
        GROUP BY 1, 2, 3) x
  HAVING count(*) > 0;
  RETURN NULL;
END $$;

-- (Named to fire after the job counters' triggers, which are AFTER
-- triggers of the same statements: alphabetical order.)
CREATE TRIGGER zz_counters_inserted AFTER INSERT ON llmeval.tasks
  REFERENCING NEW TABLE AS new_tasks
  FOR EACH STATEMENT EXECUTE FUNCTION llmeval._count_tasks_finished();
CREATE TRIGGER zz_counters_updated AFTER UPDATE ON llmeval.tasks
  REFERENCING OLD TABLE AS old_tasks NEW TABLE AS new_tasks
  FOR EACH STATEMENT EXECUTE FUNCTION llmeval._count_tasks_finished();
CREATE TRIGGER zz_counters_inserted AFTER INSERT ON llmeval.responses
  REFERENCING NEW TABLE AS new_responses
  FOR EACH STATEMENT EXECUTE FUNCTION llmeval._count_responses();
CREATE TRIGGER zz_counters_updated AFTER UPDATE ON llmeval.responses
  REFERENCING OLD TABLE AS old_responses NEW TABLE AS new_responses
  FOR EACH STATEMENT EXECUTE FUNCTION llmeval._count_responses();
CREATE TRIGGER zz_counters_inserted AFTER INSERT ON llmeval.events
  REFERENCING NEW TABLE AS new_events
  FOR EACH STATEMENT EXECUTE FUNCTION llmeval._count_events();

-- For maintenance(): the shards of backends that have exited are added to
-- shard 0 (one transaction: readers see the sum before or after, never
-- half), and the counters of deleted models dropped. Returns the rows
-- removed. A new backend reusing a pid waits on the row being folded,
-- then starts a fresh one.
CREATE FUNCTION llmeval._fold_counter_shards()
RETURNS bigint
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
  WITH dropped AS (
    DELETE FROM llmeval.counter_shards c
    WHERE c.model_id <> 0 AND NOT EXISTS (SELECT 1 FROM llmeval.models m WHERE m.id = c.model_id)
    RETURNING 1
  ), gone AS (
    DELETE FROM llmeval.counter_shards c
    WHERE c.shard <> 0 AND c.shard NOT IN (SELECT a.pid FROM pg_stat_get_activity(NULL) a)
      AND (c.model_id = 0 OR EXISTS (SELECT 1 FROM llmeval.models m WHERE m.id = c.model_id))
    RETURNING c.metric, c.tenant, c.model_id, c.label, c.value
  ), folded AS (
    INSERT INTO llmeval.counter_shards AS c (metric, tenant, model_id, label, shard, value)
    SELECT g.metric, g.tenant, g.model_id, g.label, 0, sum(g.value)
    FROM gone g GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (metric, tenant, model_id, label, shard) DO UPDATE SET value = c.value + EXCLUDED.value
  )
  SELECT (SELECT count(*) FROM dropped) + (SELECT count(*) FROM gone)
$$;
REVOKE ALL ON FUNCTION llmeval._count(text[], text[], int[], text[], numeric[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._count_calls(bigint[], text[], boolean[], float8[], int[], int[], numeric[])
  FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._fold_counter_shards() FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._count_tasks_finished() FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._count_responses() FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._count_events() FROM PUBLIC;

-- A Prometheus label value: backslash, double quote and newline escaped.
CREATE FUNCTION llmeval._prom_label(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT replace(replace(replace(coalesce(value, ''), E'\\', E'\\\\'), '"', E'\\"'), E'\n', E'\\n') $$;

-- Metrics in the Prometheus text exposition format (version 0.0.4), for a
-- scrape through prometheus-postgres-exporter or any HTTP bridge. Gauges
-- are read from the queue; the *_total counters and the latency histogram
-- (base units: seconds) from llmeval.counters, so they never decrease.
-- Every model counted gets all its series, at 0 until it has some. With
-- row-level security, a tenant sees its own numbers; the exporter's role
-- (an administrator) sees all.
CREATE FUNCTION llmeval.prometheus_metrics()
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
  WITH c AS (
    SELECT k.metric, k.model, k.label, sum(k.value) AS value
    FROM llmeval.counters k GROUP BY k.metric, k.model, k.label
  ), models AS (
    SELECT DISTINCT c.model, dense_rank() OVER (ORDER BY c.model) AS rank
    FROM c WHERE c.model IS NOT NULL
  ), buckets AS (
    SELECT b.i, CASE WHEN b.le = 'Infinity' THEN '+Inf' ELSE b.le::text END AS le
    FROM unnest(llmeval._latency_buckets()) WITH ORDINALITY AS b(le, i)
  ), lines AS (
    SELECT 1 AS part, 0 AS ord, E'# HELP llmeval_tasks Tasks in the queue by status.\n# TYPE llmeval_tasks gauge' AS line
    UNION ALL
    SELECT 1, 1, format('llmeval_tasks{status="%s"} %s', s.status, coalesce(n.n, 0))
    FROM unnest(ARRAY['pending', 'running', 'completed', 'failed', 'cancelled']) AS s(status)
    LEFT JOIN (SELECT t.status, count(*) AS n FROM llmeval.tasks t GROUP BY t.status) n ON n.status = s.status
    UNION ALL
    SELECT 2, 0, E'# HELP llmeval_oldest_pending_seconds Age of the oldest due pending task (not counting jobs paused at their budget).\n# TYPE llmeval_oldest_pending_seconds gauge'
    UNION ALL
    SELECT 2, 1, format('llmeval_oldest_pending_seconds %s',
                        coalesce(round(extract(epoch FROM now() - llmeval._oldest_due_pending())::numeric, 3), 0))
    UNION ALL
    SELECT 3, 0, E'# HELP llmeval_tasks_finished_total Tasks that ended, by model and outcome.\n# TYPE llmeval_tasks_finished_total counter'
    UNION ALL
    SELECT 3, m.rank, format('llmeval_tasks_finished_total{model="%s",outcome="%s"} %s', llmeval._prom_label(m.model),
                             o.outcome, trim_scale(coalesce(c.value, 0)))
    FROM models m CROSS JOIN unnest(ARRAY['completed', 'failed']) AS o(outcome)
    LEFT JOIN c ON c.metric = 'tasks_finished' AND c.model = m.model AND c.label = o.outcome
    UNION ALL
    SELECT 4, 0, E'# HELP llmeval_provider_errors_total Failed provider calls by HTTP status or transport error.\n# TYPE llmeval_provider_errors_total counter'
    UNION ALL
    SELECT 4, 1, format('llmeval_provider_errors_total{code="%s"} %s', llmeval._prom_label(c.label), trim_scale(c.value))
    FROM c WHERE c.metric = 'provider_errors'
    UNION ALL
    SELECT 5, 0, E'# HELP llmeval_retries_total Provider calls put back for a retry.\n# TYPE llmeval_retries_total counter'
    UNION ALL
    SELECT 5, 1, format('llmeval_retries_total %s', trim_scale(coalesce(sum(c.value), 0)))
    FROM c WHERE c.metric = 'retries'
    UNION ALL
    SELECT 6, 0, E'# HELP llmeval_request_latency_seconds Latency of completed provider calls.\n# TYPE llmeval_request_latency_seconds histogram'
    UNION ALL
    SELECT 6, 100 * m.rank + b.i, format('llmeval_request_latency_seconds_bucket{model="%s",le="%s"} %s',
                                         llmeval._prom_label(m.model), b.le, trim_scale(coalesce(c.value, 0)))
    FROM models m CROSS JOIN buckets b
    LEFT JOIN c ON c.metric = 'request_latency_bucket' AND c.model = m.model AND c.label = b.le
    UNION ALL
    SELECT 6, 100 * m.rank + 50,
           format(E'llmeval_request_latency_seconds_sum{model="%1$s"} %2$s\nllmeval_request_latency_seconds_count{model="%1$s"} %3$s',
                  llmeval._prom_label(m.model), trim_scale(coalesce(s.value, 0)), trim_scale(coalesce(n.value, 0)))
    FROM models m
    LEFT JOIN c s ON s.metric = 'request_latency_sum' AND s.model = m.model
    LEFT JOIN c n ON n.metric = 'request_latency_bucket' AND n.model = m.model AND n.label = '+Inf'
    UNION ALL
    SELECT 7, 0, E'# HELP llmeval_tokens_total Tokens used, by model and direction.\n# TYPE llmeval_tokens_total counter'
    UNION ALL
    SELECT 7, m.rank, format('llmeval_tokens_total{model="%s",direction="%s"} %s', llmeval._prom_label(m.model),
                             d.direction, trim_scale(coalesce(c.value, 0)))
    FROM models m CROSS JOIN unnest(ARRAY['input', 'output']) AS d(direction)
    LEFT JOIN c ON c.metric = 'tokens' AND c.model = m.model AND c.label = d.direction
    UNION ALL
    SELECT 8, 0, E'# HELP llmeval_cost_total Cost of provider calls, by model (the price table''s currency).\n# TYPE llmeval_cost_total counter'
    UNION ALL
    SELECT 8, m.rank, format('llmeval_cost_total{model="%s"} %s', llmeval._prom_label(m.model),
                             trim_scale(coalesce(c.value, 0)))
    FROM models m LEFT JOIN c ON c.metric = 'cost' AND c.model = m.model
    UNION ALL
    SELECT 9, 0, E'# HELP llmeval_worker_up Whether a worker heartbeat is recent (30 s).\n# TYPE llmeval_worker_up gauge\n# HELP llmeval_worker_heartbeat_age_seconds Seconds since a worker''s last heartbeat.\n# TYPE llmeval_worker_heartbeat_age_seconds gauge'
    UNION ALL
    SELECT 9, w.worker, format(E'llmeval_worker_up{worker="%1$s"} %2$s\nllmeval_worker_heartbeat_age_seconds{worker="%1$s"} %3$s',
                               w.worker, (w.heartbeat_age < interval '30 seconds')::int,
                               round(extract(epoch FROM w.heartbeat_age)::numeric, 3))
    FROM llmeval.worker_status w
    UNION ALL
    SELECT 10, 0, E'# HELP llmeval_online_score_mean Mean of an online rule''s metric over its alert window (default the last hour).\n# TYPE llmeval_online_score_mean gauge\n# HELP llmeval_online_alert_state Whether an online rule''s metric is below its alert_below (1) or not (0).\n# TYPE llmeval_online_alert_state gauge'
    UNION ALL
    SELECT 10, 1, format('llmeval_online_score_mean{tenant="%s",rule="%s",metric="%s"} %s', llmeval._prom_label(g.tenant),
                         llmeval._prom_label(g.rule), llmeval._prom_label(g.metric), g.mean)
    FROM llmeval.online_gauges g WHERE g.n > 0
    UNION ALL
    SELECT 10, 2, format('llmeval_online_alert_state{tenant="%s",rule="%s",metric="%s"} %s', llmeval._prom_label(g.tenant),
                         llmeval._prom_label(g.rule), llmeval._prom_label(g.metric), g.alerting::int)
    FROM llmeval.online_gauges g WHERE g.alert_below IS NOT NULL
    UNION ALL
    SELECT 11, 0, E'# HELP llmeval_jobs_paused Jobs paused at their budget (max_cost_usd), by tenant.\n# TYPE llmeval_jobs_paused gauge\n# HELP llmeval_job_budget_used_ratio Share of its max_cost_usd a job not yet ended has spent.\n# TYPE llmeval_job_budget_used_ratio gauge'
    UNION ALL
    SELECT 11, 1, format('llmeval_jobs_paused{tenant="%s"} %s', llmeval._prom_label(j.tenant), count(*))
    FROM llmeval.jobs j WHERE j.status = 'paused' GROUP BY j.tenant
    UNION ALL
    SELECT 11, 2, format('llmeval_job_budget_used_ratio{tenant="%s",job_id="%s"} %s', llmeval._prom_label(j.tenant), j.id,
                         trim_scale(round(j.spent / (j.options ->> 'max_cost_usd')::numeric, 6)))
    FROM llmeval.jobs j WHERE j.status IN ('queued', 'running', 'paused') AND j.options ? 'max_cost_usd'
    UNION ALL
    SELECT 12, 0, E'# HELP llmeval_tenant_budget_used_ratio Share of its daily budget a tenant has spent today (UTC).\n# TYPE llmeval_tenant_budget_used_ratio gauge'
    UNION ALL
    SELECT 12, 1, format('llmeval_tenant_budget_used_ratio{tenant="%s"} %s', llmeval._prom_label(u.tenant),
                         trim_scale(round(u.spent_today / u.daily_usd, 6)))
    FROM llmeval.tenant_budget_use u
  )
  SELECT string_agg(line, E'\n' ORDER BY part, ord, line) || E'\n' FROM lines
$$;
COMMENT ON FUNCTION llmeval.prometheus_metrics() IS
  'queue, outcomes, provider errors, retries, latency histogram (seconds), tokens, cost, worker heartbeats, online rules'' score means and alert states, and job and tenant budgets in Prometheus text format; the *_total series never decrease';

-- (trigger functions: never called directly, and not by anyone)
REVOKE ALL ON FUNCTION llmeval._count_tasks_finished() FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._count_responses() FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._count_events() FROM PUBLIC;
