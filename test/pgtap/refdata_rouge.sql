-- Every ROUGE reference case computed by Google's rouge-score (test/data),
-- for rouge1, rouge2, rouge3, rougeL and rougeLsum, with and without the
-- Porter stemmer, must match through SQL within 1e-12.
BEGIN;
SELECT plan(4);

SELECT is((SELECT count(*) FROM refcases WHERE metric = 'rouge'), 207::bigint,
          'all rouge cases are loaded');

CREATE TEMP VIEW rouge_results AS
SELECT c.id, v.variant, c.doc -> 'expected' -> v.variant AS expected,
       llmeval.rouge(c.doc ->> 'candidate', c.doc -> 'references' ->> 0, v.variant,
                     (c.doc -> 'params' ->> 'use_stemmer')::boolean) AS got
FROM refcases c,
     unnest(ARRAY['rouge1', 'rouge2', 'rouge3', 'rougeL', 'rougeLsum']) AS v(variant)
WHERE c.metric = 'rouge';

CREATE TEMP VIEW rouge_mismatches AS
SELECT * FROM rouge_results
WHERE NOT (abs((got).precision - (expected ->> 'precision')::float8) <= 1e-12
       AND abs((got).recall - (expected ->> 'recall')::float8) <= 1e-12
       AND abs((got).fmeasure - (expected ->> 'fmeasure')::float8) <= 1e-12);

SELECT is((SELECT count(*) FROM rouge_results), 207::bigint * 5, 'every case and variant scored');
SELECT is((SELECT count(*) FROM rouge_mismatches), 0::bigint,
          'rouge: precision, recall and fmeasure within 1e-12 of rouge-score');
SELECT diag('rouge mismatch in case ' || id || ' ' || variant || ': got ' || got::text ||
            ', expected ' || expected::text)
FROM rouge_mismatches LIMIT 10;

-- score_multi: adding a reference that shares no token keeps the best score.
SELECT is((SELECT count(*) FROM rouge_results r JOIN refcases c USING (id)
           WHERE llmeval.rouge(c.doc ->> 'candidate',
                               ARRAY[c.doc -> 'references' ->> 0, 'zzzz qqqq'], r.variant,
                               (c.doc -> 'params' ->> 'use_stemmer')::boolean)
                 IS DISTINCT FROM r.got),
          0::bigint, 'rouge with a text[] of references takes the best one');

SELECT * FROM finish();
ROLLBACK;
