-- BLEU (sacrebleu). Metric functions are CALLED ON NULL INPUT rather than
-- STRICT because a NULL option means its default; a NULL text gives NULL.
-- use_effective_order and max_ngram_order have sacrebleu's sentence_bleu
-- defaults.

CREATE FUNCTION llmeval.bleu(candidate text, reference text, tokenize text DEFAULT '13a',
                             smooth_method text DEFAULT 'exp', smooth_value float8 DEFAULT NULL,
                             lowercase boolean DEFAULT false,
                             use_effective_order boolean DEFAULT true,
                             max_ngram_order int DEFAULT 4)
RETURNS float8
AS 'MODULE_PATHNAME', 'llmeval_bleu'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION llmeval.bleu(text, text, text, text, float8, boolean, boolean, int) IS
  'sentence BLEU (0-100) as sacrebleu.sentence_bleu computes it';

CREATE FUNCTION llmeval.bleu(candidate text, reference text[], tokenize text DEFAULT '13a',
                             smooth_method text DEFAULT 'exp', smooth_value float8 DEFAULT NULL,
                             lowercase boolean DEFAULT false,
                             use_effective_order boolean DEFAULT true,
                             max_ngram_order int DEFAULT 4)
RETURNS float8
AS 'MODULE_PATHNAME', 'llmeval_bleu_multi'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION llmeval.bleu(text, text[], text, text, float8, boolean, boolean, int) IS
  'sentence BLEU (0-100) against several references, as sacrebleu.sentence_bleu';

-- corpus_bleu: statistics are summed over rows, then scored once.
CREATE FUNCTION llmeval._corpus_bleu_transfn(internal, text, text)
RETURNS internal AS 'MODULE_PATHNAME', 'llmeval_corpus_bleu_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION llmeval._corpus_bleu_transfn(internal, text, text[])
RETURNS internal AS 'MODULE_PATHNAME', 'llmeval_corpus_bleu_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION llmeval._corpus_bleu_transfn(internal, text, text, jsonb)
RETURNS internal AS 'MODULE_PATHNAME', 'llmeval_corpus_bleu_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION llmeval._corpus_bleu_transfn(internal, text, text[], jsonb)
RETURNS internal AS 'MODULE_PATHNAME', 'llmeval_corpus_bleu_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION llmeval._corpus_bleu_combinefn(internal, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'llmeval_corpus_bleu_combinefn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION llmeval._corpus_bleu_serialfn(internal)
RETURNS bytea AS 'MODULE_PATHNAME', 'llmeval_corpus_bleu_serialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION llmeval._corpus_bleu_deserialfn(bytea, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'llmeval_corpus_bleu_deserialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION llmeval._corpus_bleu_finalfn(internal)
RETURNS float8 AS 'MODULE_PATHNAME', 'llmeval_corpus_bleu_finalfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION llmeval._corpus_bleu_stats_finalfn(internal)
RETURNS jsonb AS 'MODULE_PATHNAME', 'llmeval_corpus_bleu_stats_finalfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE AGGREGATE llmeval.corpus_bleu(candidate text, reference text) (
  SFUNC = llmeval._corpus_bleu_transfn, STYPE = internal,
  FINALFUNC = llmeval._corpus_bleu_finalfn, FINALFUNC_MODIFY = READ_ONLY,
  COMBINEFUNC = llmeval._corpus_bleu_combinefn,
  SERIALFUNC = llmeval._corpus_bleu_serialfn, DESERIALFUNC = llmeval._corpus_bleu_deserialfn,
  PARALLEL = SAFE);
CREATE AGGREGATE llmeval.corpus_bleu(candidate text, reference text[]) (
  SFUNC = llmeval._corpus_bleu_transfn, STYPE = internal,
  FINALFUNC = llmeval._corpus_bleu_finalfn, FINALFUNC_MODIFY = READ_ONLY,
  COMBINEFUNC = llmeval._corpus_bleu_combinefn,
  SERIALFUNC = llmeval._corpus_bleu_serialfn, DESERIALFUNC = llmeval._corpus_bleu_deserialfn,
  PARALLEL = SAFE);
CREATE AGGREGATE llmeval.corpus_bleu(candidate text, reference text, options jsonb) (
  SFUNC = llmeval._corpus_bleu_transfn, STYPE = internal,
  FINALFUNC = llmeval._corpus_bleu_finalfn, FINALFUNC_MODIFY = READ_ONLY,
  COMBINEFUNC = llmeval._corpus_bleu_combinefn,
  SERIALFUNC = llmeval._corpus_bleu_serialfn, DESERIALFUNC = llmeval._corpus_bleu_deserialfn,
  PARALLEL = SAFE);
CREATE AGGREGATE llmeval.corpus_bleu(candidate text, reference text[], options jsonb) (
  SFUNC = llmeval._corpus_bleu_transfn, STYPE = internal,
  FINALFUNC = llmeval._corpus_bleu_finalfn, FINALFUNC_MODIFY = READ_ONLY,
  COMBINEFUNC = llmeval._corpus_bleu_combinefn,
  SERIALFUNC = llmeval._corpus_bleu_serialfn, DESERIALFUNC = llmeval._corpus_bleu_deserialfn,
  PARALLEL = SAFE);

-- The detailed form: score, precisions, bp, ratio, sys_len, ref_len, counts
-- and totals (as sacrebleu reports them) and the options in effect
-- (tokenize, smooth_method, lowercase, use_effective_order, max_ngram_order)
-- as jsonb.
CREATE AGGREGATE llmeval.corpus_bleu_stats(candidate text, reference text, options jsonb) (
  SFUNC = llmeval._corpus_bleu_transfn, STYPE = internal,
  FINALFUNC = llmeval._corpus_bleu_stats_finalfn, FINALFUNC_MODIFY = READ_ONLY,
  COMBINEFUNC = llmeval._corpus_bleu_combinefn,
  SERIALFUNC = llmeval._corpus_bleu_serialfn, DESERIALFUNC = llmeval._corpus_bleu_deserialfn,
  PARALLEL = SAFE);
CREATE AGGREGATE llmeval.corpus_bleu_stats(candidate text, reference text[], options jsonb) (
  SFUNC = llmeval._corpus_bleu_transfn, STYPE = internal,
  FINALFUNC = llmeval._corpus_bleu_stats_finalfn, FINALFUNC_MODIFY = READ_ONLY,
  COMBINEFUNC = llmeval._corpus_bleu_combinefn,
  SERIALFUNC = llmeval._corpus_bleu_serialfn, DESERIALFUNC = llmeval._corpus_bleu_deserialfn,
  PARALLEL = SAFE);
