-- Job budgets (option max_cost_usd): the claim starts no call past the
-- budget (spent plus a reservation for the calls in flight), pauses the job
-- with the reason, and resume_job continues it with a new limit. Driven by
-- hand without the workers.
BEGIN;
SELECT plan(28);

CREATE ROLE tap_bud IN ROLE llmeval_user;
CREATE ROLE tap_bud2 IN ROLE llmeval_user;
GRANT ALL ON ALL TABLES IN SCHEMA pg_temp TO PUBLIC;
SELECT llmeval.create_provider('tapbg', 'openai', 'http://127.0.0.1:9/v1');
SELECT llmeval.create_model('tapbg/gen', 1, 1);    -- $1 per million tokens, in and out
SELECT llmeval.create_model('tapbg/free');

CREATE FUNCTION pg_temp.claim(n int) RETURNS SETOF llmeval.tasks LANGUAGE sql AS $$
  SELECT t.* FROM llmeval._claim_tasks(n, 300) c JOIN llmeval.tasks t ON t.id = c.task_id $$;
-- completes claimed tasks with 100 input and `output` output tokens each
CREATE FUNCTION pg_temp.complete(ids bigint[], output int) RETURNS void LANGUAGE sql AS $$
  SELECT llmeval._complete_tasks(
    ARRAY(SELECT t.id FROM llmeval.tasks t WHERE t.id = ANY (ids) ORDER BY t.id),
    ARRAY(SELECT t.claim_token FROM llmeval.tasks t WHERE t.id = ANY (ids) ORDER BY t.id),
    ARRAY(SELECT 'answer' FROM unnest(ids)), ARRAY(SELECT 10::float8 FROM unnest(ids)),
    ARRAY(SELECT 100 FROM unnest(ids)), ARRAY(SELECT output FROM unnest(ids)),
    ARRAY(SELECT false FROM unnest(ids)), ARRAY(SELECT NULL::bytea FROM unnest(ids)), '{}', '{}', '{}') $$;

SET ROLE tap_bud;
SELECT llmeval.create_prompt('p', 'Q: {{q}}');
SELECT llmeval.import_dataset('d', (SELECT jsonb_agg(jsonb_build_object('input', jsonb_build_object('q', g)))
                                    FROM generate_series(1, 10) g));
SELECT throws_ok($$ SELECT llmeval.submit_job('p', 'd', ARRAY['tapbg/gen'], '{}', '{"max_cost_usd": 0}') $$, '22023', NULL,
                 'max_cost_usd is positive');
SELECT throws_ok($$ SELECT llmeval.submit_job('p', 'd', ARRAY['tapbg/gen'], '{}', '{"max_cost_usd": "1"}') $$, '22023', NULL,
                 'max_cost_usd is a number');
SELECT throws_ok($$ SELECT llmeval.submit_job('p', 'd', ARRAY['tapbg/free'], '{}', '{"max_cost_usd": 1}') $$, '22023',
                 'job option "max_cost_usd" cannot be enforced: model "tapbg/free" has no prices',
                 'a budget with a model without prices is refused (every call would look free)');
CREATE TEMP TABLE job AS SELECT llmeval.submit_job('p', 'd', ARRAY['tapbg/gen'], '{}', '{"max_cost_usd": 0.01}') AS id;
GRANT SELECT ON job TO PUBLIC;
RESET ROLE;

-- Before its first paid answer a job starts one call at a time (what a call
-- costs is not known yet).
CREATE TEMP TABLE first AS SELECT id FROM pg_temp.claim(10);
SELECT is((SELECT count(*) FROM first), 1::bigint, 'before the first answer, one call');
SELECT is((SELECT count(*) FROM pg_temp.claim(10)), 0::bigint, 'and no other while it is in flight');
SELECT is((SELECT status FROM llmeval.jobs WHERE id = (SELECT id FROM job)), 'running',
          'not paused while a call is in flight: it tells what a call costs');
-- it costs 100 + 3,000 tokens: $0.0031; a call is now reserved at twice that
SELECT pg_temp.complete(ARRAY(SELECT id FROM first), 3000);
SELECT is((SELECT round(spent, 6) || ' ' || paid_calls FROM llmeval.jobs WHERE id = (SELECT id FROM job)), '0.003100 1',
          'the job''s spent is its calls'' cost');
CREATE TEMP TABLE second AS SELECT id FROM pg_temp.claim(10);
SELECT is((SELECT count(*) FROM second), 1::bigint, 'then as many as the rest pays for at twice the mean: 1');
SELECT pg_temp.complete(ARRAY(SELECT id FROM second), 3000);
SELECT is((SELECT count(*) FROM pg_temp.claim(10)), 0::bigint, 'at the budget no call starts');
SELECT is((SELECT status FROM llmeval.jobs WHERE id = (SELECT id FROM job)), 'paused', 'the job is paused');
SELECT is((SELECT paused_reason FROM llmeval.jobs WHERE id = (SELECT id FROM job)),
          'max_cost_usd 0.01: spent 0.006200 leaves less than the 0.006200 a call is reserved',
          'with the reason');
SELECT is((SELECT detail ->> 'reason' FROM llmeval.events WHERE kind = 'job_paused' AND job_id = (SELECT id FROM job)),
          (SELECT paused_reason FROM llmeval.jobs WHERE id = (SELECT id FROM job)), 'an event says so');
SELECT is(llmeval.wait_job((SELECT id FROM job), '1 s'), 'paused', 'wait_job returns at the pause');
SELECT is((SELECT pending FROM llmeval.jobs WHERE id = (SELECT id FROM job)), 8, 'its 8 other tasks wait');
-- (its tasks due an hour ago: a queue that waited that long would look stuck)
UPDATE llmeval.tasks SET next_attempt_at = now() - interval '1 hour'
WHERE job_id = (SELECT id FROM job) AND status = 'pending';
SELECT ok(llmeval.prometheus_metrics() LIKE '%llmeval_oldest_pending_seconds 0%'
          AND jsonb_path_query_first(llmeval.health(), '$.**.oldest_due_seconds')::text = '0',
          'a paused job''s tasks do not make the queue look stuck');

SET ROLE tap_bud2;
SELECT throws_ok(format('SELECT llmeval.resume_job(%s, 1)', (SELECT id FROM job)), '42704', NULL,
                 'another tenant cannot resume it');
RESET ROLE;
SET ROLE tap_bud;
SELECT throws_ok(format('SELECT llmeval.resume_job(%s)', (SELECT id FROM job)), '22023', NULL,
                 'resuming at the same limit, already spent, is refused');
SELECT throws_ok(format('SELECT llmeval.resume_job(%s, 0.012)', (SELECT id FROM job)), '22023',
                 format('job %s has spent 0.006200; max_cost_usd 0.012 leaves less than the 0.006200 a call is reserved',
                        (SELECT id FROM job)),
                 'a new limit must leave room for a call');
SELECT is(llmeval.resume_job((SELECT id FROM job), 1), 'running', 'resume_job with a new limit');
SELECT is((SELECT (options ->> 'max_cost_usd') || ' ' || coalesce(paused_reason, 'none') FROM llmeval.jobs
           WHERE id = (SELECT id FROM job)), '1 none', 'the new limit is the job''s');
SELECT throws_ok(format('SELECT llmeval.resume_job(%s, 2)', (SELECT id FROM job)), '55000', NULL,
                 'a job that is not paused cannot be resumed');
RESET ROLE;
-- a call now reserved at twice the mean so far ($0.0062): the 8 fit in $1
CREATE TEMP TABLE rest AS SELECT id FROM pg_temp.claim(10);
SELECT is((SELECT count(*) FROM rest), 8::bigint, 'after the resume its other tasks are claimed');
-- answered from the cache (no cost): the mean cost of a paid call stays
SELECT llmeval._complete_tasks(
  ARRAY(SELECT t.id FROM llmeval.tasks t WHERE t.id IN (SELECT id FROM rest) ORDER BY t.id),
  ARRAY(SELECT t.claim_token FROM llmeval.tasks t WHERE t.id IN (SELECT id FROM rest) ORDER BY t.id),
  ARRAY(SELECT 'cached' FROM rest), ARRAY(SELECT 0::float8 FROM rest), ARRAY(SELECT 100 FROM rest),
  ARRAY(SELECT 3000 FROM rest), ARRAY(SELECT true FROM rest), ARRAY(SELECT NULL::bytea FROM rest), '{}', '{}', '{}');
SELECT is((SELECT round(spent, 6) || ' ' || paid_calls || ' ' || completed FROM llmeval.jobs WHERE id = (SELECT id FROM job)),
          '0.006200 2 10', 'cached answers cost nothing and are not paid calls (the reservation stays $0.0062)');
SELECT is((SELECT events FROM (SELECT string_agg(kind, ' ' ORDER BY id) AS events FROM llmeval.events
                               WHERE job_id = (SELECT id FROM job)) e),
          'job_submitted job_running job_paused job_resume job_running job_completed', 'the job''s events');

-- a job without a budget is not limited
SET ROLE tap_bud;
CREATE TEMP TABLE free_job AS SELECT llmeval.submit_job('p', 'd', ARRAY['tapbg/gen'], '{}') AS id;
GRANT SELECT ON free_job TO PUBLIC;
RESET ROLE;
CREATE TEMP TABLE free_claimed AS SELECT id FROM pg_temp.claim(10);
SELECT is((SELECT count(*) FROM free_claimed), 10::bigint, 'a job without max_cost_usd is claimed as before');
-- A call that fails and is retried: its response row is written again by
-- the attempt that succeeds (an update), and that call's cost counts too.
SELECT llmeval._fail_tasks(ARRAY(SELECT id FROM free_claimed ORDER BY id LIMIT 1),
                           ARRAY(SELECT t.claim_token FROM llmeval.tasks t WHERE t.id = (SELECT min(id) FROM free_claimed)),
                           ARRAY['HTTP 503'], ARRAY[0::bigint], ARRAY[false], ARRAY[5::float8]);
CREATE TEMP TABLE retried AS SELECT id FROM pg_temp.claim(10);
SELECT pg_temp.complete(ARRAY(SELECT id FROM retried) || ARRAY(SELECT id FROM free_claimed ORDER BY id OFFSET 1), 900);
SELECT is((SELECT round(spent, 6) || ' ' || completed FROM llmeval.jobs WHERE id = (SELECT id FROM free_job)), '0.010000 10',
          'a call retried after a failure is in spent once (10 calls of 1,000 tokens)');
-- a response written again by a later call (an upsert: the write-backs set
-- created_at again) adds that call's cost
UPDATE llmeval.responses SET cost = 0.5, created_at = clock_timestamp()
WHERE task_id = (SELECT min(id) FROM free_claimed);
SELECT is((SELECT round(spent, 6) FROM llmeval.jobs WHERE id = (SELECT id FROM free_job)), 0.510000,
          'a response written again by a new call adds its cost');

-- Counters found broken at a fold (edited by hand, a partial restore) are
-- counted again from the tasks; the cost folded with them is kept.
SET ROLE tap_bud;
CREATE TEMP TABLE job3 AS SELECT llmeval.submit_job('p', 'd', ARRAY['tapbg/gen'], '{}') AS id;
GRANT SELECT ON job3 TO PUBLIC;
RESET ROLE;
CREATE TEMP TABLE c3 AS SELECT task_id AS id FROM llmeval._claim_tasks(10, 300) c JOIN llmeval.tasks t ON t.id = c.task_id
                        WHERE t.job_id = (SELECT id FROM job3);
UPDATE llmeval.jobs SET running = 0, pending = pending + running WHERE id = (SELECT id FROM job3);
SET LOCAL llmeval.defer_job_counters = on;
SELECT pg_temp.complete(ARRAY(SELECT id FROM c3), 900);
SELECT llmeval._fold_job_counters(ARRAY(SELECT id FROM job3), false);
RESET llmeval.defer_job_counters;
SELECT is((SELECT round(spent, 6) || ' ' || paid_calls || ' ' || completed || ' ' || running FROM llmeval.jobs
           WHERE id = (SELECT id FROM job3)), '0.010000 10 10 0',
          'counters counted again after a broken fold keep the cost folded with them');

SELECT * FROM finish();
ROLLBACK;
