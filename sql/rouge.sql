-- ROUGE: variants, the stemmer, the composite result, NULLs and errors.
SELECT * FROM llmeval.rouge('The quick brown fox jumps over the lazy dog', 'The quick brown dog jumps on the log.');
SELECT v AS variant, round((r).precision::numeric, 6) AS precision, round((r).recall::numeric, 6) AS recall,
       round((r).fmeasure::numeric, 6) AS fmeasure
FROM unnest(ARRAY['rouge1', 'rouge2', 'rouge3', 'rouge9', 'rougeL', 'rougeLsum']) AS v,
     LATERAL (SELECT llmeval.rouge('the cat was found under the bed', 'the cat was under the bed', v) AS r) s;
-- the stemmer: cats/cat, running/run
SELECT (llmeval.rouge('cats running', 'cat run', 'rouge1')).fmeasure AS unstemmed,
       (llmeval.rouge('cats running', 'cat run', 'rouge1', use_stemmer => true)).fmeasure AS stemmed;
-- rougeLsum works per line
SELECT round((llmeval.rouge(E'the cat sat\nthe dog ran', E'the dog ran\nthe cat sat', 'rougeLsum')).fmeasure::numeric, 6) AS lsum_lines,
       round((llmeval.rouge(E'the cat sat\nthe dog ran', E'the dog ran\nthe cat sat', 'rougeL')).fmeasure::numeric, 6) AS l_whole;
-- rouge-score's tokenizer keeps only [a-z0-9]: non-Latin text has no tokens
SELECT llmeval.rouge('北京天安门', '北京天安门') AS cjk, llmeval.rouge('', 'the cat') AS empty_candidate;
SELECT (llmeval.rouge('the cat sat', ARRAY['a dog', 'the cat sat down'], 'rouge1')).* AS best_reference;
SELECT llmeval.rouge(NULL, 'x') IS NULL AS null_candidate;
SELECT llmeval.rouge('a', 'b', 'rougeX');
SELECT llmeval.rouge('a', ARRAY['b', NULL]);
