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

-- Several variants from one tokenisation of each text, as rouge-score's
-- RougeScorer(variants).score: a row per variant, in the order given.
-- variants has no default, so rouge(c, r) and rouge(c, r, 'rouge1') keep
-- meaning the single-variant form.
CREATE FUNCTION llmeval.rouge(candidate text, reference text, variants text[],
                              use_stemmer boolean DEFAULT false)
RETURNS TABLE (variant text, "precision" float8, recall float8, fmeasure float8)
AS 'MODULE_PATHNAME', 'llmeval_rouge_variants'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE ROWS 3;
COMMENT ON FUNCTION llmeval.rouge(text, text, text[], boolean) IS
  'ROUGE for several variants (a row each) from one tokenisation, as RougeScorer(variants).score';

CREATE FUNCTION llmeval.rouge(candidate text, reference text[], variants text[],
                              use_stemmer boolean DEFAULT false)
RETURNS TABLE (variant text, "precision" float8, recall float8, fmeasure float8)
AS 'MODULE_PATHNAME', 'llmeval_rouge_variants_multi'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE ROWS 3;
COMMENT ON FUNCTION llmeval.rouge(text, text[], text[], boolean) IS
  'ROUGE for several variants against several references: per variant the best F1, as RougeScorer.score_multi';

-- The same as one value, llmeval.rouge_score[] in the order of variants: a
-- set-returning function in FROM costs Postgres a tuplestore per row, more
-- than the scoring; this scalar form is the one for scoring whole tables.
CREATE FUNCTION llmeval.rouge_scores(candidate text, reference text, variants text[],
                                     use_stemmer boolean DEFAULT false)
RETURNS llmeval.rouge_score[]
AS 'MODULE_PATHNAME', 'llmeval_rouge_scores'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION llmeval.rouge_scores(text, text, text[], boolean) IS
  'ROUGE for several variants from one tokenisation, as an array in the order of variants';

CREATE FUNCTION llmeval.rouge_scores(candidate text, reference text[], variants text[],
                                     use_stemmer boolean DEFAULT false)
RETURNS llmeval.rouge_score[]
AS 'MODULE_PATHNAME', 'llmeval_rouge_scores_multi'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION llmeval.rouge_scores(text, text[], text[], boolean) IS
  'ROUGE for several variants against several references (per variant the best F1), as an array';
