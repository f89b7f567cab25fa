#!/usr/bin/env bash
# Fair shares and priorities with the workers: one tenant's 50,000-task job
# does not hold another tenant's 20-task job (nor its own urgent one) behind
# it. Each check is about order, not time: the small job must end while the
# big one has barely started. The small job's time alone and beside the big
# one are printed (as # lines) for the record. On the claim before fair
# shares (first due task first) the small job waited for all 50,000.
# Needs the throwaway cluster (test/harness/with_cluster.sh): the workers run
# in database postgres.
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/harness/mock_llm.sh
. test/harness/tap.sh
BIG=${BIG:-50000}

as() { psql -X -At -v ON_ERROR_STOP=1 -U "$1" -d postgres -c "$2"; }
psql -X -q -v ON_ERROR_STOP=1 -d postgres >/dev/null <<SQL
ALTER SYSTEM RESET llmeval.max_attempts;
ALTER SYSTEM RESET llmeval.max_inflight;
SELECT pg_reload_conf();
DROP EXTENSION IF EXISTS pg_llmeval CASCADE;
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'fs_big') THEN CREATE ROLE fs_big LOGIN; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'fs_small') THEN CREATE ROLE fs_small LOGIN; END IF;
END \$\$;
CREATE EXTENSION pg_llmeval;
GRANT llmeval_user TO fs_big, fs_small;
SELECT llmeval.create_provider('mock-openai', 'openai', '$mock_url/v1', 'LLMEVAL_MOCK_API_KEY');
SELECT llmeval.create_model('mock-openai/gpt-good', 0.15, 0.60);
SQL
inflight=$(q "SHOW llmeval.max_inflight")
for who in fs_big fs_small; do
  as "$who" "SELECT llmeval.create_prompt('p', 'Answer in one word: {{question}}')" >/dev/null
  as "$who" "SELECT llmeval.import_dataset('twenty', (SELECT jsonb_agg(jsonb_build_object(
               'input', jsonb_build_object('question', 'What is the capital of France? #' || g), 'expected', 'Paris'))
               FROM generate_series(1, 20) g))" >/dev/null
done
as fs_big "SELECT llmeval.import_dataset('big', (SELECT jsonb_agg(jsonb_build_object(
             'input', jsonb_build_object('question', 'What is the capital of France? #' || g), 'expected', 'Paris'))
             FROM generate_series(1, $BIG) g))" >/dev/null
submit() {  # ROLE DATASET [OPTIONS] -> job id
  as "$1" "SELECT llmeval.submit_job('p', '$2', ARRAY['mock-openai/gpt-good'], ARRAY['exact_match'],
             '${3:-{\"cache\": false\}}')"
}
seconds() { q "SELECT round(extract(epoch FROM finished_at - created_at)::numeric, 2) FROM llmeval.jobs WHERE id = $1"; }
# every call answered after 100 ms
mock_config '{"latency_ms": 100}'

alone=$(submit fs_small twenty)
check "the small job alone completes" "SELECT llmeval.wait_job($alone, '60 s')" completed

big=$(submit fs_big big)
# until the workers are full of the big job's calls (a worker's worth at least)
for _ in $(seq 200); do
  [ "$(q "SELECT count(*) >= $inflight FROM llmeval.tasks WHERE job_id = $big AND status = 'running'")" = t ] && break
  sleep 0.1
done
check_true "the big job fills the workers" \
  "(SELECT count(*) >= $inflight FROM llmeval.tasks WHERE job_id = $big AND status = 'running')"
beside=$(submit fs_small twenty)
check "another tenant's small job completes beside it" "SELECT llmeval.wait_job($beside, '60 s')" completed
check_true "while the big job has most of its tasks still to do" \
  "(SELECT completed < $BIG / 2 FROM llmeval.jobs WHERE id = $big)"
echo "# the small job: $(seconds "$alone") s alone, $(seconds "$beside") s beside the big job" \
     "($(q "SELECT completed FROM llmeval.jobs WHERE id = $big") of its $BIG tasks done by then)"

# The big job's tenant's own urgent job goes before its big one.
urgent=$(submit fs_big twenty '{"cache": false, "priority": 10}')
check "the same tenant's job with priority 10 completes" "SELECT llmeval.wait_job($urgent, '60 s')" completed
check_true "while the big job (priority 0) still has most to do" \
  "(SELECT completed < $BIG / 2 FROM llmeval.jobs WHERE id = $big)"
echo "# the urgent job: $(seconds "$urgent") s"

check "the big job is cancelled" "SELECT llmeval.cancel_job($big) > 0" t
check "and nothing of it runs on" "SELECT llmeval.wait_job($big, '30 s')" cancelled
mock_reset
q "DROP EXTENSION pg_llmeval CASCADE" >/dev/null
exit $status
