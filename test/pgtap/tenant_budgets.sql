-- Tenants' daily budgets (llmeval.set_tenant_budget): the claim starts no
-- call of the tenant past its room (spent today plus a reservation for each
-- call in flight), whatever the job; the tenant's jobs are paused with the
-- reason and resumed when the budget is raised; other tenants go on. Driven
-- by hand without the workers (all in one transaction they cannot see).
BEGIN;
SELECT plan(19);

CREATE ROLE tap_tb IN ROLE llmeval_user;
CREATE ROLE tap_tb_other IN ROLE llmeval_user;
CREATE ROLE tap_tb_admin IN ROLE llmeval_admin;
GRANT ALL ON ALL TABLES IN SCHEMA pg_temp TO PUBLIC;
SELECT llmeval.create_provider('taptb', 'openai', 'http://127.0.0.1:9/v1');
SELECT llmeval.create_model('taptb/gen', 1, 1);    -- $1 per million tokens, in and out
SELECT llmeval.create_model('taptb/dear', 1000, 1000);

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

SET ROLE tap_tb;
SELECT throws_ok($$ SELECT llmeval.set_tenant_budget('tap_tb', 100) $$, '42501', NULL,
                 'a tenant cannot set its own budget');
SELECT llmeval.create_prompt('p', 'Q: {{q}}');
SELECT llmeval.import_dataset('d', (SELECT jsonb_agg(jsonb_build_object('input', jsonb_build_object('q', g)))
                                    FROM generate_series(1, 10) g));
CREATE TEMP TABLE jobs AS SELECT llmeval.submit_job('p', 'd', ARRAY['taptb/gen'], '{}', '{}') AS id;
INSERT INTO jobs SELECT llmeval.submit_job('p', 'd', ARRAY['taptb/gen'], '{}', '{}');
GRANT SELECT ON jobs TO PUBLIC;
SET ROLE tap_tb_other;
SELECT llmeval.create_prompt('p', 'Q: {{q}}');
SELECT llmeval.import_dataset('d', (SELECT jsonb_agg(jsonb_build_object('input', jsonb_build_object('q', g)))
                                    FROM generate_series(1, 10) g));
CREATE TEMP TABLE other_job AS SELECT llmeval.submit_job('p', 'd', ARRAY['taptb/gen'], '{}', '{}') AS id;
GRANT SELECT ON other_job TO PUBLIC;
SET ROLE tap_tb_admin;
SELECT throws_ok($$ SELECT llmeval.set_tenant_budget('tap_tb', 0) $$, '22023', NULL, 'a budget is positive');
SELECT throws_ok($$ SELECT llmeval.set_tenant_budget(NULL, 1) $$, '22004', NULL, 'for a tenant');
SELECT lives_ok($$ SELECT llmeval.set_tenant_budget('tap_tb', 0.01) $$, 'an administrator sets a daily budget');
RESET ROLE;

-- Before its first paid answer of the day the tenant starts one call at a
-- time; the other tenant's job is not held back.
CREATE TEMP TABLE first AS SELECT * FROM pg_temp.claim(30);
SELECT is((SELECT count(*) FROM first WHERE tenant = 'tap_tb'), 1::bigint,
          'before its first paid answer today, one call of the budgeted tenant');
SELECT is((SELECT count(*) FROM first WHERE tenant = 'tap_tb_other'), 10::bigint, 'the other tenant''s, all of them');
SELECT is((SELECT count(*) FROM pg_temp.claim(30)), 0::bigint, 'and no other while it is in flight');
-- 100 + 3,000 tokens at $1 per million: $0.0031 a call, reserved at twice that
SELECT pg_temp.complete(ARRAY(SELECT id FROM first WHERE tenant = 'tap_tb'), 3000);
SELECT is((SELECT round(spent, 6)::text || ' ' || allowed FROM llmeval._tenant_budget_room('tap_tb')), '0.003100 1',
          'spent today is its calls'' cost; room for one more call at twice the mean');
CREATE TEMP TABLE second AS SELECT * FROM pg_temp.claim(30);
SELECT is((SELECT count(*) FROM second WHERE tenant = 'tap_tb'), 1::bigint, 'so one more call, from either job');
SELECT pg_temp.complete(ARRAY(SELECT id FROM second WHERE tenant = 'tap_tb'), 3000);
SELECT is((SELECT count(*) FROM pg_temp.claim(30) WHERE tenant = 'tap_tb'), 0::bigint, 'at the budget no call starts');
SELECT llmeval._apply_tenant_budgets();
SELECT is((SELECT string_agg(status, ',') FROM llmeval.jobs WHERE id IN (SELECT id FROM jobs)), 'paused,paused',
          'both of the tenant''s jobs are paused');
SELECT alike((SELECT paused_reason FROM llmeval.jobs WHERE id = (SELECT min(id) FROM jobs)),
            'tenant daily budget 0.01: spent 0.006200 today leaves less than %', 'with the reason');
SELECT isnt((SELECT status FROM llmeval.jobs WHERE id = (SELECT id FROM other_job)), 'paused',
            'the other tenant''s job is not');
SELECT ok((SELECT spent <= 0.01 FROM llmeval._tenant_budget_room('tap_tb')), 'the budget was not exceeded');

-- A higher budget resumes them.
SET ROLE tap_tb_admin;
SELECT llmeval.set_tenant_budget('tap_tb', 1);
RESET ROLE;
SELECT llmeval._apply_tenant_budgets();
SELECT is((SELECT string_agg(status, ',' ORDER BY id) FROM llmeval.jobs WHERE id IN (SELECT id FROM jobs)), 'running,queued',
          'a higher budget resumes them (the one never started as queued)');
CREATE TEMP TABLE third AS SELECT * FROM pg_temp.claim(30) WHERE tenant = 'tap_tb';
SELECT ok((SELECT count(*) FROM third) > 0, 'and calls start again');
SELECT pg_temp.complete(ARRAY(SELECT id FROM third), 10);
-- Cheap calls do not make a dear model's first calls look cheap: a model
-- without a paid call today starts one call, and only with nothing else in
-- flight.
SET ROLE tap_tb;
INSERT INTO jobs SELECT llmeval.submit_job('p', 'd', ARRAY['taptb/dear'], '{}', '{"priority": 5}');
RESET ROLE;
UPDATE llmeval.jobs SET status = 'paused' WHERE id IN (SELECT id FROM jobs) AND models = ARRAY['taptb/gen'];
SELECT is((SELECT count(*) FROM pg_temp.claim(30) WHERE tenant = 'tap_tb'), 1::bigint,
          'a model without a paid call today: one call, however cheap the others were');
SELECT is((SELECT count(*) FROM pg_temp.claim(30) WHERE tenant = 'tap_tb'), 0::bigint,
          'and no other call of the tenant while its cost is unknown');
-- Spent today counts what was spent before the budget was set.
SET ROLE tap_tb_admin;
SELECT llmeval.set_tenant_budget('tap_tb_other', 5);
RESET ROLE;
SELECT pg_temp.complete(ARRAY(SELECT id FROM first WHERE tenant = 'tap_tb_other'), 1000);
SELECT is((SELECT round(spent, 6) FROM llmeval._tenant_budget_room('tap_tb_other')), 0.011000,
          'the day''s spend of a tenant whose budget was just set counts its calls since');
SELECT * FROM finish();
ROLLBACK;
