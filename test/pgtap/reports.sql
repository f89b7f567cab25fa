-- Reports: generate_report's figures for a tenant's jobs of the last day or
-- week, tenant isolation (also for superusers, as pg_cron runs it),
-- regressions against baselines, and the HTML pages: model names, SVG
-- charts, every user value escaped, nothing loaded from elsewhere.
BEGIN;
SELECT plan(51);

CREATE ROLE tap_rep_a IN ROLE llmeval_user;
CREATE ROLE tap_rep_b IN ROLE llmeval_user;
GRANT ALL ON ALL TABLES IN SCHEMA pg_temp TO PUBLIC;
GRANT ALL ON ALL SEQUENCES IN SCHEMA pg_temp TO PUBLIC;
SELECT llmeval.create_provider('taprep', 'openai', 'http://127.0.0.1:9/v1');
SELECT llmeval.create_model('taprep/alpha', 1, 2);
SELECT llmeval.create_model('taprep/beta');

-- A job's tasks finished as a worker would: (model, position, status,
-- output, error, latency, cost, bleu, exact_match).
CREATE FUNCTION pg_temp.finish(job bigint, data jsonb) RETURNS void LANGUAGE sql AS $$
  WITH r AS (
    SELECT t.id, t.tenant, x.*
    FROM jsonb_to_recordset(data) AS x(model text, pos int, status text, output text, error text,
                                       latency float8, cost numeric, bleu float8, em float8)
    JOIN llmeval.models m ON m.name = x.model
    JOIN llmeval.test_cases tc ON tc.position = x.pos
    JOIN llmeval.tasks t ON t.job_id = job AND t.model_id = m.id AND t.test_case_id = tc.id
  ), resp AS (
    INSERT INTO llmeval.responses (task_id, tenant, output, error, latency_ms, input_tokens, output_tokens, cost)
    SELECT id, tenant, output, error, latency, CASE WHEN output IS NOT NULL THEN 10 END,
           CASE WHEN output IS NOT NULL THEN 2 END, cost
    FROM r
  ), sc AS (
    INSERT INTO llmeval.task_scores (task_id, tenant, metric, value)
    SELECT id, tenant, 'bleu', bleu FROM r WHERE bleu IS NOT NULL
    UNION ALL
    SELECT id, tenant, 'exact_match', em FROM r WHERE em IS NOT NULL
  )
  UPDATE llmeval.tasks t SET status = r.status, last_error = r.error, attempts = 1
  FROM r WHERE t.id = r.id
$$;

-- Tenant a: a job of two models over four test cases, one of whose inputs
-- and outputs is a script; and an older job, three days back.
SET ROLE tap_rep_a;
SELECT llmeval.create_prompt('p', 'Q: {{question}}');
SELECT llmeval.import_dataset('d', $$[
  {"input": {"question": "Capital of France?"}, "expected": "Paris"},
  {"input": {"question": "Capital of Japan?"}, "expected": "Tokyo"},
  {"input": {"question": "<script>alert('q')</script>"}, "expected": "Rome"},
  {"input": {"question": "Capital of Peru?"}, "expected": "Lima"}]$$);
SELECT llmeval.submit_job('p', 'd', ARRAY['taprep/alpha', 'taprep/beta'], ARRAY['bleu', 'exact_match']) AS job1 \gset
SELECT llmeval.submit_job('p', 'd', ARRAY['taprep/alpha'], ARRAY['bleu']) AS job_old \gset
-- Tenant b: the same names, its own job.
SET ROLE tap_rep_b;
SELECT llmeval.create_prompt('p', 'Q: {{question}}');
SELECT llmeval.import_dataset('d', '[{"input": {"question": "Capital of Chad?"}, "expected": "N''Djamena"}]');
SELECT llmeval.submit_job('p', 'd', ARRAY['taprep/alpha'], ARRAY['bleu']) AS job_b \gset
RESET ROLE;

SELECT pg_temp.finish(:job1, $$[
  {"model": "taprep/alpha", "pos": 1, "status": "completed", "output": "Paris", "latency": 100, "cost": 0.001, "bleu": 10, "em": 1},
  {"model": "taprep/alpha", "pos": 2, "status": "completed", "output": "Tokyo", "latency": 200, "cost": 0.001, "bleu": 20, "em": 1},
  {"model": "taprep/alpha", "pos": 3, "status": "completed", "output": "<script>alert(1)</script>", "latency": 300, "cost": 0.001, "bleu": 30, "em": 0},
  {"model": "taprep/alpha", "pos": 4, "status": "completed", "output": "Lima", "latency": 400, "cost": 0.001, "bleu": 40, "em": 1},
  {"model": "taprep/beta", "pos": 1, "status": "completed", "output": "paris?", "latency": 50, "cost": 0.002, "bleu": 0, "em": 0},
  {"model": "taprep/beta", "pos": 2, "status": "completed", "output": "Tokyo", "latency": 150, "cost": 0.002, "bleu": 50, "em": 1},
  {"model": "taprep/beta", "pos": 3, "status": "completed", "output": "Rome", "latency": 250, "cost": 0.002, "bleu": 100, "em": 1},
  {"model": "taprep/beta", "pos": 4, "status": "failed", "error": "HTTP 500: <b>upstream</b> broke", "latency": 5000}]$$);
SELECT pg_temp.finish(:job_b, '[{"model": "taprep/alpha", "pos": 1, "status": "completed", "output": "x", "latency": 9, "cost": 1, "bleu": 99}]');
UPDATE llmeval.jobs SET created_at = now() - interval '3 days' WHERE id = :job_old;

SELECT is((SELECT status || ' ' || completed || ' ' || failed FROM llmeval.jobs WHERE id = :job1),
          'completed 7 1', 'the job is finished with one failed task');

-- The bad period.
SET ROLE tap_rep_a;
SELECT throws_ok($$ SELECT llmeval.generate_report('hourly') $$, '22023', 'invalid report period "hourly"',
                 'an unknown period is refused');
SELECT throws_ok($$ SELECT llmeval.generate_report(NULL) $$, '22023', NULL, 'a NULL period is refused');

-- The daily report of tenant a.
SELECT llmeval.generate_report('daily') AS daily \gset
SELECT body AS b FROM llmeval.reports WHERE id = :daily \gset
SELECT is((SELECT (tenant, period, period_end - period_start)::text FROM llmeval.reports WHERE id = :daily),
          '(tap_rep_a,daily,"1 day")', 'the report is tenant a''s, over one day');
SELECT is(:'b'::jsonb -> 'jobs' -> 'count', '1', 'one job of the last day (the older one is left out)');
SELECT is(:'b'::jsonb #> '{jobs,by_status}',
          '{"queued": 0, "running": 0, "paused": 0, "completed": 1, "failed": 0, "cancelled": 0}', 'jobs by status');
SELECT is((:'b'::jsonb #> '{jobs,list,0}') - 'correlation_id' - 'created_at' - 'finished_at',
          jsonb_build_object('id', :job1, 'prompt', 'p', 'prompt_version', 1, 'dataset', 'd', 'dataset_version', 1,
                             'models', ARRAY['taprep/alpha', 'taprep/beta'], 'metrics', ARRAY['bleu', 'exact_match'],
                             'status', 'completed', 'total', 8, 'completed', 7, 'failed', 1, 'cancelled', 0,
                             'cost', 0.010),
          'the job''s entry: prompt, dataset, models, status, counts and cost');
SELECT is((:'b'::jsonb #> '{scores,taprep/alpha,bleu}') - 'histogram' - 'stddev',
          '{"n": 4, "mean": 25, "min": 10, "max": 40}', 'bleu of alpha: n, mean, min, max');
SELECT is((:'b'::jsonb #> '{scores,taprep/beta,bleu}') - 'histogram' - 'stddev',
          '{"n": 3, "mean": 50, "min": 0, "max": 100}', 'bleu of beta');
SELECT is((:'b'::jsonb #>> '{scores,taprep/alpha,exact_match,mean}')::float8, 0.75::float8, 'exact match of alpha');
SELECT is(:'b'::jsonb #> '{scores,taprep/alpha,bleu,histogram}',
          '{"lo": 0, "hi": 100, "counts": [0, 1, 1, 1, 1, 0, 0, 0, 0, 0]}',
          'alpha''s bleu histogram: 10 bins over the metric''s [min, max]');
SELECT is(:'b'::jsonb #> '{scores,taprep/beta,bleu,histogram,counts}',
          '[1, 0, 0, 0, 0, 1, 0, 0, 0, 1]', 'beta''s: the maximum falls in the last bin');
SELECT is(:'b'::jsonb #> '{scores,taprep/alpha,exact_match,histogram,counts}',
          '[1, 0, 0, 0, 0, 0, 0, 0, 0, 3]', 'exact match: zeros and ones at the ends');
SELECT is(:'b'::jsonb #> '{cost,by_model,taprep/alpha}',
          '{"cost": 0.004, "input_tokens": 40, "output_tokens": 8, "cached_input_tokens": 0,
            "cache_write_tokens": 0, "reasoning_tokens": 0, "tasks": 4, "completed": 4, "failed": 0}',
          'cost and tokens of alpha');
SELECT is((:'b'::jsonb #>> '{cost,total}')::numeric, 0.010, 'total cost');
SELECT is(:'b'::jsonb -> 'tokens',
          '{"input": 70, "output": 14, "cached_input": 0, "cache_write": 0, "reasoning": 0}', 'tokens in and out');
SELECT is(:'b'::jsonb -> 'errors',
          '{"failed": 1, "by_model": {"taprep/alpha": 0, "taprep/beta": 1},
            "top": [{"error": "HTTP 500: <b>upstream</b> broke", "count": 1, "models": ["taprep/beta"]}]}',
          'errors: failed tasks by model and the most frequent messages');
SELECT is((SELECT (x ->> 'p50_ms', x ->> 'p95_ms', x ->> 'n')::text FROM (SELECT :'b'::jsonb #> '{latency,taprep/alpha}' x) s),
          '(250,385,4)', 'latency of alpha: p50 and p95');
SELECT is((SELECT (x ->> 'p50_ms', x ->> 'p95_ms', x ->> 'n')::text FROM (SELECT :'b'::jsonb #> '{latency,taprep/beta}' x) s),
          '(150,240,3)', 'latency of beta counts completed tasks only');
SELECT is(:'b'::jsonb -> 'regressions', '[]', 'no regressions without baselines');
SELECT is(:'b'::jsonb -> 'models', '["taprep/alpha", "taprep/beta"]', 'the models in job order');

-- The weekly report takes the older job in too.
SELECT llmeval.generate_report('weekly') AS weekly \gset
SELECT is((SELECT (body #>> '{jobs,count}', body #>> '{jobs,by_status,queued}', period_end - period_start)::text
           FROM llmeval.reports WHERE id = :weekly),
          '(2,1,"7 days")', 'the weekly report counts both jobs, one of them still queued');

-- Tenant isolation.
SET ROLE tap_rep_b;
SELECT llmeval.generate_report('daily') AS daily_b \gset
SELECT is((SELECT (body #>> '{jobs,count}', body #>> '{scores,taprep/alpha,bleu,n}', body #>> '{scores,taprep/alpha,bleu,mean}')::text
           FROM llmeval.reports WHERE id = :daily_b),
          '(1,1,99)', 'tenant b''s report has only b''s job and scores');
SELECT is((SELECT count(*) FROM llmeval.reports), 1::bigint, 'b sees only its own report');
SELECT throws_ok(format('SELECT llmeval.report_html(%s)', :job1), '42704', format('job %s does not exist', :job1),
                 'another tenant''s job does not exist');
SELECT throws_ok(format('SELECT llmeval.report_html_for(%s)', :daily), '42704', format('report %s does not exist', :daily),
                 'nor does another tenant''s report');
RESET ROLE;
-- A superuser (pg_cron) reports on its own role's jobs only, although it sees every row.
SELECT llmeval.generate_report('weekly') AS daily_su \gset
SELECT is((SELECT (tenant, body #>> '{jobs,count}', body ->> 'tenant')::text FROM llmeval.reports WHERE id = :daily_su),
          format('(%s,0,%s)', current_user, current_user), 'a superuser''s report is its own tenant''s, with no jobs');

-- The job's page.
SET ROLE tap_rep_a;
SELECT llmeval.report_html(:job1) AS html \gset
SELECT ok(:'html' LIKE '<!DOCTYPE html>%</html>', 'one HTML document');
SELECT ok(:'html' LIKE '%taprep/alpha%' AND :'html' LIKE '%taprep/beta%', 'the models are named');
SELECT ok(:'html' LIKE '%<svg%', 'with SVG charts');
SELECT is((length(:'html') - length(replace(:'html', '<svg', ''))) / 4, 7,
          'two metric bar charts, four histograms and a latency chart');
SELECT is((length(:'html') - length(replace(:'html', 'class="chart hist"', ''))) / length('class="chart hist"'), 4,
          'one histogram per model and metric');
SELECT ok(:'html' NOT LIKE '%<script%', 'no script element, although an input and an output are scripts');
SELECT ok(:'html' LIKE '%&lt;script&gt;alert(1)&lt;/script&gt;%', 'the output is shown escaped');
SELECT ok(:'html' LIKE '%&lt;script&gt;alert(&#39;q&#39;)&lt;/script&gt;%', 'so is the input');
SELECT ok(:'html' LIKE '%HTTP 500: &lt;b&gt;upstream&lt;/b&gt; broke%' AND :'html' NOT LIKE '%<b>upstream%',
          'the failure''s error is listed, escaped');
SELECT ok(:'html' NOT LIKE '%http://%' AND :'html' NOT LIKE '%https://%', 'nothing refers to another resource');
SELECT ok(:'html' LIKE '%' || (SELECT correlation_id FROM llmeval.jobs WHERE id = :job1) || '%'
          AND :'html' LIKE '%$0.01%', 'the header shows the correlation id and the cost');
SELECT throws_ok('SELECT llmeval.report_html(-1)', '42704', 'job -1 does not exist', 'an unknown job');
SELECT throws_ok('SELECT llmeval.report_html_for(-1)', '42704', 'report -1 does not exist', 'an unknown report');

-- A stored report's page.
SELECT llmeval.report_html_for(:daily) AS rhtml \gset
SELECT ok(:'rhtml' LIKE '<!DOCTYPE html>%Daily report%</html>', 'the daily report as a page');
SELECT ok(:'rhtml' LIKE '%taprep/alpha%' AND :'rhtml' LIKE '%taprep/beta%' AND :'rhtml' LIKE '%<svg%',
          'with the models and charts');
SELECT is((length(:'rhtml') - length(replace(:'rhtml', '<svg', ''))) / 4, 7, 'the same charts as the job''s page');
SELECT ok(:'rhtml' NOT LIKE '%<script%' AND :'rhtml' LIKE '%HTTP 500: &lt;b&gt;upstream%'
          AND :'rhtml' NOT LIKE '%http://%' AND :'rhtml' NOT LIKE '%https://%', 'escaped and self-contained');
-- A body written by hand is data too.
INSERT INTO llmeval.reports (period, period_start, period_end, body)
VALUES ('job', now(), now(), '{"models": ["<img src=x onerror=alert(1)>"], "tenant": "<i>", "jobs": {"count": "<b>"}}')
RETURNING id AS crafted \gset
SELECT ok(llmeval.report_html_for(:crafted) NOT LIKE '%<img%' AND llmeval.report_html_for(:crafted) NOT LIKE '%<b>%',
          'a hand-written body is escaped as well');
SELECT ok(llmeval.report_html_for(:weekly) LIKE '%No regressions against baselines.%', 'a report without regressions says so');
RESET ROLE;

-- Regressions: a job worse than its baseline on the test cases both
-- scored. Baselines come with llmeval.set_baseline (named baselines) or as
-- jobs.baseline_job_id; if neither is installed yet, this transaction adds
-- the column. The data are clear enough that a paired t-test (when
-- compare_jobs is there) and a plain comparison of means agree.
SET ROLE tap_rep_a;
SELECT llmeval.submit_job('p', 'd', ARRAY['taprep/alpha', 'taprep/beta'], ARRAY['bleu']) AS job3 \gset
RESET ROLE;
SELECT pg_temp.finish(:job3, $$[
  {"model": "taprep/alpha", "pos": 1, "status": "completed", "output": "a", "latency": 1, "cost": 0, "bleu": 0},
  {"model": "taprep/alpha", "pos": 2, "status": "completed", "output": "a", "latency": 1, "cost": 0, "bleu": 9},
  {"model": "taprep/alpha", "pos": 3, "status": "completed", "output": "a", "latency": 1, "cost": 0, "bleu": 21},
  {"model": "taprep/alpha", "pos": 4, "status": "completed", "output": "a", "latency": 1, "cost": 0, "bleu": 29},
  {"model": "taprep/beta", "pos": 1, "status": "completed", "output": "a", "latency": 1, "cost": 0, "bleu": 10},
  {"model": "taprep/beta", "pos": 2, "status": "completed", "output": "a", "latency": 1, "cost": 0, "bleu": 61},
  {"model": "taprep/beta", "pos": 3, "status": "completed", "output": "a", "latency": 1, "cost": 0, "bleu": 109},
  {"model": "taprep/beta", "pos": 4, "status": "completed", "output": "a", "latency": 1, "cost": 0, "bleu": 70}]$$);
SELECT set_config('tap.job1', :'job1', false), set_config('tap.job3', :'job3', false);
DO $$ BEGIN
  IF to_regprocedure('llmeval.set_baseline(bigint,text)') IS NULL THEN
    IF NOT EXISTS (SELECT 1 FROM information_schema.columns
                   WHERE table_schema = 'llmeval' AND table_name = 'jobs' AND column_name = 'baseline_job_id') THEN
      ALTER TABLE llmeval.jobs ADD COLUMN baseline_job_id bigint REFERENCES llmeval.jobs;
    END IF;
    EXECUTE 'UPDATE llmeval.jobs SET baseline_job_id = $1 WHERE id = $2'
      USING current_setting('tap.job1')::bigint, current_setting('tap.job3')::bigint;
  END IF;
END $$;
SET ROLE tap_rep_a;
DO $$ BEGIN
  IF to_regprocedure('llmeval.set_baseline(bigint,text)') IS NOT NULL THEN
    EXECUTE 'SELECT llmeval.set_baseline($1)' USING current_setting('tap.job1')::bigint;
  END IF;
END $$;
SELECT llmeval.generate_report('daily') AS daily2 \gset
SELECT is((SELECT jsonb_agg(e - 'p_value' - 'method' - 'baselines') FROM llmeval.reports,
                  jsonb_array_elements(body -> 'regressions') e WHERE id = :daily2),
          jsonb_build_array(jsonb_build_object('job_id', :job3, 'baseline_job_id', :job1, 'model', 'taprep/alpha',
                                               'metric', 'bleu', 'n', 4, 'mean', 14.75, 'baseline_mean', 25,
                                               'delta', -10.25)),
          'worse than the baseline is a regression (alpha), better is not (beta)');
SELECT ok(llmeval.report_html_for(:daily2) LIKE '%id="regressions"%taprep/alpha%<td class="num err">-10.25</td>%',
          'the page lists it');
SELECT ok(llmeval.report_html(:job3) LIKE '%id="regressions"%-10.25%', 'so does the job''s page');
RESET ROLE;
SELECT is((SELECT body -> 'regressions' FROM llmeval.reports WHERE id = :daily_b), '[]',
          'another tenant''s report has none');
-- Without compare_jobs (hidden for this transaction), means are compared.
DO $$ BEGIN
  IF to_regprocedure('llmeval.compare_jobs(bigint,bigint,text,double precision)') IS NOT NULL THEN
    ALTER FUNCTION llmeval.compare_jobs(bigint, bigint, text, double precision) RENAME TO compare_jobs_hidden;
  END IF;
END $$;
SET ROLE tap_rep_a;
SELECT llmeval.generate_report('daily') AS daily3 \gset
SELECT is((SELECT jsonb_agg(e - 'p_value' - 'baselines') FROM llmeval.reports,
                  jsonb_array_elements(body -> 'regressions') e WHERE id = :daily3),
          jsonb_build_array(jsonb_build_object('job_id', :job3, 'baseline_job_id', :job1, 'model', 'taprep/alpha',
                                               'metric', 'bleu', 'n', 4, 'mean', 14.75, 'baseline_mean', 25,
                                               'delta', -10.25, 'method', 'mean')),
          'without a significance test the worse mean is the regression');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
