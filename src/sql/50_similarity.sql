-- Answer-level similarities.

-- NORMALIZE is an SQL keyword: the parameter name is quoted, and so is a
-- named argument: exact_match(a, b, "normalize" => false).
CREATE FUNCTION llmeval.exact_match(candidate text, reference text,
                                    "normalize" boolean DEFAULT true)
RETURNS boolean
AS 'MODULE_PATHNAME', 'llmeval_exact_match'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION llmeval.exact_match(text, text, boolean) IS
  'equality after SQuAD answer normalisation (lowercase, no punctuation, articles or extra spaces)';

CREATE FUNCTION llmeval.token_f1(candidate text, reference text)
RETURNS float8
AS 'MODULE_PATHNAME', 'llmeval_token_f1'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION llmeval.token_f1(text, text) IS
  'SQuAD token F1 (0-1) of the normalised answers';

CREATE FUNCTION llmeval.levenshtein_ratio(a text, b text)
RETURNS float8
AS 'MODULE_PATHNAME', 'llmeval_levenshtein_ratio'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION llmeval.levenshtein_ratio(text, text) IS
  'Levenshtein.ratio: 1 - InDel distance / (len(a) + len(b)) over code points (1 for two empty texts)';

CREATE FUNCTION llmeval.cosine_similarity(a float4[], b float4[])
RETURNS float8
AS 'MODULE_PATHNAME', 'llmeval_cosine_similarity'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION llmeval.cosine_similarity(float4[], float4[]) IS
  'cosine similarity of two vectors; NULL when either is empty or all zeros';
