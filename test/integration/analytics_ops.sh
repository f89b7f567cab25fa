#!/usr/bin/env bash
# The regression gate as CI uses it (psql -v ON_ERROR_STOP=1 exits non-zero),
# and scheduling through the real pg_cron: schedule_jobs is idempotent, a
# report scheduled every minute appears, one per tenant with jobs, each
# read by its tenant only; unschedule_jobs removes the jobs.
# The gate runs in its own database (the workers run in postgres and would
# take its tasks); pg_cron runs jobs in database postgres (cron.database_name).
set -euo pipefail
cd "$(dirname "$0")/../.."
gate_db=llmeval_gate
. test/harness/tap.sh
g() { psql -X -At -v ON_ERROR_STOP=1 -d "$gate_db" -c "$1"; }

psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS $gate_db" -c "CREATE DATABASE $gate_db"
psql -X -q -v ON_ERROR_STOP=1 -d "$gate_db" <<'SQL'
CREATE EXTENSION pg_llmeval;
SELECT llmeval.create_provider('gate', 'openai', 'http://127.0.0.1:9/v1');
SELECT llmeval.create_model('gate/m');
SELECT llmeval.create_prompt('p', '{{q}}');
SELECT llmeval.import_dataset('d', (SELECT jsonb_agg(jsonb_build_object('input', jsonb_build_object('q', 'q' || g), 'expected', 'a'))
                                    FROM generate_series(1, 20) g));
-- three jobs scored as workers would: a baseline, a better and a worse one
CREATE TEMP TABLE j AS SELECT llmeval.submit_job('p', 'd', ARRAY['gate/m'], ARRAY['bleu']) AS id FROM generate_series(1, 3);
UPDATE llmeval.tasks SET status = 'completed';
INSERT INTO llmeval.task_scores (task_id, tenant, metric, value)
SELECT t.id, t.tenant, 'bleu', 50 + (tc.position * 7) % 5 + (t.job_id - (SELECT min(id) FROM j)) * CASE WHEN t.job_id = (SELECT max(id) FROM j) THEN -4 ELSE 6 END
FROM llmeval.tasks t JOIN llmeval.test_cases tc ON tc.id = t.test_case_id;
SELECT llmeval.set_baseline((SELECT min(id) FROM llmeval.jobs));
SQL
base=$(g "SELECT min(id) FROM llmeval.jobs"); better=$((base + 1)); worse=$((base + 2))

echo "SELECT llmeval.assert_no_regression($better);" > /tmp/gate_ok.$$.sql
echo "SELECT llmeval.assert_no_regression($worse);" > /tmp/gate_bad.$$.sql
if psql -X -q -v ON_ERROR_STOP=1 -d "$gate_db" -f /tmp/gate_ok.$$.sql >/dev/null; then
  echo "ok - the gate passes an improvement"
else
  echo "not ok - the gate failed an improvement"; status=1
fi
set +e
psql -X -q -v ON_ERROR_STOP=1 -d "$gate_db" -f /tmp/gate_bad.$$.sql > /tmp/gate_out.$$ 2>&1
rc=$?
set -e
if [ $rc -ne 0 ] && grep -q "regression: job $worse is worse than baseline job $base" /tmp/gate_out.$$; then
  echo "ok - the gate fails a regression (psql exit $rc)"
else
  echo "not ok - the gate let a regression pass (psql exit $rc)"; cat /tmp/gate_out.$$; status=1
fi
rm -f /tmp/gate_ok.$$.sql /tmp/gate_bad.$$.sql /tmp/gate_out.$$

psql -X -q -v ON_ERROR_STOP=1 -d postgres <<'SQL'
DROP EXTENSION IF EXISTS pg_llmeval CASCADE;
CREATE EXTENSION pg_llmeval;
CREATE EXTENSION IF NOT EXISTS pg_cron;
-- two tenants with a job today, each to get its own scheduled report
-- (the provider is unreachable: the tasks fail, the jobs exist)
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ops_alice') THEN CREATE ROLE ops_alice; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ops_bob') THEN CREATE ROLE ops_bob; END IF;
END $$;
GRANT llmeval_user TO ops_alice, ops_bob;
SELECT llmeval.create_provider('ops', 'openai', 'http://127.0.0.1:9/v1');
SELECT llmeval.create_model('ops/m');
SET ROLE ops_alice;
SELECT llmeval.create_prompt('p', '{{q}}');
SELECT llmeval.import_dataset('d', '[{"input": {"q": "a"}}]');
SELECT llmeval.submit_job('p', 'd', ARRAY['ops/m'], ARRAY['bleu']);
SET ROLE ops_bob;
SELECT llmeval.create_prompt('p', '{{q}}');
SELECT llmeval.import_dataset('d', '[{"input": {"q": "b"}}]');
SELECT llmeval.submit_job('p', 'd', ARRAY['ops/m'], ARRAY['bleu']);
RESET ROLE;
SQL
check "schedule_jobs creates three jobs" "SELECT count(*) FROM llmeval.schedule_jobs(daily_report_schedule => '* * * * *')" 3
check "calling it again changes nothing" \
  "SELECT count(*) FROM llmeval.schedule_jobs(daily_report_schedule => '* * * * *'), (SELECT count(*) FROM cron.job WHERE jobname LIKE 'llmeval%') c WHERE c.count = 3" 3
check "the jobs are in pg_cron" "SELECT string_agg(jobname || ' ' || schedule, ', ' ORDER BY jobname) FROM cron.job WHERE jobname LIKE 'llmeval%'" \
  "llmeval_daily_report * * * * *, llmeval_maintenance */15 * * * *, llmeval_weekly_report 10 0 * * 1"
# pg_cron starts jobs at the top of a minute
for _ in $(seq 75); do
  [ "$(q "SELECT count(*) FROM llmeval.reports WHERE period = 'daily'")" != 0 ] && break
  sleep 1
done
check "pg_cron ran the daily report: one per tenant with jobs, each its own" \
  "SELECT string_agg(tenant || ':' || (body ->> 'tenant'), ' ' ORDER BY tenant)
   FROM llmeval.reports WHERE period = 'daily'" "ops_alice:ops_alice ops_bob:ops_bob"
expect "a tenant reads its own scheduled report only" \
  "$(psql -X -At -q -d postgres -c "SET ROLE ops_alice" -c "SELECT string_agg(tenant, ' ') FROM llmeval.reports WHERE period = 'daily'")" \
  ops_alice
check "its run succeeded" \
  "SELECT count(*) > 0 FROM cron.job_run_details d JOIN cron.job j USING (jobid) WHERE j.jobname = 'llmeval_daily_report' AND d.status = 'succeeded'" t
check "unschedule_jobs removes them" "SELECT count(*) FROM llmeval.unschedule_jobs()" 3
check "none is left" "SELECT count(*) FROM cron.job WHERE jobname LIKE 'llmeval%'" 0
# (output captured first: grep -q closing a pipe early makes psql's exit
# status, and so the pipeline's under pipefail, a failure)
out=$(psql -X -q -d postgres -c "CALL llmeval.maintenance()" 2>&1 || true)
if grep -q "llmeval maintenance" <<< "$out"; then
  echo "ok - maintenance runs"
else
  echo "not ok - maintenance: $out"; status=1
fi
q "DROP EXTENSION pg_cron" >/dev/null
out=$(psql -X -d postgres -c "SELECT llmeval.schedule_jobs()" 2>&1 || true)
if grep -q "pg_cron is not installed" <<< "$out"; then
  echo "ok - without pg_cron: a notice, nothing scheduled"
else
  echo "not ok - without pg_cron: $out"; status=1
fi
exit $status
