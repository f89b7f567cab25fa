-- worker_status, health() and prometheus_metrics() on data written as the
-- workers write it.
BEGIN;
SELECT plan(12);

SELECT llmeval.create_provider('tapo', 'openai', 'http://127.0.0.1:9/v1');
SELECT llmeval.create_model('tapo/m', 1, 2);
SELECT llmeval.create_prompt('p', '{{q}}');
SELECT llmeval.import_dataset('d', (SELECT jsonb_agg(jsonb_build_object('input', jsonb_build_object('q', 'q' || g), 'expected', 'a'))
                                    FROM generate_series(1, 10) g));
CREATE TEMP TABLE j AS SELECT llmeval.submit_job('p', 'd', ARRAY['tapo/m'], ARRAY['bleu']) AS id;
UPDATE llmeval.tasks SET status = CASE WHEN id % 5 = 0 THEN 'failed' ELSE 'completed' END;
INSERT INTO llmeval.responses (task_id, tenant, output, latency_ms, input_tokens, output_tokens, cost)
SELECT id, tenant, 'a', 50 * (id % 5 + 1) * 2, 10, 3, 0.000016 FROM llmeval.tasks WHERE status = 'completed';
INSERT INTO llmeval.events (tenant, job_id, task_id, kind, detail)
SELECT tenant, job_id, id, 'task_retry', '{"error": "HTTP 429: slow down"}'::jsonb FROM llmeval.tasks WHERE status = 'failed'
UNION ALL
SELECT tenant, job_id, id, 'task_failed', '{"error": "timeout: Operation timed out"}' FROM llmeval.tasks WHERE status = 'failed';

CREATE TEMP TABLE metrics AS SELECT line FROM regexp_split_to_table(llmeval.prometheus_metrics(), E'\n') AS line WHERE line <> '';
SELECT is((SELECT count(*) FROM metrics
           WHERE line !~ '^# (HELP|TYPE) '
             AND line !~ '^[a-z_]+(\{[a-z_]+="([^"\\]|\\.)*"(,[a-z_]+="([^"\\]|\\.)*")*\})? (-?[0-9.]+(e[-+]?[0-9]+)?|\+Inf)$'),
          0::bigint, 'every line is a comment or a sample in the text exposition format');
SELECT is((SELECT count(*) FROM metrics WHERE line ~ '^# TYPE '), 10::bigint, 'ten metric families are declared');
SELECT ok(EXISTS (SELECT 1 FROM metrics WHERE line = 'llmeval_tasks{status="completed"} 8'), 'queue depth by status');
SELECT ok(EXISTS (SELECT 1 FROM metrics WHERE line = 'llmeval_tasks_finished_total{model="tapo/m",outcome="failed"} 2'), 'failures by model');
SELECT ok(EXISTS (SELECT 1 FROM metrics WHERE line = 'llmeval_provider_errors_total{code="429"} 2')
          AND EXISTS (SELECT 1 FROM metrics WHERE line = 'llmeval_provider_errors_total{code="timeout"} 2'),
          'provider errors by HTTP status or transport error');
SELECT ok(EXISTS (SELECT 1 FROM metrics WHERE line = 'llmeval_retries_total 2'), 'retries');
SELECT ok(EXISTS (SELECT 1 FROM metrics WHERE line = 'llmeval_request_latency_ms_bucket{model="tapo/m",le="+Inf"} 8')
          AND EXISTS (SELECT 1 FROM metrics WHERE line = 'llmeval_request_latency_ms_count{model="tapo/m"} 8'),
          'the histogram''s +Inf bucket equals its count');
SELECT ok((SELECT bool_and(a <= b) FROM (
             SELECT split_part(line, ' ', 2)::float8 AS a,
                    lead(split_part(line, ' ', 2)::float8) OVER (ORDER BY ord) AS b
             FROM (SELECT line, row_number() OVER () AS ord FROM metrics WHERE line LIKE 'llmeval_request_latency_ms_bucket%') x) y
           WHERE b IS NOT NULL), 'histogram buckets are cumulative');
SELECT ok(EXISTS (SELECT 1 FROM metrics WHERE line = 'llmeval_tokens_total{model="tapo/m",direction="input"} 80')
          AND EXISTS (SELECT 1 FROM metrics WHERE line = 'llmeval_cost_total{model="tapo/m"} 0.000128'),
          'tokens and cost by model');
SELECT is(llmeval._prom_label(E'a"b\\c\nd'), E'a\\"b\\\\c\\nd', 'label values are escaped');

SELECT is((SELECT count(*) FROM llmeval.worker_status WHERE heartbeat_age < interval '30 seconds'), 2::bigint,
          'both workers heartbeat');
SELECT is(llmeval.health() #>> '{checks,workers,status}', 'ok', 'health: the workers are ok');

SELECT * FROM finish();
ROLLBACK;
