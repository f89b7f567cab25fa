-- chrF and chrF++: sentence and corpus forms, options, NULLs and errors.
SELECT round(llmeval.chrf('The cat is on the mat.', 'The cat is on the mat.')::numeric, 6) AS identical;
SELECT round(llmeval.chrf('The cat sat on the mat.', 'The cat is on the mat.')::numeric, 6) AS chrf2;
SELECT round(llmeval.chrf('The cat sat on the mat.', 'The cat is on the mat.', word_order => 2)::numeric, 6) AS chrf_plus_plus;
SELECT round(llmeval.chrf('The cat sat on the mat.', 'The cat is on the mat.', beta => 1)::numeric, 6) AS chrf1;
SELECT round(llmeval.chrf('The cat sat on the mat.', ARRAY['A dog.', 'The cat is on the mat.'])::numeric, 6) AS best_of_two;
-- whitespace is ignored by the character n-grams
SELECT llmeval.chrf('thecat', 'the cat') = 100 AS spaces_ignored;
-- unicode counts code points, not bytes
SELECT round(llmeval.chrf('naïve café', 'naive cafe')::numeric, 6) AS accents, round(llmeval.chrf('北京天安门', '北京')::numeric, 6) AS cjk;
SELECT llmeval.chrf('', 'x') AS empty_candidate, llmeval.chrf('x', '') AS empty_reference;
SELECT llmeval.chrf(NULL, 'x') IS NULL AS null_candidate;
SELECT llmeval.chrf('a', 'b', char_order => 33);
SELECT llmeval.chrf('a', 'b', char_order => 0, word_order => 0);
SELECT llmeval.chrf('a', ARRAY['b', NULL]);

CREATE TEMP TABLE pairs (id int, candidate text, reference text);
INSERT INTO pairs VALUES
  (1, 'The cat is on the mat.', 'The cat is on the mat.'),
  (2, 'There is a cat on the mat.', 'The cat is on the mat.'),
  (3, 'A dog barks.', 'The dog is barking.'),
  (4, NULL, 'skipped: NULL candidate');
SELECT round(llmeval.corpus_chrf(candidate, reference)::numeric, 6) AS corpus FROM pairs;
SELECT round(llmeval.corpus_chrf(candidate, ARRAY[reference], '{"word_order": 2}')::numeric, 6) AS corpus_plus_plus FROM pairs;
SELECT llmeval.corpus_chrf(candidate, reference, jsonb_build_object('beta', id)) FROM pairs;
SELECT llmeval.corpus_chrf(candidate, reference, '{"order": 2}') FROM pairs;
SELECT llmeval.corpus_chrf(candidate, reference, '{"beta": "2"}') FROM pairs;
SELECT llmeval.corpus_chrf(candidate, reference, 'null') FROM pairs;
