-- Every BLEU reference case computed by sacrebleu 2.6.0 (test/data), loaded
-- into table refcases by the harness, must match through SQL within 1e-9.
BEGIN;
SELECT plan(6);

SELECT is((SELECT count(*) FROM refcases WHERE metric = 'sentence_bleu'), 673::bigint,
          'all sentence_bleu cases are loaded');
SELECT is((SELECT count(*) FROM refcases WHERE metric = 'corpus_bleu'), 26::bigint,
          'all corpus_bleu cases are loaded');

CREATE TEMP VIEW sentence_bleu_results AS
SELECT c.id, c.doc, llmeval.bleu(
         c.doc ->> 'candidate',
         ARRAY(SELECT jsonb_array_elements_text(c.doc -> 'references')),
         tokenize => coalesce(c.doc -> 'params' ->> 'tokenize', '13a'),
         smooth_method => coalesce(c.doc -> 'params' ->> 'smooth_method', 'exp'),
         smooth_value => (c.doc -> 'params' ->> 'smooth_value')::float8,
         lowercase => coalesce((c.doc -> 'params' ->> 'lowercase')::boolean, false),
         use_effective_order => coalesce((c.doc -> 'params' ->> 'use_effective_order')::boolean, true),
         max_ngram_order => coalesce((c.doc -> 'params' ->> 'max_ngram_order')::int, 4)) AS got
FROM refcases c WHERE c.metric = 'sentence_bleu';

SELECT is((SELECT count(*) FROM sentence_bleu_results
           WHERE abs(got - (doc -> 'expected' ->> 'score')::float8) <= 1e-9), 673::bigint,
          'sentence_bleu: every case within 1e-9 of sacrebleu');
SELECT diag('sentence_bleu mismatch in case ' || id || ': got ' || got || ', expected ' ||
            (doc -> 'expected' ->> 'score'))
FROM sentence_bleu_results
WHERE abs(got - (doc -> 'expected' ->> 'score')::float8) > 1e-9 LIMIT 10;

-- corpus_bleu: the aggregate over the case's rows (refcase_rows: one per
-- candidate, its references taken from each stream, "" included), with the
-- case's params as the options argument; compare the whole detail.
CREATE TEMP VIEW corpus_bleu_results AS
SELECT c.id, c.doc, llmeval.corpus_bleu_stats(r.candidate, r.refs, c.doc -> 'params') AS got
FROM refcases c JOIN refcase_rows r USING (id)
WHERE c.metric = 'corpus_bleu'
GROUP BY c.id, c.doc;

CREATE TEMP VIEW corpus_bleu_mismatches AS
SELECT id, got, doc -> 'expected' AS expected FROM corpus_bleu_results
WHERE abs((got ->> 'score')::float8 - (doc -> 'expected' ->> 'score')::float8) > 1e-9
   OR abs((got ->> 'bp')::float8 - (doc -> 'expected' ->> 'bp')::float8) > 1e-9
   OR (got ->> 'sys_len')::bigint <> (doc -> 'expected' ->> 'sys_len')::bigint
   OR (got ->> 'ref_len')::bigint <> (doc -> 'expected' ->> 'ref_len')::bigint
   OR jsonb_array_length(got -> 'precisions') <> jsonb_array_length(doc -> 'expected' -> 'precisions')
   OR EXISTS (SELECT 1 FROM generate_series(0, jsonb_array_length(got -> 'precisions') - 1) k
              WHERE abs((got -> 'precisions' ->> k)::float8
                        - (doc -> 'expected' -> 'precisions' ->> k)::float8) > 1e-9)
   OR got -> 'counts' <> doc -> 'expected' -> 'counts'
   OR got -> 'totals' <> doc -> 'expected' -> 'totals';

SELECT is((SELECT count(*) FROM corpus_bleu_results), 26::bigint, 'corpus_bleu: every case scored');
SELECT is((SELECT count(*) FROM corpus_bleu_mismatches), 0::bigint,
          'corpus_bleu: score, bp, precisions, counts, totals and lengths match sacrebleu');
SELECT diag('corpus_bleu mismatch in case ' || id || ': got ' || got || ', expected ' || expected)
FROM corpus_bleu_mismatches LIMIT 10;

-- The same corpus through parallel workers gives the same statistics.
SET LOCAL parallel_setup_cost = 0;
SET LOCAL parallel_tuple_cost = 0;
SET LOCAL min_parallel_table_scan_size = 0;
SET LOCAL max_parallel_workers_per_gather = 2;
CREATE TEMP TABLE corpus_rows AS
SELECT candidate, candidate || ' extra words' AS reference
FROM refcase_rows JOIN refcases c USING (id)
WHERE c.metric = 'corpus_bleu';
ANALYZE corpus_rows;
SELECT is((SELECT llmeval.corpus_bleu_stats(candidate, reference, '{}') FROM corpus_rows),
          (SELECT llmeval.corpus_bleu_stats(candidate, reference, '{}')
           FROM (SELECT * FROM corpus_rows ORDER BY random() OFFSET 0) shuffled),
          'corpus_bleu is independent of row order and parallel plans');

SELECT * FROM finish();
ROLLBACK;
