-- BLEU: sentence and corpus forms, options, NULLs and errors.
SELECT round(llmeval.bleu('The cat is on the mat.', 'The cat is on the mat.')::numeric, 6) AS identical;
SELECT round(llmeval.bleu('The cat sat on the mat.', 'The cat is on the mat.')::numeric, 6) AS close;
SELECT round(llmeval.bleu('The cat sat on the mat.', ARRAY['The cat is on the mat.', 'A cat sat on the mat.'])::numeric, 6) AS two_refs;
SELECT round(llmeval.bleu('THE CAT', 'the cat', lowercase => true)::numeric, 6) AS lowercased;
SELECT round(llmeval.bleu('我爱北京天安门', '我爱北京', tokenize => 'zh')::numeric, 6) AS zh;
SELECT round(llmeval.bleu('a b c d e', 'a b x d e', smooth_method => 'floor', smooth_value => 0.3)::numeric, 6) AS floor;
-- NULL text gives NULL; a NULL option means its default
SELECT llmeval.bleu(NULL, 'x') IS NULL AS null_candidate, llmeval.bleu('x', NULL::text) IS NULL AS null_reference;
SELECT llmeval.bleu('a b c d', 'a b c d', tokenize => NULL, smooth_method => NULL) = llmeval.bleu('a b c d', 'a b c d') AS null_options;
-- empty strings score 0
SELECT llmeval.bleu('', 'The cat') AS empty_candidate, llmeval.bleu('The cat', '') AS empty_reference;
-- errors
SELECT llmeval.bleu('a', 'b', tokenize => 'bogus');
SELECT llmeval.bleu('a', 'b', smooth_method => 'laplace');
SELECT llmeval.bleu('a', 'b', smooth_method => 'floor', smooth_value => -1);
SELECT llmeval.bleu('a', ARRAY['b', NULL]);
SELECT llmeval.bleu('a', ARRAY[]::text[]);
SELECT llmeval.bleu('a', ARRAY[['b'], ['c']]);

-- corpus BLEU over a table
CREATE TEMP TABLE pairs (id int, candidate text, reference text);
INSERT INTO pairs VALUES
  (1, 'The cat is on the mat.', 'The cat is on the mat.'),
  (2, 'There is a cat on the mat.', 'The cat is on the mat.'),
  (3, 'A dog barks.', 'The dog is barking.'),
  (4, NULL, 'skipped: NULL candidate');
SELECT round(llmeval.corpus_bleu(candidate, reference)::numeric, 6) AS corpus FROM pairs;
SELECT round(llmeval.corpus_bleu(candidate, ARRAY[reference])::numeric, 6) AS corpus_array FROM pairs;
SELECT round(llmeval.corpus_bleu(candidate, reference, '{"lowercase": true, "tokenize": "intl"}')::numeric, 6) AS corpus_opts FROM pairs;
SELECT jsonb_pretty(llmeval.corpus_bleu_stats(candidate, ARRAY[reference], '{}'::jsonb) - 'score') AS detail FROM pairs;
SELECT llmeval.corpus_bleu(candidate, reference) IS NULL AS empty_is_null FROM pairs WHERE false;
SELECT llmeval.corpus_bleu(candidate, reference, jsonb_build_object('lowercase', id > 1)) FROM pairs;
SELECT llmeval.corpus_bleu(candidate, reference, '{"tokenizer": "13a"}') FROM pairs;
SELECT llmeval.corpus_bleu(candidate, reference, '[]') FROM pairs;
