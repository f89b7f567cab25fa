#!/usr/bin/env bash
# Jobs with "execution": "batch" through the mock's OpenAI Batch API and
# Anthropic Message Batches (test/mock_llm, which refuses what the real APIs
# refuse and answers each line as the synchronous endpoint would):
#   - what submit_job refuses (Gemini, a budget, a bad value);
#   - a batch job beside the same job run synchronously: the same answers,
#     every task sent once (the mock counts resubmitted custom_ids), judge
#     calls batched after the generations they judge, the cost at the
#     model's batch discount, the provider's states in job_progress;
#   - Anthropic;
#   - per-line errors and expired lines retried in a later batch;
#   - cancel_job cancelling the remote batch;
#   - a worker SIGKILLed and the server restarted while batches run: every
#     task once, nothing resubmitted;
#   - a submission cut short between the provider's answer and its record:
#     the batch is found at the provider (metadata) and adopted; one that
#     never reached the provider is given back without an attempt counted.
# Needs the throwaway cluster (test/harness/with_cluster.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/harness/mock_llm.sh
. test/harness/tap.sh

as() { psql -X -At -v ON_ERROR_STOP=1 -U "$1" -d postgres -c "$2"; }
psql -X -q -v ON_ERROR_STOP=1 -d postgres >/dev/null <<SQL
ALTER SYSTEM RESET llmeval.max_attempts;
ALTER SYSTEM SET llmeval.batch_poll_interval_ms = 200;
SELECT pg_reload_conf();
DROP EXTENSION IF EXISTS pg_llmeval CASCADE;
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bj_alice') THEN CREATE ROLE bj_alice LOGIN; END IF;
END \$\$;
CREATE EXTENSION pg_llmeval;
GRANT llmeval_user TO bj_alice;
SELECT llmeval.create_provider('mock-openai', 'openai', '$mock_url/v1', 'LLMEVAL_MOCK_API_KEY');
SELECT llmeval.create_provider('mock-anthropic', 'anthropic', '$mock_url', 'LLMEVAL_MOCK_API_KEY');
SELECT llmeval.create_provider('mock-gemini', 'gemini', '$mock_url', 'LLMEVAL_MOCK_API_KEY');
SELECT llmeval.create_model('mock-openai/gpt-good', 150, 600);
SELECT llmeval.create_model('mock-openai/gpt-judge', 100, 200);
SELECT llmeval.create_model('mock-anthropic/claude-good', 300, 1500);
SELECT llmeval.create_model('mock-gemini/gemini-good', 100, 400);
SQL
q "SELECT pg_sleep(0.2)" >/dev/null  # (the reload reaches the workers)
as bj_alice "SELECT llmeval.create_prompt('p', 'Answer in one word: {{question}}')" >/dev/null
doc=$(q "SELECT jsonb_agg(jsonb_build_object('input', jsonb_build_object('question', q), 'expected', a))
          FROM jsonb_each_text(pg_read_file('$PWD/test/mock_llm/answers.json')::jsonb) AS x(q, a)")
as bj_alice "SELECT llmeval.import_dataset('d', \$json\$$doc\$json\$)" >/dev/null
cases=$(q "SELECT count(*) FROM llmeval.test_cases")
submit() {  # MODELS OPTIONS [DATASET]: a job's id
  as bj_alice "SELECT llmeval.submit_job('p', '${3:-d}', ARRAY[$1], ARRAY['exact_match', 'relevance'], '$2')"
}
refused() {  # MODELS OPTIONS: the SQLSTATE of the refusal
  psql -X -At -U bj_alice -d postgres -v VERBOSITY=verbose \
    -c "SELECT llmeval.submit_job('p', 'd', ARRAY[$1], ARRAY['exact_match'], '$2')" 2>&1 |
    sed -n 's/^ERROR: *\([0-9A-Z]\{5\}\):.*/\1/p'
}
batch_opts='{"execution": "batch", "cache": false, "judge_model": "mock-openai/gpt-judge"}'
sync_opts='{"cache": false, "judge_model": "mock-openai/gpt-judge"}'

# 1. What submit_job refuses.
expect "a Gemini model has no batch here (0A000)" \
  "$(refused "'mock-gemini/gemini-good'" '{"execution": "batch"}')" 0A000
expect "a budget cannot be kept by a batch (0A000)" \
  "$(refused "'mock-openai/gpt-good'" '{"execution": "batch", "max_cost_usd": 1}')" 0A000
expect "execution is sync or batch (22023)" "$(refused "'mock-openai/gpt-good'" '{"execution": "later"}')" 22023

# 2. The same job, synchronous and batched.
mock_reset
sync_job=$(submit "'mock-openai/gpt-good'" "$sync_opts")
check "the synchronous job completes" "SELECT llmeval.wait_job($sync_job, '120 s')" completed
mock_config '{"batch_processing_s": 1.0}'
batch_job=$(submit "'mock-openai/gpt-good'" "$batch_opts")
seen=""
for _ in $(seq 100); do
  state=$(q "SELECT coalesce(batches::text, '') FROM llmeval.job_progress($batch_job)")
  case "$state" in *in_progress*|*validating*|*finalizing*) seen=$state; break ;; esac
  sleep 0.1
done
expect "job_progress shows the provider's state while the batch runs" "$([ -n "$seen" ] && echo yes)" yes
echo "# job_progress.batches while running: $seen"
check "the batch job completes" "SELECT llmeval.wait_job($batch_job, '120 s')" completed
check "its answers are the synchronous job's" \
  "SELECT count(*) FROM llmeval.results b JOIN llmeval.results s ON s.test_case_id = b.test_case_id
   WHERE b.job_id = $batch_job AND s.job_id = $sync_job AND b.output = s.output" "$cases"
check "two provider batches: the generations, then their judge calls" \
  "SELECT string_agg(task_kind || ':' || lines || ':' || status, ' ' ORDER BY batch_id) FROM llmeval.job_batches($batch_job)" \
  "generate:$cases:stored judge:$cases:stored"
expect "every line submitted once (the mock saw no custom_id twice)" \
  "$(mock_stat "s['batches']['lines_submitted'], s['batches']['lines_resubmitted']")" "$((2 * cases)) 0"
check "every response of the batch job came from a batch" \
  "SELECT count(*) FILTER (WHERE r.execution = 'batch') || '/' || count(*) FROM llmeval.responses r
   JOIN llmeval.tasks t ON t.id = r.task_id WHERE t.job_id = $batch_job" "$((2 * cases))/$((2 * cases))"
check_true "the batch job cost half the synchronous one (batch_discount 0.5)" \
  "(SELECT sum(r.cost) FROM llmeval.responses r JOIN llmeval.tasks t ON t.id = r.task_id WHERE t.job_id = $batch_job)
   = 0.5 * (SELECT sum(r.cost) FROM llmeval.responses r JOIN llmeval.tasks t ON t.id = r.task_id WHERE t.job_id = $sync_job)"
echo "# cost: sync \$$(q "SELECT round(spent, 6) FROM llmeval.jobs WHERE id = $sync_job"), batch \$$(q "SELECT round(spent, 6) FROM llmeval.jobs WHERE id = $batch_job")"
check "job_costs splits the cost: all of the batch job's through batches, none of the other's" \
  "SELECT bool_and(CASE job_id WHEN $batch_job THEN batch_cost = cost ELSE batch_cost = 0 END)
   FROM llmeval.job_costs WHERE job_id IN ($sync_job, $batch_job)" t
check "the judge scores are the synchronous job's" \
  "SELECT count(*) FROM llmeval.task_scores b JOIN llmeval.tasks bt ON bt.id = b.task_id
   JOIN llmeval.tasks st ON st.job_id = $sync_job AND st.test_case_id = bt.test_case_id AND st.kind = 'generate'
   JOIN llmeval.task_scores s ON s.task_id = st.id AND s.metric = b.metric
   WHERE bt.job_id = $batch_job AND b.metric = 'relevance' AND b.value = s.value" "$cases"

est() {  # OPTIONS: the estimate's expected total
  as bj_alice "SELECT cost FROM llmeval.estimate_job_cost('p', 'd', ARRAY['mock-openai/gpt-good'], ARRAY['exact_match', 'relevance'], '$1') WHERE model = 'total'"
}
check_true "estimate_job_cost prices a batch job at the batch price: half the synchronous estimate" \
  "abs(2 * $(est "$batch_opts") - $(est "$sync_opts")) <= 0.000002"
expect "and says so" \
  "$(as bj_alice "SELECT count(*) > 0 FROM llmeval.estimate_job_cost('p', 'd', ARRAY['mock-openai/gpt-good'], ARRAY['exact_match'],
   '{\"execution\": \"batch\"}') WHERE note LIKE '%at the batch price (50.0% off)%'")" t

# 2b. Embeddings: OpenAI's /v1/embeddings through a batch too.
q "SELECT llmeval.create_model('mock-openai/text-embed', 20, 0)" >/dev/null
embed_job=$(as bj_alice "SELECT llmeval.submit_job('p', 'd', ARRAY['mock-openai/gpt-good'], ARRAY['semantic_similarity'],
  '{\"execution\": \"batch\", \"cache\": false, \"embedding_model\": \"mock-openai/text-embed\"}')")
check "a batch job with an embedding metric completes" "SELECT llmeval.wait_job($embed_job, '120 s')" completed
check "its embedding calls went through a batch of /v1/embeddings" \
  "SELECT string_agg(task_kind || ':' || status, ' ' ORDER BY batch_id) FROM llmeval.job_batches($embed_job)" \
  "generate:stored embed:stored"
check "and every output was scored" \
  "SELECT count(*) FROM llmeval.scores WHERE job_id = $embed_job AND metric = 'semantic_similarity' AND value IS NOT NULL" "$cases"

# 3. Anthropic, while a synchronous job holds every call slot (one per
#    worker, 300 ms a call): the batch's exchanges wait for a free slot and
#    go first.
mock_reset
q "ALTER SYSTEM SET llmeval.max_inflight = 1" >/dev/null; q "SELECT pg_reload_conf()" >/dev/null
mock_config '{"latency_ms": 300}'
busy_job=$(submit "'mock-openai/gpt-good'" "$sync_opts")
anthropic_job=$(submit "'mock-anthropic/claude-good'" "$batch_opts")
# (an exchange that found the slot taken and was dropped left the batch
# 'submitting' for its lease, 5 minutes, then 3 more before it was given up:
# the bound is below that. Once in a full suite this took over 120 s, not
# reproduced since in five runs: the time it took is printed.)
started=$(date +%s)
check "a batch job of an Anthropic model completes beside a synchronous job holding the slots" \
  "SELECT llmeval.wait_job($anthropic_job, '240 s')" completed
echo "# it took $(( $(date +%s) - started )) s after the synchronous job's submission"
# (what the batches were doing, should it not have)
q "SELECT '# batch ' || id || ' ' || status || ' ' || coalesce(remote_status, '-') || ' failures ' || failures
          || ' leased ' || coalesce((lease_until > now())::text, '-') || ' pid ' || coalesce(worker_pid::text, '-')
          || ' next poll in ' || round(extract(epoch FROM next_poll_at - now())::numeric, 1) || ' s '
          || coalesce(error, '')
   FROM llmeval.provider_batches WHERE job_id = $anthropic_job AND status <> 'stored'"
q "SELECT '# worker ' || coalesce(activity, '') FROM llmeval.worker_status" 2>/dev/null || true
q "ALTER SYSTEM RESET llmeval.max_inflight" >/dev/null; q "SELECT pg_reload_conf()" >/dev/null
check "the synchronous job completes too" "SELECT llmeval.wait_job($busy_job, '120 s')" completed
mock_config '{"latency_ms": 0}' 
check "its generations went through a message batch" \
  "SELECT count(*) FROM llmeval.job_batches($anthropic_job) WHERE remote_id LIKE 'msgbatch_%' AND status = 'stored'" 1
expect "every line once" "$(mock_stat "s['batches']['lines_resubmitted']")" 0

# 4. Per-line errors and expired lines go to a later batch.
mock_reset
mock_config '{"batch_window_s": 2.0}'
faulty=$(q "SELECT jsonb_agg(x) FROM (
  SELECT jsonb_build_object('input', jsonb_build_object('question', 'plain question ' || g), 'expected', 'x') x
  FROM generate_series(1, 6) g
  UNION ALL SELECT '{\"input\": {\"question\": \"flaky one [[batch=error-once]]\"}, \"expected\": \"x\"}'
  UNION ALL SELECT '{\"input\": {\"question\": \"slow one [[batch=expire-once]]\"}, \"expected\": \"x\"}') s")
as bj_alice "SELECT llmeval.import_dataset('faulty', \$json\$$faulty\$json\$)" >/dev/null
faulty_job=$(as bj_alice "SELECT llmeval.submit_job('p', 'faulty', ARRAY['mock-openai/gpt-good'], ARRAY['exact_match'], '{\"execution\": \"batch\", \"cache\": false}')")
check "a batch with a failed and an expired line: the job still completes" \
  "SELECT llmeval.wait_job($faulty_job, '120 s')" completed
check "the two lines were sent again, in a second batch, and answered there" \
  "SELECT string_agg(lines::text, ',' ORDER BY batch_id) FROM llmeval.job_batches($faulty_job)" "8,2"
check "the first batch expired at the provider" \
  "SELECT remote_status FROM llmeval.job_batches($faulty_job) ORDER BY batch_id LIMIT 1" expired
check "those two tasks took two attempts, the others one" \
  "SELECT string_agg(attempts::text || ':' || count, ',' ORDER BY attempts) FROM (
     SELECT attempts, count(*) FROM llmeval.tasks WHERE job_id = $faulty_job GROUP BY 1) a" "1:6,2:2"
mock_reset

# 5a. A tenant's cancel_job held open, then rolled back, while the job's
#     batch is polled and read: no worker waits on its rows (a worker that
#     did would fail after lock_timeout and give back every claim it holds).
mock_config '{"batch_processing_s": 2}'
held_job=$(submit "'mock-openai/gpt-good'" "$batch_opts")
for _ in $(seq 100); do
  [ "$(q "SELECT count(*) FROM llmeval.provider_batches WHERE job_id = $held_job AND status = 'submitted'")" = 1 ] && break
  sleep 0.1
done
log_lines=$(wc -l < "$LLMEVAL_CLUSTER_LOG")
psql -X -q -U bj_alice -d postgres -c BEGIN -c "SELECT llmeval.cancel_job($held_job)" -c "SELECT pg_sleep(5)" \
  -c ROLLBACK >/dev/null 2>&1 &
holder=$!
sleep 4.5
expect "meanwhile no worker waited on the held rows" \
  "$(tail -n +"$log_lines" "$LLMEVAL_CLUSTER_LOG" | grep -c 'pg_llmeval worker: .*lock timeout' || true)" 0
wait "$holder"
check "after the rollback the job completes" "SELECT llmeval.wait_job($held_job, '120 s')" completed
mock_reset

# 5. cancel_job cancels the batch at the provider.
mock_config '{"batch_processing_s": 30}'
doomed=$(submit "'mock-openai/gpt-good'" "$batch_opts")
for _ in $(seq 100); do
  [ "$(q "SELECT count(*) FROM llmeval.provider_batches WHERE job_id = $doomed AND status = 'submitted'")" = 1 ] && break
  sleep 0.1
done
as bj_alice "SELECT llmeval.cancel_job($doomed)" >/dev/null
for _ in $(seq 100); do
  [ "$(q "SELECT status FROM llmeval.provider_batches WHERE job_id = $doomed")" = stored ] && break
  sleep 0.1
done
expect "the remote batch was cancelled" "$(mock_stat "s['batches']['cancelled']")" 1
check "it ended cancelled and nothing of it was stored" \
  "SELECT b.remote_status || ' ' || b.status || ' ' || (SELECT count(*) FROM llmeval.responses r JOIN llmeval.tasks t ON t.id = r.task_id WHERE t.job_id = $doomed)
   FROM llmeval.provider_batches b WHERE b.job_id = $doomed" "cancelled stored 0"
mock_reset

# 6. A worker SIGKILLed, then the server restarted, while batches run.
mock_config '{"batch_processing_s": 3}'
crash_job=$(submit "'mock-openai/gpt-good', 'mock-anthropic/claude-good'" "$batch_opts")
for _ in $(seq 100); do
  [ "$(q "SELECT count(*) FROM llmeval.provider_batches WHERE job_id = $crash_job AND status = 'submitted'")" = 2 ] && break
  sleep 0.1
done
kill_worker
restart_immediate
check "after a killed worker and an immediate restart the batch job completes" \
  "SELECT llmeval.wait_job($crash_job, '120 s')" completed
check "each task answered once, at the batch price" \
  "SELECT count(*) || ' ' || count(DISTINCT r.task_id) || ' ' || bool_and(r.execution = 'batch')
   FROM llmeval.responses r JOIN llmeval.tasks t ON t.id = r.task_id
   WHERE t.job_id = $crash_job" "$((4 * cases)) $((4 * cases)) true"
expect "nothing was submitted twice" \
  "$(mock_stat "s['batches']['lines_submitted'], s['batches']['lines_resubmitted']")" "$((4 * cases)) 0"
mock_reset

# 7. A submission cut short. (a) The provider has the batch, its record was
# lost: the batch row is made by hand as a dead worker left it, the remote
# batch created with the row's id in its metadata as _begin_batch's worker
# would have; (b) the provider never had it.
# (submitted and paused in one transaction: no worker takes it meanwhile)
held=$(psql -X -At -q -v ON_ERROR_STOP=1 -d postgres -c BEGIN -c "SET ROLE bj_alice" \
  -c "SELECT llmeval.submit_job('p', 'd', ARRAY['mock-openai/gpt-good'], ARRAY['exact_match'],
                                '{\"execution\": \"batch\", \"cache\": false}')" \
  -c "RESET ROLE" -c "UPDATE llmeval.jobs SET status = 'paused' WHERE id = (SELECT max(id) FROM llmeval.jobs)" \
  -c COMMIT)
read -r first_task second_task <<< "$(q "SELECT min(id), max(id) FROM llmeval.tasks WHERE job_id = $held AND test_case_id IN (SELECT min(test_case_id) FROM llmeval.tasks WHERE job_id = $held UNION SELECT max(test_case_id) FROM llmeval.tasks WHERE job_id = $held)" | tr '|' ' ')"
orphan() {  # TASK: a 'submitting' batch holding that task, left by a worker that died ten minutes ago
  q "WITH b AS (INSERT INTO llmeval.provider_batches (tenant, job_id, model_id, task_kind, endpoint, lines, lease_until, worker_pid, created_at)
                SELECT tenant, job_id, model_id, kind, '/v1/chat/completions', 1, now() - interval '1 s', 0, now() - interval '10 minutes'
                FROM llmeval.tasks WHERE id = $1 RETURNING id)
     UPDATE llmeval.tasks t SET status = 'running', attempts = 1, claim_token = gen_random_uuid(),
                                lease_expires_at = 'infinity', batch_id = b.id FROM b WHERE t.id = $1 RETURNING b.id"
}
# (the first line of each: psql also prints the command's status; no pipe
# into head, whose early exit would fail the pipeline under pipefail)
adopted=$(orphan "$first_task"); adopted=${adopted%%$'\n'*}
lost=$(orphan "$second_task"); lost=${lost%%$'\n'*}
body=$(q "SELECT jsonb_build_object('model', 'gpt-good', 'messages', jsonb_build_array(jsonb_build_object('role', 'user',
          'content', llmeval.render_prompt((SELECT template FROM llmeval.prompt_versions LIMIT 1), tc.input))))
          FROM llmeval.tasks t JOIN llmeval.test_cases tc ON tc.id = t.test_case_id WHERE t.id = $first_task")
python3 - "$mock_url" "$LLMEVAL_MOCK_API_KEY" "$adopted" "$first_task" "$body" <<'PY'
import json, sys, urllib.request, uuid
url, key, batch, task, body = sys.argv[1:]
line = json.dumps({"custom_id": f"task-{task}", "method": "POST", "url": "/v1/chat/completions", "body": json.loads(body)})
boundary = uuid.uuid4().hex
data = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n"
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"b.jsonl\"\r\n\r\n{line}\n\r\n"
        f"--{boundary}--\r\n").encode()
def post(path, data, ctype):
    req = urllib.request.Request(url + path, data=data, method="POST",
                                 headers={"Authorization": f"Bearer {key}", "Content-Type": ctype})
    return json.load(urllib.request.urlopen(req, timeout=10))
file_id = post("/v1/files", data, f"multipart/form-data; boundary={boundary}")["id"]
post("/v1/batches", json.dumps({"input_file_id": file_id, "endpoint": "/v1/chat/completions",
                                "completion_window": "24h", "metadata": {"llmeval_batch": batch}}).encode(),
     "application/json")
PY
q "UPDATE llmeval.jobs SET status = 'running' WHERE id = $held" >/dev/null
check "the job with two interrupted submissions completes" "SELECT llmeval.wait_job($held, '120 s')" completed
check "the batch the provider had was found by its metadata and read" \
  "SELECT status || ' ' || (remote_id IS NOT NULL) FROM llmeval.provider_batches WHERE id = $adopted" "stored true"
check "the one it never had was given back, without an attempt counted" \
  "SELECT b.status || ' ' || t.attempts FROM llmeval.provider_batches b JOIN llmeval.tasks t ON t.id = $second_task
   WHERE b.id = $lost" "abandoned 1"
expect "nothing was submitted twice" "$(mock_stat "s['batches']['lines_resubmitted']")" 0

q "ALTER SYSTEM RESET llmeval.batch_poll_interval_ms" >/dev/null; q "SELECT pg_reload_conf()" >/dev/null
exit $status
