-- exact_match, token_f1, levenshtein_ratio, cosine_similarity.
SELECT llmeval.exact_match('The Eiffel Tower!', 'eiffel tower') AS normalized,
       llmeval.exact_match('The Eiffel Tower!', 'eiffel tower', "normalize" => false) AS raw,
       llmeval.exact_match('Tower', 'Tower', false) AS raw_equal;
SELECT llmeval.token_f1('the cat sat on the mat', 'a cat sat') AS f1,
       llmeval.token_f1('', '') AS both_empty, llmeval.token_f1('the', 'cat') AS only_article;
SELECT round(llmeval.levenshtein_ratio('kitten', 'sitting')::numeric, 6) AS kitten,
       llmeval.levenshtein_ratio('', '') AS both_empty, llmeval.levenshtein_ratio('abc', '') AS one_empty,
       round(llmeval.levenshtein_ratio('café', 'cafe')::numeric, 6) AS code_points;
SELECT llmeval.cosine_similarity('{1,2,3}', '{2,4,6}') AS parallel,
       llmeval.cosine_similarity('{1,0}', '{0,1}') AS orthogonal,
       llmeval.cosine_similarity('{1,1}', '{-1,-1}') AS opposite,
       llmeval.cosine_similarity('{0,0}', '{1,1}') IS NULL AS zero_vector;
SELECT llmeval.exact_match(NULL, 'x') IS NULL AS null_text, llmeval.exact_match('The x', 'x', NULL) AS null_option;
SELECT llmeval.cosine_similarity('{1,2}', '{1,2,3}');
SELECT llmeval.cosine_similarity('{1,NULL}', '{1,2}');
SELECT llmeval.cosine_similarity('{1,Infinity}', '{1,2}');
