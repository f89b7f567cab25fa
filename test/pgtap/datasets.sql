-- Datasets: JSON and CSV import, versions, immutability, export and the
-- round trip, and malformed input that leaves nothing behind.
BEGIN;
SELECT plan(27);

CREATE ROLE tap_dave IN ROLE llmeval_user;
GRANT ALL ON ALL TABLES IN SCHEMA pg_temp TO PUBLIC;
GRANT ALL ON ALL SEQUENCES IN SCHEMA pg_temp TO PUBLIC;
SET ROLE tap_dave;

-- JSON import
CREATE TEMP TABLE v1 AS SELECT llmeval.import_dataset('qa', $$[
  {"input": {"q": "2+2?", "n": 4, "nested": {"a": [1, null]}}, "expected": "4", "metadata": {"src": "x"}},
  {"input": {"q": "Où est Zürich? 日本語 🙂"}, "expected": "", "context": "line1\nline2"},
  {"input": {}}]$$) AS id;
SELECT is((SELECT (version, n_cases, source)::text FROM llmeval.dataset_versions WHERE id = (SELECT id FROM v1)),
          '(1,3,json)', 'version 1 with three cases');
SELECT is((SELECT array_agg(position ORDER BY position) FROM llmeval.test_cases WHERE dataset_version_id = (SELECT id FROM v1)),
          ARRAY[1, 2, 3], 'test cases keep their order');
SELECT is(llmeval.export_dataset('qa')::jsonb, $$[
  {"input": {"q": "2+2?", "n": 4, "nested": {"a": [1, null]}}, "expected": "4", "metadata": {"src": "x"}},
  {"input": {"q": "Où est Zürich? 日本語 🙂"}, "expected": "", "context": "line1\nline2"},
  {"input": {}}]$$::jsonb, 'JSON export gives back what was imported (nulls inside input kept)');
SELECT ok(llmeval.import_dataset('qa', llmeval.export_dataset('qa')::jsonb) > (SELECT id FROM v1),
          're-importing the export makes version 2');
SELECT is(llmeval.export_dataset('qa', 'json', 2), llmeval.export_dataset('qa', 'json', 1),
          'version 2 equals version 1: the JSON round trip is lossless');
SELECT is(llmeval.import_dataset('empty', '[]') > 0, true, 'an empty dataset can be stored');
SELECT is(llmeval.export_dataset('empty'), '[]', 'and exported');

-- Malformed JSON datasets: the case and the problem are named.
SELECT throws_ok($$ SELECT llmeval.import_dataset('bad', '{"input": {}}') $$, '22023',
                 'dataset "bad" must be a JSON array of test cases', 'not an array');
SELECT throws_ok($$ SELECT llmeval.import_dataset('bad', '[{"input": {}}, {"input": "x"}]') $$, '22023',
                 'invalid test case 2 in dataset "bad": "input" is not an object', 'input not an object');
SELECT throws_ok($$ SELECT llmeval.import_dataset('bad', '[{"expected": 4}]') $$, '22023',
                 'invalid test case 1 in dataset "bad": "expected" is not a string', 'expected not a string');
SELECT throws_ok($$ SELECT llmeval.import_dataset('bad', '[{"inputs": {}}]') $$, '22023',
                 'invalid test case 1 in dataset "bad": unknown key "inputs"', 'misspelt key');
SELECT throws_ok($$ SELECT llmeval.import_dataset('bad', '[1]') $$, '22023',
                 'invalid test case 1 in dataset "bad": it is not a JSON object', 'not an object');
SELECT throws_ok($$ SELECT llmeval.import_dataset('bad', '[{"input": {"q": "x"}}, {"input": {"n": [1, -1e400]}}]') $$, '22023',
                 'invalid test case 2 in dataset "bad": "input" holds a number beyond the range of a double (quote it as a string)',
                 'a number no double holds (it could never be rendered into a prompt)');
SELECT throws_ok($$ SELECT llmeval.render_prompt('{{n}}', '{"n": 1e400}') $$, '22023',
                 'the input holds a number beyond the range of a double', 'render_prompt refuses it too');
SELECT is((SELECT count(*) FROM llmeval.datasets WHERE name = 'bad'), 0::bigint, 'nothing was imported');

-- Versions are immutable.
SELECT throws_ok($$ UPDATE llmeval.test_cases SET expected = 'x' $$, '42501', NULL,
                 'tenants cannot update test cases');
RESET ROLE;
SELECT throws_ok($$ UPDATE llmeval.test_cases SET expected = 'x' $$, '23000', 'test cases are immutable',
                 'not even the owner can');
SET ROLE tap_dave;

-- CSV import: quoted commas, quotes, newlines, unicode, a header mapping
-- columns to fields, absent versus empty values.
CREATE TEMP TABLE c1 AS SELECT llmeval.import_dataset_csv('csvqa', E'question,topic,expected,context,metadata\r\n'
  '"Hello, world?",greeting,"He said ""hi""","line1\nline2","{""k"": 1}"\r\n'
  'Zürich 🙂,,"",,\r\n') AS id;
SELECT is(llmeval.export_dataset('csvqa')::jsonb, $$[
  {"input": {"question": "Hello, world?", "topic": "greeting"}, "expected": "He said \"hi\"",
   "context": "line1\nline2", "metadata": {"k": 1}},
  {"input": {"question": "Zürich 🙂"}, "expected": ""}]$$::jsonb,
  'CSV columns become input fields; expected, context and metadata are fields; "" is empty, nothing is absent');
SELECT is((SELECT source FROM llmeval.dataset_versions WHERE id = (SELECT id FROM c1)), 'csv', 'recorded as CSV');
SELECT is(split_part(llmeval.export_dataset('csvqa', 'csv'), E'\r\n', 1), 'question,topic,expected,context,metadata',
          'CSV export keeps the imported column order');
SELECT ok(llmeval.import_dataset_csv('csvqa', llmeval.export_dataset('csvqa', 'csv')) > 0, 'CSV re-import');
SELECT is(llmeval.export_dataset('csvqa', 'json', 2), llmeval.export_dataset('csvqa', 'json', 1),
          'the CSV round trip is lossless');

-- Malformed CSV: the line, the SQLSTATE of COPY, and nothing stored.
SELECT throws_like($$ SELECT llmeval.import_dataset_csv('badcsv', E'q,expected\na,b\n"unterminated,c\n') $$,
                   '%line 3%', 'an unterminated quote is reported at its line');
SELECT throws_ok($$ SELECT llmeval.import_dataset_csv('badcsv', E'q,expected\na,b,c\n') $$, '22P04', NULL,
                 'a row with too many fields');
SELECT throws_ok($$ SELECT llmeval.import_dataset_csv('badcsv', E'q,q\na,b\n') $$, '22P04', NULL,
                 'a repeated header');
SELECT throws_ok($$ SELECT llmeval.import_dataset_csv('badcsv', E'q,metadata\na,[1]\n') $$, '22P04', NULL,
                 'metadata that is not a JSON object');
SELECT is((SELECT count(*) FROM llmeval.datasets WHERE name = 'badcsv'), 0::bigint, 'nothing was imported');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
