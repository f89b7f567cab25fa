#!/usr/bin/env bash
# Conversations and retrieval through jobs, on the mock's OpenAI, Anthropic
# and Gemini APIs (the mock keeps no state between calls: every history it
# answers is one the engine sent, and it refuses malformed histories as the
# real APIs do):
#   - conversations run as a final turn (the scripted history sent in each
#     API's form, tool calls and results included) and replayed (each user
#     turn sent with the model's own earlier answers), per-turn expected
#     answers and scores, and a worker SIGKILLed between turns;
#   - the judges of whole conversations (conversation_completeness,
#     turn_relevancy), of retrieval (context_precision, context_recall) and
#     of tool use (task_completion), with the mock's deterministic verdicts;
#   - undefined judgements NULL with their reason, out of the means;
#   - what import and submit refuse.
# Needs the throwaway cluster (test/harness/with_cluster.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/harness/mock_llm.sh
. test/harness/tap.sh

as() { psql -X -At -v ON_ERROR_STOP=1 -U "$1" -d postgres -c "$2"; }
sqlstate() {  # ROLE SQL: the SQLSTATE of the error SQL raises
  psql -X -At -U "$1" -d postgres -v VERBOSITY=verbose -c "$2" 2>&1 |
    sed -n 's/^ERROR: *\([0-9A-Z]\{5\}\):.*/\1/p'
}
psql -X -q -v ON_ERROR_STOP=1 -d postgres >/dev/null <<SQL
DROP EXTENSION IF EXISTS pg_llmeval CASCADE;
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cv_alice') THEN CREATE ROLE cv_alice LOGIN; END IF;
END \$\$;
CREATE EXTENSION pg_llmeval;
GRANT llmeval_user TO cv_alice;
SELECT llmeval.create_provider('mock-openai', 'openai', '$mock_url/v1', 'LLMEVAL_MOCK_API_KEY');
SELECT llmeval.create_provider('mock-anthropic', 'anthropic', '$mock_url', 'LLMEVAL_MOCK_API_KEY');
SELECT llmeval.create_provider('mock-gemini', 'gemini', '$mock_url', 'LLMEVAL_MOCK_API_KEY');
SELECT llmeval.create_model('mock-openai/echo-chat', 1, 2);
SELECT llmeval.create_model('mock-anthropic/claude-echo', 1, 2);
SELECT llmeval.create_model('mock-gemini/gemini-echo', 1, 2);
SELECT llmeval.create_model('mock-openai/gpt-judge', 10, 30);
SQL
judge='"judge_model": "mock-openai/gpt-judge"'
all3="ARRAY['mock-openai/echo-chat', 'mock-anthropic/claude-echo', 'mock-gemini/gemini-echo']"

# The prompt's template is not used for conversations; its system prompt and
# parameters are (the tools: Anthropic refuses tool blocks without them).
as cv_alice "SELECT llmeval.create_prompt('chat', '{{question}}', 'You are terse.',
  '{\"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\",
     \"description\": \"Current weather in a city\",
     \"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}, \"required\": [\"city\"]}}}]}')" >/dev/null
as cv_alice "SELECT llmeval.import_dataset('chats', '[
  {\"messages\": [
     {\"role\": \"user\", \"content\": \"Hello there\", \"expected\": \"Hello there\"},
     {\"role\": \"assistant\", \"content\": \"Hi! How can I help you today with anything at all?\"},
     {\"role\": \"user\", \"content\": \"Tell me about Paris\"},
     {\"role\": \"assistant\", \"content\": \"Paris is the capital of France.\"},
     {\"role\": \"user\", \"content\": \"And Rome?\", \"expected\": \"And Rome?\"}],
   \"goal\": \"Learn about Paris and Rome\"},
  {\"messages\": [
     {\"role\": \"user\", \"content\": \"Weather in Paris?\"},
     {\"role\": \"assistant\", \"tool_calls\": [{\"id\": \"call_1\", \"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}]},
     {\"role\": \"tool\", \"tool_call_id\": \"call_1\", \"name\": \"get_weather\", \"content\": \"sunny and 20 degrees\"}]},
  {\"messages\": [{\"role\": \"user\", \"content\": \"Only once\"}], \"expected\": \"Only once\"}
]')" >/dev/null

# 1. What import and submit refuse.
expect "a message with an unknown role is refused (22023)" \
  "$(sqlstate cv_alice "SELECT llmeval.import_dataset('bad', '[{\"messages\": [{\"role\": \"robot\", \"content\": \"x\"}]}]')")" 22023
expect "a misspelt key is refused, not ignored" \
  "$(psql -X -At -U cv_alice -d postgres -c "SELECT llmeval.import_dataset('bad', '[{\"messages\": [{\"role\": \"user\", \"content\": \"x\", \"expectd\": \"y\"}]}]')" 2>&1 | sed -n 's/^ERROR: *//p')" \
  'invalid test case 1 in dataset "bad": "messages" must be a conversation: message 1: unknown key "expectd" for a user message'
expect "a conversation without a user turn is refused" \
  "$(sqlstate cv_alice "SELECT llmeval.import_dataset('bad', '[{\"messages\": [{\"role\": \"assistant\", \"content\": \"x\"}]}]')")" 22023
expect "tool call arguments that are not an object are refused" \
  "$(sqlstate cv_alice "SELECT llmeval.import_dataset('bad', '[{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}, {\"role\": \"assistant\", \"tool_calls\": [{\"name\": \"f\", \"arguments\": \"[1]\"}]}]}]')")" 22023
expect "a goal without a conversation is refused" \
  "$(sqlstate cv_alice "SELECT llmeval.import_dataset('bad', '[{\"input\": {}, \"goal\": \"x\"}]')")" 22023
expect "graded relevance must be numbers" \
  "$(sqlstate cv_alice "SELECT llmeval.import_dataset('bad', '[{\"contexts\": [\"a\"], \"relevant_ids\": {\"d1\": \"high\"}}]')")" 22023
expect "an unknown conversation mode is refused (22023)" \
  "$(sqlstate cv_alice "SELECT llmeval.submit_job('chat', 'chats', ARRAY['mock-openai/echo-chat'], '{}', '{\"conversation\": \"all\"}')")" 22023
expect "replaying conversations through provider batches is refused (0A000)" \
  "$(sqlstate cv_alice "SELECT llmeval.submit_job('chat', 'chats', ARRAY['mock-openai/echo-chat'], '{}', '{\"conversation\": \"replay\", \"execution\": \"batch\"}')")" 0A000
check "nothing was stored by the refusals" "SELECT count(*) FROM llmeval.datasets WHERE name = 'bad'" 0

# 2. Final turn: the scripted history is sent, the model answers the last turn.
final=$(as cv_alice "SELECT llmeval.submit_job('chat', 'chats', $all3,
  ARRAY['exact_match', 'conversation_completeness', 'turn_relevancy'],
  '{$judge, \"cache\": false, \"turn_window\": 3}')")
check "a final-turn job on the three providers completes" "SELECT llmeval.wait_job($final, '90 s')" completed
check "one call per conversation and model, answering the last user turn" \
  "SELECT string_agg(DISTINCT r.output, '|') FROM llmeval.results r WHERE r.job_id = $final AND r.position = 1" "And Rome?"
check "the whole scripted history went with it (the mock counts words: 2 + 11 + 4 + 6 + 2 against the 2 of a one-turn conversation)" \
  "SELECT max(input_tokens) FILTER (WHERE position = 1) - max(input_tokens) FILTER (WHERE position = 3)
   FROM llmeval.results WHERE job_id = $final AND model = 'mock-openai/echo-chat'" 23
check "a history ending with a tool's result is answered, on each provider" \
  "SELECT count(*) FILTER (WHERE r.status = 'completed' AND r.output <> '') FROM llmeval.results r
   WHERE r.job_id = $final AND r.position = 2" 3
check "the last turn's expected answer scores it" \
  "SELECT string_agg(s.value::text, ',' ORDER BY tc.position, s.model) FROM llmeval.scores s
   JOIN llmeval.test_cases tc ON tc.id = s.test_case_id
   WHERE s.job_id = $final AND s.metric = 'exact_match' AND s.model = 'mock-openai/echo-chat'" "1,1"
check "conversation_completeness: 3 of 4 intentions satisfied (the greeting is not; the goal, Rome, is)" \
  "SELECT round(value::numeric, 4) FROM llmeval.scores s JOIN llmeval.test_cases tc ON tc.id = s.test_case_id
   WHERE s.job_id = $final AND s.metric = 'conversation_completeness' AND tc.position = 1 AND s.model = 'mock-openai/echo-chat'" 0.7500
check "turn_relevancy: 2 of 3 assistant turns relevant to the 3 messages before them" \
  "SELECT round(value::numeric, 4) FROM llmeval.scores s JOIN llmeval.test_cases tc ON tc.id = s.test_case_id
   WHERE s.job_id = $final AND s.metric = 'turn_relevancy' AND tc.position = 1 AND s.model = 'mock-openai/echo-chat'" 0.6667
check_true "the judge's reason names what it judged no" \
  "(SELECT detail ->> 'reason' LIKE '3 of 4 yes; no: Hello there%' FROM llmeval.scores s
    JOIN llmeval.test_cases tc ON tc.id = s.test_case_id
    WHERE s.job_id = $final AND s.metric = 'conversation_completeness' AND tc.position = 1
      AND s.model = 'mock-openai/echo-chat')"
check_true "conversation_turns shows the final turn of each conversation" \
  "(SELECT count(*) = 9 AND count(*) FILTER (WHERE turn = 3) = 3 FROM llmeval.conversation_turns WHERE job_id = $final)"

# 3. Replay, with a worker SIGKILLed between turns: each user turn is sent
# with the model's own earlier answers, each turn answered once.
mock_config '{"latency_ms": 700}'
replay=$(as cv_alice "SELECT llmeval.submit_job('chat', 'chats', $all3, ARRAY['exact_match'],
  '{\"conversation\": \"replay\", \"cache\": false}')")
check "a replay starts at the first turn only" \
  "SELECT string_agg(kind || ':' || turn, ',' ORDER BY kind) FROM (SELECT DISTINCT kind, turn FROM llmeval.tasks WHERE job_id = $replay) t" \
  "generate:1,turn:1"
for _ in $(seq 200); do
  [ "$(q "SELECT count(*) FROM llmeval.tasks WHERE job_id = $replay AND turn = 2")" -gt 0 ] && break
  sleep 0.05
done
kill_worker
restart_immediate
mock_config '{"latency_ms": 0}'
check "after a worker killed between turns and a restart the replay completes" \
  "SELECT llmeval.wait_job($replay, '120 s')" completed
check "every turn of every conversation was answered, once" \
  "SELECT count(*) || ' ' || count(DISTINCT (test_case_id, model_id, turn)) || ' ' || count(*) FILTER (WHERE status = 'completed')
   FROM llmeval.tasks WHERE job_id = $replay" "15 15 15"
check "the model's answers, turn by turn" \
  "SELECT string_agg(output, '|' ORDER BY turn) FROM llmeval.conversation_turns
   WHERE job_id = $replay AND position = 1 AND model = 'mock-anthropic/claude-echo'" "Hello there|Tell me about Paris|And Rome?"
check "each turn sent the model's own earlier answers, not the scripted ones (input words +2+4, +4+2 over turn 1)" \
  "SELECT string_agg((x.i - x.f)::text, ',' ORDER BY x.turn) FROM (
     SELECT t.turn, r.input_tokens AS i, first_value(r.input_tokens) OVER (ORDER BY t.turn) AS f
     FROM llmeval.tasks t JOIN llmeval.responses r ON r.task_id = t.id
     JOIN llmeval.test_cases tc ON tc.id = t.test_case_id JOIN llmeval.models m ON m.id = t.model_id
     WHERE t.job_id = $replay AND tc.position = 1 AND m.name = 'mock-openai/echo-chat') x" "0,6,12"
check "per-turn scores against each turn's expected answer (stated, else the scripted reply)" \
  "SELECT string_agg(scores ->> 'exact_match', ',' ORDER BY turn) FROM llmeval.conversation_turns
   WHERE job_id = $replay AND position = 1 AND model = 'mock-gemini/gemini-echo'" "1,0,1"
check "the job's scores are the last turns' (conversations 1 and 3 expect something)" \
  "SELECT count(*) FROM llmeval.scores WHERE job_id = $replay AND metric = 'exact_match'" 6
check "a one-turn conversation is a generation at once" \
  "SELECT string_agg(DISTINCT t.kind || ':' || t.turn, ',') FROM llmeval.tasks t JOIN llmeval.test_cases tc ON tc.id = t.test_case_id
   WHERE t.job_id = $replay AND tc.position = 3" "generate:1"

# The response cache keys on the whole history: a replay run twice is
# answered from the cache the second time, turn by turn.
cached1=$(as cv_alice "SELECT llmeval.submit_job('chat', 'chats', ARRAY['mock-openai/echo-chat'], '{}', '{\"conversation\": \"replay\"}')")
check "a replay with the cache on completes" "SELECT llmeval.wait_job($cached1, '60 s')" completed
cached2=$(as cv_alice "SELECT llmeval.submit_job('chat', 'chats', ARRAY['mock-openai/echo-chat'], '{}', '{\"conversation\": \"replay\"}')")
check "the same replay again completes" "SELECT llmeval.wait_job($cached2, '60 s')" completed
check "answered from the cache, every turn (the key covers the history)" \
  "SELECT count(*) || ' ' || sum(r.cost)
   FROM llmeval.tasks t JOIN llmeval.responses r ON r.task_id = t.id WHERE t.job_id = $cached2" "5 0"

# A cancelled replay asks no more turns.
mock_config '{"latency_ms": 400}'
doomed=$(as cv_alice "SELECT llmeval.submit_job('chat', 'chats', ARRAY['mock-openai/echo-chat'], '{}',
  '{\"conversation\": \"replay\", \"cache\": false}')")
for _ in $(seq 200); do
  [ "$(q "SELECT count(*) FROM llmeval.tasks WHERE job_id = $doomed AND kind = 'turn' AND status = 'completed'")" -gt 0 ] && break
  sleep 0.05
done
as cv_alice "SELECT llmeval.cancel_job($doomed)" >/dev/null
sleep 1.5
mock_config '{"latency_ms": 0}'
check "a cancelled replay queued no turn after the cancel" \
  "SELECT count(*) FROM llmeval.tasks WHERE job_id = $doomed AND status IN ('pending', 'running')" 0

# A cancel_job racing a completing turn: the worker's write-back holds the
# turn's row, the cancel holds the job's and waits for that row. The
# write-back must not queue the next turn the cancel cannot see (it gives
# up on the job's row, 55P03, and tries again later). Driven by hand in a
# database the workers do not serve.
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS cv_race" -c "CREATE DATABASE cv_race"
psql -X -q -v ON_ERROR_STOP=1 -d cv_race >/dev/null <<SQL
CREATE EXTENSION pg_llmeval;
GRANT llmeval_user TO cv_alice;
SELECT llmeval.create_provider('p', 'openai', 'http://127.0.0.1:9/v1');
SELECT llmeval.create_model('p/m', 1, 2);
SET ROLE cv_alice;
SELECT llmeval.create_prompt('chat', '{{q}}');
SELECT llmeval.import_dataset('d', '[{"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"},
                                                    {"role": "user", "content": "c"}]}]');
SQL
race_job=$(psql -X -At -U cv_alice -d cv_race -c "SELECT llmeval.submit_job('chat', 'd', ARRAY['p/m'], '{}', '{\"conversation\": \"replay\"}')")
read -r race_task race_token < <(psql -X -At -F ' ' -d cv_race -c "SELECT task_id, claim_token FROM llmeval._claim_tasks(10, 600)")
race_out=$(mktemp)
psql -X -At -d cv_race > "$race_out" 2>&1 <<SQL &
BEGIN;
SET LOCAL llmeval.defer_job_counters = on;
SET LOCAL llmeval.job_lock_wait_ms = 100;
SELECT count(*) FROM unnest(llmeval._lock_claims(ARRAY[$race_task]::bigint[], ARRAY['$race_token']::uuid[]));
SELECT pg_sleep(2);
SELECT llmeval._complete_tasks(ARRAY[$race_task]::bigint[], ARRAY['$race_token']::uuid[], ARRAY['ans1'],
  ARRAY[10::float8], ARRAY[5], ARRAY[5], ARRAY[false], ARRAY[NULL::bytea], '{}', '{}', '{}');
COMMIT;
SQL
writer=$!
sleep 0.7
psql -X -At -U cv_alice -d cv_race -c "SELECT llmeval.cancel_job($race_job)" >/dev/null
wait "$writer" || true
expect "the write-back gave up on the job's row the cancel held" \
  "$(grep -c "a job's row is held by another transaction" "$race_out")" 1
rm -f "$race_out"
expect "no turn was queued behind the cancel" \
  "$(psql -X -At -d cv_race -c "SELECT string_agg(kind || ':' || turn || ':' || status, ',') FROM llmeval.tasks WHERE job_id = $race_job")" \
  "turn:1:cancelled"
psql -X -q -d postgres -c "DROP DATABASE cv_race" >/dev/null

# 4. Retrieval: the judges of retrieved chunks, and the ranking metrics.
as cv_alice "SELECT llmeval.import_dataset('docs', '[
  {\"input\": {\"question\": \"What is the capital of France?\"}, \"expected\": \"Paris is the capital of France.\",
   \"contexts\": [{\"id\": \"d1\", \"text\": \"Berlin has many museums and parks.\"},
                  {\"id\": \"d2\", \"text\": \"Paris is the capital of France and its largest city.\"}],
   \"relevant_ids\": {\"d2\": 2, \"d1\": 0}},
  {\"input\": {\"question\": \"Tell me about Paris.\"}, \"expected\": \"Paris is in France. It has the Louvre museum.\",
   \"contexts\": [\"Paris is a city in France.\"]},
  {\"input\": {\"question\": \"Anything?\"}, \"expected\": \"Nothing retrieved.\"},
  {\"input\": {\"question\": \"Empty reference?\"}, \"expected\": \"\", \"contexts\": [\"Some chunk.\"]}
]')" >/dev/null
rag=$(as cv_alice "SELECT llmeval.submit_job('chat', 'docs', ARRAY['mock-openai/echo-chat'],
  ARRAY['context_precision', 'context_recall', 'faithfulness'], '{$judge}')")
check "a retrieval job completes" "SELECT llmeval.wait_job($rag, '60 s')" completed
check "context_precision: the useful chunk ranked second (0.5), none useful (0), no chunk (NULL)" \
  "SELECT string_agg(coalesce(round(s.value::numeric, 4)::text, 'NULL'), ',' ORDER BY tc.position) FROM llmeval.scores s
   JOIN llmeval.test_cases tc ON tc.id = s.test_case_id WHERE s.job_id = $rag AND s.metric = 'context_precision'
     AND tc.position <= 3" "0.5000,0.0000,NULL"
check "context_recall: all statements supported (1), one of two (0.5), no chunk (NULL), no statement (NULL)" \
  "SELECT string_agg(coalesce(round(s.value::numeric, 4)::text, 'NULL'), ',' ORDER BY tc.position) FROM llmeval.scores s
   JOIN llmeval.test_cases tc ON tc.id = s.test_case_id WHERE s.job_id = $rag AND s.metric = 'context_recall'" \
  "1.0000,0.5000,NULL,NULL"
check "undefined is said, not counted as a failure" \
  "SELECT s.detail ->> 'error' || ' / ' || (s2.detail ->> 'reason' LIKE 'undefined:%') || ' ' || coalesce(s2.detail ->> 'failed', '0')
   FROM llmeval.scores s JOIN llmeval.test_cases tc ON tc.id = s.test_case_id
   JOIN llmeval.scores s2 ON s2.job_id = s.job_id AND s2.metric = 'context_recall'
   JOIN llmeval.test_cases tc2 ON tc2.id = s2.test_case_id AND tc2.position = 4
   WHERE s.job_id = $rag AND s.metric = 'context_recall' AND tc.position = 3" \
  "no retrieved chunk: context_recall needs the test case's contexts / true 0"
check "the mean leaves the undefined out" \
  "SELECT round(avg(value)::numeric, 4) FROM llmeval.scores WHERE job_id = $rag AND metric = 'context_recall'" 0.7500
check "faithfulness reads the retrieved chunks when there is no context" \
  "SELECT count(*) FROM llmeval.scores s JOIN llmeval.test_cases tc ON tc.id = s.test_case_id
   WHERE s.job_id = $rag AND s.metric = 'faithfulness' AND tc.position IN (1, 2) AND s.value IS NOT NULL" 2
check "ranking metrics over the chunks' ids: precision@2, reciprocal rank, nDCG@2" \
  "SELECT llmeval.precision_at_k(llmeval.context_ids(contexts), llmeval.relevant_id_list(relevant_ids), 2) || ' ' ||
          llmeval.reciprocal_rank(llmeval.context_ids(contexts), llmeval.relevant_id_list(relevant_ids)) || ' ' ||
          round(llmeval.ndcg_at_k(llmeval.context_ids(contexts), relevant_ids, 2)::numeric, 4)
   FROM llmeval.test_cases tc JOIN llmeval.dataset_versions v ON v.id = tc.dataset_version_id
   JOIN llmeval.datasets d ON d.id = v.dataset_id WHERE d.name = 'docs' AND tc.position = 1" "0.5 0.5 0.6309"
expect "the new fields survive export and import" \
  "$(as cv_alice "SELECT (llmeval.export_dataset('docs')::jsonb -> 0) ?& ARRAY['contexts', 'relevant_ids']
      AND (llmeval.export_dataset('chats')::jsonb -> 0 -> 'messages' -> 0 ->> 'expected') = 'Hello there'")" t

# The same fields from CSV: JSON in the cells, the goal as text.
expect "a CSV of conversations and chunks imports" \
  "$(as cv_alice "SELECT llmeval.import_dataset_csv('csv-chats', \$csv\$question,messages,goal,contexts,relevant_ids,expected_tool_calls
q,\"[{\"\"role\"\": \"\"user\"\", \"\"content\"\": \"\"Hi\"\"}]\",Say hi back,\"[{\"\"id\"\": \"\"d1\"\", \"\"text\"\": \"\"a\"\"}]\",\"{\"\"d1\"\": 1}\",[]
\$csv\$) > 0")" t
check "its fields are the test case's" \
  "SELECT tc.messages -> 0 ->> 'content' || ' | ' || tc.goal || ' | ' || (tc.contexts -> 0 ->> 'id') || ' | ' || tc.relevant_ids::text
          || ' | ' || tc.expected_tool_calls::text || ' | ' || tc.input::text
   FROM llmeval.test_cases tc JOIN llmeval.dataset_versions v ON v.id = tc.dataset_version_id
   JOIN llmeval.datasets d ON d.id = v.dataset_id WHERE d.name = 'csv-chats'" 'Hi | Say hi back | d1 | {"d1": 1} | [] | {"question": "q"}'
expect "and export back to the same CSV" \
  "$(as cv_alice "SELECT llmeval.export_dataset('csv-chats', 'csv') LIKE 'question,messages,goal,contexts,relevant_ids,expected_tool_calls%'")" t

# 5. task_completion reads the model's tool calls.
as cv_alice "SELECT llmeval.import_dataset('errands', '[
  {\"input\": {\"question\": \"Weather in Oslo? [[call=get_weather {\\\"city\\\": \\\"Oslo\\\"}]]\"}},
  {\"input\": {\"question\": \"Say hello.\"}}]')" >/dev/null
errands=$(as cv_alice "SELECT llmeval.submit_job('chat', 'errands', ARRAY['mock-openai/echo-chat', 'mock-anthropic/claude-echo'],
  ARRAY['task_completion'], '{$judge}')")
check "a task_completion job completes" "SELECT llmeval.wait_job($errands, '60 s')" completed
check "every output is judged, a reply of calls alone too" \
  "SELECT count(*) FILTER (WHERE value BETWEEN 0 AND 1) FROM llmeval.scores WHERE job_id = $errands AND metric = 'task_completion'" 4
expect "the mock judged verdict prompts" "$(mock_stat "s['judge']['verdicts'] > 0")" True
exit $status
