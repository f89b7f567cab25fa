#!/usr/bin/env bash
# Installed as /docker-entrypoint-initdb.d/10-pg_llmeval.sh: runs once, when
# the container starts with an empty data directory, against the temporary
# server docker-entrypoint.sh starts (which already preloads pg_cron and
# pg_llmeval). In database POSTGRES_DB it creates pg_cron and pg_llmeval,
# schedules maintenance and the daily and weekly reports with pg_cron, and
# creates the monitoring roles (monitoring_roles.sql) whose passwords are
# given in LLMEVAL_EXPORTER_PASSWORD and LLMEVAL_GRAFANA_PASSWORD.
#
# Outside a container (test/integration/exporter_prometheus.sh runs it), psql's
# usual PG* variables choose the server, and LLMEVAL_SHARE the directory of
# monitoring_roles.sql.
set -Eeuo pipefail

db=${POSTGRES_DB:-${POSTGRES_USER:-postgres}}
share=${LLMEVAL_SHARE:-/usr/local/share/pg_llmeval}
psql_db=(psql -X -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname "$db")

"${psql_db[@]}" <<'SQL'
-- pg_cron can only be created in cron.database_name, which
-- docker-entrypoint-llmeval.sh sets to this database.
DO $$
BEGIN
  IF current_setting('cron.database_name', true) = current_database() THEN
    CREATE EXTENSION IF NOT EXISTS pg_cron;
  ELSE
    RAISE NOTICE 'pg_cron is not preloaded for database %: maintenance and reports are not scheduled',
      current_database();
  END IF;
END $$;
CREATE EXTENSION IF NOT EXISTS pg_llmeval CASCADE;
SELECT llmeval.schedule_jobs();
SQL

"${psql_db[@]}" -v exporter_password="${LLMEVAL_EXPORTER_PASSWORD:-}" \
  -v grafana_password="${LLMEVAL_GRAFANA_PASSWORD:-}" -f "$share/monitoring_roles.sql"
