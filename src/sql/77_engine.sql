-- The job engine's side of the queue: what the background workers call
-- (src/pg/worker.cpp). Each runs in a short transaction of its own; no
-- transaction is open while a provider is called. Every write-back applies
-- only to tasks whose claim token still matches, so a task that was
-- cancelled, or reclaimed after its lease expired, is never written twice.
-- These functions are the extension owner's: nobody else may execute them.

-- Responses by request: the same model, rendered request and parameters
-- are not paid for twice (job option "cache": false asks for fresh calls).
CREATE TABLE llmeval.response_cache (
  -- sha256 of the cache scope (the tenant, see llmeval._cache_scope), the
  -- model and the request body (messages, parameters)
  key           bytea PRIMARY KEY,
  model_id      int NOT NULL REFERENCES llmeval.models ON DELETE CASCADE,
  output        text NOT NULL,
  input_tokens  int,
  output_tokens int,
  -- a judge reply's G-Eval score (computed from logprobs, which are not kept)
  weighted_score float8,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON llmeval.response_cache (model_id);
CREATE INDEX ON llmeval.response_cache (created_at);
REVOKE ALL ON llmeval.response_cache FROM PUBLIC;

-- What a worker needs to call the provider for each of these (claimed)
-- tasks, in claim order. The API key comes from the secret store or, when
-- absent, the worker reads the environment variable named. A generation's
-- parameters are the model's, then the prompt version's, then the job's. A
-- judge task's message is its judge prompt (in input.prompt, template
-- "{{prompt}}"), sent with the judge parameters (temperature 0, logprobs
-- where the API has them, then the job's judge_params); an embed task's input
-- holds the texts and the vectors already cached (null where missing).
-- max_attempts: the job's option, NULL for the setting llmeval.max_attempts.
CREATE FUNCTION llmeval._task_requests(task_ids bigint[])
RETURNS TABLE (task_id bigint, claim_token uuid, attempt int, job_id bigint, correlation_id uuid,
               model_id int, model text, provider_kind text, base_url text, api_key text,
               api_key_env text, api_model text, params jsonb, template text, system text,
               input jsonb, expected text, metrics text[], use_cache boolean,
               requests_per_minute int, tokens_per_minute int, task_kind text, metric text,
               scale_min float8, scale_max float8, pairwise boolean, api_options jsonb,
               max_attempts int, expected_tool_calls jsonb, messages jsonb, verdicts text,
               verdict_count int)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
-- A few dozen ids, each joined by primary keys: right after a large submit
-- the statistics are stale, and a hash join would read every test case and
-- response of the queue for each claim.
SET enable_hashjoin = off
SET enable_mergejoin = off
AS $$
#variable_conflict use_column
BEGIN
  RETURN QUERY
  SELECT c.id, c.claim_token, c.attempts, c.job_id, j.correlation_id, m.id, m.name, p.kind,
         p.base_url, s.api_key, p.api_key_env, m.api_model,
         CASE WHEN c.kind IN ('generate', 'turn') THEN
           m.params || pv.params || coalesce(j.options -> 'params', '{}')
             || jsonb_strip_nulls(jsonb_build_object(
                  'temperature', j.options -> 'temperature', 'max_tokens', j.options -> 'max_tokens',
                  'top_p', j.options -> 'top_p', 'stop', j.options -> 'stop', 'seed', j.options -> 'seed'))
         WHEN c.kind = 'judge' THEN
           '{"temperature": 0, "max_tokens": 512}'::jsonb
             -- (no logprobs for a list of verdicts: there is no one score token to weigh)
             || CASE WHEN p.kind = 'openai' AND coalesce((j.options ->> 'judge_logprobs')::boolean, true)
                          AND NOT jd.definition ? 'verdicts'
                     THEN '{"logprobs": true, "top_logprobs": 5}'::jsonb ELSE '{}' END
             || CASE WHEN jd.definition ? 'verdicts' THEN '{"max_tokens": 2048}'::jsonb ELSE '{}' END
             || coalesce(j.options -> 'judge_params', '{}')
         ELSE '{}'::jsonb END,
         CASE WHEN c.kind IN ('generate', 'turn') THEN CASE WHEN tc.messages IS NULL THEN pv.template ELSE '' END
              WHEN c.kind = 'judge' THEN '{{prompt}}' ELSE '' END,
         CASE WHEN c.kind IN ('generate', 'turn') THEN pv.system WHEN c.kind = 'judge' THEN llmeval._judge_system() END,
         CASE WHEN c.kind IN ('generate', 'turn') THEN tc.input
              WHEN c.kind = 'judge' AND c.other_task_id IS NULL THEN
                jsonb_build_object('prompt', llmeval._judge_prompt(jd.definition, ct.question,
                  coalesce(tc.context, llmeval._contexts_text(tc.contexts)), ct.expected, gr.output,
                  jsonb_strip_nulls(jsonb_build_object(
                    'tool_calls', CASE WHEN gr.tool_calls IS NOT NULL THEN jsonb_pretty(gr.tool_calls) END,
                    'contexts', llmeval._contexts_text(tc.contexts),
                    'conversation', llmeval._transcript(conv.messages),
                    'goal', CASE WHEN conv.messages IS NOT NULL THEN tc.goal END,
                    'turn_window', coalesce((j.options ->> 'turn_window')::int, 3),
                    'count', verdicts.wanted))))
              WHEN c.kind = 'judge' THEN
                jsonb_build_object('prompt', llmeval._pairwise_prompt(jd.definition, ct.question,
                  coalesce(tc.context, llmeval._contexts_text(tc.contexts)), ct.expected,
                  CASE WHEN c.swapped THEN orr.output ELSE gr.output END,
                  CASE WHEN c.swapped THEN gr.output ELSE orr.output END))
              ELSE (SELECT jsonb_build_object('texts', jsonb_agg(to_jsonb(x.txt) ORDER BY x.ord),
                                              'vectors', jsonb_agg(to_jsonb(e.vector) ORDER BY x.ord))
                    FROM unnest(ARRAY[gr.output, ct.expected]) WITH ORDINALITY AS x(txt, ord)
                    LEFT JOIN llmeval.embedding_cache e
                      ON e.model_id = m.id AND e.scope = llmeval._cache_scope(c.tenant)
                     AND e.text_hash = llmeval._text_hash(x.txt))
         END,
         CASE WHEN c.kind IN ('generate', 'turn') THEN ct.expected END,
         CASE WHEN c.kind IN ('generate', 'turn') THEN j.metrics ELSE '{}' END,
         coalesce((j.options ->> 'cache')::boolean, true)
           AND (c.kind IN ('generate', 'turn') OR coalesce((j.options ->> 'samples')::int, 1) = 1),
         m.requests_per_minute, m.tokens_per_minute, c.kind, c.metric,
         (jd.definition ->> 'min')::float8, (jd.definition ->> 'max')::float8, c.other_task_id IS NOT NULL,
         -- how the model is called (src/core/provider/chat.hpp, ChatRequest)
         jsonb_strip_nulls(jsonb_build_object(
           'api', m.options -> 'api', 'reasoning', m.options -> 'reasoning',
           'max_tokens_param', coalesce(m.options -> 'max_tokens_param', p.options -> 'max_tokens_param'),
           'refused_params', to_jsonb(m.refused_params))),
         (j.options ->> 'max_attempts')::int,
         CASE WHEN c.kind IN ('generate', 'turn') THEN ct.expected_tool_calls END,
         -- a conversation's messages to send (the prompt template is not used)
         CASE WHEN c.kind NOT IN ('generate', 'turn') OR tc.messages IS NULL THEN NULL
              WHEN c.turn IS NULL THEN llmeval._final_turn_messages(tc.messages)
              ELSE llmeval._replay_messages(tc.messages, c.job_id, c.test_case_id, c.model_id, c.turn, false) END,
         jd.definition ->> 'verdicts', verdicts.wanted
  -- (the ids unnested: a nested loop over the primary keys, not a scan of
  -- the queue; the function is not inlined, so ANY would plan blind)
  FROM unnest(task_ids) AS wanted(id)
  JOIN llmeval.tasks c ON c.id = wanted.id
  JOIN llmeval.jobs j ON j.id = c.job_id
  JOIN llmeval.models m ON m.id = c.model_id
  JOIN llmeval.providers p ON p.id = m.provider_id
  LEFT JOIN llmeval.provider_secrets s ON s.provider_id = p.id
  JOIN llmeval.prompt_versions pv ON pv.id = j.prompt_version_id
  JOIN llmeval.test_cases tc ON tc.id = c.test_case_id
  LEFT JOIN llmeval.tasks g ON g.id = c.target_task_id
  LEFT JOIN llmeval.responses gr ON gr.task_id = c.target_task_id
  LEFT JOIN llmeval.responses orr ON orr.task_id = c.other_task_id
  LEFT JOIN LATERAL (SELECT md.definition FROM llmeval.metrics md
                     WHERE c.kind = 'judge' AND md.name = c.metric AND (md.tenant IS NULL OR md.tenant = j.tenant)
                     ORDER BY md.tenant NULLS LAST LIMIT 1) jd ON true
  -- The turn asked or judged: its question and what it expects (for a test
  -- case that is not a conversation, the rendered prompt and the case's).
  -- (only a judge reads the question: a plain case's prompt is rendered for it alone)
  CROSS JOIN LATERAL (
    SELECT CASE WHEN c.kind = 'judge' THEN llmeval.render_prompt(pv.template, tc.input) END AS question,
           tc.expected, tc.expected_tool_calls
    WHERE tc.messages IS NULL
    UNION ALL
    SELECT u.content, u.expected, u.expected_tool_calls
    FROM llmeval._conversation_turn(tc.messages, tc.expected, tc.expected_tool_calls,
                                    CASE WHEN c.kind IN ('generate', 'turn') THEN c.turn ELSE g.turn END) u
    WHERE tc.messages IS NOT NULL
  ) ct
  -- A conversation as judged: the messages sent for its last turn and the
  -- model's answer (only for the judges that read it).
  LEFT JOIN LATERAL (
    SELECT CASE WHEN g.turn IS NULL THEN llmeval._final_turn_messages(tc.messages)
                ELSE llmeval._replay_messages(tc.messages, g.job_id, g.test_case_id, g.model_id, g.turn, true) END
           || jsonb_build_array(jsonb_strip_nulls(jsonb_build_object(
                'role', 'assistant', 'content', coalesce(gr.output, ''), 'tool_calls', gr.tool_calls)))
             AS messages
    WHERE c.kind = 'judge' AND tc.messages IS NOT NULL AND jd.definition ->> 'scope' = 'conversation'
  ) conv ON true
  -- How many verdicts a judge of verdicts is asked for, when that is fixed.
  CROSS JOIN LATERAL (
    SELECT CASE jd.definition ->> 'count'
             WHEN 'contexts' THEN jsonb_array_length(tc.contexts)
             WHEN 'assistant_turns' THEN (SELECT count(*)::int FROM jsonb_array_elements(conv.messages) x
                                          WHERE x ->> 'role' = 'assistant' AND coalesce(x ->> 'content', '') <> '')
           END AS wanted
  ) verdicts
  WHERE c.status = 'running'
  ORDER BY c.next_attempt_at, c.id;
END
$$;

-- Locks these rows of relation (jobs or tasks, by id), waiting at most
-- wait_ms in all, and returns those this transaction now holds. SKIP LOCKED,
-- tried again every 2 ms: never a lock wait, so never a deadlock, and no
-- subtransaction (a row locked in a subtransaction and then updated by its
-- parent gets a MultiXact, which made every read of a busy job's row
-- expensive).
CREATE FUNCTION llmeval._lock_rows(relation regclass, ids bigint[], wait_ms int)
RETURNS bigint[]
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  held bigint[] := '{}';
  give_up timestamptz := clock_timestamp() + make_interval(secs => wait_ms / 1000.0);
BEGIN
  ids := ARRAY(SELECT DISTINCT x FROM unnest(ids) x WHERE x IS NOT NULL);
  LOOP
    EXECUTE format('SELECT $2 || ARRAY(SELECT r.id FROM %s r WHERE r.id = ANY ($1) AND r.id <> ALL ($2)'
                   ' ORDER BY r.id FOR NO KEY UPDATE SKIP LOCKED)', relation)
      INTO held USING ids, held;
    EXIT WHEN cardinality(held) >= cardinality(ids) OR clock_timestamp() >= give_up;
    PERFORM pg_sleep(0.002);
  END LOOP;
  RETURN held;
END $$;

-- Locks these rows of relation for a change that must see every other
-- change committed first: the pairwise queueing (two workers completing the
-- two halves of a pair: the job's row) and the scoring of an output judged
-- by several calls (the judged generation's row). A worker's write-back
-- sets llmeval.job_lock_wait_ms (for its transaction): it holds its own
-- task rows by then, and must not wait on a row a tenant may hold, so it
-- tries for that long and gives up (55P03 naming what, e.g. "job"; the
-- worker keeps the results and tries again later). Everyone else waits, in
-- id order.
CREATE FUNCTION llmeval._lock_rows_for_change(relation regclass, ids bigint[], what text) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  -- (milliseconds, no unit; NULL where the library is not loaded)
  wait_ms int := coalesce(nullif(current_setting('llmeval.job_lock_wait_ms', true), '')::int, 0);
BEGIN
  IF coalesce(cardinality(ids), 0) = 0 THEN
    RETURN;
  END IF;
  IF wait_ms > 0 THEN
    IF cardinality(llmeval._lock_rows(relation, ids, wait_ms))
       < (SELECT count(DISTINCT x) FROM unnest(ids) x WHERE x IS NOT NULL) THEN
      RAISE EXCEPTION 'a %''s row is held by another transaction', what USING ERRCODE = 'lock_not_available';
    END IF;
  ELSE
    EXECUTE format('SELECT count(*) FROM (SELECT 1 FROM %s r WHERE r.id = ANY ($1) ORDER BY r.id'
                   ' FOR NO KEY UPDATE) l', relation) USING ids;
  END IF;
END $$;

-- Claims up to max_tasks due pending tasks: a lease, a claim token, one more
-- attempt. Nothing but the claimed task rows is locked (the job counters are
-- folded at the end of the worker's transaction, see
-- llmeval._fold_job_counters), so nothing here waits: rows another worker
-- or a tenant's open transaction holds are passed over. The requests are
-- built afterwards, in a transaction of their own (_task_requests), so
-- that a task whose request cannot be built fails alone.
--
-- What a claim makes of the pending task rows it has locked: running, with
-- a lease, a fresh claim token and one more attempt.
CREATE FUNCTION llmeval._mark_claimed(task_ids bigint[], lease_seconds int)
RETURNS TABLE (task_id bigint, claim_token uuid, job_id bigint)
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
  UPDATE llmeval.tasks t
  SET status = 'running', claim_token = gen_random_uuid(), attempts = t.attempts + 1,
      lease_expires_at = now() + make_interval(secs => lease_seconds), worker_pid = pg_backend_pid(),
      batch_id = NULL  -- (a task sent again after its provider batch failed it)
  WHERE t.id = ANY (task_ids)
  RETURNING t.id, t.claim_token, t.job_id
$$;
REVOKE ALL ON FUNCTION llmeval._mark_claimed(bigint[], int) FROM PUBLIC;

-- How many more calls a job with a budget (option max_cost_usd, or budget
-- when given) may start now: its spent (counters and the changes not folded
-- yet) and its calls in flight, each reserved at twice the mean cost of its
-- paid calls so far; before its first paid answer, one call at a time
-- (what a call costs is not known: a long prompt can cost many times a
-- default guess). The budget is exceeded by no more than the reservations
-- were short. reason: why no call may start, when none is in flight either
-- (the job is then paused); NULL otherwise.
CREATE FUNCTION llmeval._job_budget_room(job_id bigint, budget numeric DEFAULT NULL)
RETURNS TABLE (allowed bigint, spent numeric, per_call numeric, reason text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  j llmeval.jobs;
  running bigint;
  paid bigint;
BEGIN
  SELECT * INTO j FROM llmeval.jobs x WHERE x.id = job_id;
  budget := coalesce(budget, (j.options ->> 'max_cost_usd')::numeric);
  SELECT j.spent + coalesce(sum(d.cost), 0), j.running + coalesce(sum(d.running), 0),
         j.paid_calls + coalesce(sum(d.calls), 0)
  INTO spent, running, paid
  FROM llmeval.job_counter_deltas d WHERE d.job_id = j.id;
  IF paid > 0 THEN
    per_call := 2 * spent / paid;
    allowed := CASE WHEN per_call = 0 THEN 2147483647
                    ELSE greatest(0, floor((budget - spent - greatest(running, 0) * per_call) / per_call)) END;
  ELSE
    per_call := NULL;
    allowed := CASE WHEN running <= 0 AND spent < budget THEN 1 ELSE 0 END;
  END IF;
  reason := CASE WHEN allowed = 0 AND running <= 0 THEN
              format('max_cost_usd %s: spent %s leaves less than the %s a call is reserved', budget,
                     round(spent, 6), round(per_call, 6)) END;
  RETURN NEXT;
END $$;
REVOKE ALL ON FUNCTION llmeval._job_budget_room(bigint, numeric) FROM PUBLIC;

-- Which tasks: fair shares between tenants, then priorities within one.
-- First how many each tenant gets: its k-th due task would have the key
-- (tasks the tenant has running now + k) / its share (llmeval.tenant_shares,
-- 1 by default), and the claim's max_tasks lowest keys decide (with at most
-- max_tasks due tasks counted per job). So the tasks in flight are divided
-- between the tenants with work in proportion to their shares
-- (water-filling): one tenant's 50,000-task job does not make another
-- tenant's 20 tasks wait behind it, and a tenant without due work leaves
-- its part to the others. Then each tenant's part is taken from its jobs in
-- order of their priority option (higher first), then of their ids, each
-- job's tasks in (next_attempt_at, id) order, passing over rows other
-- workers hold. A job with a budget is taken by one claim at a time: its
-- row is locked without waiting (passed over when held), and its room read
-- in the statement after (llmeval._job_budget_room), whose snapshot sees
-- what the last claim committed; at its limit, with nothing in flight, it
-- is paused with the reason. A tenant with a daily budget gets no more than
-- its room (llmeval._tenant_budget_room). What all that leaves untaken goes
-- to the first due tasks of jobs and tenants without a budget, as before
-- fair shares.
CREATE FUNCTION llmeval._claim_tasks(max_tasks int, lease_seconds int)
RETURNS TABLE (task_id bigint, claim_token uuid, job_id bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
  -- the jobs with due tasks, in the order their tenant's part is taken
  job_ids bigint[];
  job_tenants text[];
  job_due int[];
  job_budgeted boolean[];
  part record;
  room record;
  tenant_room record;
  budgeted_tenant boolean;
  i int;
  wanted int;
  cap bigint;
  taken bigint;
  total bigint := 0;
BEGIN
  WITH RECURSIVE pending_jobs(id) AS (
    (SELECT t.job_id FROM llmeval.tasks t WHERE t.status = 'pending' ORDER BY t.job_id LIMIT 1)
    UNION ALL
    SELECT (SELECT t.job_id FROM llmeval.tasks t
            WHERE t.status = 'pending' AND t.job_id > p.id ORDER BY t.job_id LIMIT 1)
    FROM pending_jobs p WHERE p.id IS NOT NULL
  ), due AS (
    SELECT p.id, j.tenant, coalesce((j.options ->> 'priority')::int, 0) AS priority, d.n,
           j.options ? 'max_cost_usd' AS budgeted
    FROM pending_jobs p
    JOIN llmeval.jobs j ON j.id = p.id
    CROSS JOIN LATERAL (
      SELECT count(*)::int AS n FROM (
        SELECT 1 FROM llmeval.tasks t
        WHERE t.job_id = p.id AND t.status = 'pending' AND t.next_attempt_at <= now()
        LIMIT max_tasks) x) d
    WHERE j.status <> 'paused' AND d.n > 0
      -- (a batch job's tasks go to provider batches: llmeval._claim_batch_tasks)
      AND NOT j.options @> '{"execution": "batch"}'
  )
  SELECT array_agg(due.id ORDER BY due.priority DESC, due.id), array_agg(due.tenant ORDER BY due.priority DESC, due.id),
         array_agg(due.n ORDER BY due.priority DESC, due.id), array_agg(due.budgeted ORDER BY due.priority DESC, due.id)
  INTO job_ids, job_tenants, job_due, job_budgeted
  FROM due;
  IF job_ids IS NULL THEN
    RETURN;
  END IF;

  FOR part IN
    -- (one tenant with due work, the usual case: all of it, nothing to divide)
    SELECT job_tenants[1] AS tenant, max_tasks AS n
    WHERE job_tenants[1] = ALL (job_tenants)
    UNION ALL (
    WITH due AS (
      SELECT d.tenant, least(sum(d.n), max_tasks)::int AS n
      FROM unnest(job_tenants, job_due) AS d(tenant, n) GROUP BY d.tenant
    ), running AS (
      SELECT t.tenant, count(*) AS n FROM llmeval.tasks t
      WHERE t.status = 'running' AND t.lease_expires_at < 'infinity' GROUP BY t.tenant
    ), keys AS (
      SELECT d.tenant, (coalesce(r.n, 0) + k) / coalesce(s.share, 1) AS fair_key
      FROM due d
      LEFT JOIN running r ON r.tenant = d.tenant
      LEFT JOIN llmeval.tenant_shares s ON s.tenant = d.tenant
      CROSS JOIN generate_series(1, d.n) AS k
      ORDER BY 2, 1
      LIMIT max_tasks
    )
    SELECT keys.tenant, count(*)::int AS n FROM keys
    WHERE job_tenants[1] <> ANY (job_tenants)
    GROUP BY keys.tenant ORDER BY min(keys.fair_key), 1)
  LOOP
    wanted := part.n;
    budgeted_tenant := EXISTS (SELECT 1 FROM llmeval.tenant_budgets b WHERE b.tenant = part.tenant);
    FOR i IN 1 .. cardinality(job_ids) LOOP
      EXIT WHEN wanted <= 0;
      CONTINUE WHEN job_tenants[i] <> part.tenant;
      cap := least(wanted, job_due[i]);
      IF budgeted_tenant THEN
        -- (a tenant with a daily budget: no more calls than its room for
        -- the job's models, judge and embedding models included; the claims
        -- just made count, as this transaction sees them)
        SELECT * INTO tenant_room FROM llmeval._tenant_budget_room(part.tenant, ARRAY(
          SELECT m.id FROM llmeval.jobs j JOIN llmeval.models m
            ON m.name = ANY (j.models || ARRAY[j.options ->> 'judge_model', j.options ->> 'embedding_model'])
          WHERE j.id = job_ids[i]));
        cap := least(cap, tenant_room.allowed);
        CONTINUE WHEN cap <= 0;
      END IF;
      IF job_budgeted[i] THEN
        PERFORM 1 FROM llmeval.jobs j WHERE j.id = job_ids[i] AND j.status IN ('queued', 'running')
        FOR NO KEY UPDATE SKIP LOCKED;
        CONTINUE WHEN NOT FOUND;
        SELECT * INTO room FROM llmeval._job_budget_room(job_ids[i]);
        IF room.reason IS NOT NULL THEN
          UPDATE llmeval.jobs j SET status = 'paused', paused_reason = room.reason WHERE j.id = job_ids[i];
        END IF;
        cap := least(cap, room.allowed);
        CONTINUE WHEN cap <= 0;
      END IF;
      RETURN QUERY
      SELECT * FROM llmeval._mark_claimed(ARRAY(
        SELECT t.id FROM llmeval.tasks t
        WHERE t.job_id = job_ids[i] AND t.status = 'pending' AND t.next_attempt_at <= now()
        ORDER BY t.next_attempt_at, t.id
        LIMIT cap
        FOR NO KEY UPDATE SKIP LOCKED), lease_seconds);
      GET DIAGNOSTICS taken = ROW_COUNT;
      wanted := wanted - taken;
      total := total + taken;
    END LOOP;
  END LOOP;

  IF total < max_tasks THEN
    RETURN QUERY
    SELECT * FROM llmeval._mark_claimed(ARRAY(
      SELECT t.id FROM llmeval.tasks t
      WHERE t.status = 'pending' AND t.next_attempt_at <= now()
        -- (a job with a budget only as many as it allows, above; a paused one none)
        AND NOT EXISTS (SELECT 1 FROM llmeval.jobs j
                        WHERE j.id = t.job_id AND (j.status = 'paused' OR j.options ? 'max_cost_usd'
                                                   OR j.options @> '{"execution": "batch"}'))
        AND NOT EXISTS (SELECT 1 FROM llmeval.tenant_budgets b WHERE b.tenant = t.tenant)
      ORDER BY t.next_attempt_at, t.id
      LIMIT max_tasks - total
      FOR NO KEY UPDATE SKIP LOCKED), lease_seconds);
  END IF;
END
$$;

-- The cache key of each task's (tenant's cache scope, model, request body)
-- and the cached response, if any, in the order given.
CREATE FUNCTION llmeval._cached_responses(task_ids bigint[], model_ids int[], bodies text[])
RETURNS TABLE (ord bigint, key bytea, output text, input_tokens int, output_tokens int,
               weighted_score float8)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
  RETURN QUERY
  SELECT b.ord, k.key, c.output, c.input_tokens, c.output_tokens, c.weighted_score
  FROM unnest(task_ids, model_ids, bodies) WITH ORDINALITY AS b(task_id, model_id, body, ord)
  JOIN llmeval.tasks t ON t.id = b.task_id
  CROSS JOIN LATERAL (SELECT sha256(convert_to(llmeval._cache_scope(t.tenant) || ':' || b.model_id
                                               || ':' || b.body, 'UTF8')) AS key) k
  LEFT JOIN llmeval.response_cache c ON c.key = k.key
  ORDER BY b.ord;
END
$$;

-- Of these (task, claim token) pairs, the tasks still claimed, locked
-- without waiting, in id order: a row held elsewhere (a tenant's cancel_job
-- not yet committed) is left for later. Every worker transaction that
-- changes its claimed tasks takes them this way first.
CREATE FUNCTION llmeval._lock_claims(task_ids bigint[], tokens uuid[])
RETURNS bigint[]
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  RETURN ARRAY(SELECT t.id FROM llmeval.tasks t JOIN unnest(task_ids, tokens) AS x(id, token) ON t.id = x.id
               WHERE t.claim_token = x.token AND t.status = 'running'
               ORDER BY t.id FOR NO KEY UPDATE OF t SKIP LOCKED);
END $$;

-- Stores completed calls: the response (priced from the model's prices, free
-- when served from the cache), its scores, and the cache entry; marks the
-- tasks completed. Returns the ids applied (others had lost their claim).
CREATE FUNCTION llmeval._complete_tasks_apply(task_ids bigint[], tokens uuid[], outputs text[],
                                        latencies float8[], input_tokens int[], output_tokens int[],
                                        cached boolean[], cache_keys bytea[], score_task_ids bigint[],
                                        score_metrics text[], score_values float8[], holding bigint[],
                                        cached_input_tokens int[] DEFAULT NULL,
                                        cache_write_tokens int[] DEFAULT NULL,
                                        reasoning_tokens int[] DEFAULT NULL)
RETURNS bigint[]
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
  result bigint[];
BEGIN
  WITH input AS (
    SELECT * FROM unnest(task_ids, tokens, outputs, latencies, input_tokens, output_tokens, cached,
                         cache_keys, cached_input_tokens, cache_write_tokens, reasoning_tokens)
                  AS x(id, token, output, latency, itok, otok, cached, ckey, ctok, wtok, rtok)
  ), done AS (
    UPDATE llmeval.tasks t
    SET status = 'completed', claim_token = NULL, lease_expires_at = NULL, worker_pid = NULL,
        last_error = NULL
    FROM input i
    WHERE t.id = i.id AND t.claim_token = i.token AND t.status = 'running' AND t.id = ANY (holding)
    RETURNING t.id, t.tenant, t.model_id, t.attempts, t.batch_id
  ), responses AS (
    INSERT INTO llmeval.responses AS r (task_id, tenant, output, latency_ms, input_tokens,
                                        output_tokens, cached_input_tokens, cache_write_tokens,
                                        reasoning_tokens, cost, execution, attempt)
    SELECT d.id, d.tenant, i.output, i.latency, i.itok, i.otok, i.ctok, i.wtok, i.rtok,
           CASE WHEN i.cached THEN 0
                -- (an answer read from a provider batch: at the batch price)
                WHEN d.batch_id IS NOT NULL
                  THEN llmeval._call_cost(m, i.itok, i.ctok, i.wtok, i.otok) * (1 - m.batch_discount)
                ELSE llmeval._call_cost(m, i.itok, i.ctok, i.wtok, i.otok) END,
           CASE WHEN d.batch_id IS NOT NULL THEN 'batch' ELSE 'sync' END,
           d.attempts
    FROM done d JOIN input i ON i.id = d.id JOIN llmeval.models m ON m.id = d.model_id
    ON CONFLICT (task_id) DO UPDATE
      SET output = EXCLUDED.output, error = NULL, latency_ms = EXCLUDED.latency_ms,
          input_tokens = EXCLUDED.input_tokens, output_tokens = EXCLUDED.output_tokens,
          cached_input_tokens = EXCLUDED.cached_input_tokens,
          cache_write_tokens = EXCLUDED.cache_write_tokens,
          reasoning_tokens = EXCLUDED.reasoning_tokens,
          cost = EXCLUDED.cost, execution = EXCLUDED.execution, attempt = EXCLUDED.attempt, created_at = now()
  ), scores AS (
    INSERT INTO llmeval.task_scores (task_id, tenant, metric, value)
    SELECT d.id, d.tenant, s.metric, s.value
    FROM unnest(score_task_ids, score_metrics, score_values) AS s(id, metric, value)
    JOIN done d ON d.id = s.id
    ON CONFLICT (task_id, metric) DO NOTHING
  ), cache AS (
    INSERT INTO llmeval.response_cache (key, model_id, output, input_tokens, output_tokens)
    SELECT i.ckey, d.model_id, i.output, i.itok, i.otok
    FROM done d JOIN input i ON i.id = d.id
    WHERE i.ckey IS NOT NULL AND NOT i.cached
    -- (in key order: two workers storing the same requests' replies wait
    -- for each other in one order, never in a cycle)
    ORDER BY i.ckey
    ON CONFLICT (key) DO NOTHING
  )
  -- (data-modifying WITH statements run to completion whether read or not)
  SELECT coalesce(array_agg(d.id), '{}') INTO result FROM done d;
  RETURN result;
END
$$;

-- The next turn of each replayed conversation whose turn is completing
-- (before it is marked completed, so that the job never looks finished in
-- between): of kind turn, or the generation for the last. Inserted in the
-- transaction that stores the answer, so a worker killed between two turns
-- leaves the next one queued. The jobs' rows are taken first (as the
-- pairwise queueing does): a cancel_job holding one, whose update of the
-- tasks waits for this transaction, would not see a turn inserted now, so
-- the worker gives up (55P03) and finds the job cancelled when it tries
-- again; a cancelled job asks no more.
CREATE FUNCTION llmeval._queue_next_turns(task_ids bigint[]) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM llmeval._lock_rows_for_change('llmeval.jobs', ARRAY(
    SELECT DISTINCT t.job_id FROM llmeval.tasks t WHERE t.id = ANY (task_ids) AND t.kind = 'turn' ORDER BY 1), 'job');
  INSERT INTO llmeval.tasks (job_id, test_case_id, model_id, tenant, kind, turn)
  SELECT t.job_id, t.test_case_id, t.model_id, t.tenant,
         CASE WHEN t.turn + 1 < n.turns THEN 'turn' ELSE 'generate' END, t.turn + 1
  FROM llmeval.tasks t
  JOIN llmeval.jobs j ON j.id = t.job_id
  JOIN llmeval.test_cases tc ON tc.id = t.test_case_id
  CROSS JOIN LATERAL (SELECT llmeval._user_turns(tc.messages) AS turns) n
  WHERE t.id = ANY (task_ids) AND t.kind = 'turn' AND t.status = 'running'
    AND j.status NOT IN ('cancelled', 'failed') AND t.turn < n.turns
  ORDER BY t.id
  ON CONFLICT DO NOTHING;
END $$;
REVOKE ALL ON FUNCTION llmeval._queue_next_turns(bigint[]) FROM PUBLIC;

-- The workers' write-back of completed calls: the judge and embed tasks of
-- the generations completing are queued first (so the job never looks
-- finished in between), then the calls are stored, then assertions and SQL
-- metrics scored, and judged outputs whose last sample just ended scored.
CREATE FUNCTION llmeval._complete_tasks(task_ids bigint[], tokens uuid[], outputs text[],
                                        latencies float8[], input_tokens int[], output_tokens int[],
                                        cached boolean[], cache_keys bytea[], score_task_ids bigint[],
                                        score_metrics text[], score_values float8[],
                                        cached_input_tokens int[] DEFAULT NULL,
                                        cache_write_tokens int[] DEFAULT NULL,
                                        reasoning_tokens int[] DEFAULT NULL)
RETURNS bigint[]
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  holding bigint[];
  judged boolean;        -- judge or embed tasks among them
  queues_judges boolean; -- their jobs have judge, pairwise or embedding metrics
  deterministic boolean; -- their jobs have assertion or SQL metrics
  done bigint[];
BEGIN
  holding := llmeval._lock_claims(task_ids, tokens);
  judged := EXISTS (SELECT 1 FROM llmeval.tasks t WHERE t.id = ANY (holding) AND t.kind IN ('judge', 'embed'));
  IF cardinality(holding) = 0 THEN
    RETURN '{}';
  END IF;
  IF judged THEN
    PERFORM llmeval._lock_judged_outputs(holding);
  END IF;
  -- Most batches are generations of jobs with lexical metrics only: one
  -- look at their jobs' metrics spares them the rest.
  SELECT coalesce(bool_or(m.kind IN ('judge', 'pairwise', 'embedding')), false),
         coalesce(bool_or(m.kind IN ('assertion', 'sql')), false)
  INTO queues_judges, deterministic
  FROM llmeval.jobs j JOIN llmeval.metrics m ON m.name = ANY (j.metrics)
  WHERE j.id IN (SELECT t.job_id FROM llmeval.tasks t WHERE t.id = ANY (holding))
    AND m.kind NOT IN ('lexical');
  IF queues_judges THEN
    PERFORM llmeval._queue_judgements(holding);
  END IF;
  IF EXISTS (SELECT 1 FROM llmeval.tasks t WHERE t.id = ANY (holding) AND t.kind = 'turn') THEN
    PERFORM llmeval._queue_next_turns(holding);
  END IF;
  done := llmeval._complete_tasks_apply(task_ids, tokens, outputs, latencies, input_tokens,
                                        output_tokens, cached, cache_keys, score_task_ids,
                                        score_metrics, score_values, holding, cached_input_tokens,
                                        cache_write_tokens, reasoning_tokens);
  IF deterministic THEN
    PERFORM llmeval._score_deterministic(done);
  END IF;
  IF judged THEN
    -- A judge reply cached keeps its weighted score (recorded just before).
    UPDATE llmeval.response_cache c SET weighted_score = ju.weighted_score
    FROM unnest(task_ids, cache_keys, cached) AS x(id, key, was_cached)
    JOIN llmeval.judgements ju ON ju.task_id = x.id
    WHERE c.key = x.key AND NOT x.was_cached AND ju.weighted_score IS NOT NULL AND x.id = ANY (done);
    PERFORM llmeval._score_judgements(done);
  END IF;
  RETURN done;
END $$;

-- Puts tasks back in the queue after a retryable failure, due after their
-- backoff, or fails them for good (final = true: the response records the
-- error). Each attempt is logged.
CREATE FUNCTION llmeval._fail_tasks_apply(task_ids bigint[], tokens uuid[], errors text[],
                                          delays_ms bigint[], final boolean[], latencies float8[],
                                          holding bigint[])
RETURNS bigint[]
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
  result bigint[];
BEGIN
  WITH input AS (
    SELECT * FROM unnest(task_ids, tokens, errors, delays_ms, final, latencies)
      AS x(id, token, error, delay, final, latency)
  ), changed AS (
    UPDATE llmeval.tasks t
    SET status = CASE WHEN i.final THEN 'failed' ELSE 'pending' END,
        claim_token = NULL, lease_expires_at = NULL, worker_pid = NULL, last_error = i.error,
        next_attempt_at = now() + make_interval(secs => coalesce(i.delay, 0) / 1000.0)
    FROM input i
    WHERE t.id = i.id AND t.claim_token = i.token AND t.status = 'running' AND t.id = ANY (holding)
    RETURNING t.id, t.tenant, t.job_id, t.attempts, i.final, i.error, i.delay, i.latency
  ), responses AS (
    INSERT INTO llmeval.responses AS r (task_id, tenant, error, latency_ms, attempt)
    SELECT c.id, c.tenant, c.error, c.latency, c.attempts FROM changed c WHERE c.final
    ON CONFLICT (task_id) DO UPDATE
      SET output = NULL, error = EXCLUDED.error, latency_ms = EXCLUDED.latency_ms,
          attempt = EXCLUDED.attempt, created_at = now()
  ), logged AS (
    INSERT INTO llmeval.events (tenant, job_id, task_id, correlation_id, kind, detail)
    SELECT c.tenant, c.job_id, c.id, j.correlation_id,
           CASE WHEN c.final THEN 'task_failed' ELSE 'task_retry' END,
           jsonb_build_object('attempt', c.attempts, 'error', c.error, 'retry_in_ms', c.delay)
    FROM changed c JOIN llmeval.jobs j ON j.id = c.job_id
  )
  SELECT coalesce(array_agg(c.id), '{}') INTO result FROM changed c;
  RETURN result;
END
$$;

-- A judge call that failed for good still ends its sample: the judged
-- output is scored from the samples that succeeded (NULL if none did).
CREATE FUNCTION llmeval._fail_tasks(task_ids bigint[], tokens uuid[], errors text[],
                                    delays_ms bigint[], final boolean[], latencies float8[])
RETURNS bigint[]
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  holding bigint[] := llmeval._lock_claims(task_ids, tokens);
  changed bigint[];
BEGIN
  PERFORM llmeval._lock_judged_outputs(holding);
  changed := llmeval._fail_tasks_apply(task_ids, tokens, errors, delays_ms, final, latencies, holding);
  IF EXISTS (SELECT 1 FROM llmeval.tasks t WHERE t.id = ANY (changed) AND t.kind IN ('judge', 'embed')
             AND t.status = 'failed') THEN
    PERFORM llmeval._score_judgements(changed);
  END IF;
  RETURN changed;
END $$;

-- Gives claimed tasks back (a worker shutting down, or one holding tasks it
-- could not start within its rate limits) without counting the attempt,
-- unless count_attempt (a worker giving its tasks back after an error).
-- (A task row held elsewhere, by a tenant's cancel_job not yet committed, is
-- passed over: cancelled, or else reclaimed once this worker is gone or the
-- lease ends.)
CREATE FUNCTION llmeval._release_tasks(task_ids bigint[], tokens uuid[], delay_ms bigint DEFAULT 0,
                                       count_attempt boolean DEFAULT false)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
  held bigint[] := llmeval._lock_claims(task_ids, tokens);
  result bigint;
BEGIN
  WITH released AS (
    UPDATE llmeval.tasks t
    SET status = CASE WHEN x.back_to_batch THEN 'running' ELSE 'pending' END,
        claim_token = CASE WHEN x.back_to_batch THEN gen_random_uuid() END,
        lease_expires_at = CASE WHEN x.back_to_batch THEN timestamptz 'infinity' END,
        worker_pid = NULL,
        -- (a provider batch's answer being stored goes back to its batch, to
        -- be read again: never asked for twice)
        attempts = CASE WHEN count_attempt OR x.back_to_batch THEN t.attempts ELSE greatest(t.attempts - 1, 0) END,
        next_attempt_at = now() + make_interval(secs => delay_ms / 1000.0)
    FROM (SELECT h.id, llmeval._in_batch_being_read(r.batch_id) AS back_to_batch
          FROM unnest(held) AS h(id) JOIN llmeval.tasks r ON r.id = h.id) x
    WHERE t.id = x.id
    RETURNING t.id
  )
  SELECT count(*) INTO result FROM released;
  RETURN result;
END
$$;

-- Extends the leases of the tasks a worker still holds (waiting for its rate
-- limit turn, in flight, or written back later because their job's row was
-- held): a claim lasts as long as its worker works on it. No job lock is
-- needed (no task changes status) and none is waited for: a task row held
-- elsewhere is renewed on the next round.
CREATE FUNCTION llmeval._renew_leases(task_ids bigint[], tokens uuid[], lease_seconds int)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
  held bigint[] := llmeval._lock_claims(task_ids, tokens);
  result bigint;
BEGIN
  WITH renewed AS (
    UPDATE llmeval.tasks t
    SET lease_expires_at = now() + make_interval(secs => lease_seconds)
    WHERE t.id = ANY (held)
    RETURNING t.id
  )
  SELECT count(*) INTO result FROM renewed;
  RETURN result;
END
$$;

-- Of the tasks a worker holds, those whose claim is gone (cancelled, or
-- reclaimed): the worker abandons their calls.
CREATE FUNCTION llmeval._lost_claims(task_ids bigint[], tokens uuid[])
RETURNS bigint[]
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
  result bigint[];
BEGIN
  SELECT coalesce(array_agg(x.id), '{}') INTO result
  FROM unnest(task_ids, tokens) AS x(id, token)
  WHERE NOT EXISTS (SELECT 1 FROM llmeval.tasks t
                    WHERE t.id = x.id AND t.claim_token = x.token AND t.status = 'running');
  RETURN result;
END
$$;

-- Running tasks whose lease expired, that were claimed before the server
-- last started (a crash or an immediate restart ends every worker), or whose
-- worker is no longer running (killed, or exited after an error: its process
-- is gone from pg_stat_activity) become claimable again, within seconds of
-- the worker's end rather than at the end of the lease; the attempt they
-- used still counts, so a task that crashes its worker cannot loop forever.
-- A claim is kept while its worker's process lives, since that worker may
-- still be waiting on the call (only the lease bounds it).
CREATE FUNCTION llmeval._claim_abandoned(t llmeval.tasks) RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT t.lease_expires_at < 'infinity' AND (
         t.lease_expires_at < now() OR t.updated_at < pg_postmaster_start_time()
         OR (t.worker_pid IS NOT NULL
             AND t.updated_at < now() - interval '2 seconds'
             AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a
                             WHERE a.pid = t.worker_pid AND a.backend_type = 'pg_llmeval worker')))
$$;

-- The counters' changes are folded without waiting (maintenance() calls
-- this too, from a tenant-free session that would otherwise wait for a job
-- row while holding the reclaimed tasks).
CREATE FUNCTION llmeval._reclaim_expired_leases()
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
SET llmeval.defer_job_counters = on
AS $$
#variable_conflict use_column
DECLARE
  result bigint;
  jobs bigint[];
BEGIN
  -- (running tasks are few: the workers' claims; a row held elsewhere is
  -- looked at again next time)
  WITH reclaimed AS (
    UPDATE llmeval.tasks t
    SET status = CASE WHEN x.back_to_batch THEN 'running' ELSE 'pending' END,
        claim_token = CASE WHEN x.back_to_batch THEN gen_random_uuid() END,
        -- (a task whose provider batch ended and is being read goes back to
        -- it: its answer is read again, never asked for twice)
        lease_expires_at = CASE WHEN x.back_to_batch THEN timestamptz 'infinity' END,
        worker_pid = NULL,
        last_error = coalesce(t.last_error, 'lease expired: the worker stopped'), next_attempt_at = now()
    FROM (SELECT r.id, llmeval._in_batch_being_read(r.batch_id) AS back_to_batch
          FROM llmeval.tasks r
          WHERE r.status = 'running' AND llmeval._claim_abandoned(r)
          FOR NO KEY UPDATE OF r SKIP LOCKED) x
    WHERE t.id = x.id
      AND t.status = 'running' AND llmeval._claim_abandoned(t)
    RETURNING t.id, t.job_id
  )
  SELECT count(*), coalesce(array_agg(DISTINCT r.job_id), '{}') INTO result, jobs FROM reclaimed r;
  -- Tasks a provider batch still holds once it is stored or abandoned (rows
  -- a tenant held when the batch was read or given up): back to the queue.
  WITH orphaned AS (
    UPDATE llmeval.tasks t
    SET status = 'pending', claim_token = NULL, lease_expires_at = NULL, worker_pid = NULL,
        last_error = coalesce(t.last_error, 'its provider batch ended without it'), next_attempt_at = now()
    WHERE t.id IN (SELECT r.id FROM llmeval.tasks r
                   WHERE r.status = 'running' AND r.lease_expires_at = 'infinity'
                     AND NOT EXISTS (SELECT 1 FROM llmeval.provider_batches b
                                     WHERE b.id = r.batch_id AND b.status IN ('submitting', 'submitted', 'ended'))
                   FOR NO KEY UPDATE OF r SKIP LOCKED)
    RETURNING t.id, t.job_id
  )
  SELECT result + count(*), jobs || coalesce(array_agg(DISTINCT o.job_id), '{}') INTO result, jobs FROM orphaned o;
  PERFORM llmeval._fold_job_counters(jobs, false);
  RETURN result;
END
$$;

-- The tool calls of responses just stored (text of normalised JSON arrays),
-- in the write-back's transaction.
CREATE FUNCTION llmeval._store_tool_calls(task_ids bigint[], calls text[]) RETURNS void
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
  UPDATE llmeval.responses r SET tool_calls = x.calls::jsonb
  FROM unnest(task_ids, calls) AS x(task_id, calls)
  WHERE r.task_id = x.task_id
$$;
REVOKE ALL ON FUNCTION llmeval._store_tool_calls(bigint[], text[]) FROM PUBLIC;

REVOKE ALL ON FUNCTION llmeval._claim_tasks(int, int) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._task_requests(bigint[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._cached_responses(bigint[], int[], text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._complete_tasks(bigint[], uuid[], text[], float8[], int[], int[], boolean[],
                                               bytea[], bigint[], text[], float8[], int[], int[], int[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._complete_tasks_apply(bigint[], uuid[], text[], float8[], int[], int[], boolean[],
                                                     bytea[], bigint[], text[], float8[], bigint[], int[], int[],
                                                     int[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._fail_tasks_apply(bigint[], uuid[], text[], bigint[], boolean[], float8[], bigint[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._lock_rows(regclass, bigint[], int) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._lock_rows_for_change(regclass, bigint[], text) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._fail_tasks(bigint[], uuid[], text[], bigint[], boolean[], float8[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._release_tasks(bigint[], uuid[], bigint, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._lost_claims(bigint[], uuid[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._lock_claims(bigint[], uuid[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._reclaim_expired_leases() FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._claim_abandoned(llmeval.tasks) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._renew_leases(bigint[], uuid[], int) FROM PUBLIC;

-- Wakes the workers when the submitting transaction commits (a no-op when
-- the library is not preloaded: there are no workers then).
CREATE FUNCTION llmeval._wake_workers_on_commit() RETURNS void
AS 'MODULE_PATHNAME', 'llmeval_wake_workers_on_commit'
LANGUAGE C VOLATILE;
-- (called by the queue's trigger, in the extension's own functions and the
-- workers; nobody else has a reason to wake every worker)
REVOKE ALL ON FUNCTION llmeval._wake_workers_on_commit() FROM PUBLIC;
