-- Job budgets (option max_cost_usd): the claim starts no call past the
-- budget (spent plus a reservation for the calls in flight), pauses the job
-- with the reason, and resume_job continues it with a new limit. Driven by
-- hand without the workers.
BEGIN;
SELECT plan(21);

CREATE ROLE tap_bud IN ROLE llmeval_user;
CREATE ROLE tap_bud2 IN ROLE llmeval_user;
GRANT ALL ON ALL TABLES IN SCHEMA pg_temp TO PUBLIC;
SELECT llmeval.create_provider('tapbg', 'openai', 'http://127.0.0.1:9/v1');
SELECT llmeval.create_model('tapbg/gen', 1, 1);    -- $1 per million tokens, in and out

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
CREATE TEMP TABLE job AS SELECT llmeval.submit_job('p', 'd', ARRAY['tapbg/gen'], '{}', '{"max_cost_usd": 0.01}') AS id;
GRANT SELECT ON job TO PUBLIC;
RESET ROLE;

-- Before any call a call is reserved at 1,000 input and 1,024 output tokens
-- ($0.002024): 4 fit in $0.01.
CREATE TEMP TABLE first AS SELECT id FROM pg_temp.claim(10);
SELECT is((SELECT count(*) FROM first), 4::bigint, 'the first claim starts only the calls the budget can pay for');
SELECT is((SELECT count(*) FROM pg_temp.claim(10)), 0::bigint, 'and no more while they are in flight');
SELECT is((SELECT status FROM llmeval.jobs WHERE id = (SELECT id FROM job)), 'running',
          'not paused while calls are in flight: they tell what a call costs');
-- they cost 100 + 3,000 tokens each: $0.0124 in all, past the budget
SELECT pg_temp.complete(ARRAY(SELECT id FROM first), 3000);
SELECT is((SELECT spent FROM llmeval.jobs WHERE id = (SELECT id FROM job)), 0.0124, 'the job''s spent is its calls'' cost');
SELECT is((SELECT count(*) FROM pg_temp.claim(10)), 0::bigint, 'at the budget no call starts');
SELECT is((SELECT status FROM llmeval.jobs WHERE id = (SELECT id FROM job)), 'paused', 'the job is paused');
SELECT is((SELECT paused_reason FROM llmeval.jobs WHERE id = (SELECT id FROM job)),
          'max_cost_usd 0.01 reached: spent 0.012400, 0.006200 a call reserved for the calls in flight',
          'with the reason');
SELECT is((SELECT detail ->> 'reason' FROM llmeval.events WHERE kind = 'job_paused' AND job_id = (SELECT id FROM job)),
          (SELECT paused_reason FROM llmeval.jobs WHERE id = (SELECT id FROM job)), 'an event says so');
SELECT is(llmeval.wait_job((SELECT id FROM job), '1 s'), 'paused', 'wait_job returns at the pause');
SELECT is((SELECT pending FROM llmeval.jobs WHERE id = (SELECT id FROM job)), 6, 'its 6 other tasks wait');

SET ROLE tap_bud2;
SELECT throws_ok(format('SELECT llmeval.resume_job(%s, 1)', (SELECT id FROM job)), '42704', NULL,
                 'another tenant cannot resume it');
RESET ROLE;
SET ROLE tap_bud;
SELECT throws_ok(format('SELECT llmeval.resume_job(%s)', (SELECT id FROM job)), '22023', NULL,
                 'resuming at the same limit, already spent, is refused');
SELECT throws_ok(format('SELECT llmeval.resume_job(%s, 0.01)', (SELECT id FROM job)), '22023',
                 format('job %s has spent 0.012400 of its max_cost_usd 0.01', (SELECT id FROM job)),
                 'a new limit must be above what was spent');
SELECT is(llmeval.resume_job((SELECT id FROM job), 1), 'running', 'resume_job with a new limit');
SELECT is((SELECT (options ->> 'max_cost_usd') || ' ' || coalesce(paused_reason, 'none') FROM llmeval.jobs
           WHERE id = (SELECT id FROM job)), '1 none', 'the new limit is the job''s');
SELECT throws_ok(format('SELECT llmeval.resume_job(%s, 2)', (SELECT id FROM job)), '55000', NULL,
                 'a job that is not paused cannot be resumed');
RESET ROLE;
-- a call now reserved at twice the mean so far ($0.0062): the 6 fit in $1
SELECT is((SELECT count(*) FROM pg_temp.claim(10)), 6::bigint, 'after the resume its other tasks are claimed');
SELECT is((SELECT events FROM (SELECT string_agg(kind, ' ' ORDER BY id) AS events FROM llmeval.events
                               WHERE job_id = (SELECT id FROM job)) e),
          'job_submitted job_running job_paused job_resume job_running', 'the job''s events');

-- a job without a budget is not limited
SET ROLE tap_bud;
CREATE TEMP TABLE free_job AS SELECT llmeval.submit_job('p', 'd', ARRAY['tapbg/gen'], '{}') AS id;
RESET ROLE;
SELECT is((SELECT count(*) FROM pg_temp.claim(10)), 10::bigint, 'a job without max_cost_usd is claimed as before');

SELECT * FROM finish();
ROLLBACK;
