#!/usr/bin/env bash
# llmeval.estimate_job_cost against what jobs on the mock provider then cost:
# a first estimate without history (stated defaults), a job with a judge
# metric, then the estimate of the same job again from that history, and a
# second job. The checks: the second job's calls and output tokens are the
# estimate's; its input tokens are near (the mock counts words, not real
# tokens). The errors of the expected cost are printed (# lines).
# Needs the throwaway cluster (test/harness/with_cluster.sh): the workers run
# in database postgres.
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/harness/mock_llm.sh
. test/harness/tap.sh

as() { psql -X -At -v ON_ERROR_STOP=1 -U "$1" -d postgres -c "$2"; }
psql -X -q -v ON_ERROR_STOP=1 -d postgres >/dev/null <<SQL
ALTER SYSTEM RESET llmeval.max_attempts;
SELECT pg_reload_conf();
DROP EXTENSION IF EXISTS pg_llmeval CASCADE;
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ce_alice') THEN CREATE ROLE ce_alice LOGIN; END IF;
END \$\$;
CREATE EXTENSION pg_llmeval;
GRANT llmeval_user TO ce_alice;
SELECT llmeval.create_provider('mock-openai', 'openai', '$mock_url/v1', 'LLMEVAL_MOCK_API_KEY');
SELECT llmeval.create_model('mock-openai/gpt-good', 0.15, 0.60);
SELECT llmeval.create_model('mock-openai/gpt-judge', 1, 2);
SQL
as ce_alice "SELECT llmeval.create_prompt('p', 'Answer in one word: {{question}}')" >/dev/null
doc=$(q "SELECT jsonb_agg(jsonb_build_object('input', jsonb_build_object('question', q), 'expected', a))
          FROM jsonb_each_text(pg_read_file('$PWD/test/mock_llm/answers.json')::jsonb) AS x(q, a)")
as ce_alice "SELECT llmeval.import_dataset('d', \$json\$$doc\$json\$)" >/dev/null
args="'p', 'd', ARRAY['mock-openai/gpt-good'], ARRAY['exact_match', 'relevance'],
      '{\"cache\": false, \"judge_model\": \"mock-openai/gpt-judge\"}'"
estimate() { as ce_alice "SELECT cost_low || ' ' || cost || ' ' || cost_high FROM llmeval.estimate_job_cost($args) WHERE model = 'total'"; }
# calls, input tokens and output tokens of the estimate's total, and of a job
estimated() { as ce_alice "SELECT calls || ' ' || input_tokens || ' ' || output_tokens FROM llmeval.estimate_job_cost($args) WHERE model = 'total'"; }
actual() { q "SELECT count(*) || ' ' || sum(r.input_tokens) || ' ' || sum(r.output_tokens) FROM llmeval.responses r JOIN llmeval.tasks t ON t.id = r.task_id WHERE t.job_id = $1"; }
spent() { q "SELECT round(sum(r.cost), 6) FROM llmeval.responses r JOIN llmeval.tasks t ON t.id = r.task_id WHERE t.job_id = $1"; }
report() {  # WHAT ESTIMATE JOB
  read -r low expected high <<< "$2"
  echo "# $1: estimated \$$expected (\$$low to \$$high), cost \$$(spent "$3"): error $(q "SELECT round(100 * ($expected - $(spent "$3")) / $(spent "$3"), 1)") %"
}

first=$(estimate)
expect "without history the estimate says what it assumed" \
  "$(as ce_alice "SELECT note LIKE 'output tokens: no earlier call%' FROM llmeval.estimate_job_cost($args) WHERE purpose = 'generation'")" t
job1=$(as ce_alice "SELECT llmeval.submit_job($args)")
check "the first job completes" "SELECT llmeval.wait_job($job1, '120 s')" completed
report "the first job, estimated without history" "$first" "$job1"
second=$(estimate)
expect "the estimate now reads the history" \
  "$(as ce_alice "SELECT note LIKE 'output tokens from % earlier calls%' FROM llmeval.estimate_job_cost($args) WHERE purpose = 'generation'")" t
read -r e_calls e_input e_output <<< "$(estimated)"
job2=$(as ce_alice "SELECT llmeval.submit_job($args)")
check "the second job completes" "SELECT llmeval.wait_job($job2, '120 s')" completed
read -r a_calls a_input a_output <<< "$(actual "$job2")"
report "the second job, estimated from the first" "$second" "$job2"
expect "its calls are the estimate's (generations and judge calls)" "$a_calls" "$e_calls"
expect "its output tokens are the estimate's, from the first job (the mock answers alike)" "$a_output" "$e_output"
# The mock counts a word as a token; real tokenizers cut English finer (about
# 1.3 tokens a word) and add the chat format: the estimate's 4 bytes a token
# is above the mock's count, by less than 2.5 times.
echo "# input tokens: estimated $e_input, the mock counted $a_input (words)"
check_true "its input tokens are within what the mock's word count allows" "$e_input BETWEEN $a_input AND 2.5 * $a_input"

# Budgets: a job with max_cost_usd stops starting calls at its limit and is
# paused; resume_job with a higher limit continues it. A dear model (the
# mock's gpt-good at $1,000 per million tokens: about 1 cent a call).
q "SELECT llmeval.create_model('mock-openai/gpt-dear', 1000, 1000, '{\"api_model\": \"gpt-good\"}')" >/dev/null
mock_reset
budgeted=$(as ce_alice "SELECT llmeval.submit_job('p', 'd', ARRAY['mock-openai/gpt-dear'], ARRAY['exact_match'],
                          '{\"cache\": false, \"max_cost_usd\": 0.1}')")
check "a job with max_cost_usd 0.1 is paused at its budget" "SELECT llmeval.wait_job($budgeted, '60 s')" paused
check_true "having spent no more than its budget, and not every task" \
  "(SELECT spent <= 0.1 AND completed < 20 AND pending > 0 FROM llmeval.jobs WHERE id = $budgeted)"
echo "# paused: $(q "SELECT paused_reason || ' (' || completed || ' of 20 done)' FROM llmeval.jobs WHERE id = $budgeted")"
check_true "the spent is its responses' cost" \
  "(SELECT j.spent = (SELECT sum(r.cost) FROM llmeval.responses r JOIN llmeval.tasks t ON t.id = r.task_id
                      WHERE t.job_id = j.id) FROM llmeval.jobs j WHERE j.id = $budgeted)"
check "no call starts while it is paused" "SELECT pg_sleep(1.5); SELECT count(*) FROM llmeval.tasks WHERE job_id = $budgeted AND status = 'running'" "
0"
expect "resume_job with a higher limit continues it" "$(as ce_alice "SELECT llmeval.resume_job($budgeted, 10)")" running
check "to its end" "SELECT llmeval.wait_job($budgeted, '60 s')" completed
check "each task called once" "SELECT count(*) FILTER (WHERE attempts = 1) || ' ' || $(mock_stat "s['requests_total']")
   FROM llmeval.tasks WHERE job_id = $budgeted" "20 20"
q "DROP EXTENSION pg_llmeval CASCADE" >/dev/null
exit $status
