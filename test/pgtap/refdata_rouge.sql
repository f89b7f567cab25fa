-- Every ROUGE reference case computed by Google's rouge-score (test/data),
-- for each variant it gives (rouge1, rouge2, rougeL, rougeLsum), with and without the
-- Porter stemmer, must match through SQL within 1e-12.
BEGIN;
SELECT plan(17);

SELECT is((SELECT count(*) FROM refcases WHERE metric = 'rouge'), 332::bigint,
          'all rouge cases are loaded');

CREATE TEMP VIEW rouge_results AS
SELECT c.id, v.variant, c.doc -> 'expected' -> v.variant AS expected,
       llmeval.rouge(c.doc ->> 'candidate', c.doc -> 'references' ->> 0, v.variant,
                     (c.doc -> 'params' ->> 'use_stemmer')::boolean) AS got
FROM refcases c, jsonb_object_keys(c.doc -> 'expected') AS v(variant)
WHERE c.metric = 'rouge';

CREATE TEMP VIEW rouge_mismatches AS
SELECT * FROM rouge_results
WHERE NOT (abs((got).precision - (expected ->> 'precision')::float8) <= 1e-12
       AND abs((got).recall - (expected ->> 'recall')::float8) <= 1e-12
       AND abs((got).fmeasure - (expected ->> 'fmeasure')::float8) <= 1e-12);

SELECT is((SELECT count(*) FROM rouge_results), 332::bigint * 4, 'every case and variant scored');
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

-- Several variants in one call (one tokenisation): a row per variant, in the
-- order given, equal to the single-variant calls for every case.
CREATE TEMP VIEW rouge_variant_rows AS
SELECT c.id, r.variant, r.precision, r.recall, r.fmeasure, r.ord
FROM refcases c,
     LATERAL (SELECT v.*, row_number() OVER () AS ord
              FROM llmeval.rouge(c.doc ->> 'candidate', c.doc -> 'references' ->> 0,
                                 variants => ARRAY['rougeLsum', 'rouge1', 'rougeL', 'rouge2'],
                                 use_stemmer => (c.doc -> 'params' ->> 'use_stemmer')::boolean) v) r
WHERE c.metric = 'rouge';
SELECT is((SELECT count(*) FROM rouge_variant_rows), 332::bigint * 4, 'variants: a row per case and variant');
SELECT is((SELECT count(*) FROM rouge_variant_rows v JOIN rouge_results r USING (id, variant)
           WHERE (v.precision, v.recall, v.fmeasure) IS DISTINCT FROM
                 ((r.got).precision, (r.got).recall, (r.got).fmeasure)),
          0::bigint, 'variants: every row equals the single-variant call');
SELECT is((SELECT array_agg(variant ORDER BY ord) FROM rouge_variant_rows WHERE id = (SELECT min(id) FROM rouge_variant_rows)),
          ARRAY['rougeLsum', 'rouge1', 'rougeL', 'rouge2'], 'variants: rows in the order given');
-- With several references, each variant takes its own best reference.
SELECT is((SELECT count(*) FROM refcases c, unnest(ARRAY['rouge1', 'rouge2', 'rougeL', 'rougeLsum']) AS v(name)
           WHERE c.metric = 'rouge'
             AND (SELECT row(x.precision, x.recall, x.fmeasure)::llmeval.rouge_score
                  FROM llmeval.rouge(c.doc ->> 'candidate', ARRAY[c.doc -> 'references' ->> 0, 'the a of'],
                                     variants => ARRAY['rouge1', 'rouge2', 'rougeL', 'rougeLsum']) x
                  WHERE x.variant = v.name)
                 IS DISTINCT FROM llmeval.rouge(c.doc ->> 'candidate',
                                                ARRAY[c.doc -> 'references' ->> 0, 'the a of'], v.name)),
          0::bigint, 'variants with text[] references: per variant the best reference');
SELECT is((SELECT count(*) FROM llmeval.rouge(NULL, 'a b', variants => ARRAY['rouge1'])), 0::bigint,
          'variants: a NULL candidate gives no row');
SELECT throws_ok($$ SELECT * FROM llmeval.rouge('a', 'b', variants => NULL::text[]) $$, '22023',
                 'variants must not be NULL', 'variants: NULL is 22023');
SELECT throws_ok($$ SELECT * FROM llmeval.rouge('a', 'b', variants => ARRAY[]::text[]) $$, '22023',
                 'variants must not be empty', 'variants: an empty array is 22023');
SELECT throws_ok($$ SELECT * FROM llmeval.rouge('a', 'b', variants => ARRAY['rouge1', 'rougeX']) $$,
                 '22023', 'unknown rouge variant "rougeX"', 'variants: an unknown variant is 22023');
SELECT throws_ok($$ SELECT * FROM llmeval.rouge('a', 'b', variants => ARRAY['rouge1', NULL]) $$,
                 '22004', NULL, 'variants: a NULL element is 22004');

-- rouge_scores: the same scores as one array, in the order of variants.
SELECT is((SELECT count(*) FROM rouge_variant_rows v JOIN refcases c USING (id)
           WHERE row(v.precision, v.recall, v.fmeasure)::llmeval.rouge_score IS DISTINCT FROM
                 (llmeval.rouge_scores(c.doc ->> 'candidate', c.doc -> 'references' ->> 0,
                                       ARRAY['rougeLsum', 'rouge1', 'rougeL', 'rouge2'],
                                       (c.doc -> 'params' ->> 'use_stemmer')::boolean))[v.ord]),
          0::bigint, 'rouge_scores: element i is the i-th variant''s row');
SELECT is((SELECT count(*) FROM refcases c
           WHERE c.metric = 'rouge'
             AND llmeval.rouge_scores(c.doc ->> 'candidate', ARRAY[c.doc -> 'references' ->> 0, 'the a of'],
                                      ARRAY['rouge2', 'rougeL'])
                 IS DISTINCT FROM ARRAY[llmeval.rouge(c.doc ->> 'candidate',
                                                      ARRAY[c.doc -> 'references' ->> 0, 'the a of'], 'rouge2'),
                                        llmeval.rouge(c.doc ->> 'candidate',
                                                      ARRAY[c.doc -> 'references' ->> 0, 'the a of'], 'rougeL')]),
          0::bigint, 'rouge_scores with text[] references: per variant the best reference');
SELECT is(llmeval.rouge_scores(NULL, 'a', ARRAY['rouge1']), NULL, 'rouge_scores: NULL candidate gives NULL');
SELECT throws_ok($$ SELECT llmeval.rouge_scores('a', 'b', ARRAY[]::text[]) $$, '22023',
                 'variants must not be empty', 'rouge_scores: an empty array is 22023');

SELECT * FROM finish();
ROLLBACK;
