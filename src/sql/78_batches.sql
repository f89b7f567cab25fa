-- Provider batches: a job with the option "execution": "batch" has its calls
-- made through the providers' batch APIs (OpenAI's Batch API over an uploaded
-- JSONL file; Anthropic's Message Batches), priced at the model's
-- batch_discount, with results within the providers' 24-hour window.
--
-- A batch's life, all of it durable here (src/pg/worker_batches.cpp drives it):
--   1. A worker claims a (job, model, task kind) group of due tasks
--      (_claim_batch_tasks), builds their requests, and attaches those it
--      must send to a new batch row, status 'submitting' (_begin_batch): the
--      tasks stay 'running' with an infinite lease and the batch's id, so no
--      reclaim and no other claim touches them while the provider has them.
--   2. It uploads the file and creates the remote batch (OpenAI: with our
--      batch id in its metadata), and records the remote id: 'submitted'.
--      A worker that dies in between leaves a 'submitting' row whose lease
--      runs out; the next worker looks for the remote batch among the
--      provider's recent ones (OpenAI: by metadata; Anthropic: created within
--      a minute of the row with the same number of requests), adopts it if
--      found, and otherwise gives the tasks back without an attempt counted:
--      nothing is sent twice, nothing is lost.
--   3. Workers poll submitted batches every llmeval.batch_poll_interval_ms
--      (one worker per batch at a time: a short lease on the row), keeping
--      the provider's status and counts, and send the remote cancel when the
--      job was cancelled.
--   4. When it has ended, one worker downloads the results, claims the
--      batch's tasks (_claim_batch_results) and stores each answer as if it
--      had come from a synchronous call (the same parsing, judges, scores,
--      retries); lines that never ran (expired, cancelled) and failed lines
--      are retried as usual, in a later batch. 'stored' when done. A worker
--      that dies while storing leaves claims whose reclaim puts them back in
--      the batch (llmeval._reclaim_expired_leases), and the download is done
--      again.
CREATE TABLE llmeval.provider_batches (
  id               bigserial PRIMARY KEY,
  tenant           text NOT NULL,
  job_id           bigint NOT NULL REFERENCES llmeval.jobs ON DELETE CASCADE,
  model_id         int NOT NULL REFERENCES llmeval.models ON DELETE RESTRICT,
  task_kind        text NOT NULL CHECK (task_kind IN ('generate', 'judge', 'embed')),
  endpoint         text NOT NULL,   -- the lines' endpoint: /v1/chat/completions, /v1/messages, ...
  lines            int NOT NULL DEFAULT 0 CHECK (lines >= 0),
  status           text NOT NULL DEFAULT 'submitting'
                   CHECK (status IN ('submitting', 'submitted', 'ended', 'stored', 'abandoned')),
  remote_id        text,
  remote_status    text,             -- the provider's word: validating, in_progress, finalizing, ...
  request_counts   jsonb,            -- the provider's counts, as it reports them
  input_file_id    text,
  output_file_id   text,
  error_file_id    text,
  results_url      text,
  error            text,             -- why the batch failed or was abandoned, or the last poll's problem
  cancel_sent      boolean NOT NULL DEFAULT false,  -- (the job was cancelled: cancelled remotely too)
  failures         int NOT NULL DEFAULT 0,  -- exchanges failed in a row: the next one waits longer
  -- a worker's step in flight on this batch (submit, poll, download): others pass it over
  lease_until      timestamptz,
  worker_pid       int,
  next_poll_at     timestamptz NOT NULL DEFAULT now(),
  polls            int NOT NULL DEFAULT 0,
  created_at       timestamptz NOT NULL DEFAULT now(),
  submitted_at     timestamptz,
  ended_at         timestamptz,
  stored_at        timestamptz,
  UNIQUE (model_id, remote_id)
);
CREATE INDEX provider_batches_active ON llmeval.provider_batches (next_poll_at)
  WHERE status IN ('submitting', 'submitted', 'ended');
CREATE INDEX ON llmeval.provider_batches (job_id);
COMMENT ON TABLE llmeval.provider_batches IS
  'the provider batches of jobs with "execution": "batch": remote ids, status and counts, results';

ALTER TABLE llmeval.tasks ADD FOREIGN KEY (batch_id) REFERENCES llmeval.provider_batches ON DELETE SET NULL;
CREATE INDEX tasks_in_batch ON llmeval.tasks (batch_id) WHERE batch_id IS NOT NULL;

ALTER TABLE llmeval.provider_batches ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON llmeval.provider_batches FOR SELECT
  USING (tenant = (SELECT llmeval.current_tenant()));
CREATE POLICY admin_read ON llmeval.provider_batches FOR SELECT TO llmeval_admin USING (true);
GRANT SELECT ON llmeval.provider_batches TO llmeval_user;

-- Whether a task of this provider batch goes back to it when its claim is
-- given up: the batch ended and its answers are being read (they are read
-- again), not stored or abandoned yet.
CREATE FUNCTION llmeval._in_batch_being_read(batch_id bigint) RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT batch_id IS NOT NULL
         AND EXISTS (SELECT 1 FROM llmeval.provider_batches b WHERE b.id = batch_id AND b.status = 'ended')
$$;
REVOKE ALL ON FUNCTION llmeval._in_batch_being_read(bigint) FROM PUBLIC;

-- A (job, model, task kind) group of due tasks of a batch job, claimed like
-- llmeval._claim_tasks claims (the jobs by priority, then age).
CREATE FUNCTION llmeval._claim_batch_tasks(max_lines int, lease_seconds int)
RETURNS TABLE (task_id bigint, claim_token uuid, job_id bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
  job record;
  first record;
  room record;
BEGIN
  FOR job IN
    SELECT j.id, j.tenant FROM llmeval.jobs j
    WHERE j.status IN ('queued', 'running') AND j.options @> '{"execution": "batch"}'
    ORDER BY coalesce((j.options ->> 'priority')::int, 0) DESC, j.id
  LOOP
    SELECT t.model_id, t.kind INTO first FROM llmeval.tasks t
    WHERE t.job_id = job.id AND t.status = 'pending' AND t.next_attempt_at <= now()
    ORDER BY t.next_attempt_at, t.id LIMIT 1;
    CONTINUE WHEN NOT FOUND;
    -- (a tenant with a daily budget: no more lines than its room)
    SELECT * INTO room FROM llmeval._tenant_budget_room(job.tenant, ARRAY[first.model_id]);
    CONTINUE WHEN room.allowed <= 0;
    RETURN QUERY
    SELECT * FROM llmeval._mark_claimed(ARRAY(
      SELECT t.id FROM llmeval.tasks t
      WHERE t.job_id = job.id AND t.status = 'pending' AND t.next_attempt_at <= now()
        AND t.model_id = first.model_id AND t.kind = first.kind
      ORDER BY t.next_attempt_at, t.id
      LIMIT least(max_lines, room.allowed)
      FOR NO KEY UPDATE SKIP LOCKED), lease_seconds);
    IF FOUND THEN
      RETURN;
    END IF;
  END LOOP;
END
$$;

-- A new batch of these claimed tasks (those whose claim still holds), sent
-- to endpoint: returns the batch's id and the tasks it holds.
CREATE FUNCTION llmeval._begin_batch(task_ids bigint[], tokens uuid[], endpoint text)
RETURNS TABLE (batch_id bigint, task_id bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
  new_id bigint;
BEGIN
  -- The provider is sent these tasks once this commits: a commit lost in a
  -- crash (synchronous_commit off) would have them sent again.
  PERFORM set_config('synchronous_commit', 'on', true);
  INSERT INTO llmeval.provider_batches AS b (tenant, job_id, model_id, task_kind, endpoint, lease_until, worker_pid)
  SELECT t.tenant, t.job_id, t.model_id, t.kind, endpoint, now() + interval '5 minutes', pg_backend_pid()
  FROM llmeval.tasks t WHERE t.id = task_ids[1]
  RETURNING b.id INTO new_id;
  IF new_id IS NULL THEN
    RETURN;
  END IF;
  RETURN QUERY
  WITH attached AS (
    UPDATE llmeval.tasks t
    SET lease_expires_at = 'infinity', worker_pid = NULL, batch_id = new_id
    FROM unnest(task_ids, tokens) AS c(id, token)
    WHERE t.id = c.id AND t.claim_token = c.token AND t.status = 'running'
      -- (a row a tenant's cancel_job holds is passed over: cancelled, or
      -- reclaimed when its lease ends)
      AND t.id IN (SELECT r.id FROM llmeval.tasks r WHERE r.id = ANY (task_ids) FOR NO KEY UPDATE SKIP LOCKED)
    RETURNING t.id
  )
  SELECT new_id, a.id FROM attached a ORDER BY a.id;
  UPDATE llmeval.provider_batches b
  SET lines = (SELECT count(*) FROM llmeval.tasks t WHERE t.batch_id = new_id AND t.status = 'running')
  WHERE b.id = new_id;
END
$$;

-- What a worker learnt of a batch (keys of change, each optional): remote_id,
-- input_file_id, remote_status, request_counts, output_file_id,
-- error_file_id, results_url, error, cancel_sent; status ('submitted' sets
-- submitted_at, 'ended' ended_at, 'stored' stored_at); and releases the
-- row's lease (unless keep_lease: the next exchange follows), the next
-- exchange after poll_ms, or (failure: the exchange failed) after twice as
-- long as the last time, up to an hour. Only the worker holding the row
-- changes it, and a batch stored or abandoned is left as it is. 'stored'
-- is refused while a task of the batch is still held (a worker storing it,
-- a row a tenant held when it was claimed): the batch stays 'ended' and is
-- read again after poll_ms for what is left.
CREATE FUNCTION llmeval._batch_update(batch_id bigint, change jsonb, poll_ms int DEFAULT 0)
RETURNS void
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
  -- (a remote id is what a lost commit would leave to be found again)
  SELECT set_config('synchronous_commit', 'on', true) WHERE change ? 'remote_id';
  UPDATE llmeval.provider_batches b
  SET remote_id = coalesce(change ->> 'remote_id', b.remote_id),
      input_file_id = coalesce(change ->> 'input_file_id', b.input_file_id),
      remote_status = coalesce(change ->> 'remote_status', b.remote_status),
      request_counts = coalesce(change -> 'request_counts', b.request_counts),
      output_file_id = coalesce(change ->> 'output_file_id', b.output_file_id),
      error_file_id = coalesce(change ->> 'error_file_id', b.error_file_id),
      results_url = coalesce(change ->> 'results_url', b.results_url),
      error = CASE WHEN change ? 'error' THEN change ->> 'error' ELSE b.error END,
      cancel_sent = coalesce((change ->> 'cancel_sent')::boolean, b.cancel_sent),
      status = CASE WHEN change ->> 'status' = 'stored'
                     AND EXISTS (SELECT 1 FROM llmeval.tasks t WHERE t.batch_id = b.id AND t.status = 'running')
                    THEN b.status
                    ELSE coalesce(change ->> 'status', b.status) END,
      submitted_at = CASE WHEN change ->> 'status' = 'submitted' THEN coalesce(b.submitted_at, now())
                          ELSE b.submitted_at END,
      ended_at = CASE WHEN change ->> 'status' = 'ended' THEN coalesce(b.ended_at, now()) ELSE b.ended_at END,
      stored_at = CASE WHEN change ->> 'status' IN ('stored', 'abandoned') THEN now() ELSE b.stored_at END,
      polls = b.polls + CASE WHEN change ? 'remote_status' THEN 1 ELSE 0 END,
      failures = CASE WHEN change ? 'failure' THEN b.failures + 1 ELSE 0 END,
      lease_until = CASE WHEN change ? 'keep_lease' THEN b.lease_until END,
      worker_pid = CASE WHEN change ? 'keep_lease' THEN b.worker_pid END,
      next_poll_at = now() + CASE WHEN change ? 'failure'
                                  THEN least(make_interval(secs => greatest(poll_ms, 1000) / 1000.0 * 2 ^ least(b.failures, 12)),
                                             interval '1 hour')
                                  ELSE make_interval(secs => poll_ms / 1000.0) END
  WHERE b.id = batch_id AND b.status NOT IN ('stored', 'abandoned') AND b.worker_pid = pg_backend_pid()
$$;

-- Batches that need a worker's step now, leased to the caller for
-- lease_seconds: submitted ones due for a poll (or a cancel: their job was
-- cancelled), ended ones to read, and 'submitting' ones whose worker is gone
-- (step 2 above); each no sooner than its next_poll_at (a failed exchange
-- waits longer each time).
CREATE FUNCTION llmeval._batch_work(max_batches int, lease_seconds int)
RETURNS TABLE (batch_id bigint, status text, provider_kind text, base_url text, api_key text,
               api_key_env text, remote_id text, input_file_id text, output_file_id text,
               error_file_id text, results_url text, lines int, cancel boolean, created_at timestamptz,
               failures int)
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
  WITH due AS (
    SELECT b.id FROM llmeval.provider_batches b
    WHERE b.status IN ('submitting', 'submitted', 'ended')
      AND (b.lease_until IS NULL OR b.lease_until < now()
           OR NOT EXISTS (SELECT 1 FROM pg_stat_activity a
                          WHERE a.pid = b.worker_pid AND a.backend_type = 'pg_llmeval worker'))
      AND (b.next_poll_at <= now()
           OR (b.status = 'submitted' AND NOT b.cancel_sent AND b.failures = 0
               AND EXISTS (SELECT 1 FROM llmeval.jobs j WHERE j.id = b.job_id AND j.status = 'cancelled')))
    ORDER BY b.next_poll_at, b.id
    LIMIT max_batches
    FOR NO KEY UPDATE SKIP LOCKED
  ), leased AS (
    UPDATE llmeval.provider_batches b
    SET lease_until = now() + make_interval(secs => lease_seconds), worker_pid = pg_backend_pid()
    FROM due WHERE b.id = due.id
    RETURNING b.*
  )
  SELECT l.id, l.status, p.kind, p.base_url, s.api_key, p.api_key_env, l.remote_id, l.input_file_id,
         l.output_file_id, l.error_file_id, l.results_url, l.lines,
         NOT l.cancel_sent AND EXISTS (SELECT 1 FROM llmeval.jobs j WHERE j.id = l.job_id AND j.status = 'cancelled'),
         l.created_at, l.failures
  FROM leased l
  JOIN llmeval.models m ON m.id = l.model_id
  JOIN llmeval.providers p ON p.id = m.provider_id
  LEFT JOIN llmeval.provider_secrets s ON s.provider_id = p.id
  ORDER BY l.id
$$;

-- Claims the tasks a batch still holds, to store its results (or to fail
-- them): the same claims as any other, with the attempt they were sent in.
CREATE FUNCTION llmeval._claim_batch_results(batch_id bigint, lease_seconds int)
RETURNS TABLE (task_id bigint, claim_token uuid, job_id bigint)
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
  UPDATE llmeval.tasks t
  SET claim_token = gen_random_uuid(), lease_expires_at = now() + make_interval(secs => lease_seconds),
      worker_pid = pg_backend_pid()
  WHERE t.id IN (SELECT r.id FROM llmeval.tasks r
                 WHERE r.batch_id = _claim_batch_results.batch_id AND r.status = 'running'
                   AND r.lease_expires_at = 'infinity'
                 FOR NO KEY UPDATE SKIP LOCKED)
  RETURNING t.id, t.claim_token, t.job_id
$$;

-- A batch that was never created remotely (its submission failed, or its
-- worker died before the provider had it): its tasks go back to the queue,
-- without an attempt counted when counted is false. Returns the batch's job.
CREATE FUNCTION llmeval._abandon_batch(batch_id bigint, reason text, counted boolean)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  n bigint;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM llmeval.provider_batches b
                 WHERE b.id = _abandon_batch.batch_id AND b.status = 'submitting' AND b.worker_pid = pg_backend_pid()) THEN
    RETURN NULL;  -- (recorded or given up meanwhile, or no longer the caller's)
  END IF;
  -- (a row a tenant's cancel_job holds is passed over: cancelled, or given
  -- back by the reclaim once the batch is abandoned)
  UPDATE llmeval.tasks t
  SET status = 'pending', claim_token = NULL, lease_expires_at = NULL, worker_pid = NULL,
      attempts = CASE WHEN counted THEN t.attempts ELSE greatest(t.attempts - 1, 0) END,
      last_error = reason, next_attempt_at = now() + CASE WHEN counted THEN interval '30 seconds' ELSE interval '0' END
  WHERE t.id IN (SELECT r.id FROM llmeval.tasks r
                 WHERE r.batch_id = _abandon_batch.batch_id AND r.status = 'running'
                   AND r.lease_expires_at = 'infinity'
                 FOR NO KEY UPDATE SKIP LOCKED);
  GET DIAGNOSTICS n = ROW_COUNT;
  PERFORM llmeval._batch_update(batch_id, jsonb_build_object('status', 'abandoned',
                                                             'error', format('%s (%s tasks back in the queue)', reason, n)));
  RETURN (SELECT b.job_id FROM llmeval.provider_batches b WHERE b.id = _abandon_batch.batch_id);
END
$$;

REVOKE ALL ON FUNCTION llmeval._claim_batch_tasks(int, int) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._begin_batch(bigint[], uuid[], text) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._batch_update(bigint, jsonb, int) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._batch_work(int, int) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._claim_batch_results(bigint, int) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._abandon_batch(bigint, text, boolean) FROM PUBLIC;

-- A job's provider batches, for people: what the provider says of each.
CREATE FUNCTION llmeval.job_batches(job_id bigint)
RETURNS TABLE (batch_id bigint, model text, task_kind text, lines int, status text,
               remote_status text, remote_id text, request_counts jsonb, error text,
               created_at timestamptz, submitted_at timestamptz, ended_at timestamptz,
               stored_at timestamptz)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
  -- (row-level security limits this to the caller's batches)
  SELECT b.id, m.name, b.task_kind, b.lines, b.status, b.remote_status, b.remote_id, b.request_counts,
         b.error, b.created_at, b.submitted_at, b.ended_at, b.stored_at
  FROM llmeval.provider_batches b JOIN llmeval.models m ON m.id = b.model_id
  WHERE b.job_id = job_batches.job_id
  ORDER BY b.id
$$;
COMMENT ON FUNCTION llmeval.job_batches(bigint) IS
  'the provider batches of a job with "execution": "batch", with the provider''s status and counts';
