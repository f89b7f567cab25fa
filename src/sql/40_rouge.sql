-- ROUGE (Google's rouge-score RougeScorer).

CREATE TYPE llmeval.rouge_score AS (precision float8, recall float8, fmeasure float8);
COMMENT ON TYPE llmeval.rouge_score IS
  'ROUGE precision (relative to the candidate), recall (relative to the reference) and F1';

CREATE FUNCTION llmeval.rouge(candidate text, reference text, variant text DEFAULT 'rougeL',
                              use_stemmer boolean DEFAULT false)
RETURNS llmeval.rouge_score
AS 'MODULE_PATHNAME', 'llmeval_rouge'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION llmeval.rouge(text, text, text, boolean) IS
  'ROUGE (rouge1..rouge9, rougeL, rougeLsum) as rouge_score.RougeScorer computes it';

CREATE FUNCTION llmeval.rouge(candidate text, reference text[], variant text DEFAULT 'rougeL',
                              use_stemmer boolean DEFAULT false)
RETURNS llmeval.rouge_score
AS 'MODULE_PATHNAME', 'llmeval_rouge_multi'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION llmeval.rouge(text, text[], text, boolean) IS
  'ROUGE against the reference with the best F1, as RougeScorer.score_multi';
