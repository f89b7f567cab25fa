-- Bad input: clear errors with SQLSTATEs, huge texts, NULL handling; the
-- session stays usable and nothing is left half-done.
BEGIN;
SELECT plan(12);

-- 10 MB texts: linear metrics just work.
CREATE TEMP TABLE huge AS
SELECT repeat('the quick brown fox jumps over the lazy dog. ', 233017) AS t;  -- ~10.5 MB
SELECT ok(octet_length(t) > 10 * 1000 * 1000, 'the text is over 10 MB') FROM huge;
SELECT is(round(llmeval.bleu(t, t)::numeric, 6), 100.000000, 'bleu on two 10 MB texts') FROM huge;
SELECT ok(llmeval.bleu(t, 'the quick brown fox') < 1, 'bleu of a 10 MB candidate against a short reference')
FROM huge;
SELECT is((SELECT llmeval.corpus_bleu(t, t) FROM huge), (SELECT llmeval.bleu(t, t) FROM huge),
          'corpus_bleu over one 10 MB row equals sentence bleu');

-- Errors carry SQLSTATEs.
SELECT throws_ok($$ SELECT llmeval.bleu('a', 'b', tokenize => '13b') $$, '22023',
                 'unknown tokenizer "13b"', 'unknown tokenizer');
SELECT throws_ok($$ SELECT llmeval.bleu('a', ARRAY['b', NULL]) $$, '22004', NULL,
                 'NULL element in references');
SELECT throws_ok($$ SELECT llmeval.bleu('a', ARRAY[['b'],['c']]) $$, '2202E', NULL,
                 'two-dimensional references');
SELECT throws_ok($$ SELECT llmeval.corpus_bleu('a', 'b', '{"tokenize": 13}') $$, '22023', NULL,
                 'option of the wrong type');
SELECT throws_ok($$ SELECT llmeval.corpus_bleu('a', 'b', '{"smooth_value": "x"}') $$, '22023',
                 NULL, 'smooth_value must be a number');

-- NULLs: NULL text gives NULL, NULL options mean defaults.
SELECT is(llmeval.bleu(NULL, 'a'), NULL, 'NULL candidate gives NULL');
SELECT is(llmeval.bleu('a b c d', 'a b c d', NULL, NULL, NULL, NULL),
          llmeval.bleu('a b c d', 'a b c d'), 'NULL options are the defaults');
SELECT is((SELECT llmeval.corpus_bleu(c, r) FROM (VALUES (NULL::text, 'x'::text)) v(c, r)), NULL,
          'corpus_bleu over only NULL rows is NULL');

SELECT * FROM finish();
ROLLBACK;
