#!/usr/bin/env bash
# The extension's life while the workers run: DROP EXTENSION in the middle of
# claims and write-backs, and CREATE EXTENSION again. On an earlier version a
# worker's transaction took a lock on one of the extension's tables and then
# waited for another that DROP EXTENSION had locked, while DROP waited for the
# first: Postgres broke the deadlock by failing the DROP ("deadlock detected").
# Now every worker transaction takes a share lock on the extension first,
# which DROP EXTENSION takes before any table: DROP waits for the worker's
# transaction, and the worker's next one finds the extension gone.
# Needs the throwaway cluster (test/harness/with_cluster.sh): the workers run
# in database postgres.
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/harness/mock_llm.sh
. test/harness/tap.sh

rounds=16
# every call answered after 5 ms: write-backs all the time
mock_config '{"latency_ms": 5}'
setup() {
  psql -X -q -v ON_ERROR_STOP=1 -d postgres <<SQL
CREATE EXTENSION pg_llmeval;
SELECT llmeval.create_provider('mock-openai', 'openai', '$mock_url/v1', 'LLMEVAL_MOCK_API_KEY');
SELECT llmeval.create_model('mock-openai/gpt-good', 0.15, 0.60);
SELECT llmeval.create_model('mock-openai/gpt-judge', 1, 2);
SELECT llmeval.create_prompt('p', 'Answer in one word: {{question}}');
SELECT llmeval.import_dataset('d', (
  SELECT jsonb_agg(jsonb_build_object('input', jsonb_build_object('question', 'What is ' || k || '?'),
                                      'expected', k::text))
  FROM generate_series(1, 200) k));
SQL
}
q "DROP EXTENSION IF EXISTS pg_llmeval CASCADE" >/dev/null
q "ALTER SYSTEM RESET llmeval.max_attempts" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null

deadlocks() { q "SELECT pg_stat_clear_snapshot(); SELECT deadlocks FROM pg_stat_database WHERE datname = 'postgres'" | tail -1; }
deadlocks_before=$(deadlocks)
failures=0
errors=$(mktemp)
for i in $(seq "$rounds"); do
  setup >/dev/null
  # generations, and judge calls queued by their write-backs
  for _ in 1 2; do
    q "SELECT llmeval.submit_job('p', 'd', ARRAY['mock-openai/gpt-good'], ARRAY['bleu', 'relevance'],
         '{\"cache\": false, \"judge_model\": \"mock-openai/gpt-judge\"}')" >/dev/null
  done
  # until the workers are in the middle of it: some results stored, not all
  for _ in $(seq 100); do
    [ "$(q "SELECT count(*) > 20 FROM llmeval.tasks WHERE status = 'completed'")" = t ] && break
    sleep 0.05
  done
  sleep "0.$((i % 4))"
  if ! psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "DROP EXTENSION pg_llmeval CASCADE" 2>>"$errors"; then
    failures=$((failures + 1))
  fi
  # (after a failed DROP, drop it for the next round, however many tries)
  for _ in $(seq 10); do
    q "DROP EXTENSION IF EXISTS pg_llmeval CASCADE" >/dev/null 2>&1 && break
  done
done
expect "DROP EXTENSION in the middle of claims and write-backs succeeds ($rounds times)" "$failures" 0
# (a deadlock is broken by failing one side, the DROP or a worker's
# transaction: neither may happen; the statistics are sent within a second)
sleep 2
expect "and no deadlock was detected, in DROP or in the workers" "$(($(deadlocks) - deadlocks_before))" 0
[ -s "$errors" ] && sed 's/^/# /' "$errors"
rm -f "$errors"

# and the workers serve the extension created again
setup >/dev/null
job=$(q "SELECT llmeval.submit_job('p', 'd', ARRAY['mock-openai/gpt-good'], ARRAY['bleu'], '{\"cache\": false}')")
check "after it, a job of the extension created again completes" "SELECT llmeval.wait_job($job, '60 s')" completed
check "with each of its 200 tasks called once" \
  "SELECT count(*) FILTER (WHERE attempts = 1) FROM llmeval.tasks WHERE job_id = $job" 200
q "DROP EXTENSION pg_llmeval CASCADE" >/dev/null
mock_reset
exit $status
