-- Every chrF, chrF++ and TER reference case computed by sacrebleu 2.6.0
-- (test/data), loaded into table refcases by the harness, must match through
-- SQL within 1e-9.
BEGIN;
SELECT plan(10);

SELECT is((SELECT count(*) FROM refcases WHERE metric = 'sentence_chrf'), 307::bigint,
          'all sentence_chrf cases are loaded');
SELECT is((SELECT count(*) FROM refcases WHERE metric = 'corpus_chrf'), 12::bigint,
          'all corpus_chrf cases are loaded');
SELECT is((SELECT count(*) FROM refcases WHERE metric = 'sentence_ter'), 94::bigint,
          'all sentence_ter cases are loaded');

CREATE TEMP VIEW sentence_chrf_results AS
SELECT c.id, (c.doc -> 'expected' ->> 'score')::float8 AS expected, llmeval.chrf(
         c.doc ->> 'candidate',
         ARRAY(SELECT jsonb_array_elements_text(c.doc -> 'references')),
         char_order => coalesce((c.doc -> 'params' ->> 'char_order')::int, 6),
         word_order => coalesce((c.doc -> 'params' ->> 'word_order')::int, 0),
         beta => coalesce((c.doc -> 'params' ->> 'beta')::int, 2),
         eps_smoothing => coalesce((c.doc -> 'params' ->> 'eps_smoothing')::boolean, false),
         remove_whitespace => coalesce((c.doc -> 'params' ->> 'remove_whitespace')::boolean, true)) AS got
FROM refcases c WHERE c.metric = 'sentence_chrf';

SELECT is((SELECT count(*) FROM sentence_chrf_results WHERE abs(got - expected) <= 1e-9),
          307::bigint, 'sentence_chrf: every case within 1e-9 of sacrebleu');
SELECT diag('sentence_chrf mismatch in case ' || id || ': got ' || got || ', expected ' || expected)
FROM sentence_chrf_results WHERE NOT abs(got - expected) <= 1e-9 LIMIT 10;

-- With one reference the text and text[] forms agree.
SELECT is((SELECT count(*) FROM refcases c
           WHERE c.metric = 'sentence_chrf' AND jsonb_array_length(c.doc -> 'references') = 1
             AND llmeval.chrf(c.doc ->> 'candidate', c.doc -> 'references' ->> 0,
                              word_order => coalesce((c.doc -> 'params' ->> 'word_order')::int, 0))
                 IS DISTINCT FROM llmeval.chrf(c.doc ->> 'candidate',
                              ARRAY[c.doc -> 'references' ->> 0],
                              word_order => coalesce((c.doc -> 'params' ->> 'word_order')::int, 0))),
          0::bigint, 'chrf: text and one-element text[] references agree');

CREATE TEMP VIEW corpus_chrf_results AS
SELECT c.id, (c.doc -> 'expected' ->> 'score')::float8 AS expected,
       llmeval.corpus_chrf(r.candidate, r.refs, c.doc -> 'params') AS got
FROM refcases c JOIN refcase_rows r USING (id)
WHERE c.metric = 'corpus_chrf'
GROUP BY c.id, c.doc;

SELECT is((SELECT count(*) FROM corpus_chrf_results WHERE abs(got - expected) <= 1e-9), 12::bigint,
          'corpus_chrf: every case within 1e-9 of sacrebleu');
SELECT diag('corpus_chrf mismatch in case ' || id || ': got ' || got || ', expected ' || expected)
FROM corpus_chrf_results WHERE NOT abs(got - expected) <= 1e-9;

CREATE TEMP VIEW sentence_ter_results AS
SELECT c.id, (c.doc -> 'expected' ->> 'score')::float8 AS expected,
       llmeval.ter(c.doc ->> 'candidate', ARRAY(SELECT jsonb_array_elements_text(c.doc -> 'references'))) AS got
FROM refcases c WHERE c.metric = 'sentence_ter';

SELECT is((SELECT count(*) FROM sentence_ter_results WHERE abs(got - expected) <= 1e-9),
          94::bigint, 'sentence_ter: every case within 1e-9 of sacrebleu');
SELECT diag('sentence_ter mismatch in case ' || id || ': got ' || got || ', expected ' || expected)
FROM sentence_ter_results WHERE NOT abs(got - expected) <= 1e-9 LIMIT 10;

-- Corpus forms through parallel workers give what a serial scan gives.
SET LOCAL parallel_setup_cost = 0;
SET LOCAL parallel_tuple_cost = 0;
SET LOCAL min_parallel_table_scan_size = 0;
SET LOCAL max_parallel_workers_per_gather = 2;
CREATE TABLE chrf_ter_rows AS
SELECT c.doc ->> 'candidate' AS candidate, c.doc -> 'references' ->> 0 AS reference
FROM refcases c WHERE c.metric IN ('sentence_chrf', 'sentence_ter');
ANALYZE chrf_ter_rows;
SELECT is((SELECT round(llmeval.corpus_chrf(candidate, reference, '{"word_order": 2}')::numeric, 9)
           FROM chrf_ter_rows),
          (SELECT round(llmeval.corpus_chrf(candidate, reference, '{"word_order": 2}')::numeric, 9)
           FROM (SELECT * FROM chrf_ter_rows ORDER BY random() OFFSET 0) serial_scan),
          'corpus_chrf is independent of row order and parallel plans');
SELECT is((SELECT round(llmeval.corpus_ter(candidate, reference)::numeric, 9) FROM chrf_ter_rows),
          (SELECT round(llmeval.corpus_ter(candidate, reference)::numeric, 9)
           FROM (SELECT * FROM chrf_ter_rows ORDER BY random() OFFSET 0) serial_scan),
          'corpus_ter is independent of row order and parallel plans');
-- corpus TER is total edits over total reference words: with one row it is sentence TER.
SELECT is((SELECT count(*) FROM sentence_ter_results r JOIN refcases c USING (id)
           WHERE jsonb_array_length(c.doc -> 'references') = 1
             AND abs((SELECT llmeval.corpus_ter(x.candidate, x.reference)
                      FROM (VALUES (c.doc ->> 'candidate', c.doc -> 'references' ->> 0))
                           AS x(candidate, reference))
                     - r.got) > 1e-9),
          0::bigint, 'corpus_ter over one row equals sentence ter');

SELECT * FROM finish();
ROLLBACK;
