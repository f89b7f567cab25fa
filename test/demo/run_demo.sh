#!/usr/bin/env bash
# make demo: a real evaluation end to end on a throwaway cluster (see
# test/harness/with_cluster.sh): the bundled mock provider
# (test/mock_llm/server.py) plays an OpenAI-compatible server with 100 ms of
# latency; a dataset of questions, a prompt and two models are evaluated by
# the background workers, with lexical metrics, an LLM judge (a rubric, and
# a pairwise comparison of the two models in both orders) and embedding
# similarity; progress is shown while it runs, then the comparison, the cost
# split and the lexical metrics over the benchmark workload; the same job
# through a provider's Batch API; a tool-using assistant on two models and a
# conversation replayed turn by turn. Last, online
# evaluation: a rule on an application's table scores rows as they are
# inserted, an alert fires when the answers get worse, and two reviewers
# work the doubtful rows in an annotation queue.
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/harness/mock_llm.sh
mock_config '{"latency_ms": 100, "jitter_ms": 50}'

psql -X -q -v ON_ERROR_STOP=1 -d postgres <<SQL
DROP EXTENSION IF EXISTS pg_llmeval CASCADE;
CREATE EXTENSION pg_llmeval;
SELECT llmeval.create_provider('local', 'openai', '$mock_url/v1', 'LLMEVAL_MOCK_API_KEY');
SELECT llmeval.create_model('local/gpt-good', 0.15, 0.60);
SELECT llmeval.create_model('local/gpt-sloppy', 0.05, 0.20);
SELECT llmeval.create_model('local/gpt-judge', 2.50, 10.00);
SELECT llmeval.create_model('local/text-embed', 0.02, 0);
SELECT llmeval.import_dataset('capitals', (
  SELECT jsonb_agg(jsonb_build_object('input', jsonb_build_object('question', q), 'expected', a))
  FROM jsonb_each_text(pg_read_file('$PWD/test/mock_llm/answers.json')::jsonb) AS x(q, a)));
SELECT llmeval.create_prompt('one-word', 'Answer in one word: {{question}}');
SELECT llmeval.create_metric('correctness',
  'Correctness: the answer states what the reference answer states, and nothing else. '
  '5: the same answer. 3: the right answer with unsupported additions or hedging. 1: wrong.',
  1, 5, 'agrees with the reference answer', ARRAY['question', 'reference', 'answer']);
SQL
job=$(psql -X -At -v ON_ERROR_STOP=1 -d postgres -c \
  "SELECT llmeval.submit_job('one-word', 'capitals', ARRAY['local/gpt-good', 'local/gpt-sloppy'],
   ARRAY['exact_match', 'token_f1', 'chrf', 'correctness', 'pairwise', 'semantic_similarity'],
   '{\"judge_model\": \"local/gpt-judge\", \"embedding_model\": \"local/text-embed\"}')")

echo
echo "== pg_llmeval demo: job $job, 2 models on a local OpenAI-compatible server =="
echo
while :; do
  line=$(psql -X -At -F ' ' -d postgres -c "SELECT status, done, total, percent FROM llmeval.job_progress($job)")
  set -- $line
  printf '  %-9s %3s/%s tasks, judge and embedding calls included (%s%%)\n' "$1" "$2" "$3" "$4"
  case $1 in completed|failed|cancelled) break ;; esac
  sleep 0.3
done

psql -X -v ON_ERROR_STOP=1 -d postgres <<SQL
\pset footer off
\echo
\echo 'Model comparison:'
SELECT r.model,
       count(*) AS tasks,
       (SELECT round(avg(s.value)::numeric, 3) FROM llmeval.scores s
        WHERE s.job_id = r.job_id AND s.model = r.model AND s.metric = 'exact_match') AS exact_match,
       (SELECT round(avg(s.value)::numeric, 3) FROM llmeval.scores s
        WHERE s.job_id = r.job_id AND s.model = r.model AND s.metric = 'token_f1') AS token_f1,
       (SELECT round(avg(s.value)::numeric, 1) FROM llmeval.scores s
        WHERE s.job_id = r.job_id AND s.model = r.model AND s.metric = 'chrf') AS chrf,
       (SELECT round(avg(s.value)::numeric, 3) FROM llmeval.scores s
        WHERE s.job_id = r.job_id AND s.model = r.model AND s.metric = 'correctness') AS correctness,
       (SELECT round(avg(s.value)::numeric, 3) FROM llmeval.scores s
        WHERE s.job_id = r.job_id AND s.model = r.model AND s.metric = 'pairwise') AS pairwise_wins,
       (SELECT round(avg(s.value)::numeric, 3) FROM llmeval.scores s
        WHERE s.job_id = r.job_id AND s.model = r.model AND s.metric = 'semantic_similarity') AS semantic_sim,
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY r.latency_ms)::numeric) AS p50_ms,
       sum(r.input_tokens + r.output_tokens) AS tokens,
       round(sum(r.cost), 6) AS cost_usd
FROM llmeval.results r
WHERE r.job_id = $job
GROUP BY r.job_id, r.model ORDER BY r.model;

\echo 'Cost, generation against judging:'
SELECT purpose, coalesce(metric, '') AS metric, model, calls, input_tokens + output_tokens AS tokens,
       round(cost, 6) AS cost_usd
FROM llmeval.job_costs WHERE job_id = $job ORDER BY purpose, metric, model;

\echo 'What the judge said (first answers):'
SELECT j.model, left(r.output, 30) AS output, j.score AS judge_score, round(j.weighted_score::numeric, 2) AS geval,
       j.reason
FROM llmeval.judge_calls j JOIN llmeval.results r ON r.task_id = j.target_task_id
WHERE j.job_id = $job AND j.metric = 'correctness'
ORDER BY r.position, j.model LIMIT 4;

\echo 'Where the models disagree:'
SELECT r.input ->> 'question' AS question, r.expected, string_agg(r.model || ': ' || r.output, ' | ' ORDER BY r.model) AS outputs
FROM llmeval.results r
WHERE r.job_id = $job
GROUP BY r.input, r.expected
HAVING count(DISTINCT r.output) > 1
ORDER BY 1 LIMIT 5;

\echo 'Lexical metrics on 2,000 pairs of the benchmark workload:'
CREATE TEMP TABLE pairs (id serial PRIMARY KEY, candidate text NOT NULL, reference text NOT NULL);
\copy pairs(candidate, reference) FROM PROGRAM 'gzip -dc test/data/workload_100k.tsv.gz | head -n 2000' WITH (FORMAT csv, DELIMITER E'\t', QUOTE E'\x01')
SELECT count(*)                                                                  AS pairs,
       round(llmeval.corpus_bleu(candidate, reference)::numeric, 2)              AS corpus_bleu,
       round(llmeval.corpus_chrf(candidate, reference)::numeric, 2)              AS corpus_chrf,
       round(llmeval.corpus_ter(candidate, reference)::numeric, 2)               AS corpus_ter,
       round(avg((llmeval.rouge(candidate, reference, 'rougeL')).fmeasure)::numeric, 4) AS rouge_l
FROM pairs;
SQL

# Batch execution: the same evaluation of one model (the answers and their
# judge calls) run call by call and through the mock's OpenAI Batch API,
# where the same calls cost half; the batch's states as the provider reports
# them while it runs.
echo
echo "== Batch execution: one job call by call, the same job through the Batch API =="
echo
mock_config '{"batch_validating_s": 1, "batch_processing_s": 3, "batch_finalizing_s": 1}'
# (the workers ask the provider every half second here; 30 s by default)
psql -X -q -d postgres -c "ALTER SYSTEM SET llmeval.batch_poll_interval_ms = 500" -c "SELECT pg_reload_conf()" >/dev/null
opts='"judge_model": "local/gpt-judge", "cache": false'
sync_job=$(psql -X -At -v ON_ERROR_STOP=1 -d postgres -c \
  "SELECT llmeval.submit_job('one-word', 'capitals', ARRAY['local/gpt-good'], ARRAY['exact_match', 'correctness'], '{$opts}')")
batch_job=$(psql -X -At -v ON_ERROR_STOP=1 -d postgres -c \
  "SELECT llmeval.submit_job('one-word', 'capitals', ARRAY['local/gpt-good'], ARRAY['exact_match', 'correctness'],
   '{\"execution\": \"batch\", $opts}')")
last=
while :; do
  line=$(psql -X -At -F ' ' -d postgres -c "SELECT status, done, total, coalesce(batches::text, '') FROM llmeval.job_progress($batch_job)")
  if [ "$line" != "$last" ]; then
    set -- $line
    status=$1 done_=$2 total=$3
    shift 3
    printf '  batch job %s: %-9s %3s/%s tasks   provider batches %s\n' "$batch_job" "$status" "$done_" "$total" "$*"
    last=$line
  fi
  case $status in completed|failed|cancelled) break ;; esac
  sleep 0.2
done
psql -X -At -d postgres -c "SELECT llmeval.wait_job($sync_job, '60 s')" >/dev/null
psql -X -v ON_ERROR_STOP=1 -d postgres <<SQL
\pset footer off
SELECT CASE j.id WHEN $sync_job THEN 'sync' ELSE 'batch' END AS execution, j.id AS job, j.status,
       c.calls, c.tokens, c.cost_usd,
       (SELECT round(avg(s.value)::numeric, 3) FROM llmeval.scores s
        WHERE s.job_id = j.id AND s.metric = 'correctness') AS correctness
FROM llmeval.jobs j
CROSS JOIN LATERAL (
  SELECT count(*) AS calls, sum(r.input_tokens + r.output_tokens) AS tokens, round(sum(r.cost), 6) AS cost_usd
  FROM llmeval.tasks t JOIN llmeval.responses r ON r.task_id = t.id WHERE t.job_id = j.id) c
WHERE j.id IN ($sync_job, $batch_job)
ORDER BY j.id;
\echo 'The batch job''s provider batches (llmeval.job_batches):'
SELECT batch_id, model, task_kind, lines, remote_status, request_counts
FROM llmeval.job_batches($batch_job);
SQL

# Agents: a tool-using assistant on two models (one allowed a single call per
# turn), its calls scored against the expected ones beside a judge of the
# whole task; then a two-turn conversation replayed turn by turn, with the
# judges of whole conversations.
echo
echo "== Agents: tool calls, and a conversation replayed turn by turn =="
echo
psql -X -q -v ON_ERROR_STOP=1 -d postgres >/dev/null <<'SQL'
SELECT llmeval.create_model('local/gpt-serial', 0.05, 0.20, '{"params": {"parallel_tool_calls": false}}');
SELECT llmeval.create_prompt('weather-agent', '{{question}}', 'You answer with the tools you have.',
  '{"tools": [
     {"type": "function", "function": {"name": "get_weather", "description": "Current weather in a city",
      "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
     {"type": "function", "function": {"name": "get_time", "description": "Local time in a city",
      "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]}');
-- ([[call=...]] tells the local mock server which calls to make)
SELECT llmeval.import_dataset('errands', '[
  {"input": {"question": "Weather in Paris? [[call=get_weather {\"city\": \"Paris\"}]]"},
   "expected_tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]},
  {"input": {"question": "Weather in Rome and Oslo? [[call=get_weather {\"city\": \"Rome\"}]] [[call=get_weather {\"city\": \"Oslo\"}]]"},
   "expected_tool_calls": [{"name": "get_weather", "arguments": {"city": "Rome"}}, {"name": "get_weather", "arguments": {"city": "Oslo"}}]},
  {"input": {"question": "Time and weather in Tokyo? [[call=get_time {\"city\": \"Tokyo\"}]] [[call=get_weather {\"city\": \"Tokyo\"}]]"},
   "expected_tool_calls": [{"name": "get_time", "arguments": {"city": "Tokyo"}}, {"name": "get_weather", "arguments": {"city": "Tokyo"}}]},
  {"input": {"question": "Say hello."}, "expected_tool_calls": []}]');
SELECT llmeval.import_dataset('trip', '[
  {"messages": [{"role": "user", "content": "I am planning a trip to Lisbon"},
                {"role": "assistant", "content": "Lisbon is lovely in spring."},
                {"role": "user", "content": "What should I see in Lisbon?"}]},
  {"messages": [{"role": "user", "content": "Book me a table for two"},
                {"role": "assistant", "content": "For which evening?"},
                {"role": "user", "content": "Friday evening please"}]}]');
SQL
tools_job=$(psql -X -At -v ON_ERROR_STOP=1 -d postgres -c \
  "SELECT llmeval.submit_job('weather-agent', 'errands', ARRAY['local/gpt-good', 'local/gpt-serial'],
   ARRAY['tool_call_f1', 'tool_call_accuracy', 'tool_call_valid', 'task_completion'], '{\"judge_model\": \"local/gpt-judge\"}')")
chat_job=$(psql -X -At -v ON_ERROR_STOP=1 -d postgres -c \
  "SELECT llmeval.submit_job('one-word', 'trip', ARRAY['local/gpt-good'],
   ARRAY['conversation_completeness', 'turn_relevancy'],
   '{\"judge_model\": \"local/gpt-judge\", \"conversation\": \"replay\", \"turn_window\": 2}')")
psql -X -At -d postgres -c "SELECT llmeval.wait_job($tools_job, '60 s'), llmeval.wait_job($chat_job, '60 s')" >/dev/null
psql -X -v ON_ERROR_STOP=1 -d postgres <<SQL
\pset footer off
\echo 'A tool-using assistant, job $tools_job (tool_call_* against expected_tool_calls; task_completion is a judge):'
SELECT model, round(avg(value) FILTER (WHERE metric = 'tool_call_f1')::numeric, 3) AS tool_call_f1,
       round(avg(value) FILTER (WHERE metric = 'tool_call_accuracy')::numeric, 3) AS tool_call_accuracy,
       round(avg(value) FILTER (WHERE metric = 'tool_call_valid')::numeric, 3) AS tool_call_valid,
       round(avg(value) FILTER (WHERE metric = 'task_completion')::numeric, 3) AS task_completion
FROM llmeval.scores WHERE job_id = $tools_job GROUP BY model ORDER BY model;
\echo 'The calls each model made:'
SELECT tc.position, regexp_replace(tc.input ->> 'question', '\s*\[\[.*$', '') AS question, r.model,
       coalesce(r2.tool_calls::text, '(answered: ' || r.output || ')') AS calls
FROM llmeval.results r JOIN llmeval.test_cases tc ON tc.id = r.test_case_id
JOIN llmeval.responses r2 ON r2.task_id = r.task_id
WHERE r.job_id = $tools_job ORDER BY tc.position, r.model;
\echo 'A two-turn conversation replayed, job $chat_job (llmeval.conversation_turns):'
SELECT position AS conversation, turn, user_message, output AS model_answer
FROM llmeval.conversation_turns WHERE job_id = $chat_job ORDER BY position, turn;
SELECT tc.position AS conversation, s.metric, round(s.value::numeric, 3) AS value, s.detail ->> 'reason' AS reason
FROM llmeval.scores s JOIN llmeval.test_cases tc ON tc.id = s.test_case_id
WHERE s.job_id = $chat_job ORDER BY tc.position, s.metric;
SQL

# Online evaluation: the application logs its answers into its own table; a
# rule samples half of the rows, the workers score them as they come (a
# lexical metric and the judge), and the judge's mean over the last hour
# dropping below 0.6 raises an alert that a listener hears.
echo
echo "== Online evaluation: a rule on the application's table support_chat =="
psql -X -q -v ON_ERROR_STOP=1 -d postgres <<'SQL'
CREATE TABLE public.support_chat (id bigserial PRIMARY KEY, question text NOT NULL, answer text,
                                  reference text, created_at timestamptz NOT NULL DEFAULT now());
SELECT llmeval.create_online_rule('support', 'public.support_chat',
  '{"output": "answer", "question": "question", "expected": "reference", "timestamp": "created_at"}',
  ARRAY['token_f1', 'correctness'],
  '{"sampling_rate": 0.5, "judge_model": "local/gpt-judge", "alert_below": {"correctness": 0.6}}') AS rule_id;
SQL
listen_log=$(mktemp)
psql -X -d postgres -c "LISTEN llmeval_online_alert" -c "SELECT pg_sleep(12)" -c "SELECT 1" > "$listen_log" 2>&1 &
listener=$!
online_wave() {  # ANSWER-SQL: insert 60 rows, then wait until the rule has scored what it sampled
  psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "INSERT INTO public.support_chat (question, answer, reference)
    SELECT q, $1, a FROM jsonb_each_text(pg_read_file('$PWD/test/mock_llm/answers.json')::jsonb) AS x(q, a),
                         generate_series(1, 3)"
  for _ in $(seq 100); do
    [ "$(psql -X -At -d postgres -c "SELECT NOT EXISTS (SELECT 1 FROM llmeval.online_pending)
        AND NOT EXISTS (SELECT 1 FROM llmeval.online_items WHERE status = 'pending')
        AND NOT EXISTS (SELECT 1 FROM llmeval.tasks t JOIN llmeval.online_rules r ON r.job_id = t.job_id
                        WHERE t.status IN ('pending', 'running'))")" = t ] && return
    sleep 0.2
  done
}
echo "  60 rows with the right answers..."
online_wave a
sleep 5
echo "  60 rows after a bad deploy (wrong answers)..."
online_wave "'I am not sure'"
wait "$listener" || true
psql -X -v ON_ERROR_STOP=1 -d postgres <<'SQL'
\pset footer off
\echo
\echo 'Rows sampled and scored:'
SELECT status, count(*) AS rows FROM llmeval.online_items GROUP BY status ORDER BY status;
\echo 'online_summary(''support'', ''5 seconds''): the scores over time'
SELECT to_char(bucket_start, 'HH24:MI:SS') AS bucket, metric, n, round(mean::numeric, 3) AS mean,
       round(ci_low::numeric, 3) AS ci_low, round(ci_high::numeric, 3) AS ci_high,
       round(share_below::numeric, 2) AS share_below_level
FROM llmeval.online_summary('support', '5 seconds') ORDER BY bucket_start, metric;
\echo 'The alert (llmeval.events):'
SELECT kind, detail ->> 'metric' AS metric, round((detail ->> 'mean')::numeric, 3) AS last_hour_mean,
       detail ->> 'n' AS n, detail ->> 'alert_below' AS alert_below
FROM llmeval.events WHERE kind LIKE 'online_alert%' ORDER BY id;
SQL
echo "A listener on llmeval_online_alert heard:"
grep -o 'Asynchronous notification "llmeval_online_alert" with payload .*' "$listen_log" | sed 's/^/  /' || echo "  (nothing)"
rm -f "$listen_log"

# Two reviewers (a role each) work the rows the judge scored lowest, at once.
echo
echo "== Annotation queue: two reviewers label the rows the judge doubted =="
psql -X -q -v ON_ERROR_STOP=1 -d postgres <<'SQL' >/dev/null
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'reviewer_ana') THEN CREATE ROLE reviewer_ana IN ROLE llmeval_user; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'reviewer_ben') THEN CREATE ROLE reviewer_ben IN ROLE llmeval_user; END IF;
END $$;
SELECT llmeval.create_annotation_queue('support-review',
  '[{"key": "correct", "type": "boolean", "required": true},
    {"key": "issue", "type": "categorical", "categories": ["wrong fact", "evasive", "off topic"]}]',
  'Is the answer right? If not, what is wrong with it?');
SELECT llmeval.add_to_queue('support-review', (SELECT job_id FROM llmeval.online_rules WHERE name = 'support'),
                            '{"metric": "correctness", "below": 0.5, "limit": 12}');
SELECT llmeval.grant_annotation_queue('support-review', 'reviewer_ana');
SELECT llmeval.grant_annotation_queue('support-review', 'reviewer_ben');
SQL
work_queue() {  # ROLE: claim and label until the queue is empty for ROLE
  while :; do
    got=$(psql -X -At -q -v ON_ERROR_STOP=1 -d postgres -c "SET ROLE $1" \
      -c "SELECT c.item_id FROM llmeval.claim_annotation('support-review') c,
                 LATERAL llmeval.submit_annotation(c.item_id,
                   CASE WHEN c.output ILIKE '%not sure%' THEN '{\"correct\": false, \"issue\": \"evasive\"}'
                        ELSE '{\"correct\": true}' END::jsonb) s
          WHERE c.item_id IS NOT NULL")
    [ -z "$got" ] && return
  done
}
work_queue reviewer_ana &
ana=$!
work_queue reviewer_ben &
ben=$!
wait "$ana" "$ben"
psql -X -v ON_ERROR_STOP=1 -d postgres <<'SQL'
\pset footer off
\echo 'Who labelled what (each item once):'
SELECT reviewed_by, count(*) AS items, count(*) FILTER (WHERE labels ->> 'issue' = 'evasive') AS evasive
FROM llmeval.annotation_items GROUP BY reviewed_by ORDER BY reviewed_by;
\echo 'The labels as regression tests (promote_annotations):'
SELECT llmeval.promote_annotations('support-review', 'support-regressions') AS dataset_version_id \gset
SELECT d.name AS dataset, v.version, count(tc.*) AS test_cases,
       count(*) FILTER (WHERE tc.metadata -> 'labels' ->> 'correct' = 'false') AS labelled_wrong
FROM llmeval.datasets d JOIN llmeval.dataset_versions v ON v.dataset_id = d.id
JOIN llmeval.test_cases tc ON tc.dataset_version_id = v.id
WHERE v.id = :dataset_version_id GROUP BY d.name, v.version;
SQL
