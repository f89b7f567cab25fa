-- Tool-call metrics (tool_call_f1, tool_call_scores, tool_call_accuracy,
-- tool_args_match, tool_call_valid, tool_call_errors): hand-computed cases,
-- the provider shapes, unparseable argument strings, NULLs, empty lists,
-- unicode, large inputs and bad input with SQLSTATEs.
BEGIN;
SELECT plan(56);

-- F1 over multisets: actual a, a, b against expected a, c matches one a:
-- P = 1/3, R = 1/2, F1 = 0.4.
SELECT is(llmeval.tool_call_f1('[{"name": "a"}, {"name": "a"}, {"name": "b"}]',
                               '[{"name": "a"}, {"name": "c"}]'), 0.4::float8, 'F1 = 0.4');
SELECT is(llmeval.tool_call_scores('[{"name": "a"}, {"name": "a"}, {"name": "b"}]',
                                   '[{"name": "a"}, {"name": "c"}]')::text,
          (1/3::float8, 0.5::float8, 0.4::float8)::text, 'precision, recall and F1');
SELECT is((llmeval.tool_call_scores('[{"name": "a"}]', '[{"name": "a"}, {"name": "b"}]')).recall,
          0.5::float8, 'recall alone');
SELECT is(llmeval.tool_call_f1('[]', '[]'), 1::float8, 'both empty: 1');
SELECT is(llmeval.tool_call_scores('[]', '[]')::text, '(1,1,1)', 'both empty: precision and recall 1');
SELECT is(llmeval.tool_call_f1('[{"name": "a"}]', '[]'), 0::float8, 'nothing expected, a call made: 0');
SELECT is(llmeval.tool_call_scores('[]', '[{"name": "a"}]')::text, '(0,0,0)', 'a call expected, none made: 0');

-- By name and arguments; OpenAI's string arguments are parsed; key order and
-- 1 vs 1.0 do not matter.
CREATE TEMP TABLE c AS SELECT
  '[{"id": "call_1", "type": "function",
     "function": {"name": "get_weather", "arguments": "{\"unit\": \"c\", \"city\": \"Paris\"}"}},
    {"name": "convert", "arguments": {"amount": 1.0, "to": "EUR"}}]'::jsonb AS actual,
  '[{"name": "convert", "arguments": {"to": "EUR", "amount": 1}},
    {"name": "get_weather", "arguments": {"city": "Paris", "unit": "f"}}]'::jsonb AS expected;
SELECT is(llmeval.tool_call_f1(actual, expected), 1::float8, 'by name: 1') FROM c;
SELECT is(llmeval.tool_call_f1(actual, expected, 'name_args'), 0.5::float8, 'by name and arguments: 0.5') FROM c;
SELECT is(llmeval.tool_call_f1(actual, expected, match => NULL), 1::float8, 'NULL match is the default') FROM c;

-- Anthropic and Gemini shapes.
SELECT is(llmeval.tool_call_f1(
            '[{"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"x": [1, 2]}},
              {"functionCall": {"name": "g", "args": {"y": null}}}]',
            '[{"name": "g", "arguments": {"y": null}}, {"name": "f", "arguments": {"x": [1, 2]}}]',
            'name_args'), 1::float8, 'Anthropic tool_use and Gemini functionCall shapes');

-- An argument string that is not JSON is kept and matches nothing by arguments.
SELECT is(llmeval.tool_call_f1('[{"function": {"name": "f", "arguments": "{\"x\": 1"}}]',
                               '[{"function": {"name": "f", "arguments": "{\"x\": 1"}}]', 'name_args'),
          0::float8, 'unparseable arguments match nothing by arguments');
SELECT is(llmeval.tool_call_f1('[{"function": {"name": "f", "arguments": "{\"x\": 1"}}]',
                               '[{"name": "f"}]'), 1::float8, 'but still match by name');

-- Accuracy: the same sequence, or (ordered => false) the same multiset.
SELECT is(llmeval.tool_call_accuracy('[{"name": "a"}, {"name": "b"}]', '[{"name": "a"}, {"name": "b"}]'),
          1::float8, 'same sequence: 1');
SELECT is(llmeval.tool_call_accuracy('[{"name": "a"}, {"name": "b"}]', '[{"name": "b"}, {"name": "a"}]'),
          0::float8, 'other order: 0');
SELECT is(llmeval.tool_call_accuracy('[{"name": "a"}, {"name": "b"}]', '[{"name": "b"}, {"name": "a"}]',
                                     ordered => false), 1::float8, 'other order, unordered: 1');
SELECT is(llmeval.tool_call_accuracy('[{"name": "a"}, {"name": "a"}]', '[{"name": "a"}]', false),
          0::float8, 'a call made twice is not a call made once');
SELECT is(llmeval.tool_call_accuracy(actual, expected, false), 0::float8, 'arguments count by default') FROM c;
SELECT is(llmeval.tool_call_accuracy(actual, expected, false, 'name'), 1::float8, 'unless match => name') FROM c;
SELECT is(llmeval.tool_call_accuracy('[]', '[]'), 1::float8, 'no call expected, none made: 1');
SELECT is(llmeval.tool_call_accuracy('[]', '[{"name": "a"}]'), 0::float8, 'a call missing: 0');
SELECT is(llmeval.tool_call_accuracy('[{"name": "a"}]', '[{"name": "a"}]', NULL), 1::float8, 'NULL ordered is the default');

-- Argument matching.
CREATE TEMP TABLE b AS SELECT
  '{"name": "book", "arguments": {"city": "Paris", "guests": {"adults": 2, "children": 0},
                                  "rooms": [{"beds": 2, "view": "sea"}], "request_id": "r-1"}}'::jsonb AS call;
SELECT ok(llmeval.tool_args_match(call, call), 'a call matches itself') FROM b;
SELECT ok(NOT llmeval.tool_args_match(call, jsonb_set(call, '{arguments,request_id}', '"r-2"')),
          'exact: another request_id differs') FROM b;
SELECT ok(llmeval.tool_args_match(call, jsonb_set(call, '{arguments,request_id}', '"r-2"'), ignore => '{request_id}'),
          'ignore drops a top-level key') FROM b;
SELECT ok(llmeval.tool_args_match(call, '{"name": "book", "arguments": {"guests": {"adults": 2}, "rooms": [{"view": "sea"}]}}', 'partial'),
          'partial: a recursive subset matches') FROM b;
SELECT ok(NOT llmeval.tool_args_match(call, '{"name": "book", "arguments": {"guests": {"adults": 2}}}'),
          'exact: a subset does not') FROM b;
SELECT ok(NOT llmeval.tool_args_match(call, '{"name": "book", "arguments": {"guests": {"adults": 3}}}', 'partial'),
          'partial: a different value does not') FROM b;
SELECT ok(NOT llmeval.tool_args_match(call, '{"name": "book", "arguments": {"rooms": []}}', 'partial'),
          'partial: arrays keep their length') FROM b;
SELECT ok(NOT llmeval.tool_args_match(call, '{"name": "cancel", "arguments": {}}', 'partial'),
          'another tool never matches') FROM b;
SELECT ok(NOT llmeval.tool_args_match('{"name": "book", "arguments": {}}', (SELECT call FROM b), 'partial'),
          'partial goes one way: the call must hold what is expected');
SELECT ok(llmeval.tool_args_match('{"name": "f", "arguments": {"q": "東京 🗼", "n": 1e2}}',
                                  '{"function": {"name": "f", "arguments": "{\"n\": 100, \"q\": \"東京 🗼\"}"}}'),
          'unicode arguments and 1e2 = 100');
SELECT is(llmeval.tool_args_match('{"name": "f"}', '{"name": "f"}', NULL, NULL), true, 'NULL mode and ignore are the defaults');

-- Validity against the tools' schemas.
CREATE TEMP TABLE t AS SELECT '[
  {"type": "function", "function": {"name": "get_weather", "description": "Current weather",
   "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"]}},
                  "required": ["city"], "additionalProperties": false}}},
  {"type": "function", "function": {"name": "now"}}
]'::jsonb AS tools;
SELECT ok(llmeval.tool_call_valid('{"name": "get_weather", "arguments": {"city": "Paris"}}', tools), 'a valid call') FROM t;
SELECT ok(llmeval.tool_call_valid('{"type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Oslo\", \"unit\": \"c\"}"}}', tools),
          'a valid call in OpenAI''s shape') FROM t;
SELECT ok(llmeval.tool_call_valid('{"name": "now", "arguments": {}}', tools), 'a tool without parameters') FROM t;
SELECT is(llmeval.tool_call_errors('{"name": "get_time", "arguments": {}}', tools), ARRAY['unknown tool "get_time"'],
          'an unknown tool') FROM t;
SELECT is(llmeval.tool_call_errors('{"name": "get_weather", "arguments": {"unit": "k"}}', tools),
          ARRAY['/: required property "city" is missing', '/unit: "k" is not one of ["c","f"]'],
          'arguments against the schema') FROM t;
SELECT is(llmeval.tool_call_errors('{"function": {"name": "get_weather", "arguments": "{city: Paris}"}}', tools)::text
          LIKE '{"arguments are not JSON: %', true, 'arguments that are not JSON') FROM t;
SELECT ok(NOT llmeval.tool_call_valid('{"name": "now", "arguments": {"tz": "UTC"}}', tools), 'no parameters means none') FROM t;
SELECT is(llmeval.tool_call_valid(NULL, tools), NULL, 'NULL call gives NULL') FROM t;

-- Large inputs: 20 000 calls each side.
CREATE TEMP TABLE many AS
SELECT jsonb_agg(jsonb_build_object('name', 'f' || (i % 100), 'arguments', jsonb_build_object('i', i)) ORDER BY i) AS a,
       jsonb_agg(jsonb_build_object('name', 'f' || (i % 100), 'arguments', jsonb_build_object('i', i)) ORDER BY -i) AS e
FROM generate_series(1, 20000) i;
SELECT is(llmeval.tool_call_f1(a, e, 'name_args'), 1::float8, 'F1 of 20 000 calls') FROM many;
SELECT is(llmeval.tool_call_accuracy(a, e, false), 1::float8, 'unordered accuracy of 20 000 calls') FROM many;

-- A 10 MB argument, and arguments nested past the limit (54000, not a crash).
SELECT ok(llmeval.tool_args_match(c, c) AND llmeval.tool_call_f1(jsonb_build_array(c), jsonb_build_array(c), 'name_args') = 1,
          'a call with a 10 MB argument')
FROM (SELECT jsonb_build_object('name', 'f', 'arguments', jsonb_build_object('text', repeat('abc ', 2500000))) AS c) s;
SELECT throws_ok($$ SELECT llmeval.tool_args_match(c, c)
                    FROM (SELECT ('{"name": "f", "arguments": {"a": ' || repeat('[', 300) || repeat(']', 300) || '}}')::jsonb AS c) s $$,
                 '54000', 'tool call arguments are nested too deeply', 'arguments 300 levels deep: 54000');
SELECT is(llmeval.tool_call_valid(('{"name": "f", "arguments": {"a": ' || repeat('[', 300) || repeat(']', 300) || '}}')::jsonb,
                                  '[{"name": "f", "parameters": {"type": "object"}}]'), false,
          'tool_call_valid reports arguments deeper than the validator goes as invalid');

-- NULLs and bad input.
SELECT is(llmeval.tool_call_f1(NULL, '[]'), NULL, 'NULL actual gives NULL');
SELECT throws_ok($$ SELECT llmeval.tool_call_f1('{"name": "a"}', '[]') $$, '22023',
                 'actual must be a JSON array of tool calls', 'a call list that is not an array: 22023');
SELECT throws_ok($$ SELECT llmeval.tool_call_f1('[{"name": "a"}, {"arguments": {}}]', '[]') $$, '22023',
                 'actual tool call 2 has no name', 'a call without a name: 22023');
SELECT throws_ok($$ SELECT llmeval.tool_call_f1('[]', '[]', 'names') $$, '22023',
                 'unknown tool call match "names"', 'an unknown match: 22023');
SELECT throws_ok($$ SELECT llmeval.tool_args_match('{"name": "a"}', '{"name": "a"}', 'fuzzy') $$, '22023',
                 'unknown arguments match mode "fuzzy"', 'an unknown mode: 22023');
SELECT throws_ok($$ SELECT llmeval.tool_args_match('{"name": "a"}', '{"name": "a"}', ignore => ARRAY[NULL]) $$, '22004',
                 'ignore must not contain NULL elements', 'NULL in ignore: 22004');
SELECT throws_ok($$ SELECT llmeval.tool_call_valid('{"name": "a"}', '[{"name": "a", "parameters": {"type": "thing"}}]') $$,
                 '22023', 'invalid parameters schema of tool "a"', 'an invalid schema: 22023');
SELECT throws_ok($$ SELECT llmeval.tool_call_valid('{"name": "a"}', '[{"name": "a"}, {"name": "a"}]') $$,
                 '22023', 'tool "a" is defined twice', 'a tool defined twice: 22023');

SELECT is((SELECT count(*)::int FROM pg_proc
           WHERE pronamespace = 'llmeval'::regnamespace
             AND proname IN ('tool_call_f1', 'tool_call_scores', 'tool_call_accuracy', 'tool_args_match',
                             'tool_call_errors', 'tool_call_valid')
             AND provolatile = 'i' AND proparallel = 's'), 6,
          'the tool-call metrics are IMMUTABLE and PARALLEL SAFE');
SELECT ok(has_function_privilege('llmeval_user', 'llmeval.tool_call_valid(jsonb, jsonb)', 'EXECUTE'),
          'tenants may call the tool-call metrics');

SELECT * FROM finish();
ROLLBACK;
