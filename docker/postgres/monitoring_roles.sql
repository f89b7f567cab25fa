-- Login roles for monitoring pg_llmeval, run by psql as a superuser in the
-- database where the extension is installed (docker/postgres/initdb-pg_llmeval.sh
-- runs it on a new container; run it by hand elsewhere):
--
--   psql -v exporter_password=... -v grafana_password=... -f monitoring_roles.sql
--
-- A role whose password variable is missing or empty is not created.
--
-- llmeval_exporter: what prometheus-postgres-exporter connects as, with
--   docker/postgres-exporter/queries.yaml. pg_monitor for the exporter's
--   built-in metrics; SELECT on the tables the llmeval queries read.
-- llmeval_grafana: the dashboard's PostgreSQL data source (scores, jobs).
--
-- Both bypass row-level security (a tenant only sees its own rows; these
-- report on all tenants) but get SELECT on the tables they read and no
-- other: neither reads provider_secrets, changes data or is a member of
-- llmeval_admin. llmeval_grafana does read inputs, outputs and scores of every
-- tenant: give it only to people who may see them all.

\set ON_ERROR_STOP 1

\if :{?exporter_password}
\else
\set exporter_password ''
\endif
\if :{?grafana_password}
\else
\set grafana_password ''
\endif
SELECT :'exporter_password' <> '' AS with_exporter, :'grafana_password' <> '' AS with_grafana \gset

\if :with_exporter
SELECT format('CREATE ROLE llmeval_exporter LOGIN BYPASSRLS PASSWORD %L', :'exporter_password')
WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'llmeval_exporter') \gexec
SELECT format('ALTER ROLE llmeval_exporter LOGIN BYPASSRLS PASSWORD %L', :'exporter_password') \gexec
GRANT pg_monitor TO llmeval_exporter;
GRANT USAGE ON SCHEMA llmeval TO llmeval_exporter;
GRANT SELECT ON llmeval.jobs, llmeval.tasks, llmeval.models, llmeval.responses, llmeval.events, llmeval.worker_status,
  llmeval.counters, llmeval.counter_shards, llmeval.online_gauges, llmeval.online_rules, llmeval.online_items,
  llmeval.task_scores, llmeval.tenant_budget_use, llmeval.tenant_budgets, llmeval.tenant_spend,
  llmeval.tenant_spend_deltas TO llmeval_exporter;
\echo created or updated role llmeval_exporter
\else
\echo exporter_password not set: role llmeval_exporter not created
\endif

\if :with_grafana
SELECT format('CREATE ROLE llmeval_grafana LOGIN BYPASSRLS PASSWORD %L', :'grafana_password')
WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'llmeval_grafana') \gexec
SELECT format('ALTER ROLE llmeval_grafana LOGIN BYPASSRLS PASSWORD %L', :'grafana_password') \gexec
GRANT USAGE ON SCHEMA llmeval TO llmeval_grafana;
GRANT SELECT ON llmeval.jobs, llmeval.tasks, llmeval.models, llmeval.test_cases, llmeval.responses,
  llmeval.task_scores, llmeval.events, llmeval.results, llmeval.scores, llmeval.job_events,
  llmeval.worker_status TO llmeval_grafana;
\echo created or updated role llmeval_grafana
\else
\echo grafana_password not set: role llmeval_grafana not created
\endif
