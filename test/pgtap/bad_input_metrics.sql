-- Bad input for chrF, TER, ROUGE and the similarities: 10 MB texts either
-- work or fail with 54000 (program_limit_exceeded) at once, never a crash;
-- every bad argument has its SQLSTATE; NULLs follow the documented rules.
BEGIN;
SELECT plan(33);

CREATE TEMP TABLE huge AS
SELECT repeat('the quick brown fox jumps over the lazy dog. ', 233017) AS t,  -- ~10.5 MB
       repeat('lazy dog the over jumps fox brown quick the. ', 233017) AS u;

-- Linear metrics score 10 MB texts.
SELECT is(round(llmeval.chrf(t, t)::numeric, 6), 100.000000, 'chrf on two 10 MB texts') FROM huge;
SELECT ok(llmeval.chrf(t, 'the quick brown fox', word_order => 2) < 50,
          'chrF++ of a 10 MB candidate against a short reference') FROM huge;
SELECT is(round((llmeval.rouge(t, t, 'rouge1')).fmeasure::numeric, 9), 1.000000000,
          'rouge1 on two 10 MB texts') FROM huge;
SELECT is(round((llmeval.rouge(t, t, 'rouge2', true)).fmeasure::numeric, 9), 1.000000000,
          'rouge2 with the stemmer on two 10 MB texts') FROM huge;
SELECT ok(llmeval.exact_match(t, t) AND llmeval.token_f1(t, t) = 1, 'exact_match and token_f1 on 10 MB')
FROM huge;
SELECT is(llmeval.levenshtein_ratio(t, t), 1::float8, 'levenshtein_ratio of two equal 10 MB texts')
FROM huge;

-- Quadratic metrics refuse what would take minutes, with 54000.
SELECT throws_ok($$ SELECT llmeval.rouge(t, u, 'rougeL') FROM huge $$, '54000', NULL,
                 'rougeL of two different 10 MB texts: program_limit_exceeded');
SELECT throws_ok($$ SELECT llmeval.rouge(replace(t, '. ', E'.\n'), replace(u, '. ', E'.\n'),
                                         'rougeLsum') FROM huge $$, '54000', NULL,
                 'rougeLsum of two different 10 MB texts: program_limit_exceeded');
-- Common leading and trailing tokens are in every LCS: only the middle costs.
SELECT ok((llmeval.rouge(t, t || ' x', 'rougeL')).precision = 1,
          'rougeL of two 10 MB texts differing at the end') FROM huge;
SELECT throws_ok($$ SELECT llmeval.ter(t, t) FROM huge $$, '54000', NULL,
                 'ter of two 10 MB texts: program_limit_exceeded');
SELECT throws_ok($$ SELECT llmeval.levenshtein_ratio(t, 'x' || t || 'y') FROM huge $$, '54000', NULL,
                 'levenshtein_ratio of two different 10 MB texts: program_limit_exceeded');
SELECT is(llmeval.chrf('still', 'usable'), llmeval.chrf('still', 'usable'),
          'the session is usable after the limits');

-- Options and shapes.
SELECT throws_ok($$ SELECT llmeval.chrf('a', 'b', char_order => 33) $$, '22023', NULL,
                 'char_order out of range');
SELECT throws_ok($$ SELECT llmeval.chrf('a', 'b', beta => -1) $$, '22023', NULL, 'negative beta');
SELECT throws_ok($$ SELECT llmeval.chrf('a', 'b', char_order => 0, word_order => 0) $$, '22023',
                 NULL, 'no n-gram order at all');
SELECT throws_ok($$ SELECT llmeval.chrf('a', ARRAY['b', NULL]) $$, '22004', NULL,
                 'chrf: NULL element in references');
SELECT throws_ok($$ SELECT llmeval.chrf('a', ARRAY[]::text[]) $$, '22023', NULL,
                 'chrf: no reference');
SELECT throws_ok($$ SELECT llmeval.corpus_chrf('a', 'b', '{"char_order": "6"}') $$, '22023', NULL,
                 'corpus_chrf: option of the wrong type');
SELECT throws_ok($$ SELECT llmeval.corpus_chrf('a', 'b', '{"word_order": 2.5}') $$, '22023', NULL,
                 'corpus_chrf: non-integer order');
SELECT throws_ok($$ SELECT llmeval.corpus_ter('a', 'b', '{"lowercase": true}') $$, '22023',
                 'unknown TER option "lowercase"', 'corpus_ter: unknown option');
SELECT throws_ok($$ SELECT llmeval.ter('a', ARRAY[['b'], ['c']]) $$, '2202E', NULL,
                 'ter: two-dimensional references');
SELECT throws_ok($$ SELECT llmeval.rouge('a', 'b', 'rouge0') $$, '22023', NULL, 'rouge0');
SELECT throws_ok($$ SELECT llmeval.rouge('a', 'b', 'rougel') $$, '22023', NULL,
                 'variant names are case-sensitive, as in rouge-score');
SELECT throws_ok($$ SELECT llmeval.rouge('a', ARRAY[NULL::text]) $$, '22004', NULL,
                 'rouge: NULL element in references');
SELECT throws_ok($$ SELECT llmeval.cosine_similarity('{1,2}', '{1,2,3}') $$, '2202E',
                 'vectors must have the same number of dimensions', 'cosine: dimension mismatch');
SELECT throws_ok($$ SELECT llmeval.cosine_similarity('{{1,2},{3,4}}', '{{1,2},{3,4}}') $$, '2202E',
                 NULL, 'cosine: two-dimensional arrays');
SELECT throws_ok($$ SELECT llmeval.cosine_similarity('{1,NULL}', '{1,2}') $$, '22004', NULL,
                 'cosine: NULL element');
SELECT throws_ok($$ SELECT llmeval.cosine_similarity('{1,NaN}', '{1,2}') $$, '22000', NULL,
                 'cosine: NaN element');

-- NULLs: NULL text gives NULL, NULL options mean defaults, undefined is NULL.
SELECT ok(llmeval.chrf(NULL, 'a') IS NULL AND llmeval.ter('a', NULL::text) IS NULL
          AND llmeval.rouge(NULL, 'a') IS NULL AND llmeval.exact_match(NULL, 'a') IS NULL
          AND llmeval.token_f1('a', NULL) IS NULL AND llmeval.levenshtein_ratio(NULL, NULL) IS NULL
          AND llmeval.cosine_similarity(NULL, '{1}') IS NULL,
          'a NULL text or vector gives NULL');
SELECT ok(llmeval.chrf('a b c', 'a b d', NULL, NULL, NULL) = llmeval.chrf('a b c', 'a b d')
          AND llmeval.ter('a b c', 'a b d', NULL, NULL, NULL, NULL) = llmeval.ter('a b c', 'a b d')
          AND llmeval.rouge('a b c', 'a b d', NULL, NULL) = llmeval.rouge('a b c', 'a b d')
          AND llmeval.exact_match('The a', 'a', NULL) = llmeval.exact_match('The a', 'a'),
          'NULL options are the defaults');
SELECT ok(llmeval.cosine_similarity('{0,0}', '{1,2}') IS NULL
          AND llmeval.cosine_similarity('{}', '{}') IS NULL,
          'cosine of a zero or empty vector is NULL');
SELECT ok((SELECT llmeval.corpus_chrf(c, r) IS NULL AND llmeval.corpus_ter(c, r) IS NULL
           FROM (VALUES (NULL::text, 'x'::text), ('y', NULL)) v(c, r)),
          'corpus aggregates over only NULL rows are NULL');
SELECT is((SELECT llmeval.corpus_ter(c, r, '{}') FROM (VALUES ('a b', 'a c'), (NULL, 'skipped')) v(c, r)),
          llmeval.ter('a b', 'a c'), 'rows with a NULL are skipped');

SELECT * FROM finish();
ROLLBACK;
