-- Another tenant's ids. Every function that takes an id (or a name) answers
-- for the caller's tenant only and says "does not exist" (42704) otherwise;
-- a direct write cannot tie a row to another tenant's experiment, variant or
-- prompt version (42501, the same for an id that exists and one that does
-- not, so ids cannot be probed); reading another tenant's page is for
-- administrators, by an explicit check rather than by whatever row-level
-- security lets the role see; and the scheduled reports reach every tenant,
-- each built from that tenant's jobs, baselines and metric definitions only.
BEGIN;
SELECT plan(35);

CREATE ROLE tap_ids_alice IN ROLE llmeval_user;
CREATE ROLE tap_ids_bob IN ROLE llmeval_user;
CREATE ROLE tap_ids_admin IN ROLE llmeval_admin;
-- A tenant whose role was given BYPASSRLS: a misconfiguration the functions
-- must not turn into access to every tenant.
CREATE ROLE tap_ids_bypass BYPASSRLS IN ROLE llmeval_user;
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN
    CREATE ROLE authenticated;
  END IF;
END $$;
GRANT llmeval_user TO authenticated;
-- pgTAP keeps its state in temporary tables of this session's owner.
GRANT ALL ON ALL TABLES IN SCHEMA pg_temp TO PUBLIC;
GRANT ALL ON ALL SEQUENCES IN SCHEMA pg_temp TO PUBLIC;
CREATE TEMP TABLE made (tenant text, report_id bigint);
GRANT ALL ON made TO PUBLIC;

SELECT llmeval.create_provider('tapids', 'openai', 'http://127.0.0.1:9/v1');
SELECT llmeval.create_model('tapids/m');

-- Each tenant: the same prompt, dataset (same test cases, so jobs of two
-- tenants would pair up) and experiment names.
CREATE FUNCTION pg_temp.build() RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
  PERFORM llmeval.create_prompt('p', 'Q: {{q}}');
  PERFORM llmeval.import_dataset('d', '[{"input": {"q": "1"}, "expected": "a"}, {"input": {"q": "2"}, "expected": "b"},
                                        {"input": {"q": "3"}, "expected": "c"}, {"input": {"q": "4"}, "expected": "d"}]');
  PERFORM llmeval.create_experiment('e', '[{"name": "control"}, {"name": "b", "prompt": "p"}]');
  RETURN llmeval.submit_job('p', 'd', ARRAY['tapids/m'], ARRAY['bleu']);
END $$;
GRANT EXECUTE ON FUNCTION pg_temp.build() TO PUBLIC;

-- A job's tasks completed as a worker would, with one score per test case
-- (vals[position]) for each metric named.
CREATE FUNCTION pg_temp.finish(job bigint, scores jsonb) RETURNS void LANGUAGE sql AS $$
  WITH r AS (
    INSERT INTO llmeval.responses (task_id, tenant, output, latency_ms, cost)
    SELECT t.id, t.tenant, 'x', 10, 0 FROM llmeval.tasks t WHERE t.job_id = job
    RETURNING task_id
  ), s AS (
    INSERT INTO llmeval.task_scores (task_id, tenant, metric, value)
    SELECT t.id, t.tenant, m.key, (m.value ->> (tc.position - 1))::float8
    FROM llmeval.tasks t JOIN llmeval.test_cases tc ON tc.id = t.test_case_id, jsonb_each(scores) m
    WHERE t.job_id = job
  )
  UPDATE llmeval.tasks t SET status = 'completed', attempts = 1 WHERE t.job_id = job
$$;

SET ROLE tap_ids_alice;
SELECT pg_temp.build() AS ja \gset
SELECT llmeval.create_prompt('alice_only', 'A: {{q}}');
SELECT llmeval.generate_report('daily') AS alice_report \gset
SET ROLE tap_ids_bob;
SELECT pg_temp.build() AS jb1 \gset
SELECT llmeval.submit_job('p', 'd', ARRAY['tapids/m'], ARRAY['bleu']) AS jb2 \gset
SET ROLE authenticated;
SET request.jwt.claims = '{"sub": "33333333-3333-3333-3333-333333333333", "role": "authenticated"}';
SELECT pg_temp.build() AS jc \gset
RESET request.jwt.claims;
RESET ROLE;

-- Alice's ids, as a hostile tenant would guess them (they are sequential).
SELECT e.id AS alice_exp, v.id AS alice_variant, v.prompt_version_id AS alice_pv
FROM llmeval.experiments e JOIN llmeval.experiment_variants v ON v.experiment_id = e.id AND v.name = 'b'
WHERE e.tenant = 'tap_ids_alice' \gset
SELECT e.id AS bob_exp, v.id AS bob_variant
FROM llmeval.experiments e JOIN llmeval.experiment_variants v ON v.experiment_id = e.id AND v.name = 'b'
WHERE e.tenant = 'tap_ids_bob' \gset

-- Scores: alice's job scores high on bleu; bob's second job is worse than
-- his first on his own metric q, for which higher is better; alice's q is
-- the opposite (both are tenant metrics of the same name). Bob's default
-- baseline is his first job. A baseline naming alice's job cannot be
-- written, even by a superuser: its foreign key is (job_id, tenant).
SELECT pg_temp.finish(:ja, '{"bleu": [90, 91, 92, 93], "q": [1, 1, 1, 1]}');
SELECT pg_temp.finish(:jb1, '{"bleu": [10, 20, 30, 40], "q": [50, 60, 70, 80]}');
SELECT pg_temp.finish(:jb2, '{"bleu": [10, 20, 30, 40], "q": [40, 49, 61, 69]}');
SELECT pg_temp.finish(:jc, '{"bleu": [5, 5, 5, 5]}');
INSERT INTO llmeval.metrics (tenant, name, kind, higher_is_better) VALUES
  ('tap_ids_alice', 'q', 'lexical', false), ('tap_ids_bob', 'q', 'lexical', true);
INSERT INTO llmeval.baselines (tenant, name, job_id) VALUES ('tap_ids_bob', 'default', :jb1);
SELECT throws_ok(format('INSERT INTO llmeval.baselines (tenant, name, job_id) VALUES (''tap_ids_bob'', ''stolen'', %s)', :ja),
                 '23503', NULL, 'a baseline cannot name another tenant''s job');

-- 1. Experiments: direct writes cannot reach into another tenant's rows
-- (whether refused by a privilege or by a foreign key that includes the
-- tenant), and the refusal is the same for an id that exists and one that
-- does not.
CREATE FUNCTION pg_temp.error_of(statement text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE statement;
  RETURN 'accepted';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
GRANT EXECUTE ON FUNCTION pg_temp.error_of(text) TO PUBLIC;
SET ROLE tap_ids_bob;
SELECT throws_ok(format('INSERT INTO llmeval.experiment_variants (experiment_id, name) VALUES (%s, ''squat'')', :alice_exp),
                 NULL, NULL, 'bob cannot add a variant to alice''s experiment');
SELECT is(pg_temp.error_of(format('INSERT INTO llmeval.experiment_variants (experiment_id, name) VALUES (%s, ''squat'')', :alice_exp)),
          pg_temp.error_of('INSERT INTO llmeval.experiment_variants (experiment_id, name) VALUES (-1, ''squat'')'),
          'the same error as for an experiment that does not exist: nothing to probe');
SELECT throws_ok(format('INSERT INTO llmeval.experiment_variants (experiment_id, name, prompt_version_id) VALUES (%s, ''x'', %s)',
                        :bob_exp, :alice_pv),
                 NULL, NULL, 'bob''s variant cannot name alice''s prompt version');
SELECT throws_ok(format('UPDATE llmeval.experiment_variants SET experiment_id = %s WHERE id = %s', :alice_exp, :bob_variant),
                 NULL, NULL, 'bob cannot move his variant into alice''s experiment');
SELECT throws_ok(format('UPDATE llmeval.experiment_variants SET prompt_version_id = %s WHERE id = %s', :alice_pv, :bob_variant),
                 NULL, NULL, 'nor point it at alice''s prompt version');
SELECT throws_ok(format('INSERT INTO llmeval.experiment_outcomes (experiment_id, variant_id, unit_key, metric, value)
                         VALUES (%s, %s, ''u'', ''m'', 1)', :bob_exp, :alice_variant),
                 NULL, NULL, 'bob cannot record an outcome under alice''s variant');
SELECT throws_ok(format('INSERT INTO llmeval.experiment_outcomes (experiment_id, variant_id, unit_key, metric, value)
                         VALUES (%s, %s, ''u'', ''m'', 1)', :alice_exp, :bob_variant),
                 NULL, NULL, 'nor in alice''s experiment');
SELECT throws_ok($$ SELECT llmeval.create_experiment('x', '[{"name": "a", "prompt": "alice_only"}]') $$,
                 '42704', 'prompt "alice_only" does not exist', 'a variant cannot name alice''s prompt');
SELECT throws_ok($$ SELECT llmeval.add_variant('e', '{"name": "c", "prompt": "alice_only", "prompt_version": 1}') $$,
                 '42704', 'prompt "alice_only" has no version 1', 'nor a version of it');
SELECT lives_ok(format('INSERT INTO llmeval.experiment_outcomes (experiment_id, variant_id, unit_key, metric, value)
                        VALUES (%s, %s, ''u'', ''m'', 1)', :bob_exp, :bob_variant),
                'his own experiment and variant are fine');
RESET ROLE;
SET ROLE tap_ids_alice;
SELECT lives_ok($$ SELECT llmeval.add_variant('e', '{"name": "squat"}') $$,
                'alice adds a variant of any name: nobody squatted it');
SELECT is((SELECT variant_names FROM llmeval.experiments WHERE name = 'e'), ARRAY['control', 'b', 'squat'],
          'alice''s experiment has her variants only');
SELECT is((SELECT count(*) FROM llmeval.experiment_variants WHERE experiment_id = :alice_exp), 3::bigint,
          'and no row of bob''s hangs on it');
SELECT is((SELECT count(*) FROM llmeval.experiment_result('e', 'm')), 2::bigint,
          'her result compares her two variants with the control');
RESET ROLE;
-- Superusers bypass row-level security; the check is on the tenants themselves.
SELECT throws_ok(format('INSERT INTO llmeval.experiment_variants (experiment_id, tenant, name) VALUES (%s, ''tap_ids_bob'', ''su'')',
                        :alice_exp),
                 NULL, NULL, 'not even a superuser ties bob''s variant to alice''s experiment');

-- 2. Reports by id.
SET ROLE tap_ids_bob;
SELECT throws_ok(format('SELECT llmeval.report_html(%s)', :ja), '42704', format('job %s does not exist', :ja),
                 'alice''s job does not exist for bob');
SELECT throws_ok(format('SELECT llmeval.report_html_for(%s)', :alice_report), '42704',
                 format('report %s does not exist', :alice_report), 'nor does her report');
RESET ROLE;
SET ROLE tap_ids_bypass;
SELECT throws_ok(format('SELECT llmeval.report_html(%s)', :ja), '42704', format('job %s does not exist', :ja),
                 'a tenant role with BYPASSRLS does not see alice''s job either');
SELECT throws_ok(format('SELECT llmeval.report_html_for(%s)', :alice_report), '42704',
                 format('report %s does not exist', :alice_report), 'nor her report');
RESET ROLE;
SET ROLE tap_ids_admin;
SELECT ok(llmeval.report_html(:ja) LIKE '%tapids/m%', 'an administrator reads any tenant''s job page');
SELECT ok(llmeval.report_html_for(:alice_report) LIKE '<!DOCTYPE html>%', 'and any tenant''s report');
RESET ROLE;

-- 3. Scheduled reports: one per tenant with jobs in the period.
SET ROLE tap_ids_bob;
SELECT throws_ok($$ SELECT llmeval.generate_reports_for_all_tenants('daily') $$, '42501', NULL,
                 'a tenant cannot generate every tenant''s reports');
RESET ROLE;
SET ROLE tap_ids_admin;
SELECT throws_ok($$ SELECT llmeval.generate_reports_for_all_tenants('hourly') $$, '22023',
                 'invalid report period "hourly"', 'an unknown period is refused');
-- pg_cron runs it as the role that scheduled it: an administrator.
INSERT INTO made SELECT * FROM llmeval.generate_reports_for_all_tenants('daily');
RESET ROLE;
SELECT is((SELECT array_agg(tenant ORDER BY tenant) FROM made
           WHERE tenant IN ('tap_ids_alice', 'tap_ids_bob', '33333333-3333-3333-3333-333333333333', 'tap_ids_admin')),
          ARRAY['33333333-3333-3333-3333-333333333333', 'tap_ids_alice', 'tap_ids_bob'],
          'one report for each tenant with jobs, none for the administrator who ran it');
SELECT is((SELECT count(*) FROM made m JOIN llmeval.reports r ON r.id = m.report_id
           WHERE r.tenant = m.tenant AND r.body ->> 'tenant' = m.tenant AND r.period = 'daily'), (SELECT count(*) FROM made),
          'each report row is its tenant''s');

SET ROLE tap_ids_alice;
SELECT is((SELECT count(*) FROM llmeval.reports r JOIN made m ON m.report_id = r.id), 1::bigint,
          'alice reads her scheduled report, and only hers');
SELECT is((SELECT (body #> '{jobs,list}') -> 0 ->> 'id' FROM llmeval.reports r JOIN made m ON m.report_id = r.id),
          :'ja', 'it covers her job');
SELECT is((SELECT body #>> '{scores,tapids/m,bleu,mean}' FROM llmeval.reports r JOIN made m ON m.report_id = r.id),
          '91.5', 'with her scores');
SELECT ok(llmeval.report_html_for((SELECT report_id FROM made WHERE tenant = 'tap_ids_alice')) LIKE '<!DOCTYPE html>%',
          'and renders it');
RESET ROLE;
SET ROLE tap_ids_bob;
SELECT is((SELECT jsonb_path_query_array(body, '$.jobs.list[*].id') FROM llmeval.reports r JOIN made m ON m.report_id = r.id),
          jsonb_build_array(:jb1, :jb2), 'bob''s report covers his two jobs only');
SELECT is((SELECT body #>> '{scores,tapids/m,bleu,max}' FROM llmeval.reports r JOIN made m ON m.report_id = r.id),
          '40', 'and his scores only');
SELECT is((SELECT count(*) FROM llmeval.reports r JOIN made m ON m.report_id = r.id,
                  jsonb_array_elements(r.body -> 'regressions') g WHERE (g ->> 'baseline_job_id')::bigint = :ja),
          0::bigint, 'a baseline naming alice''s job does not bring her scores into bob''s report');
SELECT is((SELECT jsonb_agg(jsonb_build_object('job', g -> 'job_id', 'baseline', g -> 'baseline_job_id', 'metric', g -> 'metric'))
           FROM llmeval.reports r JOIN made m ON m.report_id = r.id, jsonb_array_elements(r.body -> 'regressions') g),
          jsonb_build_array(jsonb_build_object('job', :jb2, 'baseline', :jb1, 'metric', 'q')),
          'his regression on q is judged by his definition of q (higher is better), not alice''s');
RESET ROLE;
SET ROLE authenticated;
SET request.jwt.claims = '{"sub": "33333333-3333-3333-3333-333333333333", "role": "authenticated"}';
SELECT is((SELECT (r.tenant, body #>> '{jobs,count}')::text FROM llmeval.reports r JOIN made m ON m.report_id = r.id),
          '(33333333-3333-3333-3333-333333333333,1)', 'a Supabase user reads its own scheduled report');
RESET request.jwt.claims;
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
