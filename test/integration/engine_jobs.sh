#!/usr/bin/env bash
# The job engine end to end, against the local mock provider: a job over
# the three provider kinds with faults completes with every task scored
# exactly once; the response cache; a bad key and a 404 fail at once without
# leaking the key; non-administrators cannot read keys; cancellation stops
# the calls; SIGKILL of a worker and an immediate restart lose nothing.
# Needs the throwaway cluster (test/harness/with_cluster.sh): the workers run
# in database postgres.
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/harness/mock_llm.sh

. test/harness/tap.sh
submit() {  # DATASET MODELS [OPTIONS] -> job id
  q "SELECT llmeval.submit_job('short', '$1', $2, ARRAY['exact_match', 'bleu'], '${3:-{\}}')"
}

psql -X -q -v ON_ERROR_STOP=1 -d postgres <<SQL
ALTER SYSTEM SET llmeval.lease_seconds = 10;
ALTER SYSTEM SET llmeval.max_attempts = 10;
ALTER SYSTEM SET llmeval.request_timeout_ms = 5000;
SELECT pg_reload_conf();
DROP EXTENSION IF EXISTS pg_llmeval CASCADE;
CREATE EXTENSION pg_llmeval;
SELECT llmeval.create_provider('mock-openai', 'openai', '$mock_url/v1', 'LLMEVAL_MOCK_API_KEY');
SELECT llmeval.create_provider('mock-anthropic', 'anthropic', '$mock_url', 'LLMEVAL_MOCK_API_KEY');
SELECT llmeval.create_provider('mock-gemini', 'gemini', '$mock_url', 'LLMEVAL_MOCK_API_KEY');
SELECT llmeval.create_model('mock-openai/gpt-good', 0.15, 0.60);
SELECT llmeval.create_model('mock-anthropic/claude-good', 3, 15);
SELECT llmeval.create_model('mock-gemini/gemini-sloppy', 0.1, 0.4);
SELECT llmeval.create_model('mock-openai/gpt-notfound');
SELECT llmeval.create_prompt('short', 'Answer in one word: {{question}}');
-- 100 test cases: the mock's questions, five times over
SELECT llmeval.import_dataset('facts', (
  SELECT jsonb_agg(jsonb_build_object('input', jsonb_build_object('question', q || ' (' || k || ')'),
                                      'expected', a) ORDER BY k, q)
  FROM jsonb_each_text(pg_read_file('$PWD/test/mock_llm/answers.json')::jsonb) AS x(q, a),
       generate_series(1, 5) k));
SELECT llmeval.import_dataset('few', (SELECT jsonb_agg(x) FROM (
  SELECT jsonb_array_elements(llmeval.export_dataset('facts')::jsonb) x LIMIT 20) s));
SQL
models="ARRAY['mock-openai/gpt-good', 'mock-anthropic/claude-good', 'mock-gemini/gemini-sloppy']"

check "two workers are visible in pg_stat_activity" \
  "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_llmeval worker'" 2

# 1. Faults on every API: 429 (Retry-After 0), 5xx, dropped connections,
#    malformed and truncated bodies; retried until every task succeeds.
mock_config '{"fault_rate": 0.3, "faults": ["429", "500", "503", "drop", "malformed", "truncate"], "retry_after_s": 0, "seed": 7}'
job=$(submit facts "$models")
check "a job with faults completes" "SELECT llmeval.wait_job($job, '180 s')" completed
check "every task completed" \
  "SELECT count(*) FILTER (WHERE status = 'completed') || '/' || count(*) FROM llmeval.results WHERE job_id = $job" "300/300"
check "one response and two scores per task, exactly" \
  "SELECT (SELECT count(*) FROM llmeval.results WHERE job_id = $job AND output IS NOT NULL) || ' ' ||
          (SELECT count(*) FROM llmeval.scores WHERE job_id = $job)" "300 600"
check_true "faults were met and retried" \
  "(SELECT count(*) FROM llmeval.events WHERE job_id = $job AND kind = 'task_retry') > 10"
check_true "the mock saw every kind of fault" "$(mock_stat "len(s['faults']) >= 5") "
check "the good models answer right" \
  "SELECT round(avg(value)) FROM llmeval.scores WHERE job_id = $job AND metric = 'exact_match' AND model <> 'mock-gemini/gemini-sloppy'" 1
check_true "the sloppy model does not" \
  "(SELECT avg(value) FROM llmeval.scores WHERE job_id = $job AND metric = 'exact_match' AND model = 'mock-gemini/gemini-sloppy') BETWEEN 0.3 AND 0.95"
check_true "tokens and cost are recorded" \
  "(SELECT bool_and(input_tokens > 0 AND output_tokens > 0 AND cost > 0) FROM llmeval.results WHERE job_id = $job)"

check_true "metrics count the provider errors" \
  "(SELECT count(*) FROM regexp_split_to_table(llmeval.prometheus_metrics(), E'\\n') l WHERE l ~ '^llmeval_provider_errors_total\\{code=\"(429|500|503)\"\\} [1-9]') = 3"
check_true "the workers report what they did" "(SELECT sum(completed) FROM llmeval.worker_status) >= 300 AND (SELECT sum(retried) FROM llmeval.worker_status) > 10"

# 2. The cache: the same requests again cost nothing and reach no provider;
#    "cache": false asks again.
mock_reset
job2=$(submit facts "$models")
check "a repeated job completes" "SELECT llmeval.wait_job($job2, '60 s')" completed
check "it is answered from the cache" "SELECT $(mock_stat "s['requests_total']") || ' ' || (SELECT sum(cost) FROM llmeval.results WHERE job_id = $job2)" "0 0"
job3=$(submit few "ARRAY['mock-openai/gpt-good']" '{"cache": false}')
check "cache false calls the provider" "SELECT llmeval.wait_job($job3, '60 s') || ' ' || $(mock_stat "s['requests_total']")" "completed 20"
# Several ROUGE variants in one job: the worker scores them from one
# tokenisation (LexicalScores); each stored value is what llmeval.rouge gives.
job_rouge=$(q "SELECT llmeval.submit_job('short', 'few', ARRAY['mock-openai/gpt-good'], ARRAY['rouge1', 'rouge2', 'rougeL', 'rougeLsum'])")
check "a job with four ROUGE variants completes" "SELECT llmeval.wait_job($job_rouge, '60 s')" completed
check "each ROUGE variant is stored as llmeval.rouge gives it" \
  "SELECT count(*) FILTER (WHERE s.value = (llmeval.rouge(r.output, r.expected, s.metric)).fmeasure) || '/' || count(*)
   FROM llmeval.scores s JOIN llmeval.results r USING (task_id) WHERE s.job_id = $job_rouge" "80/80"

# 3. A wrong key fails at once, without the key in any error; a missing
#    environment variable too; a 404 is not retried.
q "SELECT llmeval.create_provider('bad-key', 'openai', '$mock_url/v1')" >/dev/null
q "SELECT llmeval.set_provider_secret('bad-key', 'sk-wrong-5ecret-value')" >/dev/null
q "SELECT llmeval.create_model('bad-key/gpt-good')" >/dev/null
q "SELECT llmeval.create_provider('no-key', 'anthropic', '$mock_url', 'LLMEVAL_UNSET_API_KEY')" >/dev/null
q "SELECT llmeval.create_model('no-key/claude-good')" >/dev/null
job4=$(submit few "ARRAY['bad-key/gpt-good', 'no-key/claude-good', 'mock-openai/gpt-notfound']")
check "the job fails" "SELECT llmeval.wait_job($job4, '60 s')" failed
check "each task failed after one attempt" \
  "SELECT count(*) FILTER (WHERE status = 'failed' AND attempts = 1) FROM llmeval.results WHERE job_id = $job4" 60
check "401, missing key and 404 are reported" \
  "SELECT string_agg(kind, ', ' ORDER BY kind) FROM (SELECT DISTINCT regexp_replace(error, '^(HTTP [0-9]+|no API key).*', '\\1') AS kind FROM llmeval.results WHERE job_id = $job4) k" \
  "HTTP 401, HTTP 404, no API key"
check "the key is in no error, event or log line" \
  "SELECT count(*) FROM llmeval.results WHERE error LIKE '%5ecret%' OR input::text LIKE '%5ecret%'" 0
if grep -q 5ecret "$LLMEVAL_CLUSTER_LOG"; then echo "not ok - the key is in the server log"; status=1; else echo "ok - the key is not in the server log"; fi

# 4. Non-administrators cannot read keys.
q "CREATE ROLE engine_tenant IN ROLE llmeval_user" >/dev/null
for table in provider_secrets response_cache; do
  if psql -X -At -d postgres -c "SET ROLE engine_tenant" -c "SELECT * FROM llmeval.$table" >/dev/null 2>&1; then
    echo "not ok - a tenant can read llmeval.$table"; status=1
  else
    echo "ok - a tenant cannot read llmeval.$table"
  fi
done
check "a tenant cannot call the workers' functions" \
  "SELECT has_function_privilege('engine_tenant', 'llmeval._claim_tasks(int, int)', 'EXECUTE')" f

# A provider that keeps failing: after llmeval.max_attempts the task fails
# with its last error, and every retry is logged.
q "ALTER SYSTEM SET llmeval.max_attempts = 3" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
sleep 1
q "SELECT llmeval.create_model('mock-openai/gpt-status-503')" >/dev/null
job9=$(submit few "ARRAY['mock-openai/gpt-status-503']" '{"cache": false}')
check "a task that keeps failing fails" "SELECT llmeval.wait_job($job9, '60 s')" failed
check "after max_attempts, with its last error" \
  "SELECT count(*) FROM llmeval.results WHERE job_id = $job9 AND status = 'failed' AND attempts = 3 AND error LIKE 'HTTP 503%'" 20
check "each retry is logged" "SELECT count(*) FROM llmeval.job_events WHERE job_id = $job9 AND kind = 'task_retry'" 40
q "ALTER SYSTEM SET llmeval.max_attempts = 10" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null

# 5. Cancellation stops the calls.
mock_reset
mock_config '{"latency_ms": 1500}'
job5=$(submit facts "$models" '{"cache": false}')
sleep 1
q "SELECT llmeval.cancel_job($job5)" >/dev/null
check "wait_job returns cancelled at once" "SELECT llmeval.wait_job($job5, '5 s')" cancelled
sleep 2
before=$(mock_stat "s['requests_total']")
sleep 2
check "no call starts after the cancel" "SELECT $(mock_stat "s['requests_total']") - $before" 0
check "nothing is written for cancelled tasks" \
  "SELECT count(*) FROM llmeval.results WHERE job_id = $job5 AND status = 'cancelled' AND (output IS NOT NULL OR error IS NOT NULL)" 0
check "no task is left running" "SELECT count(*) FROM llmeval.tasks WHERE status = 'running'" 0

# 6. Rate limits are shared by the workers: 120 requests a minute (a burst
#    of 20, then 2 a second) makes 40 calls take about 10 seconds.
mock_reset
q "SELECT llmeval.create_model('mock-openai/gpt-limited', 0, 0, '{\"requests_per_minute\": 120, \"api_model\": \"gpt-good\"}')" >/dev/null
job8=$(submit few "ARRAY['mock-openai/gpt-limited']" '{"cache": false}')
q "SELECT llmeval.submit_job('short', 'few', ARRAY['mock-openai/gpt-limited'], ARRAY['bleu'], '{\"cache\": false}')" >/dev/null
check "rate-limited jobs complete" "SELECT llmeval.wait_job($job8, '60 s') || ' ' || llmeval.wait_job($job8 + 1, '60 s')" "completed completed"
check_true "40 calls at 120 a minute took at least 8 seconds" \
  "(SELECT extract(epoch FROM max(finished_at) - min(created_at)) FROM llmeval.jobs WHERE id IN ($job8, $job8 + 1)) >= 8"
check "the provider saw each call once" "SELECT $(mock_stat "s['requests_total']")" 40

# A worker stopped by pg_terminate_backend gives back its claims and comes back.
q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'pg_llmeval worker' LIMIT 1" >/dev/null
sleep 3
check "a terminated worker is started again" \
  "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_llmeval worker'" 2

# 7. SIGKILL of a worker in the middle of a job (the postmaster restarts
#    every backend), then an immediate restart: nothing lost, nothing twice.
mock_reset
mock_config '{"latency_ms": 300}'
job6=$(submit facts "$models" '{"cache": false}')
sleep 1.5
kill_worker
check "the job survives a killed worker" "SELECT llmeval.wait_job($job6, '120 s')" completed
check "every task once: responses and scores" \
  "SELECT (SELECT count(*) FROM llmeval.results WHERE job_id = $job6 AND status = 'completed' AND output IS NOT NULL) || ' ' ||
          (SELECT count(*) FROM llmeval.scores WHERE job_id = $job6)" "300 600"

job7=$(submit facts "$models" '{"cache": false}')
sleep 1.5
restart_immediate
check "the job survives an immediate restart" "SELECT llmeval.wait_job($job7, '120 s')" completed
check "every task once after the restart" \
  "SELECT (SELECT count(*) FROM llmeval.results WHERE job_id = $job7 AND status = 'completed' AND output IS NOT NULL) || ' ' ||
          (SELECT count(*) FROM llmeval.scores WHERE job_id = $job7)" "300 600"
check "job counters match the tasks" \
  "SELECT count(*) FROM llmeval.jobs j WHERE j.completed <> (SELECT count(*) FROM llmeval.tasks t WHERE t.job_id = j.id AND t.status = 'completed')" 0

q "DROP ROLE engine_tenant" >/dev/null
exit $status
