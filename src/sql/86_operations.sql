-- Analytics (model comparison, regressions) and operations (maintenance,
-- pg_cron scheduling).

-- Whether a higher value of a metric is better (TER counts errors).
ALTER TABLE llmeval.metrics ADD COLUMN higher_is_better boolean NOT NULL DEFAULT true;
UPDATE llmeval.metrics SET higher_is_better = false WHERE tenant IS NULL AND name = 'ter';

-- Per model and metric of a job: n, mean and its 95% confidence interval
-- (Student's t), latency percentiles, tokens, cost and error rate.
CREATE FUNCTION llmeval.compare_models(job_id bigint)
RETURNS TABLE (model text, metric text, n bigint, mean float8, ci_low float8, ci_high float8,
               latency_p50_ms float8, latency_p95_ms float8, input_tokens bigint,
               output_tokens bigint, cost numeric, tasks bigint, error_rate float8)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
  WITH job AS (
    SELECT j.id, j.metrics FROM llmeval.jobs j WHERE j.id = compare_models.job_id
  ), per_model AS (
    SELECT r.model,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY r.latency_ms) AS p50,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY r.latency_ms) AS p95,
           sum(r.input_tokens)::bigint AS input_tokens, sum(r.output_tokens)::bigint AS output_tokens,
           coalesce(sum(r.cost), 0) AS cost, count(*) AS tasks,
           (count(*) FILTER (WHERE r.status = 'failed'))::float8
             / nullif(count(*) FILTER (WHERE r.status IN ('completed', 'failed')), 0) AS error_rate
    FROM llmeval.results r JOIN job ON r.job_id = job.id
    GROUP BY r.model
  ), per_metric AS (
    SELECT s.model, m.metric, array_agg(s.value) FILTER (WHERE s.value IS NOT NULL) AS v
    FROM job CROSS JOIN unnest(job.metrics) AS m(metric)
    JOIN llmeval.scores s ON s.job_id = job.id AND s.metric = m.metric
    GROUP BY s.model, m.metric
  )
  SELECT pm.model, x.metric, coalesce(cardinality(x.v), 0)::bigint,
         (SELECT avg(e) FROM unnest(x.v) e),
         t.ci_low, t.ci_high,
         pm.p50, pm.p95, pm.input_tokens, pm.output_tokens, pm.cost, pm.tasks, pm.error_rate
  FROM per_model pm
  LEFT JOIN per_metric x ON x.model = pm.model
  -- the CI of a mean is the paired test's CI of the mean difference from 0
  LEFT JOIN LATERAL (
    SELECT (p).ci_low, (p).ci_high
    FROM (SELECT llmeval.paired_t_test(x.v, array_fill(0::float8, ARRAY[cardinality(x.v)])) AS p
          WHERE cardinality(x.v) >= 2) s
  ) t ON true
  ORDER BY pm.model, x.metric
$$;
COMMENT ON FUNCTION llmeval.compare_models(bigint) IS
  'per model and metric of a job: n, mean, 95% CI, latency p50/p95, tokens, cost, error rate';

-- Two jobs compared on the test cases they share (same input and expected
-- answer) and the same model: a paired t-test per model and metric of the
-- difference job_b - job_a, with Holm's correction over all the rows
-- returned when several metrics (or models) are compared at once. The
-- verdict says how job_b does against job_a.
-- (The work is in _compare_jobs, whose names cannot clash: in PL/pgSQL the
-- parameter metric and the result column metric would be one name.)
CREATE FUNCTION llmeval._compare_jobs(p_job_a bigint, p_job_b bigint, p_metric text, p_alpha float8)
RETURNS TABLE (r_model text, r_metric text, r_n bigint, r_mean_a float8, r_mean_b float8,
               r_mean_diff float8, r_ci_low float8, r_ci_high float8, r_p_value float8,
               r_p_adjusted float8, r_verdict text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM llmeval.jobs j WHERE j.id = p_job_a) THEN
    RAISE EXCEPTION 'job % does not exist', p_job_a USING ERRCODE = 'undefined_object';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM llmeval.jobs j WHERE j.id = p_job_b) THEN
    RAISE EXCEPTION 'job % does not exist', p_job_b USING ERRCODE = 'undefined_object';
  END IF;
  IF p_alpha IS NULL OR p_alpha <= 0 OR p_alpha >= 1 THEN
    RAISE EXCEPTION 'alpha must be between 0 and 1' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  RETURN QUERY
  WITH scored AS (
    SELECT s.job_id, s.model, s.metric, s.value,
           llmeval._case_key(tc) AS case_key
    FROM llmeval.scores s JOIN llmeval.test_cases tc ON tc.id = s.test_case_id
    WHERE s.job_id IN (p_job_a, p_job_b) AND s.value IS NOT NULL
      AND (p_metric IS NULL OR s.metric = p_metric)
  ), pairs AS (
    SELECT a.model, a.metric, array_agg(a.value ORDER BY a.case_key) AS va,
           array_agg(b.value ORDER BY a.case_key) AS vb
    FROM scored a JOIN scored b
      ON b.job_id = p_job_b AND b.model = a.model AND b.metric = a.metric AND b.case_key = a.case_key
    WHERE a.job_id = p_job_a
    GROUP BY a.model, a.metric
  ), tested AS (
    SELECT p.model, p.metric, cardinality(p.va)::bigint AS n,
           (SELECT avg(x) FROM unnest(p.va) x) AS mean_a, (SELECT avg(x) FROM unnest(p.vb) x) AS mean_b,
           t.ci_low, t.ci_high, t.p_value,
           coalesce(m.higher_is_better, true) AS higher_is_better
    FROM pairs p
    LEFT JOIN LATERAL (SELECT (r).ci_low, (r).ci_high, (r).p_value
                       FROM (SELECT llmeval.paired_t_test(p.vb, p.va) AS r) s) t ON true
    LEFT JOIN LATERAL (SELECT m.higher_is_better FROM llmeval.metrics m
                       WHERE m.name = p.metric ORDER BY m.tenant NULLS FIRST LIMIT 1) m ON true
  ), ranked AS (
    SELECT t.*, row_number() OVER (ORDER BY t.p_value NULLS LAST) AS rank,
           count(t.p_value) OVER () AS family
    FROM tested t
  ), holm AS (
    -- Holm: the k-th smallest p times (m - k + 1), made monotone, capped at 1
    SELECT r.*, least(1, max(r.p_value * (r.family - r.rank + 1))
                         OVER (ORDER BY r.rank ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)) AS p_adj
    FROM ranked r
  )
  SELECT h.model, h.metric, h.n, h.mean_a, h.mean_b, h.mean_b - h.mean_a, h.ci_low, h.ci_high,
         h.p_value, h.p_adj,
         CASE WHEN h.p_adj IS NULL OR h.p_adj >= p_alpha THEN 'no significant difference'
              WHEN (h.mean_b > h.mean_a) = h.higher_is_better THEN 'better'
              ELSE 'worse' END
  FROM holm h
  ORDER BY h.model, h.metric;
END $$;

CREATE FUNCTION llmeval.compare_jobs(job_a bigint, job_b bigint, metric text DEFAULT NULL,
                                     alpha float8 DEFAULT 0.05)
RETURNS TABLE (model text, metric text, n bigint, mean_a float8, mean_b float8, mean_diff float8,
               ci_low float8, ci_high float8, p_value float8, p_adjusted float8, verdict text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT * FROM llmeval._compare_jobs(job_a, job_b, metric, alpha) $$;
COMMENT ON FUNCTION llmeval.compare_jobs(bigint, bigint, text, float8) IS
  'job_b against job_a on shared test cases: paired t-test per model and metric, Holm-corrected, with a verdict';

-- Named baselines for regression checks (per tenant).
CREATE TABLE llmeval.baselines (
  tenant     text NOT NULL DEFAULT llmeval.current_tenant(),
  name       text NOT NULL CHECK (name <> ''),
  job_id     bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, name),
  -- keyed with the tenant: a baseline names one of the tenant's own jobs
  FOREIGN KEY (job_id, tenant) REFERENCES llmeval.jobs (id, tenant) ON DELETE CASCADE
);
CREATE INDEX ON llmeval.baselines (job_id);
ALTER TABLE llmeval.baselines ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON llmeval.baselines
  USING (tenant = (SELECT llmeval.current_tenant()))
  WITH CHECK (tenant = (SELECT llmeval.current_tenant()));
CREATE POLICY admin_read ON llmeval.baselines FOR SELECT TO llmeval_admin USING (true);
GRANT SELECT, INSERT, UPDATE, DELETE ON llmeval.baselines TO llmeval_user;

CREATE FUNCTION llmeval.set_baseline(job_id bigint, name text DEFAULT 'default')
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
BEGIN
  -- Row-level security: only the caller's own jobs are visible.
  IF NOT EXISTS (SELECT 1 FROM llmeval.jobs j WHERE j.id = job_id) THEN
    RAISE EXCEPTION 'job % does not exist', job_id USING ERRCODE = 'undefined_object';
  END IF;
  INSERT INTO llmeval.baselines AS b (name, job_id) VALUES (name, job_id)
  ON CONFLICT ON CONSTRAINT baselines_pkey DO UPDATE SET job_id = EXCLUDED.job_id, updated_at = now();
END $$;
COMMENT ON FUNCTION llmeval.set_baseline(bigint, text) IS
  'makes a job the named baseline (default "default") that assert_no_regression compares against';

-- A CI gate: raises an error (so psql -v ON_ERROR_STOP=1 exits non-zero)
-- when job_id is significantly worse than the baseline on any metric, after
-- Holm's correction, by more than tolerance. Returns a summary otherwise.
CREATE FUNCTION llmeval.assert_no_regression(job_id bigint, baseline bigint DEFAULT NULL,
                                             metrics text[] DEFAULT NULL, alpha float8 DEFAULT 0.05,
                                             tolerance float8 DEFAULT 0)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  base bigint := baseline;
  worse text;
  compared int;
BEGIN
  IF base IS NULL THEN
    SELECT b.job_id INTO base FROM llmeval.baselines b
    WHERE b.name = 'default' AND b.tenant = llmeval.current_tenant();
    IF base IS NULL THEN
      RAISE EXCEPTION 'no baseline job' USING ERRCODE = 'undefined_object',
        HINT = 'Set one with llmeval.set_baseline(job_id) or pass baseline.';
    END IF;
  END IF;
  SELECT count(*), string_agg(format('%s %s: %s -> %s (p = %s)', c.model, c.metric,
                                     round(c.mean_a::numeric, 4), round(c.mean_b::numeric, 4),
                                     to_char(c.p_adjusted, '9.99EEEE')), '; ' ORDER BY c.model, c.metric)
           FILTER (WHERE c.verdict = 'worse' AND abs(c.mean_diff) > tolerance)
  INTO compared, worse
  FROM llmeval.compare_jobs(base, job_id, NULL, alpha) c
  WHERE metrics IS NULL OR c.metric = ANY (metrics);
  IF compared = 0 THEN
    RAISE EXCEPTION 'jobs % and % share no scored test case', base, job_id
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF worse IS NOT NULL THEN
    RAISE EXCEPTION 'regression: job % is worse than baseline job %', job_id, base
      USING ERRCODE = 'check_violation', DETAIL = worse;
  END IF;
  RETURN format('no regression: job %s against baseline job %s on %s model-metric pairs', job_id, base, compared);
END $$;
COMMENT ON FUNCTION llmeval.assert_no_regression(bigint, bigint, text[], float8, float8) IS
  'raises an error if the job is significantly worse than the baseline (Holm-corrected paired t-tests)';

-- Maintenance, for pg_cron or by hand: reclaim expired leases, then purge
-- what is older than llmeval.retention_days, in batches committed one by
-- one (a procedure, so that a large purge is not one long transaction).
--
-- Retention is by job, never by row: a job that ended (completed, failed
-- or cancelled) more than retention_days ago is deleted whole, with its
-- tasks, responses, scores, judgements and events (foreign keys, ON DELETE
-- CASCADE), each job in one transaction; a job that has not ended, or
-- ended more recently, keeps everything, however old its rows. Deleting
-- responses by age instead left tasks completed without their output: a
-- judge retried later scored an empty answer, costs fell to 0 and baselines
-- lost their outputs. Jobs that are a baseline (llmeval.baselines) are kept
-- until they are no longer one. Events of no job, cached responses and our
-- pg_cron run history are purged by age. The Prometheus counters
-- (llmeval.counters) are not purged: they never decrease; the shards of
-- exited backends are folded into one row.
-- (No SET search_path: a procedure with SET clauses cannot COMMIT; every
-- name in it is schema-qualified instead.)
CREATE PROCEDURE llmeval.maintenance(batch_size int DEFAULT 10000)
LANGUAGE plpgsql
AS $$
DECLARE
  retention interval := pg_catalog.make_interval(days => coalesce(
    nullif(pg_catalog.current_setting('llmeval.retention_days', true), '')::int, 30));
  deleted bigint;
  jobs bigint[];
  total jsonb := '{}';
  target text;
BEGIN
  PERFORM llmeval._require_admin('run maintenance');
  PERFORM llmeval._reclaim_expired_leases();
  COMMIT;
  -- Ended jobs, oldest first, as many per transaction as hold about
  -- batch_size tasks (at least one). A job being changed (a worker writing
  -- back, retry_failed) is skipped until the next run; the DELETE checks
  -- again that the job has ended.
  LOOP
    SELECT array_agg(x.id ORDER BY x.id) INTO jobs
    FROM (SELECT e.id, sum(e.total) OVER (ORDER BY e.id) - e.total AS before
          FROM (SELECT j.id, j.total FROM llmeval.jobs j
                WHERE j.status IN ('completed', 'failed', 'cancelled')
                  AND j.finished_at < now() - retention
                  AND NOT EXISTS (SELECT 1 FROM llmeval.baselines b WHERE b.job_id = j.id)
                  -- an online rule's job lives as long as the rule
                  AND NOT EXISTS (SELECT 1 FROM llmeval.online_rules r WHERE r.job_id = j.id)
                ORDER BY j.id
                LIMIT batch_size
                FOR UPDATE SKIP LOCKED) e) x
    WHERE x.before < batch_size;
    EXIT WHEN jobs IS NULL;
    DELETE FROM llmeval.jobs j
    WHERE j.id = ANY (jobs) AND j.status IN ('completed', 'failed', 'cancelled')
      AND j.finished_at < now() - retention
      AND NOT EXISTS (SELECT 1 FROM llmeval.baselines b WHERE b.job_id = j.id)
      AND NOT EXISTS (SELECT 1 FROM llmeval.online_rules r WHERE r.job_id = j.id);
    GET DIAGNOSTICS deleted = ROW_COUNT;
    total := total || jsonb_build_object('jobs', coalesce((total ->> 'jobs')::bigint, 0) + deleted);
    COMMIT;
    EXIT WHEN deleted = 0;
  END LOOP;
  -- Rows of no job, by age.
  FOREACH target IN ARRAY ARRAY['events', 'response_cache'] LOOP
    LOOP
      EXECUTE format('DELETE FROM llmeval.%I WHERE ctid = ANY (ARRAY(
                        SELECT ctid FROM llmeval.%I WHERE created_at < now() - $1 %s LIMIT $2))',
                     target, target, CASE WHEN target = 'events' THEN 'AND job_id IS NULL' ELSE '' END)
        USING retention, batch_size;
      GET DIAGNOSTICS deleted = ROW_COUNT;
      total := jsonb_set(total, ARRAY[target], to_jsonb(coalesce((total ->> target)::bigint, 0) + deleted));
      COMMIT;
      EXIT WHEN deleted < batch_size;
    END LOOP;
  END LOOP;
  total := total || jsonb_build_object('counter_shards', llmeval._fold_counter_shards());
  COMMIT;
  IF to_regclass('cron.job_run_details') IS NOT NULL THEN
    DELETE FROM cron.job_run_details d
    WHERE d.jobid IN (SELECT j.jobid FROM cron.job j WHERE j.jobname LIKE 'llmeval\_%')
      AND d.end_time < now() - retention;
    GET DIAGNOSTICS deleted = ROW_COUNT;
    total := total || jsonb_build_object('cron.job_run_details', deleted);
    COMMIT;
  END IF;
  RAISE NOTICE 'llmeval maintenance: %', total;
END $$;
COMMENT ON PROCEDURE llmeval.maintenance(int) IS
  'reclaims expired leases; deletes jobs that ended more than llmeval.retention_days ago (whole, baselines kept) and other expired data, in batches (CALL it)';

-- pg_cron jobs: maintenance and the daily and weekly reports, created or
-- updated by name (so calling this again changes nothing), in this database.
CREATE FUNCTION llmeval.schedule_jobs(maintenance_schedule text DEFAULT '*/15 * * * *',
                                      daily_report_schedule text DEFAULT '5 0 * * *',
                                      weekly_report_schedule text DEFAULT '10 0 * * 1')
RETURNS SETOF text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  job record;
  in_cron_database boolean;
BEGIN
  PERFORM llmeval._require_admin('schedule jobs');
  IF to_regprocedure('cron.schedule(text,text,text)') IS NULL THEN
    RAISE NOTICE 'pg_cron is not installed in this database: nothing scheduled'
      USING HINT = 'CREATE EXTENSION pg_cron (it must be in shared_preload_libraries), then call llmeval.schedule_jobs() again.';
    RETURN;
  END IF;
  -- pg_cron runs jobs in cron.database_name; other databases need
  -- cron.schedule_in_database, which pg_cron keeps for superusers.
  in_cron_database := current_database() = current_setting('cron.database_name', true);
  IF NOT in_cron_database AND NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    RAISE EXCEPTION 'pg_cron runs jobs in database "%", not "%"', current_setting('cron.database_name', true),
      current_database()
      USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'Schedule from that database, or as a superuser.';
  END IF;
  FOR job IN SELECT * FROM (VALUES
      ('llmeval_maintenance', maintenance_schedule, 'CALL llmeval.maintenance()'),
      ('llmeval_daily_report', daily_report_schedule,
       'SELECT llmeval.generate_reports_for_all_tenants(''daily'')'),
      ('llmeval_weekly_report', weekly_report_schedule,
       'SELECT llmeval.generate_reports_for_all_tenants(''weekly'')')
    ) AS v(name, schedule, command)
  LOOP
    IF in_cron_database THEN
      EXECUTE 'SELECT cron.schedule($1, $2, $3)' USING job.name, job.schedule, job.command;
    ELSE
      EXECUTE 'SELECT cron.schedule_in_database($1, $2, $3, current_database())'
        USING job.name, job.schedule, job.command;
    END IF;
    RETURN NEXT job.name;
  END LOOP;
END $$;
COMMENT ON FUNCTION llmeval.schedule_jobs(text, text, text) IS
  'creates (idempotently) the pg_cron jobs for maintenance and the daily and weekly reports';

CREATE FUNCTION llmeval.unschedule_jobs()
RETURNS SETOF text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  name text;
BEGIN
  PERFORM llmeval._require_admin('unschedule jobs');
  IF to_regclass('cron.job') IS NULL THEN
    RAISE NOTICE 'pg_cron is not installed in this database: nothing to unschedule';
    RETURN;
  END IF;
  FOR name IN EXECUTE 'SELECT jobname FROM cron.job WHERE jobname LIKE ''llmeval\_%'' AND username = current_user'
  LOOP
    EXECUTE 'SELECT cron.unschedule($1)' USING name;
    RETURN NEXT name;
  END LOOP;
END $$;
COMMENT ON FUNCTION llmeval.unschedule_jobs() IS 'removes the pg_cron jobs schedule_jobs created';

REVOKE ALL ON PROCEDURE llmeval.maintenance(int) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval.schedule_jobs(text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval.unschedule_jobs() FROM PUBLIC;
GRANT EXECUTE ON PROCEDURE llmeval.maintenance(int) TO llmeval_admin;
GRANT EXECUTE ON FUNCTION llmeval.schedule_jobs(text, text, text) TO llmeval_admin;
GRANT EXECUTE ON FUNCTION llmeval.unschedule_jobs() TO llmeval_admin;
