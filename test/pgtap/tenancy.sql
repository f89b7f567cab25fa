-- Tenant isolation: two Postgres roles and two Supabase-style users each see
-- and change only their own rows, in every table and view.
BEGIN;
SELECT plan(26);

-- pgTAP keeps its state in temporary tables of this session's owner.
CREATE ROLE tap_alice IN ROLE llmeval_user;
CREATE ROLE tap_bob IN ROLE llmeval_user;
CREATE ROLE tap_admin IN ROLE llmeval_admin;
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN
    CREATE ROLE authenticated;
  END IF;
END $$;
GRANT llmeval_user TO authenticated;
GRANT ALL ON ALL TABLES IN SCHEMA pg_temp TO PUBLIC;
GRANT ALL ON ALL SEQUENCES IN SCHEMA pg_temp TO PUBLIC;
CREATE TEMP TABLE seen (who text, what text, n bigint);
GRANT ALL ON seen TO PUBLIC;

SELECT llmeval.create_provider('tap', 'openai', 'http://127.0.0.1:9/v1');
SELECT llmeval.create_model('tap/model-a');

-- Each tenant builds the same names: names are per tenant.
CREATE FUNCTION pg_temp.build() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  job bigint;
BEGIN
  PERFORM llmeval.create_prompt('p', 'Say {{x}}');
  PERFORM llmeval.import_dataset('d', '[{"input": {"x": "a"}, "expected": "a"}, {"input": {"x": "b"}}]');
  job := llmeval.submit_job('p', 'd', ARRAY['tap/model-a'], ARRAY['exact_match']);
  PERFORM llmeval.create_assertion('mine_' || replace(llmeval.current_tenant(), '-', '_'), 'json_valid');
  INSERT INTO llmeval.experiments (name) VALUES ('e');
  INSERT INTO llmeval.reports (period, period_start, period_end, body) VALUES ('job', now(), now(), '{}');
  RETURN job;
END $$;
GRANT EXECUTE ON FUNCTION pg_temp.build() TO PUBLIC;

-- Counts of every tenant table and view, as the current user, tagged.
CREATE FUNCTION pg_temp.census(who text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  t text;
  n bigint;
BEGIN
  FOREACH t IN ARRAY ARRAY['prompts', 'prompt_versions', 'datasets', 'dataset_versions', 'test_cases',
                           'jobs', 'tasks', 'responses', 'task_scores', 'experiments', 'reports',
                           'events', 'results', 'scores']
  LOOP
    EXECUTE format('SELECT count(*) FROM llmeval.%I', t) INTO n;
    INSERT INTO seen VALUES (who, t, n);
  END LOOP;
  INSERT INTO seen SELECT who, 'own_metrics', count(*) FROM llmeval.metrics WHERE tenant IS NOT NULL;
END $$;
GRANT EXECUTE ON FUNCTION pg_temp.census(text) TO PUBLIC;

SET ROLE tap_alice;
SELECT is(llmeval.current_tenant(), 'tap_alice', 'a role''s tenant is its name');
SELECT ok(pg_temp.build() > 0, 'alice builds a prompt, a dataset and a job');
-- alice's responses and scores, written as a worker would
RESET ROLE;
INSERT INTO llmeval.responses (task_id, tenant, output)
SELECT id, tenant, 'a' FROM llmeval.tasks WHERE tenant = 'tap_alice';
INSERT INTO llmeval.task_scores (task_id, tenant, metric, value)
SELECT id, tenant, 'exact_match', 1 FROM llmeval.tasks WHERE tenant = 'tap_alice';

SET ROLE tap_bob;
SELECT ok(pg_temp.build() > 0, 'bob builds the same names');
SELECT pg_temp.census('bob');
RESET ROLE;
SET ROLE tap_alice;
SELECT pg_temp.census('alice');
RESET ROLE;

SELECT is((SELECT array_agg(what ORDER BY what) FROM seen WHERE who = 'bob' AND what IN ('responses', 'task_scores', 'scores') AND n <> 0),
          NULL, 'bob sees none of alice''s responses and scores');
SELECT is((SELECT count(*) FROM seen WHERE who = 'bob' AND what IN ('prompts', 'datasets', 'jobs', 'experiments', 'reports', 'own_metrics') AND n <> 1),
          0::bigint, 'bob sees exactly his one prompt, dataset, job, experiment, report and metric');
SELECT is((SELECT n FROM seen WHERE who = 'bob' AND what = 'tasks'), 2::bigint, 'bob sees only his 2 tasks');
SELECT is((SELECT n FROM seen WHERE who = 'alice' AND what = 'scores'), 2::bigint, 'alice sees her 2 scores');
SELECT is((SELECT n FROM seen WHERE who = 'alice' AND what = 'results'), 2::bigint, 'alice sees her 2 results');
SELECT is((SELECT count(*) FROM seen s1 JOIN seen s2 USING (what)
           WHERE s1.who = 'alice' AND s2.who = 'bob' AND what NOT IN ('responses', 'task_scores', 'scores')
             AND s1.n <> s2.n), 0::bigint, 'alice and bob see the same shape of data, each their own');

-- Bob can neither change nor reach alice's rows.
SET ROLE tap_bob;
WITH d AS (DELETE FROM llmeval.prompts WHERE tenant = 'tap_alice' RETURNING 1)
INSERT INTO seen SELECT 'bob', 'deleted', count(*) FROM d;
WITH u AS (UPDATE llmeval.datasets SET name = 'stolen' WHERE tenant = 'tap_alice' RETURNING 1)
INSERT INTO seen SELECT 'bob', 'renamed', count(*) FROM u;
SELECT is((SELECT n FROM seen WHERE what = 'deleted'), 0::bigint, 'bob cannot delete alice''s prompts');
SELECT is((SELECT n FROM seen WHERE what = 'renamed'), 0::bigint, 'bob cannot rename alice''s datasets');
SELECT throws_ok($$ INSERT INTO llmeval.prompts (tenant, name) VALUES ('tap_alice', 'planted') $$, '42501',
                 NULL, 'bob cannot write rows for alice');
SELECT throws_ok(format('SELECT llmeval.cancel_job(%s)', (SELECT id FROM llmeval.jobs LIMIT 1) - 1),
                 '42704', NULL, 'bob cannot cancel alice''s job (it does not exist for him)');
SELECT throws_ok($$ SELECT llmeval.export_dataset('nope') $$, '42704', 'dataset "nope" does not exist',
                 'unknown dataset');
SELECT throws_ok($$ SELECT * FROM llmeval.provider_secrets $$, '42501', NULL, 'bob cannot read secrets');
SELECT throws_ok($$ UPDATE llmeval.tasks SET status = 'completed' $$, '42501', NULL,
                 'bob cannot update the queue directly');
-- JWT claims are ignored for ordinary roles: nobody becomes another tenant by a SET.
SET LOCAL request.jwt.claims = '{"sub": "tap_alice"}';
SELECT is(llmeval.current_tenant(), 'tap_bob', 'request.jwt.claims does not change an ordinary role''s tenant');
RESET request.jwt.claims;
RESET ROLE;

-- Supabase users: role authenticated, tenant from the sub claim.
SET ROLE authenticated;
SET LOCAL request.jwt.claims = '{"sub": "11111111-1111-1111-1111-111111111111", "role": "authenticated"}';
SELECT is(llmeval.current_tenant(), '11111111-1111-1111-1111-111111111111', 'a JWT user''s tenant is its sub');
SELECT ok(pg_temp.build() > 0, 'Supabase user 1 builds');
SELECT pg_temp.census('jwt1');
SET LOCAL request.jwt.claims = '{"sub": "22222222-2222-2222-2222-222222222222", "role": "authenticated"}';
SELECT ok(pg_temp.build() > 0, 'Supabase user 2 builds the same names');
SELECT pg_temp.census('jwt2');
SET LOCAL request.jwt.claims = '{"role": "anon"}';
SELECT is(llmeval.current_tenant(), NULL, 'no sub, no tenant');
SELECT throws_ok($$ SELECT llmeval.submit_job('p', 'd', ARRAY['tap/model-a'], '{}') $$, '42501',
                 'no tenant for the current user', 'without a sub nothing can be submitted');
SELECT throws_ok($$ SELECT llmeval.create_prompt('p', 'x') $$, '42501', NULL,
                 'without a sub nothing can be created');
RESET request.jwt.claims;
RESET ROLE;
SELECT is((SELECT count(*) FROM seen s1 JOIN seen s2 USING (what)
           WHERE s1.who = 'jwt1' AND s2.who = 'jwt2' AND s1.n <> s2.n), 0::bigint,
          'Supabase user 2 sees only its own rows, in every table and view');
SELECT is((SELECT n FROM seen WHERE who = 'jwt2' AND what = 'jobs'), 1::bigint,
          'Supabase user 2 sees one job, its own');

-- Administrators read every tenant's rows.
SET ROLE tap_admin;
SELECT is((SELECT count(DISTINCT tenant) FROM llmeval.jobs WHERE tenant IN
             ('tap_alice', 'tap_bob', '11111111-1111-1111-1111-111111111111', '22222222-2222-2222-2222-222222222222')),
          4::bigint, 'an administrator sees every tenant''s jobs');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
