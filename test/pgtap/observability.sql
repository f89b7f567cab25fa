-- worker_status, health() and prometheus_metrics() on data written as the
-- workers write it; counters that never decrease; maintenance()'s retention.
--
-- No enclosing transaction: maintenance() is a procedure that commits. The
-- data is committed only once every task has ended (a worker never sees a
-- due pending task of this file), and removed at the end.
SET client_min_messages = warning;
SELECT plan(25);

BEGIN;
SELECT llmeval.create_provider('tapo', 'openai', 'http://127.0.0.1:9/v1');
SELECT llmeval.create_model('tapo/m', 1, 2);
SELECT llmeval.create_prompt('obs_p', '{{q}}');
SELECT llmeval.import_dataset('obs_d', (SELECT jsonb_agg(jsonb_build_object('input', jsonb_build_object('q', 'q' || g), 'expected', 'a'))
                                        FROM generate_series(1, 10) g));
CREATE TEMP TABLE j AS SELECT llmeval.submit_job('obs_p', 'obs_d', ARRAY['tapo/m'], ARRAY['bleu']) AS id;
-- latencies 200, 300, 400 and 500 ms, twice each
UPDATE llmeval.tasks SET status = CASE WHEN (id - (SELECT min(id) FROM llmeval.tasks)) % 5 = 0 THEN 'failed' ELSE 'completed' END
WHERE job_id = (SELECT id FROM j);
INSERT INTO llmeval.responses (task_id, tenant, output, latency_ms, input_tokens, output_tokens, cost)
SELECT id, tenant, 'a', 100 * ((id - (SELECT min(id) FROM llmeval.tasks)) % 5 + 1), 10, 3, 0.000016
FROM llmeval.tasks WHERE status = 'completed';
INSERT INTO llmeval.events (tenant, job_id, task_id, kind, detail)
SELECT tenant, job_id, id, 'task_retry', '{"error": "HTTP 429: slow down"}'::jsonb FROM llmeval.tasks WHERE status = 'failed'
UNION ALL
SELECT tenant, job_id, id, 'task_failed', '{"error": "timeout: Operation timed out"}' FROM llmeval.tasks WHERE status = 'failed';
COMMIT;

CREATE TEMP TABLE metrics AS SELECT line FROM regexp_split_to_table(llmeval.prometheus_metrics(), E'\n') AS line WHERE line <> '';
SELECT is((SELECT count(*) FROM metrics
           WHERE line !~ '^# (HELP|TYPE) '
             AND line !~ '^[a-z_]+(\{[a-z_]+="([^"\\]|\\.)*"(,[a-z_]+="([^"\\]|\\.)*")*\})? (-?[0-9.]+(e[-+]?[0-9]+)?|\+Inf)$'),
          0::bigint, 'every line is a comment or a sample in the text exposition format');
SELECT is((SELECT count(*) FROM metrics WHERE line ~ '^# TYPE '), 15::bigint,
          'fifteen metric families are declared (online rules'' score mean and alert state, job and tenant budgets among them)');
SELECT ok(EXISTS (SELECT 1 FROM metrics WHERE line = 'llmeval_tasks{status="completed"} 8'), 'queue depth by status');
SELECT ok(EXISTS (SELECT 1 FROM metrics WHERE line = 'llmeval_tasks_finished_total{model="tapo/m",outcome="failed"} 2'), 'failures by model');
SELECT ok(EXISTS (SELECT 1 FROM metrics WHERE line = 'llmeval_provider_errors_total{code="429"} 2')
          AND EXISTS (SELECT 1 FROM metrics WHERE line = 'llmeval_provider_errors_total{code="timeout"} 2'),
          'provider errors by HTTP status or transport error');
SELECT ok(EXISTS (SELECT 1 FROM metrics WHERE line = 'llmeval_retries_total 2'), 'retries');
SELECT ok(EXISTS (SELECT 1 FROM metrics WHERE line = 'llmeval_request_latency_seconds_bucket{model="tapo/m",le="+Inf"} 8')
          AND EXISTS (SELECT 1 FROM metrics WHERE line = 'llmeval_request_latency_seconds_count{model="tapo/m"} 8'),
          'the histogram''s +Inf bucket equals its count');
SELECT ok((SELECT bool_and(a <= b) FROM (
             SELECT split_part(line, ' ', 2)::float8 AS a,
                    lead(split_part(line, ' ', 2)::float8) OVER (ORDER BY ord) AS b
             FROM (SELECT line, row_number() OVER () AS ord FROM metrics WHERE line LIKE 'llmeval_request_latency_seconds_bucket%') x) y
           WHERE b IS NOT NULL), 'histogram buckets are cumulative');
SELECT is((SELECT string_agg(line, ' ' ORDER BY line) FROM metrics
           WHERE line ~ '^llmeval_request_latency_seconds_(sum|bucket\{model="tapo/m",le="0\.(1|25|5)")'),
          'llmeval_request_latency_seconds_bucket{model="tapo/m",le="0.1"} 0 '
          'llmeval_request_latency_seconds_bucket{model="tapo/m",le="0.25"} 2 '
          'llmeval_request_latency_seconds_bucket{model="tapo/m",le="0.5"} 8 '
          'llmeval_request_latency_seconds_sum{model="tapo/m"} 2.8',
          'latency in seconds (base unit): buckets 0.1 s to 10 s, and the sum');
SELECT ok(EXISTS (SELECT 1 FROM metrics WHERE line = 'llmeval_tokens_total{model="tapo/m",direction="input"} 80')
          AND EXISTS (SELECT 1 FROM metrics WHERE line = 'llmeval_cost_total{model="tapo/m"} 0.000128'),
          'tokens and cost by model');
SELECT is(llmeval._prom_label(E'a"b\\c\nd'), E'a\\"b\\\\c\\nd', 'label values are escaped');

CREATE ROLE tap_obs_other IN ROLE llmeval_user;
SET ROLE tap_obs_other;
SELECT is((SELECT count(*) FROM regexp_split_to_table(llmeval.prometheus_metrics(), E'\n') AS line
           WHERE line LIKE '%tapo/m%' OR line ~ '^llmeval_(retries|provider_errors)_total.* [1-9]'),
          0::bigint, 'another tenant sees none of these counters');
RESET ROLE;

SELECT is((SELECT count(*) FROM llmeval.worker_status WHERE heartbeat_age < interval '30 seconds'), 2::bigint,
          'both workers heartbeat');
SELECT is(llmeval.health() #>> '{checks,workers,status}', 'ok', 'health: the workers are ok');

-- Three more jobs, all ended: "old" 40 days ago; "base" 40 days ago but a
-- baseline; "recent" a day ago, its calls made 40 days ago (a long job).
BEGIN;
CREATE TEMP TABLE old_jobs AS
SELECT llmeval.submit_job('obs_p', 'obs_d', ARRAY['tapo/m'], ARRAY['bleu']) AS old,
       llmeval.submit_job('obs_p', 'obs_d', ARRAY['tapo/m'], ARRAY['bleu']) AS base,
       llmeval.submit_job('obs_p', 'obs_d', ARRAY['tapo/m'], ARRAY['bleu']) AS recent;
UPDATE llmeval.tasks SET status = 'completed' WHERE job_id IN (SELECT unnest(ARRAY[old, base, recent]) FROM old_jobs);
INSERT INTO llmeval.responses (task_id, tenant, output, latency_ms, input_tokens, output_tokens, cost, created_at)
SELECT id, tenant, 'a', 700, 20, 4, 0.000028, now() - interval '40 days'
FROM llmeval.tasks WHERE job_id IN (SELECT unnest(ARRAY[old, base, recent]) FROM old_jobs);
UPDATE llmeval.events SET created_at = now() - interval '40 days'
WHERE job_id IN (SELECT unnest(ARRAY[old, base, recent]) FROM old_jobs);
UPDATE llmeval.jobs SET finished_at = now() - interval '40 days' WHERE id IN (SELECT unnest(ARRAY[old, base]) FROM old_jobs);
UPDATE llmeval.jobs SET finished_at = now() - interval '1 day' WHERE id = (SELECT recent FROM old_jobs);
SELECT llmeval.set_baseline((SELECT base FROM old_jobs), 'obs_keep');
-- a shard of a backend that has exited (pid 1 is never a backend)
INSERT INTO llmeval.counter_shards (metric, tenant, label, shard, value) VALUES ('retries', 'tap_obs_gone', '', 1, 5);
COMMIT;

-- Every counter sample (*_total and the histogram's series), by name and labels.
CREATE FUNCTION pg_temp.counter_samples() RETURNS TABLE (series text, value numeric)
LANGUAGE sql AS $$
  SELECT split_part(line, ' ', 1), split_part(line, ' ', 2)::numeric
  FROM regexp_split_to_table(llmeval.prometheus_metrics(), E'\n') AS line
  WHERE line ~ '^llmeval_[a-z_]+(_total|_bucket|_sum|_count)[{ ]'
$$;
CREATE FUNCTION pg_temp.lower_than(before text) RETURNS text
LANGUAGE sql AS $$
  SELECT coalesce(string_agg(format('%s %s -> %s', b.series, b.value, coalesce(a.value::text, 'missing')), '; '), '')
  FROM (SELECT * FROM regexp_split_to_table(before, E'\n') AS l(line),
        LATERAL (SELECT split_part(l.line, ' ', 1) AS series, split_part(l.line, ' ', 2)::numeric AS value) s
        WHERE l.line <> '') b
  LEFT JOIN pg_temp.counter_samples() a ON a.series = b.series
  WHERE a.value IS NULL OR a.value < b.value
$$;
CREATE TEMP TABLE before AS
SELECT string_agg(series || ' ' || value, E'\n') AS samples, count(*) AS n FROM pg_temp.counter_samples();

-- retry_failed turns the first job's 2 failed tasks back into pending ones
-- (not due for a day here, so that no worker calls the dead provider).
BEGIN;
SELECT is(llmeval.retry_failed((SELECT id FROM j)), 2::bigint, 'retry_failed puts 2 failed tasks back');
UPDATE llmeval.tasks SET next_attempt_at = now() + interval '1 day' WHERE job_id = (SELECT id FROM j) AND status = 'pending';
SELECT is(pg_temp.lower_than((SELECT samples FROM before)), '',
          'after retry_failed, no counter is lower (or gone) than before');
COMMIT;

CALL llmeval.maintenance();

SELECT is(pg_temp.lower_than((SELECT samples FROM before)), '',
          'after maintenance deleted a job, no counter is lower (or gone) than before');
SELECT is((SELECT n FROM before), 18::bigint, 'all 18 counter samples compared');
SELECT ok(NOT EXISTS (SELECT 1 FROM llmeval.counter_shards WHERE shard = 1)
          AND (SELECT value FROM llmeval.counter_shards WHERE tenant = 'tap_obs_gone' AND shard = 0) = 5,
          'maintenance folds the shard of an exited backend into shard 0, value kept');

-- Retention: by job, never by row.
SELECT is((SELECT count(*) FROM llmeval.jobs WHERE id = (SELECT old FROM old_jobs))
          + (SELECT count(*) FROM llmeval.tasks WHERE job_id = (SELECT old FROM old_jobs))
          + (SELECT count(*) FROM llmeval.events WHERE job_id = (SELECT old FROM old_jobs)),
          0::bigint, 'a job that ended 40 days ago is deleted whole: job, tasks, responses, events');
SELECT is((SELECT count(r.task_id) FROM llmeval.tasks t LEFT JOIN llmeval.responses r ON r.task_id = t.id
           WHERE t.job_id = (SELECT recent FROM old_jobs)),
          10::bigint, 'a job that ended a day ago keeps its responses, though written 40 days ago');
SELECT ok((SELECT count(*) FROM llmeval.events WHERE job_id = (SELECT recent FROM old_jobs)) > 0,
          'and its events');
SELECT is((SELECT count(r.task_id) FROM llmeval.tasks t LEFT JOIN llmeval.responses r ON r.task_id = t.id
           WHERE t.job_id = (SELECT base FROM old_jobs)),
          10::bigint, 'a baseline job keeps its responses, however old');
SELECT is((SELECT count(*) FROM llmeval.tasks t
           WHERE t.status = 'completed' AND NOT EXISTS (SELECT 1 FROM llmeval.responses r WHERE r.task_id = t.id)),
          0::bigint, 'no completed task is left without its response');
SELECT is((SELECT sum(r.cost) FROM llmeval.results r WHERE r.job_id = (SELECT recent FROM old_jobs)), 0.00028,
          'the kept job''s cost is intact');

-- Clean up, counters included (so that the file runs again in this
-- database; every other file's writes are rolled back).
DELETE FROM llmeval.baselines WHERE name = 'obs_keep';
DELETE FROM llmeval.jobs WHERE id IN (SELECT id FROM j UNION ALL SELECT unnest(ARRAY[old, base, recent]) FROM old_jobs);
DELETE FROM llmeval.prompts WHERE name = 'obs_p';
DELETE FROM llmeval.datasets WHERE name = 'obs_d';
DELETE FROM llmeval.counter_shards;
DELETE FROM llmeval.models WHERE name = 'tapo/m';
DELETE FROM llmeval.providers WHERE name = 'tapo';
DROP ROLE tap_obs_other;
SELECT * FROM finish();
