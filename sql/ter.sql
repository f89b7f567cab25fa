-- TER: sentence and corpus forms, options, NULLs and errors.
SELECT llmeval.ter('The cat is on the mat.', 'The cat is on the mat.') AS identical;
SELECT round(llmeval.ter('The cat sat on the mat.', 'The cat is on the mat.')::numeric, 6) AS one_substitution;
-- a block shift counts as one edit
SELECT round(llmeval.ter('on the mat the cat sat', 'the cat sat on the mat')::numeric, 6) AS shifted;
SELECT llmeval.ter('THE CAT', 'the cat') AS case_insensitive, llmeval.ter('THE CAT', 'the cat', case_sensitive => true) AS case_sensitive;
SELECT round(llmeval.ter('the cat , sat .', 'the cat sat', normalized => true, no_punct => true)::numeric, 6) AS no_punct;
SELECT round(llmeval.ter('a b c', ARRAY['c b a', 'a b'])::numeric, 6) AS multi_reference;
SELECT llmeval.ter('', 'the cat') AS empty_candidate, llmeval.ter('the cat', '') AS empty_reference;
SELECT llmeval.ter(NULL, 'x') IS NULL AS null_candidate;
SELECT llmeval.ter('a', ARRAY[]::text[]);

CREATE TEMP TABLE pairs (id int, candidate text, reference text);
INSERT INTO pairs VALUES
  (1, 'The cat is on the mat.', 'The cat is on the mat.'),
  (2, 'There is a cat on the mat.', 'The cat is on the mat.'),
  (3, 'A dog barks.', 'The dog is barking.'),
  (4, 'skipped: NULL reference', NULL);
SELECT round(llmeval.corpus_ter(candidate, reference)::numeric, 6) AS corpus FROM pairs;
SELECT round(llmeval.corpus_ter(candidate, ARRAY[reference], '{"case_sensitive": true}')::numeric, 6) AS corpus_cs FROM pairs WHERE reference IS NOT NULL;
-- a NULL inside a references array is an error, unlike a NULL reference
SELECT llmeval.corpus_ter(candidate, ARRAY[reference]) FROM pairs;
SELECT llmeval.corpus_ter(candidate, reference, '{"normalized": "yes"}') FROM pairs;
