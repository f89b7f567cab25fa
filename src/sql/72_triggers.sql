-- Triggers: updated_at, immutable versions, and job counters and status
-- kept from the task queue.

CREATE FUNCTION llmeval._touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END $$;

CREATE TRIGGER touch_updated_at BEFORE UPDATE ON llmeval.providers
  FOR EACH ROW EXECUTE FUNCTION llmeval._touch_updated_at();
CREATE TRIGGER touch_updated_at BEFORE UPDATE ON llmeval.models
  FOR EACH ROW EXECUTE FUNCTION llmeval._touch_updated_at();
CREATE TRIGGER touch_updated_at BEFORE UPDATE ON llmeval.prompts
  FOR EACH ROW EXECUTE FUNCTION llmeval._touch_updated_at();
CREATE TRIGGER touch_updated_at BEFORE UPDATE ON llmeval.datasets
  FOR EACH ROW EXECUTE FUNCTION llmeval._touch_updated_at();
CREATE TRIGGER touch_updated_at BEFORE UPDATE ON llmeval.jobs
  FOR EACH ROW EXECUTE FUNCTION llmeval._touch_updated_at();
CREATE TRIGGER touch_updated_at BEFORE UPDATE ON llmeval.tasks
  FOR EACH ROW EXECUTE FUNCTION llmeval._touch_updated_at();
CREATE TRIGGER touch_updated_at BEFORE UPDATE ON llmeval.experiments
  FOR EACH ROW EXECUTE FUNCTION llmeval._touch_updated_at();

-- Versions and test cases never change once written: a job's results must
-- stay tied to exactly what was evaluated. Import a new version instead.
CREATE FUNCTION llmeval._forbid_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% are immutable', replace(TG_TABLE_NAME, '_', ' ')
    USING ERRCODE = 'integrity_constraint_violation',
          HINT = 'Create a new version with create_prompt or import_dataset.';
END $$;

CREATE TRIGGER immutable BEFORE UPDATE ON llmeval.prompt_versions
  FOR EACH ROW EXECUTE FUNCTION llmeval._forbid_update();
CREATE TRIGGER immutable BEFORE UPDATE ON llmeval.dataset_versions
  FOR EACH ROW EXECUTE FUNCTION llmeval._forbid_update();
CREATE TRIGGER immutable BEFORE UPDATE ON llmeval.test_cases
  FOR EACH ROW EXECUTE FUNCTION llmeval._forbid_update();

-- Job counters. One statement-level trigger per statement on tasks (a worker
-- writing back one task, or cancel_job touching 100,000) appends the
-- per-job differences to llmeval.job_counter_deltas, which locks nothing.
-- In a tenant's transaction (submit_job, cancel_job, retry_failed, which
-- hold the job's row already) they are folded into the job at once, so the
-- job reads right when the statement returns. The workers (which set
-- llmeval.defer_job_counters) fold at the end of each of their transactions
-- and pass over a job whose row is held elsewhere: no worker waits on a job
-- row, whoever holds it (a tenant's open transaction among them), and two
-- workers busy with one job never queue behind each other.
-- Folds the changes just appended for these jobs at once (a tenant's
-- statement), or leaves them to the end of the transaction when it is a
-- worker's (llmeval.defer_job_counters).
CREATE FUNCTION llmeval._fold_unless_deferred(job_ids bigint[])
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  IF NOT coalesce(nullif(current_setting('llmeval.defer_job_counters', true), '')::boolean, false) THEN
    PERFORM llmeval._fold_job_counters(job_ids, true);
  END IF;
END $$;

-- Appends per-(job, status) differences in task counts (parallel arrays).
CREATE FUNCTION llmeval._apply_task_delta(job_ids bigint[], statuses text[], counts bigint[])
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  jobs_changed bigint[];
BEGIN
  WITH appended AS (
    INSERT INTO llmeval.job_counter_deltas AS d (job_id, total, pending, running, completed, failed, cancelled)
    SELECT c.job_id, sum(c.n),
           coalesce(sum(c.n) FILTER (WHERE c.status = 'pending'), 0),
           coalesce(sum(c.n) FILTER (WHERE c.status = 'running'), 0),
           coalesce(sum(c.n) FILTER (WHERE c.status = 'completed'), 0),
           coalesce(sum(c.n) FILTER (WHERE c.status = 'failed'), 0),
           coalesce(sum(c.n) FILTER (WHERE c.status = 'cancelled'), 0)
    FROM unnest(job_ids, statuses, counts) AS c(job_id, status, n)
    WHERE c.job_id IS NOT NULL
    GROUP BY c.job_id
    RETURNING d.job_id
  )
  SELECT array_agg(a.job_id ORDER BY a.job_id) INTO jobs_changed FROM appended a;
  IF jobs_changed IS NULL THEN
    RETURN;
  END IF;
  PERFORM llmeval._fold_unless_deferred(jobs_changed);
  -- New work: wake the workers when this transaction commits (background
  -- workers cannot LISTEN; llmeval._wake_workers_on_commit sets their latches).
  IF EXISTS (SELECT 1 FROM unnest(statuses, counts) AS c(status, n)
             WHERE c.status = 'pending' AND c.n > 0) THEN
    PERFORM llmeval._wake_workers_on_commit();
  END IF;
END $$;

-- A job's status from its counters: running once a task started, and when
-- no task is pending or running, completed (or failed if no task
-- completed); cancelled (set by cancel_job) stays.
CREATE FUNCTION llmeval._job_status(status text, total bigint, pending bigint, running bigint,
                                    completed bigint, failed bigint)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT CASE
           WHEN status = 'cancelled' THEN status
           -- (paused at its budget: until resume_job, or until nothing is pending)
           WHEN status = 'paused' AND pending > 0 THEN status
           WHEN pending + running = 0 AND total > 0 THEN
             CASE WHEN completed = 0 AND failed > 0 THEN 'failed' ELSE 'completed' END
           WHEN running + completed + failed > 0 THEN 'running'
           ELSE status END
$$;

-- Folds the counter changes this transaction can see into their jobs (these
-- jobs, or every job with changes when job_ids is NULL), in job id order,
-- with their status (llmeval._job_status). wait: lock each job's row,
-- waiting for it; otherwise pass over rows held elsewhere. Returns the jobs
-- passed over that still have changes to fold. Each change is announced on
-- channel llmeval_job_progress. Changes that would take a counter below 0
-- (counters edited by hand, a partial restore) are not applied: that job is
-- counted again from its tasks, with a warning, so a fold never fails.
CREATE FUNCTION llmeval._fold_job_counters(job_ids bigint[], wait boolean)
RETURNS bigint[]
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  wanted bigint[] := coalesce(job_ids, ARRAY(SELECT DISTINCT d.job_id FROM llmeval.job_counter_deltas d
                                              ORDER BY 1 LIMIT 1000));
  held bigint[];
  announced bigint;
  broken bigint[];
  broken_cost numeric[];
  broken_calls bigint[];
BEGIN
  IF cardinality(wanted) = 0 THEN
    RETURN '{}';
  END IF;
  IF wait THEN
    held := ARRAY(SELECT j.id FROM llmeval.jobs j WHERE j.id = ANY (wanted)
                  ORDER BY j.id FOR NO KEY UPDATE);
  ELSE
    held := ARRAY(SELECT j.id FROM llmeval.jobs j WHERE j.id = ANY (wanted)
                  ORDER BY j.id FOR NO KEY UPDATE SKIP LOCKED);
  END IF;
  IF cardinality(held) > 0 THEN
    WITH folded AS (
      DELETE FROM llmeval.job_counter_deltas d WHERE d.job_id = ANY (held)
      RETURNING d.*
    ), sums AS (
      SELECT f.job_id, sum(f.total) AS total, sum(f.pending) AS pending, sum(f.running) AS running,
             sum(f.completed) AS completed, sum(f.failed) AS failed, sum(f.cancelled) AS cancelled,
             sum(f.cost) AS cost, sum(f.calls) AS calls
      FROM folded f GROUP BY f.job_id
    ), counts AS (
      SELECT s.job_id, j.total + s.total AS total, j.pending + s.pending AS pending,
             j.running + s.running AS running, j.completed + s.completed AS completed,
             j.failed + s.failed AS failed, j.cancelled + s.cancelled AS cancelled,
             j.spent + s.cost AS spent, j.paid_calls + s.calls AS paid_calls, s.cost AS added_cost,
             s.calls AS added_calls
      FROM sums s JOIN llmeval.jobs j ON j.id = s.job_id
      WHERE (s.total, s.pending, s.running, s.completed, s.failed, s.cancelled, s.cost, s.calls)
            IS DISTINCT FROM (0, 0, 0, 0, 0, 0, 0, 0)
    ), counted AS (
      UPDATE llmeval.jobs j SET
        total = n.total, pending = n.pending, running = n.running, completed = n.completed,
        failed = n.failed, cancelled = n.cancelled, spent = greatest(n.spent, 0),
        paid_calls = greatest(n.paid_calls, 0),
        status = llmeval._job_status(j.status, n.total, n.pending, n.running, n.completed, n.failed),
        started_at = CASE WHEN j.status <> 'cancelled' AND j.started_at IS NULL
                               AND n.running + n.completed + n.failed > 0
                          THEN now() ELSE j.started_at END,
        finished_at = CASE WHEN j.status = 'cancelled' THEN j.finished_at
                           WHEN n.pending + n.running = 0 AND n.total > 0 THEN coalesce(j.finished_at, now())
                           ELSE NULL END
      FROM counts n
      WHERE j.id = n.job_id
        AND least(n.total, n.pending, n.running, n.completed, n.failed, n.cancelled) >= 0
      RETURNING j.id, j.status, j.total, j.completed, j.failed, j.cancelled
    )
    SELECT count(pg_notify('llmeval_job_progress',
                           json_build_object('job_id', c.id, 'status', c.status, 'total', c.total,
                                             'completed', c.completed, 'failed', c.failed,
                                             'cancelled', c.cancelled)::text)),
           (SELECT array_agg(n.job_id ORDER BY n.job_id) FROM counts n
            WHERE least(n.total, n.pending, n.running, n.completed, n.failed, n.cancelled) < 0),
           (SELECT array_agg(n.added_cost ORDER BY n.job_id) FROM counts n
            WHERE least(n.total, n.pending, n.running, n.completed, n.failed, n.cancelled) < 0),
           (SELECT array_agg(n.added_calls ORDER BY n.job_id) FROM counts n
            WHERE least(n.total, n.pending, n.running, n.completed, n.failed, n.cancelled) < 0)
    INTO announced, broken, broken_cost, broken_calls
    FROM (SELECT * FROM counted ORDER BY id) c;
    IF broken IS NOT NULL THEN
      RAISE WARNING 'pg_llmeval: the counters of job % disagreed with its tasks; counted again', broken;
      -- (the cost folded with the broken counts is not lost: put back for
      -- the recount, which keeps the cost and calls of the changes it drops)
      INSERT INTO llmeval.job_counter_deltas (job_id, total, pending, running, completed, failed, cancelled, cost, calls)
      SELECT b.job_id, 0, 0, 0, 0, 0, 0, b.cost, b.calls
      FROM unnest(broken, broken_cost, broken_calls) AS b(job_id, cost, calls)
      WHERE b.cost <> 0 OR b.calls <> 0;
      PERFORM llmeval._recount_job_counters(broken);
    END IF;
    IF cardinality(held) = cardinality(wanted) THEN
      RETURN '{}';
    END IF;
  END IF;
  -- Changes of jobs deleted since (retention) have nothing to fold into.
  DELETE FROM llmeval.job_counter_deltas d
  WHERE d.job_id = ANY (wanted) AND d.job_id <> ALL (held)
    AND NOT EXISTS (SELECT 1 FROM llmeval.jobs j WHERE j.id = d.job_id);
  RETURN ARRAY(SELECT DISTINCT d.job_id FROM llmeval.job_counter_deltas d
               WHERE d.job_id = ANY (wanted) AND d.job_id <> ALL (held) ORDER BY 1);
END $$;

-- Sets these jobs' counters (and status) from their tasks: every change not
-- yet folded is dropped and one change, the difference, folded in its place
-- (one snapshot for both, so none is lost or counted twice). Waits for the
-- jobs' rows.
CREATE FUNCTION llmeval._recount_job_counters(job_ids bigint[])
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM 1 FROM llmeval.jobs j WHERE j.id = ANY (job_ids) ORDER BY j.id FOR NO KEY UPDATE;
  -- (the cost not yet folded is kept: spent counts calls made, whatever
  -- became of their responses since)
  WITH dropped AS (
    DELETE FROM llmeval.job_counter_deltas d WHERE d.job_id = ANY (job_ids)
    RETURNING d.job_id, d.cost, d.calls
  )
  INSERT INTO llmeval.job_counter_deltas (job_id, total, pending, running, completed, failed, cancelled, cost, calls)
  SELECT j.id, c.total - j.total, c.pending - j.pending, c.running - j.running,
         c.completed - j.completed, c.failed - j.failed, c.cancelled - j.cancelled,
         coalesce((SELECT sum(x.cost) FROM dropped x WHERE x.job_id = j.id), 0),
         coalesce((SELECT sum(x.calls) FROM dropped x WHERE x.job_id = j.id), 0)
  FROM llmeval.jobs j
  CROSS JOIN LATERAL (SELECT count(*) AS total,
                             count(*) FILTER (WHERE t.status = 'pending') AS pending,
                             count(*) FILTER (WHERE t.status = 'running') AS running,
                             count(*) FILTER (WHERE t.status = 'completed') AS completed,
                             count(*) FILTER (WHERE t.status = 'failed') AS failed,
                             count(*) FILTER (WHERE t.status = 'cancelled') AS cancelled
                      FROM llmeval.tasks t WHERE t.job_id = j.id) c
  WHERE j.id = ANY (job_ids);
  PERFORM llmeval._fold_job_counters(job_ids, true);
END $$;
REVOKE ALL ON FUNCTION llmeval._recount_job_counters(bigint[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._fold_job_counters(bigint[], boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._fold_unless_deferred(bigint[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._apply_task_delta(bigint[], text[], bigint[]) FROM PUBLIC;

CREATE FUNCTION llmeval._tasks_count_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM llmeval._apply_task_delta(array_agg(job_id), array_agg(status), array_agg(n))
  FROM (SELECT job_id, status, count(*) AS n FROM new_tasks GROUP BY 1, 2) d;
  RETURN NULL;
END $$;

CREATE FUNCTION llmeval._tasks_count_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM llmeval._apply_task_delta(array_agg(job_id), array_agg(status), array_agg(n))
  FROM (SELECT job_id, status, sum(n)::bigint AS n
        FROM (SELECT job_id, status, 1 AS n FROM new_tasks
              UNION ALL
              SELECT job_id, status, -1 FROM old_tasks) changes
        GROUP BY 1, 2 HAVING sum(n) <> 0) d;
  RETURN NULL;
END $$;

CREATE TRIGGER count_inserted AFTER INSERT ON llmeval.tasks
  REFERENCING NEW TABLE AS new_tasks
  FOR EACH STATEMENT EXECUTE FUNCTION llmeval._tasks_count_inserted();
CREATE TRIGGER count_updated AFTER UPDATE ON llmeval.tasks
  REFERENCING OLD TABLE AS old_tasks NEW TABLE AS new_tasks
  FOR EACH STATEMENT EXECUTE FUNCTION llmeval._tasks_count_updated();

-- The cost of calls stored (a response inserted, or written again by a
-- later attempt), appended as counter changes (cost only) and folded into
-- jobs.spent like the counts: what a job's budget is checked against
-- without summing its responses at each claim. Called by the counters'
-- trigger on responses (llmeval._count_responses), which tells new calls
-- from other updates.
CREATE FUNCTION llmeval._append_job_cost(task_ids bigint[], costs numeric[]) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  jobs_changed bigint[];
BEGIN
  WITH appended AS (
    INSERT INTO llmeval.job_counter_deltas AS d (job_id, total, pending, running, completed, failed, cancelled,
                                                 cost, calls)
    SELECT t.job_id, 0, 0, 0, 0, 0, 0, sum(x.cost), count(*)
    FROM unnest(task_ids, costs) AS x(task_id, cost) JOIN llmeval.tasks t ON t.id = x.task_id
    WHERE x.cost > 0
    GROUP BY t.job_id
    RETURNING d.job_id
  )
  SELECT array_agg(a.job_id ORDER BY a.job_id) INTO jobs_changed FROM appended a;
  IF jobs_changed IS NOT NULL THEN
    PERFORM llmeval._fold_unless_deferred(jobs_changed);
    -- (and the day's spend of tenants with a daily budget)
    PERFORM llmeval._append_tenant_spend(task_ids, costs);
  END IF;
END $$;
REVOKE ALL ON FUNCTION llmeval._append_job_cost(bigint[], numeric[]) FROM PUBLIC;

-- The event log records every job status change.
CREATE FUNCTION llmeval._log_job_status() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  -- A fold can take a job's first claim and its last result at once (its
  -- row was held meanwhile): the log still shows that it ran.
  IF OLD.status = 'queued' AND NEW.status IN ('completed', 'failed') THEN
    INSERT INTO llmeval.events (tenant, job_id, correlation_id, kind, detail)
    VALUES (NEW.tenant, NEW.id, NEW.correlation_id, 'job_running',
            jsonb_build_object('from', OLD.status, 'to', 'running', 'total', NEW.total,
                               'completed', 0, 'failed', 0, 'cancelled', NEW.cancelled));
  END IF;
  INSERT INTO llmeval.events (tenant, job_id, correlation_id, kind, detail)
  VALUES (NEW.tenant, NEW.id, NEW.correlation_id, 'job_' || NEW.status,
          jsonb_build_object('from', OLD.status, 'to', NEW.status, 'total', NEW.total,
                             'completed', NEW.completed, 'failed', NEW.failed,
                             'cancelled', NEW.cancelled)
            || CASE WHEN NEW.status = 'paused' THEN jsonb_build_object('reason', NEW.paused_reason, 'spent', NEW.spent)
                    ELSE '{}' END);
  RETURN NULL;
END $$;

CREATE TRIGGER log_status AFTER UPDATE OF status ON llmeval.jobs
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
  EXECUTE FUNCTION llmeval._log_job_status();
