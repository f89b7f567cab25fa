#!/usr/bin/env bash
# The job engine's throughput: 10,000 tasks (one model, exact_match scored,
# cache off) against the mock provider at 0 ms and at 200 ms latency, with
# the ideal workers × max_inflight / latency for comparison, the workers'
# CPU time per task and their memory before and after. Needs the throwaway
# cluster (test/harness/with_cluster.sh); the mock server runs on the same
# two cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/harness/mock_llm.sh
TASKS=${TASKS:-10000}
INFLIGHT=${INFLIGHT:-64}

q() { psql -X -At -v ON_ERROR_STOP=1 -d postgres -c "$1"; }
psql -X -q -v ON_ERROR_STOP=1 -d postgres <<SQL
ALTER SYSTEM SET llmeval.max_inflight = $INFLIGHT;
SELECT pg_reload_conf();
DROP EXTENSION IF EXISTS pg_llmeval CASCADE;
CREATE EXTENSION pg_llmeval;
SELECT llmeval.create_provider('bench', 'openai', '$mock_url/v1', 'LLMEVAL_MOCK_API_KEY');
SELECT llmeval.create_model('bench/gpt-good', 0.15, 0.60);
SELECT llmeval.create_prompt('p', 'Answer in one word: {{question}}');
SELECT llmeval.import_dataset('d', (SELECT jsonb_agg(jsonb_build_object(
  'input', jsonb_build_object('question', 'What is the capital of France? #' || g), 'expected', 'Paris'))
  FROM generate_series(1, $TASKS) g));
SQL
sleep 1
workers=$(q "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_llmeval worker'")
pids=$(q "SELECT string_agg(pid::text, ' ') FROM pg_stat_activity WHERE backend_type = 'pg_llmeval worker'")
cpu_ticks() { local t=0; for p in $pids; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo $t; }
# private memory (RssAnon): VmRSS also counts the shared buffers a worker has touched
rss_kb() { local t=0; for p in $pids; do t=$((t + $(awk '/RssAnon/ {print $2}' "/proc/$p/status"))); done; echo $t; }
hz=$(getconf CLK_TCK)

printf '\nEngine: %s tasks, %s workers x max_inflight %s\n\n' "$TASKS" "$workers" "$INFLIGHT"
printf '%-10s %9s %10s %12s %9s %14s %16s\n' latency seconds tasks/s "ideal/s" "of ideal" "worker CPU/task" "worker private MB"
printf '%-10s %9s %10s %12s %9s %14s %16s\n' ---------- --------- ---------- ------------ --------- -------------- ----------------
for latency in ${LATENCIES:-0 200}; do
  mock_config "{\"latency_ms\": $latency}"
  cpu0=$(cpu_ticks); rss0=$(rss_kb)
  job=$(q "SELECT llmeval.submit_job('p', 'd', ARRAY['bench/gpt-good'], ARRAY['exact_match'], '{\"cache\": false}')")
  [ "$(q "SELECT llmeval.wait_job($job, '30 minutes')")" = completed ] || { echo "job $job did not complete"; exit 1; }
  secs=$(q "SELECT extract(epoch FROM finished_at - created_at) FROM llmeval.jobs WHERE id = $job")
  cpu1=$(cpu_ticks); rss1=$(rss_kb)
  rate=$(echo "$TASKS / $secs" | bc -l)
  if [ "$latency" = 0 ]; then ideal=-; share=-; else
    ideal=$(echo "$workers * $INFLIGHT * 1000 / $latency" | bc -l)
    share=$(printf '%.0f%%' "$(echo "100 * $rate / $ideal" | bc -l)")
    ideal=$(printf '%.0f' "$ideal")
  fi
  cpu_ms=$(echo "($cpu1 - $cpu0) * 1000 / $hz / $TASKS" | bc -l)
  printf '%-10s %9.2f %10.0f %12s %9s %11.3f ms %8.1f -> %.1f\n' "${latency} ms" "$secs" "$rate" "$ideal" "$share" \
    "$cpu_ms" "$(echo "$rss0 / 1024" | bc -l)" "$(echo "$rss1 / 1024" | bc -l)"
done
echo
echo "tasks/s: from submit_job to the last write-back (jobs.created_at to finished_at)."
