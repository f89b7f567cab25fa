#!/usr/bin/env bash
# Tool calls through jobs, on the mock's OpenAI, Anthropic and Gemini APIs
# (test/mock_llm answers calls in each API's format and refuses malformed
# tools as the real APIs do): a prompt version carrying tools in OpenAI's
# canonical form, sent in each provider's own; the model's calls stored
# normalised in responses.tool_calls, the same for the three providers; an
# argument string that is not JSON kept with its parse error; the test
# cases' expected_tool_calls scored by tool_call_f1 and tool_call_accuracy.
# Needs the throwaway cluster (test/harness/with_cluster.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/harness/mock_llm.sh
. test/harness/tap.sh

as() { psql -X -At -v ON_ERROR_STOP=1 -U "$1" -d postgres -c "$2"; }
psql -X -q -v ON_ERROR_STOP=1 -d postgres >/dev/null <<SQL
DROP EXTENSION IF EXISTS pg_llmeval CASCADE;
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tc_alice') THEN CREATE ROLE tc_alice LOGIN; END IF;
END \$\$;
CREATE EXTENSION pg_llmeval;
GRANT llmeval_user TO tc_alice;
SELECT llmeval.create_provider('mock-openai', 'openai', '$mock_url/v1', 'LLMEVAL_MOCK_API_KEY');
SELECT llmeval.create_provider('mock-anthropic', 'anthropic', '$mock_url', 'LLMEVAL_MOCK_API_KEY');
SELECT llmeval.create_provider('mock-gemini', 'gemini', '$mock_url', 'LLMEVAL_MOCK_API_KEY');
SELECT llmeval.create_model('mock-openai/gpt-tools', 1, 2);
SELECT llmeval.create_model('mock-anthropic/claude-tools', 1, 2);
SELECT llmeval.create_model('mock-gemini/gemini-tools', 1, 2);
SQL
as tc_alice "SELECT llmeval.create_prompt('assistant', '{{question}}', 'You help with the weather.',
  '{\"tool_choice\": \"auto\", \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\",
     \"description\": \"Current weather in a city\",
     \"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}, \"required\": [\"city\"]}}}]}')" >/dev/null
as tc_alice "SELECT llmeval.import_dataset('weather', '[
  {\"input\": {\"question\": \"Weather in Paris? [[call=get_weather {\\\"city\\\": \\\"Paris\\\"}]]\"},
   \"expected_tool_calls\": [{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}]},
  {\"input\": {\"question\": \"Weather in Oslo? [[call=get_weather {\\\"city\\\": \\\"Oslo\\\"}]]\"},
   \"expected_tool_calls\": [{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Berlin\"}}]},
  {\"input\": {\"question\": \"Say hello.\"}, \"expected_tool_calls\": []},
  {\"input\": {\"question\": \"Weather in Rome? [[call=get_weather {\\\"city\\\": \\\"Rome\\\"}]] [[call=get_weather {\\\"city\\\": \\\"Milan\\\"}]]\"},
   \"expected_tool_calls\": [{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Rome\"}}]},
  {\"input\": {\"question\": \"Weather in Nice? [[call=get_weather {\\\"town\\\": \\\"Nice\\\"}]]\"},
   \"expected_tool_calls\": [{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Nice\"}}]}
]')" >/dev/null
expect "expected_tool_calls must be an array (22023)" \
  "$(psql -X -At -U tc_alice -d postgres -v VERBOSITY=verbose \
      -c "SELECT llmeval.import_dataset('bad', '[{\"input\": {}, \"expected_tool_calls\": {\"name\": \"x\"}}]')" 2>&1 |
     sed -n 's/^ERROR: *\([0-9A-Z]\{5\}\):.*/\1/p')" 22023

job=$(as tc_alice "SELECT llmeval.submit_job('assistant', 'weather',
  ARRAY['mock-openai/gpt-tools', 'mock-anthropic/claude-tools', 'mock-gemini/gemini-tools'],
  ARRAY['tool_call_f1', 'tool_call_accuracy', 'tool_call_valid'], '{\"cache\": false}')")
check "a job with tools on the three providers completes" "SELECT llmeval.wait_job($job, '60 s')" completed
check "each provider's calls are stored normalised, the same for the three" \
  "SELECT count(DISTINCT r.tool_calls) FILTER (WHERE tc.position = 1) || ' ' || count(*) FILTER (WHERE r.tool_calls IS NOT NULL)
   FROM llmeval.responses r JOIN llmeval.tasks t ON t.id = r.task_id JOIN llmeval.test_cases tc ON tc.id = t.test_case_id
   WHERE t.job_id = $job" "1 12"
check "as {name, arguments} with the arguments parsed" \
  "SELECT r.tool_calls FROM llmeval.responses r JOIN llmeval.tasks t ON t.id = r.task_id
   JOIN llmeval.test_cases tc ON tc.id = t.test_case_id JOIN llmeval.models m ON m.id = t.model_id
   WHERE t.job_id = $job AND tc.position = 1 AND m.name = 'mock-anthropic/claude-tools'" \
  '[{"name": "get_weather", "arguments": {"city": "Paris"}}]'
check "a text answer has no calls" \
  "SELECT count(*) FROM llmeval.responses r JOIN llmeval.tasks t ON t.id = r.task_id
   JOIN llmeval.test_cases tc ON tc.id = t.test_case_id WHERE t.job_id = $job AND tc.position = 3
   AND r.tool_calls IS NULL AND r.output <> ''" 3
check "tool_call_f1 by test case (each of the three providers alike): right, wrong city, no call expected and none made, one of two calls expected, a wrong argument name" \
  "SELECT string_agg(DISTINCT round(s.value::numeric, 3)::text, '/') FROM llmeval.scores s
   JOIN llmeval.test_cases tc ON tc.id = s.test_case_id
   WHERE s.job_id = $job AND s.metric = 'tool_call_f1' GROUP BY tc.position ORDER BY tc.position" \
  "$(printf '1.000\n0.000\n1.000\n0.667\n0.000')"
check "tool_call_accuracy: only the exact sequences" \
  "SELECT string_agg(s.value::text, ',' ORDER BY tc.position, s.model) FROM llmeval.scores s
   JOIN llmeval.test_cases tc ON tc.id = s.test_case_id
   WHERE s.job_id = $job AND s.metric = 'tool_call_accuracy' AND s.model = 'mock-openai/gpt-tools'" "1,0,1,0,0"
check "tool_call_valid: the share of calls that follow the tools' schemas; no calls, NULL" \
  "SELECT string_agg(coalesce(s.value::text, 'NULL'), ',' ORDER BY tc.position) FROM llmeval.scores s
   JOIN llmeval.test_cases tc ON tc.id = s.test_case_id
   WHERE s.job_id = $job AND s.metric = 'tool_call_valid' AND s.model = 'mock-anthropic/claude-tools'" "1,1,NULL,1,0"

# An argument string that is not JSON (OpenAI sends arguments as a string):
# kept with the parse error, and it matches nothing.
as tc_alice "SELECT llmeval.import_dataset('raw', '[
  {\"input\": {\"question\": \"Weather? [[call-raw=get_weather {\\\"city\\\": \\\"Par]]\"},
   \"expected_tool_calls\": [{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}]}]')" >/dev/null
raw_job=$(as tc_alice "SELECT llmeval.submit_job('assistant', 'raw', ARRAY['mock-openai/gpt-tools'],
  ARRAY['tool_call_f1'], '{\"cache\": false}')")
check "a reply of malformed arguments completes" "SELECT llmeval.wait_job($raw_job, '60 s')" completed
check "its arguments are kept as sent, with the parse error" \
  "SELECT r.tool_calls -> 0 ->> 'arguments' || ' | ' || (r.tool_calls -> 0 ->> 'parse_error')
   FROM llmeval.responses r JOIN llmeval.tasks t ON t.id = r.task_id WHERE t.job_id = $raw_job" \
  '{"city": "Par | the arguments are not JSON'
check "and score 0" "SELECT value FROM llmeval.scores WHERE job_id = $raw_job AND metric = 'tool_call_f1'" 0
expect "the mock returned the calls in each API's format" \
  "$(mock_stat "sorted(k for k, v in s['tools']['by_api'].items() if v)")" "['anthropic', 'gemini', 'openai']"
exit $status
