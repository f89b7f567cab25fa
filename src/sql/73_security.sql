-- Privileges and row-level security.
--
-- llmeval_user (tenants): reads providers and models (no secrets), manages
-- its own prompts, datasets, metrics, experiments and reports, and reads its
-- own jobs, tasks, responses, scores and events; jobs and tasks change only
-- through submit_job, cancel_job and retry_failed. llmeval_admin: providers,
-- models, secrets, and read access to every tenant's rows. Workers and
-- maintenance run as the extension owner.

REVOKE ALL ON ALL TABLES IN SCHEMA llmeval FROM PUBLIC;
GRANT SELECT ON llmeval.jwt_roles TO PUBLIC;

GRANT SELECT ON llmeval.providers, llmeval.models TO llmeval_user;
GRANT SELECT, INSERT, UPDATE, DELETE ON llmeval.providers, llmeval.models, llmeval.provider_secrets
  TO llmeval_admin;

-- Prompts, datasets, their versions and test cases, and metric definitions
-- are written only through the extension's functions (create_prompt,
-- import_dataset, create_metric, ...): written directly, a row could name
-- another tenant's parent (foreign keys ignore row-level security), change a
-- version after jobs pinned it, or skip the checks that keep other tenants'
-- jobs working. Tenants may rename and delete their own prompts and datasets.
GRANT SELECT, DELETE ON llmeval.prompts, llmeval.datasets TO llmeval_user;
GRANT UPDATE (name) ON llmeval.prompts, llmeval.datasets TO llmeval_user;
GRANT SELECT ON llmeval.prompt_versions, llmeval.dataset_versions, llmeval.test_cases
  TO llmeval_user;
GRANT SELECT ON llmeval.metrics TO llmeval_user;
GRANT SELECT ON llmeval.jobs, llmeval.tasks, llmeval.responses, llmeval.task_scores, llmeval.events
  TO llmeval_user;
-- Experiments and reports: ids are never the tenant's to choose (a tenant
-- holding a million future ids would make other tenants' inserts fail), so
-- the id column is not among the columns granted.
GRANT SELECT, DELETE ON llmeval.experiments, llmeval.experiment_variants,
  llmeval.experiment_outcomes, llmeval.reports TO llmeval_user;
GRANT INSERT (tenant, name, status, description),
      UPDATE (name, status, description, variant_names, variant_weights)
  ON llmeval.experiments TO llmeval_user;
GRANT INSERT (experiment_id, tenant, name, prompt_version_id, model_id, weight),
      UPDATE (name, prompt_version_id, model_id, weight)
  ON llmeval.experiment_variants TO llmeval_user;
GRANT INSERT (experiment_id, variant_id, tenant, unit_key, metric, value)
  ON llmeval.experiment_outcomes TO llmeval_user;
GRANT INSERT (tenant, period, period_start, period_end, body) ON llmeval.reports TO llmeval_user;
-- The sequences of the tenants' own inserts (bigint: burning values harms
-- nobody); those of providers, models and metrics are not the tenants' to use.
GRANT USAGE ON SEQUENCE llmeval.experiments_id_seq, llmeval.experiment_variants_id_seq,
  llmeval.experiment_outcomes_id_seq, llmeval.reports_id_seq TO llmeval_user;

-- Every tenant-owned table: a tenant sees and changes only its own rows;
-- administrators read all. (SELECT llmeval.current_tenant()) is evaluated
-- once per statement rather than once per row.
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['prompts', 'prompt_versions', 'datasets', 'dataset_versions',
                           'test_cases', 'jobs', 'tasks', 'responses', 'task_scores',
                           'experiments', 'experiment_variants', 'experiment_outcomes',
                           'reports', 'events']
  LOOP
    EXECUTE format('ALTER TABLE llmeval.%I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON llmeval.%I
                      USING (tenant = (SELECT llmeval.current_tenant()))
                      WITH CHECK (tenant = (SELECT llmeval.current_tenant()))', t);
    EXECUTE format('CREATE POLICY admin_read ON llmeval.%I FOR SELECT TO llmeval_admin
                      USING (true)', t);
  END LOOP;
END $$;

-- Built-in metrics (tenant NULL) are visible to all; user-defined ones to
-- their tenant.
ALTER TABLE llmeval.metrics ENABLE ROW LEVEL SECURITY;
CREATE POLICY visible ON llmeval.metrics FOR SELECT
  USING (tenant IS NULL OR tenant = (SELECT llmeval.current_tenant()));
CREATE POLICY own_insert ON llmeval.metrics FOR INSERT
  WITH CHECK (tenant = (SELECT llmeval.current_tenant()));
CREATE POLICY own_delete ON llmeval.metrics FOR DELETE
  USING (tenant = (SELECT llmeval.current_tenant()));
CREATE POLICY admin_read ON llmeval.metrics FOR SELECT TO llmeval_admin USING (true);
