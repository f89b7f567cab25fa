-- Regular-expression denial of service. JSON Schema patterns (pattern,
-- patternProperties) come from tenants and run on their outputs, also inside
-- the job workers' write-back. A backtracking engine takes time exponential
-- in the text for "^(a+)+$" on "aaa...a!" and never checks for interrupts:
-- std::regex held a backend 60 s past a 1 s statement_timeout at 31 a's,
-- doubling with each more. RE2 matches in linear time, so every statement
-- here must finish well within the timeout; a pattern RE2 cannot run
-- (backreferences, lookaround) is an error, not a silent pass.
BEGIN;
SELECT plan(11);
SET LOCAL statement_timeout = '2s';

SELECT is(llmeval.json_schema_valid('"' || repeat('a', 40) || '!"', '{"pattern": "^(a+)+$"}'), false,
          'nested quantifier on 40 a''s and a "!": no match, at once');
SELECT is(llmeval.json_schema_valid('"' || repeat('a', 40) || '"', '{"pattern": "^(a+)+$"}'), true,
          'nested quantifier on 40 a''s: match');
SELECT is(llmeval.json_schema_valid('"' || repeat('a', 5000) || '!"', '{"pattern": "^(a|aa)+$"}'),
          false, 'alternation under a quantifier on 5000 a''s and a "!"');
SELECT is(llmeval.json_schema_valid('{"' || repeat('a', 40) || '!": 1}',
                                    '{"patternProperties": {"^(a+)+$": false}}'),
          true, 'patternProperties: the same pattern on an object key');
SELECT is(llmeval.assert_output('"' || repeat('a', 40) || '!"',
                                '{"check": "json_schema", "argument": {"pattern": "^(a+)+$"}}'),
          false, 'an assertion metric of kind json_schema (the workers'' write-back)');

-- No length limit on the text any more: RE2 does not recurse per character.
SELECT is(llmeval.json_schema_valid('"' || repeat('ab', 500000) || '"', '{"pattern": "^(ab)*$"}'),
          true, 'a string of a million characters is matched');
-- Searched, not anchored, over code points.
SELECT is(llmeval.json_schema_valid('"Grüße"', '{"pattern": "^\\p{L}+$"}'), true,
          'Unicode letter class');

-- What RE2 cannot run is refused, when the schema is read.
SELECT throws_ok($$ SELECT llmeval.json_schema_valid('"aa"', '{"pattern": "^(a)\\1$"}') $$,
                 '22023', NULL, 'a backreference is an error');
SELECT throws_ok($$ SELECT llmeval.json_schema_valid('"ab"', '{"pattern": "a(?=b)"}') $$,
                 '22023', NULL, 'a lookahead is an error');
SELECT throws_ok($$ SELECT llmeval.json_schema_valid('{}', '{"patternProperties": {"(?<!x)y": true}}') $$,
                 '22023', NULL, 'a lookbehind in patternProperties is an error');
SELECT throws_ok($$ SELECT llmeval.create_assertion('regex_dos_backref', 'json_schema',
                                                     '{"pattern": "(a)\\1"}') $$,
                 '22023', NULL, 'create_assertion refuses a schema with a backreference');

SELECT * FROM finish();
ROLLBACK;
