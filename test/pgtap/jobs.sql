-- Jobs: validation at submit, the queue it creates, counters and status as
-- tasks move, progress, cancel, retry, wait and export.
BEGIN;
SELECT plan(43);

CREATE ROLE tap_carol IN ROLE llmeval_user;
GRANT ALL ON ALL TABLES IN SCHEMA pg_temp TO PUBLIC;
GRANT ALL ON ALL SEQUENCES IN SCHEMA pg_temp TO PUBLIC;
SELECT llmeval.create_provider('tapj', 'openai', 'http://127.0.0.1:9/v1');
SELECT llmeval.create_model('tapj/a', 1, 2);
SELECT llmeval.create_model('tapj/b');

SET ROLE tap_carol;
SELECT is(llmeval.create_prompt('qa', 'Q: {{question}}', 'Topic: {{topic}}'), 1, 'first prompt version');
SELECT is(llmeval.create_prompt('qa', 'Question: {{question}}'), 2, 'second prompt version');
SELECT is((SELECT fields FROM llmeval.prompt_versions WHERE version = 1), ARRAY['question', 'topic'],
          'the fields of template and system are recorded');
SELECT ok(llmeval.import_dataset('geo', $$[
  {"input": {"question": "Capital of France?", "topic": "geo"}, "expected": "Paris"},
  {"input": {"question": "Capital of Japan?"}, "expected": "Tokyo"},
  {"input": {"question": "Capital of Peru?"}, "expected": "Lima", "context": "South America"}]$$) > 0,
  'a dataset of three test cases');

-- Validation: each mistake gets its SQLSTATE and nothing is queued.
SELECT throws_ok($$ SELECT llmeval.submit_job('nope', 'geo', ARRAY['tapj/a'], ARRAY['bleu']) $$,
                 '42704', 'prompt "nope" does not exist', 'unknown prompt');
SELECT throws_ok($$ SELECT llmeval.submit_job('qa', 'nope', ARRAY['tapj/a'], ARRAY['bleu']) $$,
                 '42704', 'dataset "nope" does not exist', 'unknown dataset');
SELECT throws_ok($$ SELECT llmeval.submit_job('qa', 'geo', ARRAY['tapj/zzz'], ARRAY['bleu']) $$,
                 '42704', 'model "tapj/zzz" does not exist', 'unknown model');
SELECT throws_ok($$ SELECT llmeval.submit_job('qa', 'geo', ARRAY['tapj/a'], ARRAY['blue']) $$,
                 '42704', 'metric "blue" does not exist', 'unknown metric');
SELECT throws_ok($$ SELECT llmeval.submit_job('qa', 'geo', ARRAY[]::text[], ARRAY['bleu']) $$,
                 '22023', 'a job needs at least one model', 'no model');
SELECT throws_ok($$ SELECT llmeval.submit_job('qa', 'geo', ARRAY['tapj/a', NULL], ARRAY['bleu']) $$,
                 '22004', NULL, 'NULL model');
SELECT throws_ok($$ SELECT llmeval.submit_job('qa', 'geo', ARRAY['tapj/a', 'tapj/a'], ARRAY['bleu']) $$,
                 '22023', 'models and metrics must not repeat', 'repeated model');
SELECT throws_ok($$ SELECT llmeval.submit_job('qa', 'geo', ARRAY['tapj/a'], ARRAY['bleu'], '{"temprature": 0}') $$,
                 '22023', 'unknown job option "temprature"', 'misspelt option');
SELECT throws_ok($$ SELECT llmeval.submit_job('qa', 'geo', ARRAY['tapj/a'], ARRAY['bleu'], '{"prompt_version": 1}') $$,
                 '22023', 'test case 2 of dataset "geo" has no field "topic"',
                 'a test case lacking a prompt field is named');
SELECT throws_ok($$ SELECT llmeval.submit_job('qa', 'geo', ARRAY['tapj/a'], ARRAY['bleu'], '{"prompt_version": 7}') $$,
                 '42704', 'prompt "qa" version 7 does not exist', 'unknown prompt version');
SELECT is((SELECT count(*) FROM llmeval.jobs), 0::bigint, 'failed submits left no job');

-- A job: one task per test case and model, pinned to the versions used.
CREATE TEMP TABLE j AS
SELECT llmeval.submit_job('qa', 'geo', ARRAY['tapj/a', 'tapj/b'], ARRAY['bleu', 'exact_match'],
                          '{"temperature": 0}') AS id;
SELECT is((SELECT count(*) FROM llmeval.tasks WHERE job_id = (SELECT id FROM j)), 6::bigint,
          'three test cases times two models');
SELECT is((SELECT (pv.version, jb.status, jb.total, jb.pending)::text FROM llmeval.jobs jb
           JOIN llmeval.prompt_versions pv ON pv.id = jb.prompt_version_id WHERE jb.id = (SELECT id FROM j)),
          '(2,queued,6,6)', 'the job pins prompt version 2 and counts six pending tasks');
SELECT is((SELECT status || ' ' || total || ' ' || done || ' ' || percent FROM llmeval.job_progress((SELECT id FROM j))),
          'queued 6 0 0.0', 'progress of a new job');
SELECT is(llmeval.wait_job((SELECT id FROM j), '10 ms'), 'queued', 'wait_job returns the current status at its timeout');
SELECT is((SELECT array_agg(kind ORDER BY id) FROM llmeval.events WHERE job_id = (SELECT id FROM j)),
          ARRAY['job_submitted'], 'the submission is logged');
SELECT ok((SELECT correlation_id IS NOT NULL FROM llmeval.jobs WHERE id = (SELECT id FROM j)),
          'the job has a correlation id');

-- A re-imported dataset is a new version; the job keeps the old one.
SELECT ok(llmeval.import_dataset('geo', '[{"input": {"question": "?"}}]') > 0, 're-import');
SELECT is((SELECT count(*) FROM llmeval.results WHERE job_id = (SELECT id FROM j)), 6::bigint,
          'the job''s results still show its own test cases');
RESET ROLE;

-- Workers move tasks (as the extension owner would).
UPDATE llmeval.tasks SET status = 'running', claim_token = gen_random_uuid(),
                         lease_expires_at = now() + interval '1 minute', attempts = 1
WHERE job_id = (SELECT id FROM j) AND test_case_id = (SELECT min(test_case_id) FROM llmeval.tasks WHERE job_id = (SELECT id FROM j));
SELECT is((SELECT status || ' ' || running || ' ' || pending FROM llmeval.jobs WHERE id = (SELECT id FROM j)),
          'running 2 4', 'claimed tasks make the job running');
INSERT INTO llmeval.responses (task_id, tenant, output, latency_ms, input_tokens, output_tokens, cost)
SELECT id, tenant, 'Paris', 10, 12, 1, 0.000014 FROM llmeval.tasks WHERE job_id = (SELECT id FROM j) AND status = 'running';
UPDATE llmeval.tasks SET status = 'completed', claim_token = NULL, lease_expires_at = NULL
WHERE job_id = (SELECT id FROM j) AND status = 'running' AND model_id = (SELECT id FROM llmeval.models WHERE name = 'tapj/a');
UPDATE llmeval.tasks SET status = 'failed', claim_token = NULL, lease_expires_at = NULL, last_error = 'HTTP 500: upstream'
WHERE job_id = (SELECT id FROM j) AND status = 'running';
SELECT is((SELECT (completed, failed, pending, running)::text FROM llmeval.jobs WHERE id = (SELECT id FROM j)),
          '(1,1,4,0)', 'counters follow every status change');

-- A worker's session defers the counters: a change waits in
-- job_counter_deltas, taking no lock on the job's row, until a fold.
SET llmeval.defer_job_counters = on;
UPDATE llmeval.tasks SET status = 'running', claim_token = gen_random_uuid(),
                         lease_expires_at = now() + interval '1 minute'
WHERE id = (SELECT min(id) FROM llmeval.tasks WHERE job_id = (SELECT id FROM j) AND status = 'pending');
SELECT is((SELECT (pending, running, (SELECT count(*) FROM llmeval.job_counter_deltas))::text
           FROM llmeval.jobs WHERE id = (SELECT id FROM j)),
          '(4,0,1)', 'deferred: the change waits to be folded');
SELECT is(llmeval._fold_job_counters(NULL, false), '{}'::bigint[], 'a fold takes every job''s changes');
SELECT is((SELECT (pending, running, (SELECT count(*) FROM llmeval.job_counter_deltas))::text
           FROM llmeval.jobs WHERE id = (SELECT id FROM j)),
          '(3,1,0)', 'folded: the counters are the tasks'' counts again');
UPDATE llmeval.tasks SET status = 'pending', claim_token = NULL, lease_expires_at = NULL
WHERE job_id = (SELECT id FROM j) AND status = 'running';
INSERT INTO llmeval.job_counter_deltas (job_id, total, pending, running, completed, failed, cancelled)
VALUES (-7, 1, 1, 0, 0, 0, 0);
SELECT is(llmeval._fold_job_counters(ARRAY[(SELECT id FROM j), -7], false), '{}'::bigint[],
          'the changes of a job deleted since are dropped');
SELECT is((SELECT (pending, running, (SELECT count(*) FROM llmeval.job_counter_deltas))::text
           FROM llmeval.jobs WHERE id = (SELECT id FROM j)),
          '(4,0,0)', 'nothing is left to fold');
RESET llmeval.defer_job_counters;

SET ROLE tap_carol;
SELECT throws_ok($$ SET llmeval.defer_job_counters = on $$, '42501', NULL,
                 'a tenant cannot defer the counters of its statements');
SELECT is((SELECT error FROM llmeval.results WHERE job_id = (SELECT id FROM j) AND status = 'failed'),
          'HTTP 500: upstream', 'a failed task shows its error in results');
SELECT is((SELECT (done, percent)::text FROM llmeval.job_progress((SELECT id FROM j))), '(2,33.3)',
          'progress counts finished tasks');
SELECT ok((SELECT eta IS NOT NULL FROM llmeval.job_progress((SELECT id FROM j))), 'a running job has an ETA');
SELECT is(llmeval.retry_failed((SELECT id FROM j)), 1::bigint, 'retry_failed re-queues the failed task');
SELECT is((SELECT (failed, pending)::text FROM llmeval.jobs WHERE id = (SELECT id FROM j)), '(0,5)',
          'the retried task is pending again');
SELECT is(llmeval.cancel_job((SELECT id FROM j)), 5::bigint, 'cancel_job cancels the pending tasks');
SELECT is((SELECT (status, cancelled, completed)::text FROM llmeval.jobs WHERE id = (SELECT id FROM j)),
          '(cancelled,5,1)', 'the job is cancelled, the completed task stays');
SELECT is(llmeval.cancel_job((SELECT id FROM j)), 0::bigint, 'cancelling again does nothing');
SELECT is(llmeval.wait_job((SELECT id FROM j)), 'cancelled', 'wait_job returns a final status at once');
SELECT throws_ok(format('SELECT llmeval.retry_failed(%s)', (SELECT id FROM j)), '55000', NULL,
                 'a cancelled job cannot be retried');

-- Export: JSON with scores, CSV with one column per metric.
RESET ROLE;
INSERT INTO llmeval.task_scores (task_id, tenant, metric, value)
SELECT id, tenant, 'exact_match', 1 FROM llmeval.tasks WHERE job_id = (SELECT id FROM j) AND status = 'completed';
SET ROLE tap_carol;
SELECT is((SELECT r -> 'scores' FROM jsonb_array_elements(llmeval.export_results((SELECT id FROM j))::jsonb -> 'results') r
           WHERE r ->> 'status' = 'completed'), '{"exact_match": 1}'::jsonb, 'JSON export carries the scores');
SELECT is(split_part(llmeval.export_results((SELECT id FROM j), 'csv'), E'\r\n', 1),
          'test_case_id,position,model,status,input,expected,output,error,latency_ms,input_tokens,output_tokens,cost,attempts,bleu,exact_match',
          'CSV export header');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
