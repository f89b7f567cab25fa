#!/usr/bin/env bash
# The task queue under concurrency: four sessions claim tasks with FOR UPDATE
# SKIP LOCKED, one per transaction, and write them back guarded by their
# claim token, as the workers do. Afterwards every task was processed exactly
# once, the job's counters equal the real counts, the job completed, and a
# listener received progress notifications. Needs PGHOST/PGPORT.
set -euo pipefail
db=llmeval_queue
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" <<'SQL'
CREATE EXTENSION pg_llmeval;
SELECT llmeval.create_provider('conc', 'openai', 'http://127.0.0.1:9/v1');
SELECT llmeval.create_model('conc/a');
SELECT llmeval.create_model('conc/b');
SELECT llmeval.create_prompt('p', '{{x}}');
SELECT llmeval.import_dataset('d', (SELECT jsonb_agg(jsonb_build_object('input', jsonb_build_object('x', g::text), 'expected', g::text))
                                    FROM generate_series(1, 1000) g));
SELECT llmeval.submit_job('p', 'd', ARRAY['conc/a', 'conc/b'], ARRAY['exact_match']);
SQL

worker() {
  psql -X -q -v ON_ERROR_STOP=1 -d "$db" <<'SQL'
DO $$
DECLARE
  claimed bigint;
  token uuid;
BEGIN
  LOOP
    token := gen_random_uuid();
    UPDATE llmeval.tasks SET status = 'running', claim_token = token, worker_pid = pg_backend_pid(),
                             lease_expires_at = now() + interval '1 minute', attempts = attempts + 1
    WHERE id = (SELECT id FROM llmeval.tasks WHERE status = 'pending' AND next_attempt_at <= now()
                ORDER BY next_attempt_at LIMIT 1 FOR UPDATE SKIP LOCKED)
    RETURNING id INTO claimed;
    EXIT WHEN claimed IS NULL;
    COMMIT;
    -- (the HTTP call happens here, with no transaction open)
    INSERT INTO llmeval.responses (task_id, tenant, output)
    SELECT id, tenant, 'out' FROM llmeval.tasks WHERE id = claimed AND claim_token = token;
    INSERT INTO llmeval.task_scores (task_id, tenant, metric, value)
    SELECT id, tenant, 'exact_match', 0 FROM llmeval.tasks WHERE id = claimed AND claim_token = token;
    UPDATE llmeval.tasks SET status = CASE WHEN claimed % 7 = 0 THEN 'failed' ELSE 'completed' END,
                             claim_token = NULL, lease_expires_at = NULL
    WHERE id = claimed AND claim_token = token;
    COMMIT;
  END LOOP;
END $$;
SQL
}

# A listener that stays connected while the workers run.
psql -X -d "$db" -c "LISTEN llmeval_job_progress" -c "SELECT pg_sleep(3)" -c "SELECT 1" > /tmp/llmeval_listen.$$ 2>&1 &
listener=$!
sleep 0.5
pids=()
for _ in 1 2 3 4; do worker & pids+=($!); done
for pid in "${pids[@]}"; do wait "$pid"; done
wait "$listener"

TAP_DB=$db
. "$(dirname "$0")/../harness/tap.sh"
check "every task processed once" \
  "SELECT count(*) FILTER (WHERE status IN ('completed', 'failed')) || '/' || count(*) FROM llmeval.tasks" "2000/2000"
check "one response and one score per task" \
  "SELECT (SELECT count(*) FROM llmeval.responses) || ' ' || (SELECT count(*) FROM llmeval.task_scores)" "2000 2000"
check "counters equal the real counts" \
  "SELECT j.completed = (SELECT count(*) FROM llmeval.tasks WHERE status = 'completed')
      AND j.failed = (SELECT count(*) FROM llmeval.tasks WHERE status = 'failed')
      AND j.pending + j.running + j.cancelled = 0 FROM llmeval.jobs j" "t"
check "the job completed" "SELECT status FROM llmeval.jobs" "completed"
check "status changes are logged" \
  "SELECT string_agg(kind, ',' ORDER BY id) FROM llmeval.events" "job_submitted,job_running,job_completed"
if grep -q 'Asynchronous notification "llmeval_job_progress"' /tmp/llmeval_listen.$$; then
  echo "ok - progress is announced on llmeval_job_progress"
else
  echo "not ok - no notification on llmeval_job_progress"; cat /tmp/llmeval_listen.$$; status=1
fi
rm -f /tmp/llmeval_listen.$$
exit $status
