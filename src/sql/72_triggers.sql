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
-- writing back one task, or cancel_job touching 100,000) adds the per-status
-- differences to each job's counters. The job rows are locked in id order
-- first, so concurrent statements over several jobs cannot deadlock, and the
-- counters are updated under that lock, so concurrent workers never lose an
-- increment. No worker ever waits for a lock while holding one a tenant
-- may want: claims, releases and reclaims lock the jobs' rows first
-- (llmeval._lock_jobs_of, SKIP LOCKED, a bounded number of tries), and a
-- write-back, which holds its own task rows (taken with SKIP LOCKED), tries
-- for its jobs' rows here for llmeval.job_lock_wait_ms and then gives up.
-- Tenants' cancel_job and retry_failed lock the job, then its tasks.
-- The job's status follows from its counters: running once a task
-- started, and when no task is pending or running, completed (or failed if
-- no task completed); cancelled and other final states set by cancel_job
-- stay. Each change is announced on channel llmeval_job_progress.
-- Applies per-(job, status) differences in task counts (parallel arrays).
CREATE FUNCTION llmeval._apply_task_delta(job_ids bigint[], statuses text[], counts bigint[])
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  jobs_changed bigint[];
BEGIN
  SELECT array_agg(DISTINCT j ORDER BY j) INTO jobs_changed FROM unnest(job_ids) j;
  IF jobs_changed IS NULL THEN
    RETURN;
  END IF;
  PERFORM llmeval._lock_jobs_for_change(jobs_changed);
  UPDATE llmeval.jobs j SET
    total     = j.total + d.total,
    pending   = j.pending + d.pending,
    running   = j.running + d.running,
    completed = j.completed + d.completed,
    failed    = j.failed + d.failed,
    cancelled = j.cancelled + d.cancelled
  FROM (SELECT job_id,
               sum(n) AS total,
               coalesce(sum(n) FILTER (WHERE status = 'pending'), 0) AS pending,
               coalesce(sum(n) FILTER (WHERE status = 'running'), 0) AS running,
               coalesce(sum(n) FILTER (WHERE status = 'completed'), 0) AS completed,
               coalesce(sum(n) FILTER (WHERE status = 'failed'), 0) AS failed,
               coalesce(sum(n) FILTER (WHERE status = 'cancelled'), 0) AS cancelled
        FROM unnest(job_ids, statuses, counts) AS c(job_id, status, n)
        GROUP BY job_id) d
  WHERE j.id = d.job_id;

  UPDATE llmeval.jobs SET
    status = CASE
               WHEN pending + running = 0 AND total > 0 THEN
                 CASE WHEN completed = 0 AND failed > 0 THEN 'failed' ELSE 'completed' END
               WHEN running + completed + failed > 0 THEN 'running'
               ELSE status END,
    started_at = CASE WHEN started_at IS NULL AND running + completed + failed > 0
                      THEN now() ELSE started_at END,
    finished_at = CASE WHEN pending + running = 0 AND total > 0 THEN coalesce(finished_at, now())
                       ELSE NULL END
  WHERE id = ANY (jobs_changed) AND status <> 'cancelled';

  PERFORM pg_notify('llmeval_job_progress',
                    json_build_object('job_id', id, 'status', status, 'total', total,
                                      'completed', completed, 'failed', failed,
                                      'cancelled', cancelled)::text)
  FROM llmeval.jobs WHERE id = ANY (jobs_changed) ORDER BY id;
  -- New work: wake the workers when this transaction commits (background
  -- workers cannot LISTEN; llmeval._wake_workers_on_commit sets their latches).
  IF EXISTS (SELECT 1 FROM unnest(statuses, counts) AS c(status, n)
             WHERE status = 'pending' AND n > 0) THEN
    PERFORM llmeval._wake_workers_on_commit();
  END IF;
END $$;

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

-- The event log records every job status change.
CREATE FUNCTION llmeval._log_job_status() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO llmeval.events (tenant, job_id, correlation_id, kind, detail)
  VALUES (NEW.tenant, NEW.id, NEW.correlation_id, 'job_' || NEW.status,
          jsonb_build_object('from', OLD.status, 'to', NEW.status, 'total', NEW.total,
                             'completed', NEW.completed, 'failed', NEW.failed,
                             'cancelled', NEW.cancelled));
  RETURN NULL;
END $$;

CREATE TRIGGER log_status AFTER UPDATE OF status ON llmeval.jobs
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
  EXECUTE FUNCTION llmeval._log_job_status();
