-- Job counters kept from deltas: what the workers leave unfolded is folded
-- before a tenant's cancel_job or retry_failed decides anything, a fold
-- never fails on counters that disagree with the tasks (it counts again),
-- and the log shows that a job ran even when one fold took it from queued
-- to completed. (No workers run in this database: the test moves the tasks
-- as a worker's session would, with llmeval.defer_job_counters on.)
BEGIN;
SELECT plan(16);

CREATE ROLE tap_dora IN ROLE llmeval_user;
GRANT ALL ON ALL TABLES IN SCHEMA pg_temp TO PUBLIC;
SELECT llmeval.create_provider('tapc', 'openai', 'http://127.0.0.1:9/v1');
SELECT llmeval.create_model('tapc/a', 1, 2);

SET ROLE tap_dora;
SELECT llmeval.create_prompt('qa', 'Q: {{question}}');
SELECT llmeval.import_dataset('three', $$[
  {"input": {"question": "a"}, "expected": "A"},
  {"input": {"question": "b"}, "expected": "B"},
  {"input": {"question": "c"}, "expected": "C"}]$$);
CREATE TEMP TABLE j AS
SELECT llmeval.submit_job('qa', 'three', ARRAY['tapc/a'], ARRAY['exact_match']) AS first,
       llmeval.submit_job('qa', 'three', ARRAY['tapc/a'], ARRAY['exact_match']) AS second,
       llmeval.submit_job('qa', 'three', ARRAY['tapc/a'], ARRAY['exact_match']) AS third;
SELECT throws_ok($$ SELECT count(*) FROM llmeval.job_counter_deltas $$, '42501', NULL,
                 'a tenant cannot read the counters'' changes');
SELECT throws_ok($$ SELECT llmeval._fold_job_counters(NULL, false) $$, '42501', NULL,
                 'nor fold them');
SELECT throws_ok($$ SET llmeval.defer_job_counters = on $$, '42501', NULL,
                 'nor defer its own');
RESET ROLE;

-- A worker completes every task of the first job; its fold was passed over.
SET llmeval.defer_job_counters = on;
UPDATE llmeval.tasks SET status = 'running', claim_token = gen_random_uuid(), attempts = 1,
                         lease_expires_at = now() + interval '1 minute'
WHERE job_id = (SELECT first FROM j);
UPDATE llmeval.tasks SET status = 'completed', claim_token = NULL, lease_expires_at = NULL WHERE job_id = (SELECT first FROM j);
SELECT is((SELECT (status, completed)::text FROM llmeval.jobs WHERE id = (SELECT first FROM j)),
          '(queued,0)', 'unfolded, the job still looks queued');
RESET llmeval.defer_job_counters;
SET ROLE tap_dora;
SELECT is(llmeval.cancel_job((SELECT first FROM j)), 0::bigint,
          'cancel_job folds first: the job had ended, nothing is cancelled');
SELECT is((SELECT (status, completed, cancelled)::text FROM llmeval.jobs WHERE id = (SELECT first FROM j)),
          '(completed,3,0)', 'and the job is completed, not cancelled');
SELECT is((SELECT array_agg(kind ORDER BY id) FROM llmeval.events
           WHERE job_id = (SELECT first FROM j) AND kind LIKE 'job\_%' AND kind <> 'job_submitted'),
          ARRAY['job_running', 'job_completed'], 'the log shows the job ran, then completed');
RESET ROLE;

-- A worker fails a task of the second job for good; unfolded.
SET llmeval.defer_job_counters = on;
UPDATE llmeval.tasks SET status = 'failed', last_error = 'HTTP 400: bad'
WHERE id = (SELECT min(id) FROM llmeval.tasks WHERE job_id = (SELECT second FROM j));
RESET llmeval.defer_job_counters;
SET ROLE tap_dora;
SELECT is(llmeval.retry_failed((SELECT second FROM j)), 1::bigint,
          'retry_failed sees a failure the counters have not caught up with');
SELECT is((SELECT (pending, failed)::text FROM llmeval.jobs WHERE id = (SELECT second FROM j)),
          '(3,0)', 'and the task is pending again');
RESET ROLE;

-- Counters edited by hand (3 a.m.): the next fold would take one below 0.
-- It is not applied; the job is counted again from its tasks, with a warning.
UPDATE llmeval.jobs SET pending = 0, completed = 3 WHERE id = (SELECT third FROM j);
SET llmeval.defer_job_counters = on;
UPDATE llmeval.tasks SET status = 'running', claim_token = gen_random_uuid(), attempts = 1,
                         lease_expires_at = now() + interval '1 minute'
WHERE id = (SELECT min(id) FROM llmeval.tasks WHERE job_id = (SELECT third FROM j));
SELECT is(llmeval._fold_job_counters(ARRAY[(SELECT third FROM j)], false), '{}'::bigint[],
          'a fold of counters that disagree with the tasks does not fail');
SELECT is((SELECT (total, pending, running, completed, status)::text FROM llmeval.jobs
           WHERE id = (SELECT third FROM j)),
          '(3,2,1,0,running)', 'the job is counted again from its tasks');
SELECT is((SELECT count(*) FROM llmeval.job_counter_deltas), 0::bigint, 'nothing is left to fold');

-- A fold that meets a job row held elsewhere passes over it and says so;
-- here the row is "held" by a job deleted since, whose changes are dropped.
INSERT INTO llmeval.job_counter_deltas (job_id, total, pending, running, completed, failed, cancelled)
VALUES (-1, 1, 1, 0, 0, 0, 0);
SELECT is(llmeval._fold_job_counters(NULL, false), '{}'::bigint[], 'changes of a deleted job are dropped');
RESET llmeval.defer_job_counters;

-- Every job's counters are its tasks' counts.
SELECT is((SELECT count(*) FROM llmeval.jobs jb
           CROSS JOIN LATERAL (SELECT count(*) FILTER (WHERE t.status = 'pending') AS pending,
                                      count(*) FILTER (WHERE t.status = 'running') AS running,
                                      count(*) FILTER (WHERE t.status = 'completed') AS completed,
                                      count(*) FILTER (WHERE t.status = 'failed') AS failed
                               FROM llmeval.tasks t WHERE t.job_id = jb.id) c
           WHERE (jb.pending, jb.running, jb.completed, jb.failed)
                 IS DISTINCT FROM (c.pending, c.running, c.completed, c.failed)),
          0::bigint, 'every job''s counters are its tasks'' counts');
SELECT ok(NOT has_function_privilege('llmeval_user', 'llmeval._recount_job_counters(bigint[])', 'EXECUTE')
          AND NOT has_function_privilege('llmeval_user', 'llmeval._apply_task_delta(bigint[], text[], bigint[])', 'EXECUTE'),
          'tenants cannot call the counters'' internals');
SELECT ok(NOT has_function_privilege('llmeval_user', 'llmeval._lock_judged_outputs(bigint[])', 'EXECUTE'),
          'nor the judged outputs'' lock');

SELECT * FROM finish();
ROLLBACK;
