-- Supabase's API roles are NOINHERIT (issue 12): GRANT llmeval_user TO
-- authenticated gives a signed-in user nothing, and
-- llmeval.grant_tenant_access('authenticated') is what works. The roles are
-- created as supabase/postgres creates them
-- (migrations/db/init-scripts/00000000000000-initial-schema.sql), and each
-- request switches roles as PostgREST does: connected as authenticator,
-- SET LOCAL ROLE authenticated and the JWT claims as a local setting.
BEGIN;
SELECT plan(32);

-- The extension was created before these roles existed (as when it is
-- installed before Supabase's roles, or here, in the test database). Roles
-- left by an earlier run or a real Supabase cluster are put back as Supabase
-- has them.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon') THEN
    CREATE ROLE anon NOLOGIN NOINHERIT;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN
    CREATE ROLE authenticated NOLOGIN NOINHERIT; -- "logged in" user: web_user, app_user, etc
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
    CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticator') THEN
    CREATE USER authenticator NOINHERIT;
  END IF;
END $$;
ALTER ROLE anon NOINHERIT;
ALTER ROLE authenticated NOINHERIT;
ALTER ROLE service_role NOINHERIT;
ALTER ROLE authenticator NOINHERIT;
GRANT anon TO authenticator;
GRANT authenticated TO authenticator;
GRANT service_role TO authenticator;
CREATE ROLE tap_supa_admin IN ROLE llmeval_admin;

-- pgTAP keeps its state in temporary tables of this session's owner.
GRANT ALL ON ALL TABLES IN SCHEMA pg_temp TO PUBLIC;
GRANT ALL ON ALL SEQUENCES IN SCHEMA pg_temp TO PUBLIC;
CREATE TEMP TABLE jobs_of (sub text, job bigint);
GRANT ALL ON jobs_of TO PUBLIC;

SELECT llmeval.create_provider('supa', 'openai', 'http://127.0.0.1:9/v1');
SELECT llmeval.create_model('supa/model');

-- What llmeval_user may do that role may not, by has_*_privilege (which,
-- for a NOINHERIT role, counts only its own grants and PUBLIC's).
CREATE FUNCTION pg_temp.missing(role name) RETURNS text[] LANGUAGE sql AS $$
  SELECT coalesce(array_agg(what ORDER BY what), '{}') FROM (
    SELECT c.oid::regclass::text || ' ' || a.privilege_type AS what
    FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a
    WHERE c.relnamespace = 'llmeval'::regnamespace AND a.grantee = 'llmeval_user'::regrole
      AND NOT CASE WHEN c.relkind = 'S' THEN has_sequence_privilege(role, c.oid, a.privilege_type)
                   ELSE has_table_privilege(role, c.oid, a.privilege_type) END
    UNION ALL
    SELECT c.oid::regclass::text || '.' || at.attname || ' ' || a.privilege_type
    FROM pg_class c JOIN pg_attribute at ON at.attrelid = c.oid AND at.attnum > 0
    CROSS JOIN LATERAL aclexplode(at.attacl) a
    WHERE c.relnamespace = 'llmeval'::regnamespace AND a.grantee = 'llmeval_user'::regrole
      AND NOT has_column_privilege(role, c.oid, at.attnum, a.privilege_type)
    UNION ALL
    SELECT p.oid::regprocedure::text || ' EXECUTE'
    FROM pg_proc p CROSS JOIN LATERAL aclexplode(p.proacl) a
    WHERE p.pronamespace = 'llmeval'::regnamespace AND a.grantee = 'llmeval_user'::regrole
      AND NOT has_function_privilege(role, p.oid, 'EXECUTE')
    UNION ALL
    SELECT 'schema llmeval USAGE' WHERE NOT has_schema_privilege(role, 'llmeval', 'USAGE')) m
$$;
-- The privileges role holds itself on the extension's tables and functions.
CREATE FUNCTION pg_temp.direct(role regrole) RETURNS bigint LANGUAGE sql AS $$
  SELECT (SELECT count(*) FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a
          WHERE c.relnamespace = 'llmeval'::regnamespace AND a.grantee = role)
       + (SELECT count(*) FROM pg_proc p CROSS JOIN LATERAL aclexplode(p.proacl) a
          WHERE p.pronamespace = 'llmeval'::regnamespace AND a.grantee = role)
$$;

SELECT ok(NOT rolinherit, 'Supabase''s authenticated is NOINHERIT')
FROM pg_roles WHERE rolname = 'authenticated';

-- 1. The README's old advice: membership, which a NOINHERIT role does not use.
GRANT llmeval_user TO authenticated;
SET ROLE authenticator;
SET LOCAL ROLE authenticated;
SELECT set_config('request.jwt.claims',
                  '{"sub":"aaaaaaaa-0000-4000-8000-000000000001","role":"authenticated"}', true);
SELECT throws_ok($$ SELECT count(*) FROM llmeval.datasets $$, '42501',
                 'permission denied for table datasets',
                 'with only GRANT llmeval_user TO authenticated, a Supabase user cannot read datasets');
SELECT throws_ok($$ SELECT count(*) FROM llmeval.results $$, '42501', NULL,
                 'nor results');
SELECT throws_ok($$ SELECT llmeval.grant_tenant_access('authenticated') $$, '42501', NULL,
                 'a tenant cannot grant tenant access');
RESET ROLE;
SELECT isnt(pg_temp.missing('authenticated'), '{}'::text[],
            'membership alone leaves authenticated without llmeval_user''s privileges');

-- 2. grant_tenant_access, by a non-superuser administrator.
SET ROLE tap_supa_admin;
SELECT lives_ok($$ SELECT llmeval.grant_tenant_access('authenticated') $$,
                'an administrator grants authenticated tenant access');
SELECT throws_ok($$ SELECT llmeval.grant_tenant_access('llmeval_admin') $$, '22023', NULL,
                 'llmeval_admin is not a tenant role to grant to');
SELECT throws_ok($$ SELECT llmeval.revoke_tenant_access('llmeval_user') $$, '22023', NULL,
                 'nor llmeval_user to revoke from');
SELECT throws_ok($$ SELECT llmeval.grant_tenant_access('pg_read_all_data') $$, '22023', NULL,
                 'nor a predefined role');
RESET ROLE;
SELECT is(pg_temp.missing('authenticated'), '{}'::text[],
          'authenticated now holds every privilege llmeval_user holds, itself');
SELECT lives_ok($$ SELECT llmeval.grant_tenant_access('authenticated') $$, 'granting again is harmless');

-- 3. A Supabase user works as a tenant.
SET ROLE authenticator;
SET LOCAL ROLE authenticated;
SELECT set_config('request.jwt.claims',
                  '{"sub":"aaaaaaaa-0000-4000-8000-000000000001","role":"authenticated"}', true);
SELECT is(llmeval.current_tenant(), 'aaaaaaaa-0000-4000-8000-000000000001',
          'the tenant is the sub claim');
SELECT is(llmeval.create_prompt('short', 'Answer: {{q}}'), 1, 'user 1 creates a prompt');
SELECT ok(llmeval.import_dataset('qs', '[{"input": {"q": "2+2"}, "expected": "4"}, {"input": {"q": "3+3"}, "expected": "6"}]') > 0,
          'user 1 imports a dataset');
INSERT INTO jobs_of
SELECT 'user1', llmeval.submit_job('short', 'qs', ARRAY['supa/model'], ARRAY['exact_match']);
SELECT ok((SELECT job FROM jobs_of WHERE sub = 'user1') > 0, 'user 1 submits a job');
SELECT is((SELECT count(*) FROM llmeval.prompts), 1::bigint, 'user 1 reads its prompt back');
SELECT is((SELECT count(*) FROM llmeval.test_cases), 2::bigint, 'user 1 reads its test cases back');
SELECT is((SELECT status FROM llmeval.jobs), 'queued', 'user 1 reads its job back');
SELECT is((SELECT count(*) FROM llmeval.results WHERE job_id = (SELECT job FROM jobs_of)), 2::bigint,
          'user 1 reads its results back');
SELECT is((SELECT total FROM llmeval.job_progress((SELECT job FROM jobs_of)))::bigint, 2::bigint,
          'user 1 follows its job''s progress');
RESET ROLE;

SET ROLE authenticator;
SET LOCAL ROLE authenticated;
SELECT set_config('request.jwt.claims',
                  '{"sub":"bbbbbbbb-0000-4000-8000-000000000002","role":"authenticated"}', true);
SELECT is((SELECT count(*) FROM llmeval.prompts) + (SELECT count(*) FROM llmeval.datasets)
          + (SELECT count(*) FROM llmeval.test_cases) + (SELECT count(*) FROM llmeval.jobs)
          + (SELECT count(*) FROM llmeval.tasks) + (SELECT count(*) FROM llmeval.results),
          0::bigint, 'user 2 sees none of user 1''s prompts, datasets, test cases, jobs, tasks, results');
SELECT is(llmeval.create_prompt('short', 'Reply: {{q}}'), 1, 'user 2 has its own prompt of the same name');
SELECT is((SELECT count(*) FROM llmeval.prompts), 1::bigint, 'user 2 sees only its own prompt');
RESET ROLE;

-- 4. revoke_tenant_access takes it all back.
SELECT lives_ok($$ SELECT llmeval.revoke_tenant_access('authenticated') $$, 'revoke_tenant_access runs');
SELECT is(pg_temp.direct('authenticated'), 0::bigint,
          'authenticated holds no privilege of its own on the extension''s objects');
SET ROLE authenticator;
SET LOCAL ROLE authenticated;
SELECT throws_ok($$ SELECT count(*) FROM llmeval.datasets $$, '42501',
                 'permission denied for table datasets', 'after revoking, datasets are closed again');
RESET ROLE;

-- 5. CREATE EXTENSION grants it when authenticated exists and is NOINHERIT.
REVOKE llmeval_user FROM authenticated;
DROP EXTENSION pg_llmeval CASCADE;
CREATE EXTENSION pg_llmeval;
SELECT is(pg_temp.missing('authenticated'), '{}'::text[],
          'CREATE EXTENSION grants a NOINHERIT authenticated every privilege of llmeval_user');
SELECT is(pg_temp.direct('anon'), 0::bigint, 'and nothing to anon');
SELECT is(pg_temp.direct('service_role'), 0::bigint, 'nor to service_role');
SELECT llmeval.create_provider('supa', 'openai', 'http://127.0.0.1:9/v1');
SELECT llmeval.create_model('supa/model');
SET ROLE authenticator;
SET LOCAL ROLE authenticated;
SELECT set_config('request.jwt.claims',
                  '{"sub":"aaaaaaaa-0000-4000-8000-000000000001","role":"authenticated"}', true);
SELECT lives_ok($$ SELECT llmeval.create_prompt('short', 'Answer: {{q}}'),
                          llmeval.import_dataset('qs', '[{"input": {"q": "2+2"}, "expected": "4"}]'),
                          llmeval.submit_job('short', 'qs', ARRAY['supa/model'], ARRAY['exact_match']) $$,
                'after CREATE EXTENSION a Supabase user creates a prompt, a dataset and a job');
SELECT is((SELECT count(*) FROM llmeval.results), 1::bigint, 'and reads the result back');
RESET ROLE;

-- An authenticated that inherits (not Supabase's) is left to membership.
ALTER ROLE authenticated INHERIT;
DROP EXTENSION pg_llmeval CASCADE;
CREATE EXTENSION pg_llmeval;
SELECT is(pg_temp.direct('authenticated'), 0::bigint,
          'CREATE EXTENSION grants nothing to an authenticated that inherits');

SELECT * FROM finish();
ROLLBACK;
