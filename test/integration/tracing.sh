#!/usr/bin/env bash
# LangSmith tracing by the workers, against the local mock playing
# LangSmith's REST API: off by default; once llmeval.langsmith_endpoint is
# set, every provider call a job makes arrives as a run (batched), with the
# job's correlation id and no secret; a LangSmith outage delays no task.
# Needs the throwaway cluster (test/harness/with_cluster.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/harness/mock_llm.sh

. test/harness/tap.sh
runs() { mock_admin GET /_admin/langsmith | python3 -c "import json, sys; s = json.load(sys.stdin); print($1)"; }

psql -X -q -v ON_ERROR_STOP=1 -d postgres <<SQL
ALTER SYSTEM RESET llmeval.langsmith_endpoint;
SELECT pg_reload_conf();
DROP EXTENSION IF EXISTS pg_llmeval CASCADE;
CREATE EXTENSION pg_llmeval;
SELECT llmeval.create_provider('mock-openai', 'openai', '$mock_url/v1', 'LLMEVAL_MOCK_API_KEY');
SELECT llmeval.create_model('mock-openai/gpt-trace', 1, 2);
SELECT llmeval.create_prompt('trace', 'Echo: {{text}}');
SELECT llmeval.import_dataset('trace', (SELECT jsonb_agg(jsonb_build_object('input', jsonb_build_object('text', 'line ' || i)))
                                        FROM generate_series(1, 30) i));
SQL

job=$(q "SELECT llmeval.submit_job('trace', 'trace', ARRAY['mock-openai/gpt-trace'], ARRAY['bleu'])")
expect "tracing off: the job completes" "$(q "SELECT llmeval.wait_job($job, '60 s')")" completed
sleep 1.5
expect "tracing off by default: nothing sent" "$(runs "len(s['runs'])")" 0

q "ALTER SYSTEM SET llmeval.langsmith_endpoint = '$mock_url'" >/dev/null
q "ALTER SYSTEM SET llmeval.langsmith_api_key_env = 'LLMEVAL_MOCK_API_KEY'" >/dev/null
q "ALTER SYSTEM SET llmeval.langsmith_project = 'ci-evals'" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
sleep 1
job=$(q "SELECT llmeval.submit_job('trace', 'trace', ARRAY['mock-openai/gpt-trace'], ARRAY['bleu'], '{\"cache\": false}')")
expect "tracing on: the job completes" "$(q "SELECT llmeval.wait_job($job, '60 s')")" completed
corr=$(q "SELECT correlation_id FROM llmeval.jobs WHERE id = $job")
for _ in $(seq 50); do
  [ "$(runs "sum(1 for r in s['runs'] if r.get('extra', {}).get('metadata', {}).get('job_id') == $job)")" = 30 ] && break
  sleep 0.2
done
expect "one run per call, with the job's correlation id" \
  "$(runs "sum(1 for r in s['runs'] if r['extra']['metadata'].get('correlation_id') == '$corr')")" 30
expect "sent in batches, not one request per run" "$(runs "s['batches'] < 30")" True
expect "runs are llm runs in the project, with prompt and output" \
  "$(runs "all(r['run_type'] == 'llm' and r['session_name'] == 'ci-evals' and r['inputs']['prompt'].startswith('Echo: line') and r['outputs']['output'] for r in s['runs'])")" True
expect "each run names its task, model and attempt" \
  "$(runs "sorted({r['extra']['metadata']['model'] for r in s['runs']}) == ['mock-openai/gpt-trace'] and len({r['extra']['metadata']['task_id'] for r in s['runs']}) == 30")" True
key=${LLMEVAL_MOCK_API_KEY}
expect "no secret in any run" "$(mock_admin GET /_admin/langsmith | grep -c -- "$key" || true)" 0

# A LangSmith outage: the runs are lost (logged), the job is not delayed.
q "ALTER SYSTEM SET llmeval.langsmith_endpoint = 'http://127.0.0.1:9'" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
sleep 1
job=$(q "SELECT llmeval.submit_job('trace', 'trace', ARRAY['mock-openai/gpt-trace'], ARRAY['bleu'], '{\"cache\": false}')")
expect "with LangSmith unreachable the job still completes" "$(q "SELECT llmeval.wait_job($job, '60 s')")" completed
for _ in $(seq 50); do grep -q "LangSmith export failed" "$LLMEVAL_CLUSTER_LOG" && break; sleep 0.2; done
# once per worker at most (two workers), not once per batch
logged=$(grep -c "LangSmith export failed (1 batches so far, 0 runs dropped while it lagged): connection failed" "$LLMEVAL_CLUSTER_LOG" || true)
expect "the failed export is logged, without flooding" "$([ "$logged" -ge 1 ] && [ "$logged" -le 2 ] && echo yes)" yes

q "ALTER SYSTEM RESET llmeval.langsmith_endpoint" >/dev/null
q "ALTER SYSTEM RESET llmeval.langsmith_api_key_env" >/dev/null
q "ALTER SYSTEM RESET llmeval.langsmith_project" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
exit $status
