#!/usr/bin/env bash
# Engine liveness: nothing one tenant, one task or one fault does holds the
# workers. Each check is a fault that stalled them on an earlier version:
#   - a tenant's open transaction holding its own job's row (retry_failed,
#     cancel_job) that every worker's claim and write-back waited on;
#   - a task whose request cannot be built, heading every claim;
#   - a write-back that fails for one task (a trigger), or at commit (a
#     deferred constraint trigger), dropping the whole batch's responses;
#   - judge jobs with cancels during write-back deadlocking the workers;
#   - a SIGKILLed worker whose tasks waited for the whole lease (300 s);
#   - a cancelled worker (pg_cancel_backend) that kept its claims;
#   - tasks waiting for their rate-limit turn longer than their lease,
#     reclaimed and called twice;
#   - job options that are accepted but never end (a property test);
# and then every job's counters must still be its tasks' counts.
# Needs the throwaway cluster (test/harness/with_cluster.sh): the workers run
# in database postgres.
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/harness/mock_llm.sh
. test/harness/tap.sh

as() { psql -X -At -v ON_ERROR_STOP=1 -U "$1" -d postgres -c "$2"; }

psql -X -q -v ON_ERROR_STOP=1 -d postgres <<SQL
ALTER SYSTEM RESET llmeval.lease_seconds;
ALTER SYSTEM RESET llmeval.max_attempts;
ALTER SYSTEM SET llmeval.request_timeout_ms = 20000;
SELECT pg_reload_conf();
DROP EXTENSION IF EXISTS pg_llmeval CASCADE;
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'lv_alice') THEN CREATE ROLE lv_alice LOGIN; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'lv_mallory') THEN CREATE ROLE lv_mallory LOGIN; END IF;
END \$\$;
CREATE EXTENSION pg_llmeval;
GRANT llmeval_user TO lv_alice, lv_mallory;
SELECT llmeval.create_provider('mock-openai', 'openai', '$mock_url/v1', 'LLMEVAL_MOCK_API_KEY');
SELECT llmeval.create_model('mock-openai/gpt-good', 0.15, 0.60);
SELECT llmeval.create_model('mock-openai/gpt-judge', 1, 2);
SELECT llmeval.create_model('mock-openai/gpt-limited', 0, 0, '{"requests_per_minute": 60, "api_model": "gpt-good"}');
SQL
check "the lease is the default 300 s" "SHOW llmeval.lease_seconds" 5min
check "a task is called at most the default 5 times" "SHOW llmeval.max_attempts" 5

# datasets built from the mock's questions, readable by the tenants
q "CREATE TABLE IF NOT EXISTS public.lv_data (name text PRIMARY KEY, doc jsonb)" >/dev/null
q "TRUNCATE public.lv_data" >/dev/null
q "GRANT SELECT ON public.lv_data TO PUBLIC" >/dev/null
q "INSERT INTO public.lv_data
   SELECT n.name, (SELECT jsonb_agg(c) FROM (
            SELECT jsonb_build_object('input', jsonb_build_object('question', q || ' (' || k || ')'),
                                      'expected', a, 'context', a) AS c
            FROM jsonb_each_text(pg_read_file('$PWD/test/mock_llm/answers.json')::jsonb) AS x(q, a),
                 generate_series(1, 30) k
            ORDER BY k, q LIMIT n.size) s)
   FROM (VALUES ('d1', 10), ('d80', 80), ('big', 600)) AS n(name, size)" >/dev/null
for who in lv_alice lv_mallory; do
  as "$who" "SELECT llmeval.create_prompt('p', 'Answer in one word: {{question}}')" >/dev/null
  for d in d1 d80 big; do
    as "$who" "SELECT llmeval.import_dataset('$d', (SELECT doc FROM public.lv_data WHERE name = '$d'))" >/dev/null
  done
done
model="ARRAY['mock-openai/gpt-good']"
nocache='{"cache": false}'
submit() {  # ROLE DATASET [OPTIONS] [METRICS] -> job id
  as "$1" "SELECT llmeval.submit_job('p', '$2', $model, ${4:-ARRAY['bleu']}, '${3:-$nocache}')"
}
# submit_spoiled SQL: lv_mallory's 10-task job, spoiled by SQL (a superuser's,
# about the job (SELECT max(id) FROM llmeval.jobs)) in the same transaction,
# so that no worker sees it before; prints the job id
submit_spoiled() {
  psql -X -q -v ON_ERROR_STOP=1 -d postgres >/dev/null <<SQL
BEGIN;
SET LOCAL ROLE lv_mallory;
SELECT llmeval.submit_job('p', 'd1', $model, ARRAY['bleu'], '$nocache');
RESET ROLE;
$1;
COMMIT;
SQL
  q "SELECT max(id) FROM llmeval.jobs"
}
ended() { echo "SELECT llmeval.wait_job($1, '${2:-60 s}') IN ('completed', 'failed')"; }

# 1. A tenant's open transaction on its own job holds no worker.
mock_config '{"latency_ms": 200}'
for hold in "llmeval.retry_failed" "llmeval.cancel_job"; do
  held=$(submit lv_mallory d80)
  if [ "$hold" = llmeval.retry_failed ]; then
    # a failed task, so that retry_failed changes (and locks) the job
    q "UPDATE llmeval.tasks SET status = 'failed', claim_token = NULL, lease_expires_at = NULL, worker_pid = NULL WHERE id = (SELECT max(id) FROM llmeval.tasks WHERE job_id = $held)" >/dev/null
  fi
  psql -X -q -U lv_mallory -d postgres -c "BEGIN; SELECT $hold($held); SELECT pg_sleep(60); COMMIT;" >/dev/null 2>&1 &
  holder=$!
  sleep 1
  victim=$(submit lv_alice d1)
  check "another tenant's job completes while $hold holds a job row" "SELECT llmeval.wait_job($victim, '30 s')" completed
  if [ "$hold" = llmeval.retry_failed ]; then
    # its counters wait for the row, its other tasks do not
    check_true "the held job's own tasks are served meanwhile" \
      "SELECT count(*) > 0 FROM llmeval.tasks WHERE job_id = $held AND status = 'completed'"
  fi
  q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'lv_mallory'" >/dev/null
  wait "$holder" 2>/dev/null || true
  check_true "the held job ends once released ($hold)" "$(ended "$held")"
done
check "no task is left running" "SELECT count(*) FROM llmeval.tasks WHERE status = 'running'" 0
mock_config '{"latency_ms": 0}'

# 2. A task whose request cannot be built (a job row from before options
#    were checked) fails alone; the queue moves on.
poison=$(submit_spoiled "UPDATE llmeval.jobs SET options = options || '{\"cache\": \"maybe\"}' WHERE id = (SELECT max(id) FROM llmeval.jobs)")
victim=$(submit lv_alice d1)
check "a job queued behind an unbuildable one completes" "SELECT llmeval.wait_job($victim, '60 s')" completed
# (the wait first, then the count: one statement would count before it waits)
check "the unbuildable tasks' job ends, failed" "SELECT llmeval.wait_job($poison, '60 s')" failed
check "the unbuildable tasks fail alone, with the reason" \
  "SELECT count(*) FROM llmeval.results
   WHERE job_id = $poison AND status = 'failed' AND error LIKE 'cannot build the request%'" 10

# 3. A write-back that fails for one task, or at commit, fails that task
#    alone; the other responses of the batch are kept.
psql -X -q -v ON_ERROR_STOP=1 -d postgres <<'SQL'
CREATE TABLE public.poisoned_jobs (job_id bigint PRIMARY KEY);
CREATE FUNCTION public.poison_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'task_scores' OR to_jsonb(NEW) ->> 'output' IS NOT NULL THEN
    IF EXISTS (SELECT 1 FROM llmeval.tasks t JOIN public.poisoned_jobs p ON p.job_id = t.job_id
               WHERE t.id = NEW.task_id) THEN
      RAISE EXCEPTION 'poisoned row of task %', NEW.task_id;
    END IF;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER poison_now BEFORE INSERT ON llmeval.responses
  FOR EACH ROW EXECUTE FUNCTION public.poison_row();
SQL
poison=$(submit_spoiled "INSERT INTO public.poisoned_jobs SELECT max(id) FROM llmeval.jobs")
victim=$(submit lv_alice d1)
check "the other tenant's job completes beside a failing write-back" "SELECT llmeval.wait_job($victim, '60 s')" completed
check "its 10 responses were kept" \
  "SELECT count(*) FROM llmeval.results WHERE job_id = $victim AND status = 'completed' AND output IS NOT NULL" 10
check "the poisoned tasks end, failed" "SELECT llmeval.wait_job($poison, '60 s')" failed
q "DROP TRIGGER poison_now ON llmeval.responses" >/dev/null
# at commit: a deferred constraint trigger on the scores
psql -X -q -v ON_ERROR_STOP=1 -d postgres <<'SQL'
CREATE CONSTRAINT TRIGGER poison_at_commit AFTER INSERT ON llmeval.task_scores
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.poison_row();
SQL
poison=$(submit_spoiled "INSERT INTO public.poisoned_jobs SELECT max(id) FROM llmeval.jobs")
victim=$(submit lv_alice d1)
check "a job completes beside a write-back failing at commit" "SELECT llmeval.wait_job($victim, '60 s')" completed
check "the job whose write-backs fail at commit ends, failed" "SELECT llmeval.wait_job($poison, '60 s')" failed
check "the tasks failing at commit end, failed with the reason" \
  "SELECT count(*) FROM llmeval.results
   WHERE job_id = $poison AND error LIKE 'could not store the result%poisoned row%'" 10
q "DROP TRIGGER poison_at_commit ON llmeval.task_scores" >/dev/null
check "the workers are both alive" "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_llmeval worker'" 2

# 4. Judge jobs with cancels during write-back: one lock order, no deadlock.
mock_reset
before_deadlocks=$(grep -c "deadlock detected" "$LLMEVAL_CLUSTER_LOG" || true)
judged="ARRAY['bleu', 'faithfulness', 'relevance']"
opts='{"cache": false, "judge_model": "mock-openai/gpt-judge", "samples": 2}'
j1=$(submit lv_alice d80 "$opts" "$judged")
j2=$(submit lv_mallory d80 "$opts" "$judged")
j3=$(submit lv_alice d80 "$opts" "$judged")
j4=$(submit lv_mallory d80 "$opts" "$judged")
for _ in 1 2 3 4 5 6; do sleep 0.3; q "SELECT llmeval.cancel_job($j4)" >/dev/null; done
check "three judge jobs complete beside a cancel" \
  "SELECT llmeval.wait_job($j1, '120 s') || llmeval.wait_job($j2, '120 s') || llmeval.wait_job($j3, '120 s')" \
  completedcompletedcompleted
check "no deadlock was detected" "SELECT $(grep -c "deadlock detected" "$LLMEVAL_CLUSTER_LOG" || true) - $before_deadlocks" 0
check "every judged output is scored once per judge metric" \
  "SELECT count(*) FROM llmeval.scores WHERE job_id IN ($j1, $j2, $j3) AND metric IN ('faithfulness', 'relevance')" 480
check "no task is left running" "SELECT count(*) FROM llmeval.tasks WHERE status = 'running'" 0

# 5. A SIGKILLed worker's tasks come back in seconds, not after the lease.
mock_reset
mock_config '{"latency_ms": 100}'
big=$(submit lv_alice big)
for _ in $(seq 100); do
  [ "$(q "SELECT completed > 50 FROM llmeval.jobs WHERE id = $big")" = t ] && break; sleep 0.1
done
kill_worker
check "a job whose worker was killed completes within a minute (the lease is 5 min)" \
  "SELECT llmeval.wait_job($big, '60 s')" completed
check "each of its tasks completed once" \
  "SELECT count(*) || ' ' || count(DISTINCT test_case_id) FROM llmeval.results WHERE job_id = $big AND status = 'completed'" \
  "$(q "SELECT total || ' ' || total FROM llmeval.jobs WHERE id = $big")"

# 6. A worker cancelled by an operator gives its claims back at once.
big=$(submit lv_mallory big)
for _ in $(seq 100); do
  [ "$(q "SELECT completed > 50 FROM llmeval.jobs WHERE id = $big")" = t ] && break; sleep 0.1
done
q "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE backend_type = 'pg_llmeval worker'" >/dev/null
check "a job completes after its workers were cancelled" "SELECT llmeval.wait_job($big, '60 s')" completed
check_true "the cancelled workers gave their claims back (logged)" \
  "$(grep -c "canceling statement due to user request" "$LLMEVAL_CLUSTER_LOG") > 0"
mock_config '{"latency_ms": 0}'

# 7. Leases are renewed while a task waits for its rate-limit turn: 20 calls
#    at 60 a minute take about 20 s, four times a 5 s lease, and each task is
#    called once.
q "ALTER SYSTEM SET llmeval.lease_seconds = 5" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
sleep 1
mock_reset
limited=$(as lv_alice "SELECT llmeval.submit_job('p', 'd1', ARRAY['mock-openai/gpt-limited'], ARRAY['bleu'], '$nocache')")
limited2=$(as lv_mallory "SELECT llmeval.submit_job('p', 'd1', ARRAY['mock-openai/gpt-limited'], ARRAY['bleu'], '$nocache')")
check "rate-limited jobs longer than the lease complete" \
  "SELECT llmeval.wait_job($limited, '90 s') || ' ' || llmeval.wait_job($limited2, '90 s')" "completed completed"
check "each task was called once" "SELECT $(mock_stat "s['requests_total']")" 20
q "ALTER SYSTEM RESET llmeval.lease_seconds" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null

# 8. A prompt version's params reach the request: the echo model cuts its
#    answer to max_tokens words.
q "SELECT llmeval.create_model('mock-openai/echo-gen')" >/dev/null
as lv_alice "SELECT llmeval.create_prompt('short', 'one two three four five six', params => '{\"max_tokens\": 2}')" >/dev/null
short=$(as lv_alice "SELECT llmeval.submit_job('short', 'd1', ARRAY['mock-openai/echo-gen'], ARRAY['bleu'], '$nocache')")
check "a job with a prompt's max_tokens completes" "SELECT llmeval.wait_job($short, '60 s')" completed
check "the prompt's max_tokens cuts the answer to two words" \
  "SELECT min(array_length(regexp_split_to_array(output, '\s+'), 1))
   FROM llmeval.results WHERE job_id = $short" 2

# 8b. A job's max_attempts bounds its tasks' calls (the setting is 5): a
#     provider answering 503 to everything is called twice per task.
mock_reset
mock_config '{"status_override": 503}'
twice=$(submit lv_alice d1 '{"cache": false, "max_attempts": 2}')
check "a job whose every call fails ends failed" "SELECT llmeval.wait_job($twice, '60 s')" failed
check "each task made the job's max_attempts calls" \
  "SELECT count(*) FILTER (WHERE attempts = 2) || ' ' || $(mock_stat "s['requests_total']")
   FROM llmeval.tasks WHERE job_id = $twice" "10 20"
# ...and cannot raise them above the operator's setting (5): a tenant's
# {"max_attempts": 100} against an outage is 5 calls per task, not 100.
mock_reset
mock_config '{"status_override": 503}'
greedy=$(submit lv_alice d1 '{"cache": false, "max_attempts": 100}')
check "a job asking for 100 attempts against an outage ends failed" "SELECT llmeval.wait_job($greedy, '90 s')" failed
check "its tasks made the operator's 5 calls each, not 100" \
  "SELECT count(*) FILTER (WHERE attempts = 5) || ' ' || $(mock_stat "s['requests_total']")
   FROM llmeval.tasks WHERE job_id = $greedy" "10 50"
mock_reset

# 9. The workers exchange UTF-8 with providers without converting: in a
#    database in another encoding the metrics work, jobs are refused.
q "DROP DATABASE IF EXISTS lv_latin1" >/dev/null
q "CREATE DATABASE lv_latin1 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0" >/dev/null
expect "in a LATIN1 database the metrics work and submit_job is refused" \
  "$(psql -X -At -d lv_latin1 -c 'CREATE EXTENSION pg_llmeval' \
       -c "SELECT round(llmeval.bleu('a b c d', 'a b c d'))" \
       -c "SELECT llmeval.create_provider('m', 'openai', 'http://127.0.0.1:9/v1')" \
       -c "SELECT llmeval.create_model('m/x')" \
       -c "SELECT llmeval.create_prompt('p', 'x')" \
       -c "SELECT llmeval.import_dataset('d', '[{\"input\": {}}]')" \
       -c "SELECT llmeval.submit_job('p', 'd', ARRAY['m/x'], ARRAY['bleu'])" 2>&1 |
     grep -o '^100$\|needs a UTF8 database' | tr '\n' ' ')" \
  "100 needs a UTF8 database "
q "DROP DATABASE lv_latin1" >/dev/null

# 10. Property: every job that submit_job accepts ends. Options drawn at random
#    (known keys with values of every JSON type) are either refused with
#    22023 or make a job that completes or fails.
options_file=$(mktemp)
python3 - > "$options_file" <<'PY'
import json, random
random.seed(11)
keys = ["temperature", "max_tokens", "top_p", "stop", "seed", "cache", "max_attempts", "samples",
        "params", "judge_params", "judge_logprobs", "prompt_version", "dataset_version"]
# values of every JSON type, valid and not, and the valid ones drawn more often
values = [None, True, False, 0, 1, -1, 2, 0.5, 2.0, 1e30, -1e30, 1e-300, 20, 21, 4096, 2147483648,
          "x", "", "1", "0.7", [], [1], ["a"], ["a", "b", "c", "d", "e"], {}, {"max_tokens": "many"},
          {"temperature": 0.2}, {"seed": 1.5}, {"stop": ["x"]}]
valid = {"temperature": [0, 0.7, 2], "max_tokens": [1, 64], "top_p": [0.5, 1], "stop": ["x", ["a"]],
         "seed": [0, 7], "cache": [True, False], "max_attempts": [1, 3], "samples": [1, 3],
         "params": [{}, {"temperature": 0.2}], "judge_params": [{}], "judge_logprobs": [True],
         "prompt_version": [1], "dataset_version": [1]}
for _ in range(80):
    opts = {k: random.choice(valid[k] if random.random() < 0.6 else values)
            for k in random.sample(keys, random.randint(1, 3))}
    print(json.dumps(opts))
PY
accepted=0
refused=0
jobs=()
err_file=$(mktemp)
while read -r opts; do
  if job=$(as lv_alice "SELECT llmeval.submit_job('p', 'd1', $model, ARRAY['bleu'], '$opts')" 2>"$err_file"); then
    jobs+=("$job"); accepted=$((accepted + 1))
  elif grep -q "ERROR:  .*option\|ERROR:  .*must be\|ERROR:  .*does not exist" "$err_file"; then
    refused=$((refused + 1))
  else
    echo "not ok - options $opts: $(cat "$err_file")"; status=1
  fi
done < "$options_file"
rm -f "$options_file" "$err_file"
expect "random options: some accepted, some refused" "$([ $accepted -gt 10 ] && [ $refused -gt 10 ] && echo yes)" yes
never=0
for job in "${jobs[@]}"; do
  [ "$(q "$(ended "$job" "60 s")")" = t ] || { never=$((never + 1)); echo "# job $job did not end"; }
done
expect "every accepted job ended ($accepted accepted, $refused refused)" "$never" 0

# 9. After all of the above (held rows, failed write-backs, killed and
#    cancelled workers), every job's counters are its tasks' counts, and no
#    counter change is left unfolded.
counters_off="SELECT count(*) FROM llmeval.jobs j
  CROSS JOIN LATERAL (SELECT count(*) AS total,
                             count(*) FILTER (WHERE t.status = 'pending') AS pending,
                             count(*) FILTER (WHERE t.status = 'running') AS running,
                             count(*) FILTER (WHERE t.status = 'completed') AS completed,
                             count(*) FILTER (WHERE t.status = 'failed') AS failed,
                             count(*) FILTER (WHERE t.status = 'cancelled') AS cancelled
                      FROM llmeval.tasks t WHERE t.job_id = j.id) c
  WHERE (j.total, j.pending, j.running, j.completed, j.failed, j.cancelled)
        IS DISTINCT FROM (c.total, c.pending, c.running, c.completed, c.failed, c.cancelled)"
for _ in $(seq 1 50); do
  [ "$(q "$counters_off") $(q "SELECT count(*) FROM llmeval.job_counter_deltas")" = "0 0" ] && break
  sleep 0.2
done
check "every job's counters equal its tasks' counts" "$counters_off" 0
check "no counter change is left to fold" "SELECT count(*) FROM llmeval.job_counter_deltas" 0

exit $status
