-- Fair shares between tenants and priorities within one, in the claim
-- (llmeval._claim_tasks), driven by hand without the workers: which tasks
-- each claim takes.
BEGIN;
SELECT plan(18);

CREATE ROLE tap_big IN ROLE llmeval_user;
CREATE ROLE tap_small IN ROLE llmeval_user;
CREATE ROLE tap_third IN ROLE llmeval_user;
CREATE ROLE tap_fs_admin IN ROLE llmeval_admin;
GRANT ALL ON ALL TABLES IN SCHEMA pg_temp TO PUBLIC;
SELECT llmeval.create_provider('tapfs', 'openai', 'http://127.0.0.1:9/v1');
SELECT llmeval.create_model('tapfs/gen', 1, 2);

CREATE FUNCTION pg_temp.items(n int) RETURNS jsonb LANGUAGE sql AS $$
  SELECT jsonb_agg(jsonb_build_object('input', jsonb_build_object('q', 'question ' || g), 'expected', 'a'))
  FROM generate_series(1, n) g $$;
-- how many of a claim's tasks each tenant got, as 'tenant:n ...'
CREATE FUNCTION pg_temp.claim(n int) RETURNS text LANGUAGE sql AS $$
  WITH c AS (SELECT * FROM llmeval._claim_tasks(n, 300))
  SELECT coalesce(string_agg(tenant || ':' || k, ' ' ORDER BY tenant), '')
  FROM (SELECT t.tenant, count(*) AS k FROM c JOIN llmeval.tasks t ON t.id = c.task_id GROUP BY t.tenant) x $$;

SET ROLE tap_big;
SELECT llmeval.create_prompt('p', 'Q: {{q}}');
SELECT llmeval.import_dataset('many', pg_temp.items(200));
SELECT llmeval.import_dataset('few', pg_temp.items(20));
SELECT throws_ok($$ SELECT llmeval.submit_job('p', 'few', ARRAY['tapfs/gen'], ARRAY['bleu'], '{"priority": "high"}') $$,
                 '22023', 'job option "priority" must be an integer from -1000 to 1000', 'priority is an integer');
SELECT throws_ok($$ SELECT llmeval.submit_job('p', 'few', ARRAY['tapfs/gen'], ARRAY['bleu'], '{"priority": 1001}') $$,
                 '22023', NULL, 'priority is at most 1000');
CREATE TEMP TABLE big_job AS SELECT llmeval.submit_job('p', 'many', ARRAY['tapfs/gen'], ARRAY['bleu']) AS id;
SET ROLE tap_small;
SELECT llmeval.create_prompt('p', 'Q: {{q}}');
SELECT llmeval.import_dataset('few', pg_temp.items(6));
CREATE TEMP TABLE small_job AS SELECT llmeval.submit_job('p', 'few', ARRAY['tapfs/gen'], ARRAY['bleu']) AS id;
RESET ROLE;

-- The big job came first, with 200 tasks; the small one's 6 are not behind them.
SELECT is(pg_temp.claim(8), 'tap_big:4 tap_small:4', 'two tenants with work share a claim half and half');
SELECT is(pg_temp.claim(4), 'tap_big:2 tap_small:2', 'and the next, counting what each has running');
SELECT is(pg_temp.claim(10), 'tap_big:10', 'a tenant without due work leaves the rest to the others');
SELECT is((SELECT count(*) FROM llmeval.tasks WHERE job_id = (SELECT id FROM small_job) AND status = 'running'),
          6::bigint, 'every task of the small job was claimed within the first 12 calls');

-- Priorities within a tenant: a later job with a higher priority goes first.
SET ROLE tap_big;
CREATE TEMP TABLE urgent_job AS
  SELECT llmeval.submit_job('p', 'few', ARRAY['tapfs/gen'], ARRAY['bleu'], '{"priority": 5}') AS id;
RESET ROLE;
CREATE TEMP TABLE claimed AS SELECT * FROM llmeval._claim_tasks(15, 300);
SELECT is((SELECT count(*) FROM claimed c JOIN llmeval.tasks t ON t.id = c.task_id
           WHERE t.job_id = (SELECT id FROM urgent_job)), 15::bigint,
          'a claim takes a tenant''s higher-priority job first, though submitted later');
SELECT is((SELECT count(*) FROM llmeval._claim_tasks(10, 300) c JOIN llmeval.tasks t ON t.id = c.task_id
           WHERE t.job_id = (SELECT id FROM urgent_job)), 5::bigint, 'its last 5 tasks, then the others');

-- Shares: a third tenant arrives; the administrator gives it 3 times the default.
SET ROLE tap_third;
SELECT llmeval.create_prompt('p', 'Q: {{q}}');
SELECT llmeval.import_dataset('many', pg_temp.items(100));
CREATE TEMP TABLE third_job AS SELECT llmeval.submit_job('p', 'many', ARRAY['tapfs/gen'], ARRAY['bleu']) AS id;
SELECT throws_ok($$ SELECT llmeval.set_tenant_share('tap_third', 100) $$, '42501', NULL,
                 'a tenant cannot set shares');
RESET ROLE;
SET ROLE tap_fs_admin;
SELECT throws_ok($$ SELECT llmeval.set_tenant_share('tap_third', 1e-320) $$, '22023', NULL, 'a share is at least 0.001 (a tiny one would overflow the keys)');
SELECT throws_ok($$ SELECT llmeval.set_tenant_share('tap_third', 'NaN') $$, '22023', NULL, 'a share is a number');
SELECT lives_ok($$ SELECT llmeval.set_tenant_share('tap_third', 3) $$, 'an administrator sets a share');
SELECT is((SELECT share || ' ' || updated_by FROM llmeval.tenant_shares WHERE tenant = 'tap_third'), '3 tap_fs_admin',
          'the share, and who set it');
RESET ROLE;
-- Every claim given back (as a worker's reset does): nothing runs, and
-- tap_big has 220 due tasks, tap_small 6, tap_third 100. The k-th task of
-- a tenant has the key k / share: 20 tasks are those with keys up to 4.
SELECT is(llmeval._release_tasks(ARRAY(SELECT id FROM llmeval.tasks WHERE status = 'running' ORDER BY id),
                                 ARRAY(SELECT claim_token FROM llmeval.tasks WHERE status = 'running' ORDER BY id)),
          47::bigint, 'the 47 claims given back');
SELECT is(pg_temp.claim(20), 'tap_big:4 tap_small:4 tap_third:12', 'a claim divided 1 : 1 : 3, as the shares say');
-- keys now (4 + k), (4 + k), (12 + k) / 3: up to 6, tap_small's last two
SELECT is(pg_temp.claim(10), 'tap_big:2 tap_small:2 tap_third:6', 'the next counts what each has running');
SET ROLE tap_fs_admin;
SELECT lives_ok($$ SELECT llmeval.set_tenant_share('tap_third', NULL) $$, 'NULL gives back the default');
RESET ROLE;
SELECT is((SELECT count(*) FROM llmeval.tenant_shares), 0::bigint, 'no row for a default share');

SELECT * FROM finish();
ROLLBACK;
