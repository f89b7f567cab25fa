#!/usr/bin/env bash
# Hostile tenants against the tenant boundary and the workers' liveness.
# Each check is an attack that succeeded on an earlier version:
#   - a SQL metric that becomes superuser (RESET ROLE, SET ROLE, set_config,
#     SET SESSION AUTHORIZATION) or registers another tenant's function;
#   - a SQL metric that sleeps for an hour, holding the workers, changes the
#     worker's session settings, or raises errors WHEN OTHERS cannot catch;
#   - direct INSERTs into another tenant's prompt and dataset versions, into
#     the shared metric definitions, with chosen ids, and nextval on the
#     shared sequences;
#   - job options that poison every claim (bad types, huge numbers);
#   - another tenant's cached responses and embeddings; unmetered embeddings;
#   - a superuser who cannot cancel a tenant's job.
# Needs the throwaway cluster (test/harness/with_cluster.sh): the workers run
# in database postgres.
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/harness/mock_llm.sh
. test/harness/tap.sh

# as ROLE SQL: runs SQL logged in as ROLE (trust authentication on loopback)
as() { psql -X -At -v ON_ERROR_STOP=1 -U "$1" -d postgres -c "$2"; }
# refused ROLE SQL SQLSTATE [MESSAGE]: prints SQLSTATE when the statement
# fails with it (and with MESSAGE, an extended regex, in the error line)
refused() {
  local out line
  out=$(psql -X -At -U "$1" -d postgres -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -c "$2" 2>&1 || true)
  line=$(echo "$out" | grep -m1 "ERROR:  $3:" || true)
  if [ -n "$line" ] && echo "$line" | grep -Eq "${4:-.}"; then echo "$3"
  else echo "accepted or other: $(echo "$out" | head -2 | tr '\n' ' ')"; fi
}

psql -X -q -v ON_ERROR_STOP=1 -d postgres <<SQL
ALTER SYSTEM SET llmeval.lease_seconds = 30;
ALTER SYSTEM SET llmeval.sql_metric_timeout_ms = 1000;
SELECT pg_reload_conf();
DROP EXTENSION IF EXISTS pg_llmeval CASCADE;
DROP SCHEMA IF EXISTS mallory, alice CASCADE;
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'alice') THEN CREATE ROLE alice LOGIN; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'mallory') THEN CREATE ROLE mallory LOGIN; END IF;
END \$\$;
ALTER ROLE mallory NOSUPERUSER;
CREATE EXTENSION pg_llmeval;
GRANT llmeval_user TO alice, mallory;
CREATE SCHEMA mallory AUTHORIZATION mallory;
CREATE SCHEMA alice AUTHORIZATION alice;
SELECT llmeval.create_provider('mock-openai', 'openai', '$mock_url/v1', 'LLMEVAL_MOCK_API_KEY');
SELECT llmeval.create_model('mock-openai/gpt-good', 0.15, 0.60);
SQL

dataset_json() {  # N -> a dataset of N of the mock's questions
  echo "(SELECT jsonb_agg(jsonb_build_object('input', jsonb_build_object('question', q || ' (' || k || ')'),
                                             'expected', a) ORDER BY k, q)
         FROM (SELECT * FROM jsonb_each_text(pg_read_file('$PWD/test/mock_llm/answers.json')::jsonb) LIMIT 1) AS x(q, a),
              generate_series(1, $1) k)"
}
data10=$(q "SELECT $(dataset_json 10)::text")
data3=$(q "SELECT $(dataset_json 3)::text")
for who in alice mallory; do
  as "$who" "SELECT llmeval.create_prompt('p', 'Answer in one word: {{question}}')" >/dev/null
  as "$who" "SELECT llmeval.import_dataset('d10', '$data10')" >/dev/null
  as "$who" "SELECT llmeval.import_dataset('d3', '$data3')" >/dev/null
done
model="ARRAY['mock-openai/gpt-good']"

# 1. A SQL metric that tries to leave its tenant's rights.
as mallory "
CREATE FUNCTION mallory.escalate(output text, tc llmeval.test_cases) RETURNS float8
LANGUAGE plpgsql AS \$\$
BEGIN
  BEGIN RESET ROLE; ALTER ROLE mallory SUPERUSER; EXCEPTION WHEN insufficient_privilege THEN NULL; END;
  BEGIN SET ROLE postgres; ALTER ROLE mallory SUPERUSER; EXCEPTION WHEN insufficient_privilege THEN NULL; END;
  BEGIN PERFORM set_config('role', 'postgres', false); ALTER ROLE mallory SUPERUSER;
  EXCEPTION WHEN insufficient_privilege THEN NULL; END;
  BEGIN SET SESSION AUTHORIZATION postgres; ALTER ROLE mallory SUPERUSER;
  EXCEPTION WHEN insufficient_privilege THEN NULL; END;
  BEGIN CREATE TEMP TABLE mallory_was_here (x int); EXCEPTION WHEN OTHERS THEN NULL; END;
  RETURN CASE WHEN current_user = 'mallory' THEN 1 ELSE 0 END;
END \$\$;
SELECT llmeval.create_sql_metric('escalate', 'mallory.escalate(text, llmeval.test_cases)');" >/dev/null
job=$(as mallory "SELECT llmeval.submit_job('p', 'd3', $model, ARRAY['escalate'])")
check "the escalating job completes" "SELECT llmeval.wait_job($job, '60 s')" completed
check "the tenant is not superuser after its SQL metric ran" \
  "SELECT rolsuper FROM pg_roles WHERE rolname = 'mallory'" f
check "the metric ran as its tenant, scored 1 three times" \
  "SELECT count(*) FILTER (WHERE value = 1) FROM llmeval.scores WHERE job_id = $job AND metric = 'escalate'" 3

# Settings a metric changes stay with it: a session-level SET would be the
# worker's (read-only, or a search_path of the tenant's schema for the
# worker's next statement as superuser). And errors PL/pgSQL's WHEN OTHERS
# does not catch (query_canceled, assert_failure) fail the metric alone.
as mallory "
CREATE FUNCTION mallory.sticky(output text, tc llmeval.test_cases) RETURNS float8
LANGUAGE plpgsql AS \$\$
BEGIN
  PERFORM set_config('default_transaction_read_only', 'on', false);
  PERFORM set_config('search_path', 'mallory, pg_catalog', false);
  RETURN 1;
END \$\$;
CREATE FUNCTION mallory.uncatchable(output text, tc llmeval.test_cases) RETURNS float8
LANGUAGE plpgsql AS \$\$
BEGIN
  IF tc.position = 1 THEN RAISE EXCEPTION 'not really' USING ERRCODE = 'query_canceled'; END IF;
  ASSERT false, 'nor this';
  RETURN 1;
END \$\$;
SELECT llmeval.create_sql_metric('sticky', 'mallory.sticky(text, llmeval.test_cases)');
SELECT llmeval.create_sql_metric('uncatchable', 'mallory.uncatchable(text, llmeval.test_cases)');" >/dev/null
job=$(as mallory "SELECT llmeval.submit_job('p', 'd3', $model, ARRAY['sticky', 'uncatchable'], '{\"cache\": false}')")
check "a job with settings-changing and uncatchable metrics completes" "SELECT llmeval.wait_job($job, '60 s')" completed
check "the uncatchable errors fail their scores alone, each task called once" \
  "SELECT count(*) FILTER (WHERE s.metric = 'uncatchable' AND s.value IS NULL AND s.detail ->> 'error' LIKE '%raised%')
          || ' ' || count(*) FILTER (WHERE s.metric = 'sticky' AND s.value = 1) || ' ' || max(r.attempts)
   FROM llmeval.scores s JOIN llmeval.results r ON r.task_id = s.task_id WHERE s.job_id = $job" "3 3 1"
after=$(as alice "SELECT llmeval.submit_job('p', 'd3', $model, ARRAY['bleu'], '{\"cache\": false}')")
check "the workers still write after the metric set read-only and a search_path" \
  "SELECT llmeval.wait_job($after, '60 s')" completed

# Another tenant's function (EXECUTE is PUBLIC by default) cannot be
# registered: it would run with that tenant's rights on mallory's inputs.
as alice "
CREATE FUNCTION alice.count_my_prompts(output text, tc llmeval.test_cases) RETURNS float8
LANGUAGE sql AS \$\$ SELECT count(*)::float8 FROM llmeval.prompts \$\$;" >/dev/null
expect "another tenant's function is refused as a metric" \
  "$(refused mallory "SELECT llmeval.create_sql_metric('steal', 'alice.count_my_prompts(text, llmeval.test_cases)')" 42501)" 42501

# 2. A SQL metric that sleeps: bounded by llmeval.sql_metric_timeout_ms; the
#    other tenant's job goes on meanwhile.
as mallory "
CREATE FUNCTION mallory.sleepy(output text, tc llmeval.test_cases) RETURNS float8
LANGUAGE sql AS \$\$ SELECT 1::float8 FROM pg_sleep(3600) \$\$;
SELECT llmeval.create_sql_metric('sleepy', 'mallory.sleepy(text, llmeval.test_cases)');" >/dev/null
sleepy=$(as mallory "SELECT llmeval.submit_job('p', 'd3', $model, ARRAY['sleepy'], '{\"cache\": false}')")
seen=
for _ in $(seq 200); do
  seen=$(q "SELECT activity FROM llmeval.worker_status WHERE activity LIKE '%SQL metric mallory.sleepy%' LIMIT 1")
  [ -n "$seen" ] && break; sleep 0.05
done
victim=$(as alice "SELECT llmeval.submit_job('p', 'd10', $model, ARRAY['bleu'])")
expect "worker_status shows the tenant function a worker runs" \
  "$(echo "$seen" | grep -o 'SQL metric mallory.sleepy(text,llmeval.test_cases) as mallory')" \
  "SQL metric mallory.sleepy(text,llmeval.test_cases) as mallory"
expect "a tenant does not see what the workers run" \
  "$(as alice "SELECT count(*) FROM llmeval.worker_status WHERE activity LIKE '%pg_llmeval worker%'")" 0
check "another tenant's job completes while a SQL metric sleeps" "SELECT llmeval.wait_job($victim, '60 s')" completed
check "the sleeping metric's job completes too" "SELECT llmeval.wait_job($sleepy, '60 s')" completed
check "each sleeping call was stopped and scored NULL with the reason" \
  "SELECT count(*) FROM llmeval.scores WHERE job_id = $sleepy AND metric = 'sleepy' AND value IS NULL
     AND detail ->> 'error' ~ 'timeout|timed out'" 3

# 3. Direct writes into another tenant's rows and into shared definitions.
alice_prompt=$(as alice "SELECT id FROM llmeval.prompts WHERE name = 'p'")
alice_dataset=$(as alice "SELECT id FROM llmeval.datasets WHERE name = 'd10'")
alice_version=$(as alice "SELECT max(id) FROM llmeval.dataset_versions WHERE dataset_id = $alice_dataset")
expect "a prompt version in another tenant's prompt is refused" \
  "$(refused mallory "INSERT INTO llmeval.prompt_versions (prompt_id, version, template, fields) VALUES ($alice_prompt, 999, 'Say PWNED', '{}')" 42501)" 42501
expect "a test case in another tenant's dataset version is refused" \
  "$(refused mallory "INSERT INTO llmeval.test_cases (dataset_version_id, position, input) VALUES ($alice_version, 999, '{\"question\": \"x\"}')" 42501)" 42501
expect "a dataset version in another tenant's dataset is refused" \
  "$(refused mallory "INSERT INTO llmeval.dataset_versions (dataset_id, version, source, n_cases) VALUES ($alice_dataset, 999, 'json', 0)" 42501)" 42501
expect "a test case in the tenant's own dataset version is refused (versions are immutable)" \
  "$(refused mallory "INSERT INTO llmeval.test_cases (dataset_version_id, position, input) SELECT max(id), 999, '{}' FROM llmeval.dataset_versions" 42501)" 42501
expect "a metric row written directly is refused" \
  "$(refused mallory "INSERT INTO llmeval.metrics (name, kind) VALUES ('bleu', 'pairwise')" 42501)" 42501
expect "a chosen prompt id is refused" \
  "$(refused mallory "INSERT INTO llmeval.prompts (id, name) VALUES (1000000, 'mine')" 42501)" 42501
expect "the shared model sequence is not the tenant's to use" \
  "$(refused mallory "SELECT nextval('llmeval.models_id_seq')" 42501)" 42501
check_true "other tenants' jobs with the built-in metrics are still accepted" \
  "(SELECT count(*) FROM llmeval.metrics WHERE name = 'bleu') = 1"
expect "a bleu job is still accepted" \
  "$(as alice "SELECT llmeval.submit_job('p', 'd3', $model, ARRAY['bleu']) > 0")" t
check "alice's latest prompt version is still her own" \
  "SELECT max(version) FROM llmeval.prompt_versions WHERE prompt_id = $alice_prompt" 1

# 4. Job options that would fail inside every claim are refused at submit.
for opts in '{"cache": "disabled"}' '{"temperature": "hot"}' '{"max_tokens": 1e30}' '{"samples": 2.5}' \
            '{"top_p": [1]}' '{"seed": "x"}' '{"max_attempts": 0}' '{"params": {"max_tokens": "many"}}' \
            '{"judge_logprobs": "maybe"}' '{"stop": 5}'; do
  expect "job option $opts is refused with 22023" \
    "$(refused mallory "SELECT llmeval.submit_job('p', 'd3', $model, ARRAY['bleu'], '$opts')" 22023 'option')" 22023
done

# 5. Cached responses are the tenant's own: the same request from another
#    tenant is sent and paid for.
mock_reset
for who in alice mallory; do
  as "$who" "SELECT llmeval.create_prompt('p_cache', 'Reply in one word: {{question}}')" >/dev/null
done
job_a=$(as alice "SELECT llmeval.submit_job('p_cache', 'd3', $model, ARRAY['bleu'])")
q "SELECT llmeval.wait_job($job_a, '60 s')" >/dev/null
before=$(mock_stat "s['requests_total']")
job_m=$(as mallory "SELECT llmeval.submit_job('p_cache', 'd3', $model, ARRAY['bleu'])")
check "the other tenant's job completes" "SELECT llmeval.wait_job($job_m, '60 s')" completed
check "its calls were not served from the other tenant's cache" \
  "SELECT $(mock_stat "s['requests_total']") - $before || ' ' || (SELECT sum(cost) > 0 FROM llmeval.results WHERE job_id = $job_m)" "3 true"

# 6. Embeddings from SQL are metered and billed to the caller, from a cache of
#    the caller's own.
q "SELECT llmeval.create_model('mock-openai/text-embed', 0.02, 0)" >/dev/null
mock_reset
as alice "SELECT llmeval.semantic_similarity('the cat sat', 'a cat sat down', 'mock-openai/text-embed')" >/dev/null
as alice "SELECT llmeval.semantic_similarity('the cat sat', 'a cat sat down', 'mock-openai/text-embed')" >/dev/null
check "semantic_similarity from SQL is recorded for its tenant, once (then cached)" \
  "SELECT count(*) || ' ' || bool_and(cost > 0 AND input_tokens > 0) FROM llmeval.direct_calls WHERE tenant = 'alice'" "1 true"
expect "a tenant sees its own direct calls only" "$(as mallory "SELECT count(*) FROM llmeval.direct_calls")" 0
as mallory "SELECT llmeval.semantic_similarity('the cat sat', 'a cat sat down', 'mock-openai/text-embed')" >/dev/null
check "another tenant's identical texts are embedded (and billed) again" \
  "SELECT $(mock_stat "s['requests_total']") || ' ' || (SELECT count(*) FROM llmeval.direct_calls WHERE tenant = 'mallory')" "2 1"

# 7. Operators: a superuser cancels any tenant's job, and the event log says who.
mock_config '{"latency_ms": 2000}'
long=$(as alice "SELECT llmeval.submit_job('p', 'd10', $model, ARRAY['bleu'], '{\"cache\": false}')")
check_true "a superuser cancels a tenant's job" "llmeval.cancel_job($long) > 0"
check "the job is cancelled" "SELECT status FROM llmeval.jobs WHERE id = $long" cancelled
check "the event log records who cancelled it" \
  "SELECT detail ->> 'by' FROM llmeval.events WHERE job_id = $long AND kind = 'job_cancel' ORDER BY id DESC LIMIT 1" postgres
mock_config '{"latency_ms": 0}'

exit $status
