-- The data model's schema: tables, keys, indexes, row-level security,
-- roles, and the privileges of its functions.
BEGIN;
SELECT plan(36);

SELECT tables_are('llmeval', ARRAY[
  'jwt_roles', 'providers', 'provider_secrets', 'models', 'metrics', 'prompts', 'prompt_versions',
  'datasets', 'dataset_versions', 'test_cases', 'jobs', 'tasks', 'responses', 'task_scores',
  'experiments', 'experiment_variants', 'experiment_outcomes', 'reports', 'events',
  'response_cache', 'baselines', 'judgements', 'embedding_cache', 'direct_calls', 'counter_shards',
  'job_counter_deltas', 'online_rules', 'online_pending', 'online_items', 'annotation_queues',
  'annotation_reviewers', 'annotation_items', 'tenant_shares', 'provider_batches', 'tenant_budgets',
  'tenant_spend', 'tenant_spend_deltas'],
  'the data model''s tables');
SELECT views_are('llmeval', ARRAY['results', 'scores', 'conversation_turns', 'worker_status', 'job_events', 'judge_calls',
                                 'judge_spread', 'job_costs', 'counters', 'online_scores', 'online_gauges',
                                 'tenant_budget_use'], 'the views');

SELECT is((SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'llmeval' AND c.relkind = 'r'
             AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p')
             -- the online triggers' queue: a key would cost every application insert
             AND c.relname <> 'online_pending'),
          0::bigint, 'every table but the online triggers'' queue has a primary key');

SELECT fk_ok('llmeval', 'models', 'provider_id', 'llmeval', 'providers', 'id');
-- A tenant's child rows are keyed (parent, tenant): foreign keys ignore
-- row-level security, so a key on the id alone would let a row point into
-- another tenant's data.
SELECT fk_ok('llmeval', 'prompt_versions', ARRAY['prompt_id', 'tenant'], 'llmeval', 'prompts', ARRAY['id', 'tenant']);
SELECT fk_ok('llmeval', 'dataset_versions', ARRAY['dataset_id', 'tenant'],
             'llmeval', 'datasets', ARRAY['id', 'tenant']);
SELECT fk_ok('llmeval', 'test_cases', ARRAY['dataset_version_id', 'tenant'],
             'llmeval', 'dataset_versions', ARRAY['id', 'tenant']);
SELECT fk_ok('llmeval', 'jobs', ARRAY['prompt_version_id', 'tenant'],
             'llmeval', 'prompt_versions', ARRAY['id', 'tenant']);
SELECT fk_ok('llmeval', 'jobs', ARRAY['dataset_version_id', 'tenant'],
             'llmeval', 'dataset_versions', ARRAY['id', 'tenant']);
SELECT fk_ok('llmeval', 'experiment_variants', ARRAY['experiment_id', 'tenant'],
             'llmeval', 'experiments', ARRAY['id', 'tenant']);
SELECT fk_ok('llmeval', 'baselines', ARRAY['job_id', 'tenant'], 'llmeval', 'jobs', ARRAY['id', 'tenant']);
SELECT fk_ok('llmeval', 'online_rules', ARRAY['job_id', 'tenant'], 'llmeval', 'jobs', ARRAY['id', 'tenant']);
SELECT fk_ok('llmeval', 'tasks', 'job_id', 'llmeval', 'jobs', 'id');
SELECT fk_ok('llmeval', 'tasks', 'test_case_id', 'llmeval', 'test_cases', 'id');
SELECT fk_ok('llmeval', 'tasks', 'model_id', 'llmeval', 'models', 'id');
SELECT fk_ok('llmeval', 'responses', 'task_id', 'llmeval', 'tasks', 'id');
SELECT fk_ok('llmeval', 'task_scores', 'task_id', 'llmeval', 'tasks', 'id');

-- Every foreign key is backed by an index starting with its column, so
-- deletes and joins do not scan.
SELECT is((SELECT count(*) FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace
           WHERE n.nspname = 'llmeval' AND k.contype = 'f'
             AND NOT EXISTS (SELECT 1 FROM pg_index i
                             WHERE i.indrelid = k.conrelid AND i.indkey[0] = k.conkey[1])),
          0::bigint, 'every foreign key column leads an index');

SELECT has_index('llmeval', 'tasks', 'tasks_claimable', 'pending tasks are indexed by next attempt');
SELECT has_index('llmeval', 'tasks', 'tasks_pending_by_job', 'pending tasks are indexed by job, then next attempt');
SELECT has_index('llmeval', 'tasks', 'tasks_leases', 'running tasks are indexed by lease expiry');
SELECT ok((SELECT reloptions @> ARRAY['fillfactor=70'] FROM pg_class WHERE oid = 'llmeval.tasks'::regclass),
          'the queue leaves room for HOT updates');

SELECT is(ARRAY(SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = 'llmeval' AND c.relkind = 'r'
                  AND EXISTS (SELECT 1 FROM pg_attribute a
                              WHERE a.attrelid = c.oid AND a.attname = 'tenant' AND NOT a.attisdropped)
                  AND NOT c.relrowsecurity ORDER BY 1),
          '{}'::text[], 'row-level security is on for every table with a tenant column');
SELECT is((SELECT count(*) FROM pg_policies WHERE schemaname = 'llmeval' AND policyname = 'tenant_isolation'),
          26::bigint, 'every tenant table has the tenant isolation policy');
SELECT ok((SELECT bool_and(reloptions @> ARRAY['security_invoker=true']) FROM pg_class
           WHERE oid IN ('llmeval.results'::regclass, 'llmeval.scores'::regclass, 'llmeval.judge_calls'::regclass,
                         'llmeval.judge_spread'::regclass, 'llmeval.job_costs'::regclass)),
          'views check row-level security as the querying user');

SELECT has_role('llmeval_user');
SELECT has_role('llmeval_admin');

-- SECURITY DEFINER functions pin search_path and are not executable by PUBLIC.
SELECT is(ARRAY(SELECT p.oid::regprocedure::text FROM pg_proc p
                JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE n.nspname = 'llmeval' AND p.prosecdef
                  AND NOT coalesce(p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp'], false)),
          '{}'::text[], 'every SECURITY DEFINER function sets search_path');
SELECT is(ARRAY(SELECT p.oid::regprocedure::text FROM pg_proc p
                JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE n.nspname = 'llmeval' AND p.prosecdef
                  AND has_function_privilege('public', p.oid, 'EXECUTE')),
          '{}'::text[], 'no SECURITY DEFINER function is executable by PUBLIC');
SELECT ok(NOT has_function_privilege('llmeval_user', 'llmeval.create_provider(text,text,text,text,jsonb)', 'EXECUTE')
          AND has_function_privilege('llmeval_admin', 'llmeval.create_provider(text,text,text,text,jsonb)', 'EXECUTE'),
          'only administrators may create providers');
SELECT ok(NOT has_table_privilege('llmeval_user', 'llmeval.provider_secrets', 'SELECT')
          AND NOT has_table_privilege('public', 'llmeval.provider_secrets', 'SELECT'),
          'tenants cannot read provider secrets');
SELECT ok(NOT has_table_privilege('llmeval_user', 'llmeval.tasks', 'UPDATE')
          AND NOT has_table_privilege('llmeval_user', 'llmeval.jobs', 'INSERT'),
          'tenants change jobs and tasks only through the job functions');
SELECT ok(NOT has_table_privilege('llmeval_user', 'llmeval.prompt_versions', 'INSERT')
          AND NOT has_table_privilege('llmeval_user', 'llmeval.dataset_versions', 'INSERT')
          AND NOT has_table_privilege('llmeval_user', 'llmeval.test_cases', 'INSERT')
          AND NOT has_table_privilege('llmeval_user', 'llmeval.prompts', 'INSERT')
          AND NOT has_table_privilege('llmeval_user', 'llmeval.metrics', 'INSERT'),
          'tenants write prompts, datasets and metrics only through the functions');
SELECT ok(NOT has_column_privilege('llmeval_user', 'llmeval.experiments', 'id', 'INSERT')
          AND NOT has_column_privilege('llmeval_user', 'llmeval.reports', 'id', 'INSERT')
          AND NOT has_column_privilege('llmeval_user', 'llmeval.prompts', 'id', 'UPDATE'),
          'tenants never choose ids');
SELECT ok(NOT has_sequence_privilege('llmeval_user', 'llmeval.models_id_seq', 'USAGE')
          AND NOT has_sequence_privilege('llmeval_user', 'llmeval.providers_id_seq', 'USAGE')
          AND NOT has_sequence_privilege('llmeval_user', 'llmeval.metrics_id_seq', 'USAGE'),
          'the shared sequences are not the tenants'' to use');
SELECT is((SELECT data_type FROM information_schema.columns
           WHERE table_schema = 'llmeval' AND table_name = 'metrics' AND column_name = 'id'),
          'bigint', 'the metric ids are bigint');

SELECT * FROM finish();
ROLLBACK;
