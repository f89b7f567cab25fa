-- chrF and chrF++ (sacrebleu). chrF++ is word_order => 2. A NULL option
-- means its default (sacrebleu's).

CREATE FUNCTION llmeval.chrf(candidate text, reference text, char_order int DEFAULT 6,
                             word_order int DEFAULT 0, beta int DEFAULT 2,
                             eps_smoothing boolean DEFAULT false,
                             remove_whitespace boolean DEFAULT true)
RETURNS float8
AS 'MODULE_PATHNAME', 'llmeval_chrf'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION llmeval.chrf(text, text, int, int, int, boolean, boolean) IS
  'sentence chrF (0-100) as sacrebleu.sentence_chrf computes it; chrF++ with word_order => 2';

CREATE FUNCTION llmeval.chrf(candidate text, reference text[], char_order int DEFAULT 6,
                             word_order int DEFAULT 0, beta int DEFAULT 2,
                             eps_smoothing boolean DEFAULT false,
                             remove_whitespace boolean DEFAULT true)
RETURNS float8
AS 'MODULE_PATHNAME', 'llmeval_chrf_multi'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION llmeval.chrf(text, text[], int, int, int, boolean, boolean) IS
  'sentence chrF (0-100) against the best of several references, as sacrebleu.sentence_chrf';

CREATE FUNCTION llmeval._corpus_chrf_transfn(internal, text, text)
RETURNS internal AS 'MODULE_PATHNAME', 'llmeval_corpus_chrf_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION llmeval._corpus_chrf_transfn(internal, text, text[])
RETURNS internal AS 'MODULE_PATHNAME', 'llmeval_corpus_chrf_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION llmeval._corpus_chrf_transfn(internal, text, text, jsonb)
RETURNS internal AS 'MODULE_PATHNAME', 'llmeval_corpus_chrf_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION llmeval._corpus_chrf_transfn(internal, text, text[], jsonb)
RETURNS internal AS 'MODULE_PATHNAME', 'llmeval_corpus_chrf_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION llmeval._corpus_chrf_combinefn(internal, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'llmeval_corpus_chrf_combinefn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION llmeval._corpus_chrf_serialfn(internal)
RETURNS bytea AS 'MODULE_PATHNAME', 'llmeval_corpus_chrf_serialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION llmeval._corpus_chrf_deserialfn(bytea, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'llmeval_corpus_chrf_deserialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION llmeval._corpus_chrf_finalfn(internal)
RETURNS float8 AS 'MODULE_PATHNAME', 'llmeval_corpus_chrf_finalfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

-- corpus_chrf: character and word n-gram statistics summed over rows, then
-- scored once (sacrebleu.corpus_chrf).
CREATE AGGREGATE llmeval.corpus_chrf(candidate text, reference text) (
  SFUNC = llmeval._corpus_chrf_transfn, STYPE = internal,
  FINALFUNC = llmeval._corpus_chrf_finalfn, FINALFUNC_MODIFY = READ_ONLY,
  COMBINEFUNC = llmeval._corpus_chrf_combinefn,
  SERIALFUNC = llmeval._corpus_chrf_serialfn, DESERIALFUNC = llmeval._corpus_chrf_deserialfn,
  PARALLEL = SAFE);
CREATE AGGREGATE llmeval.corpus_chrf(candidate text, reference text[]) (
  SFUNC = llmeval._corpus_chrf_transfn, STYPE = internal,
  FINALFUNC = llmeval._corpus_chrf_finalfn, FINALFUNC_MODIFY = READ_ONLY,
  COMBINEFUNC = llmeval._corpus_chrf_combinefn,
  SERIALFUNC = llmeval._corpus_chrf_serialfn, DESERIALFUNC = llmeval._corpus_chrf_deserialfn,
  PARALLEL = SAFE);
CREATE AGGREGATE llmeval.corpus_chrf(candidate text, reference text, options jsonb) (
  SFUNC = llmeval._corpus_chrf_transfn, STYPE = internal,
  FINALFUNC = llmeval._corpus_chrf_finalfn, FINALFUNC_MODIFY = READ_ONLY,
  COMBINEFUNC = llmeval._corpus_chrf_combinefn,
  SERIALFUNC = llmeval._corpus_chrf_serialfn, DESERIALFUNC = llmeval._corpus_chrf_deserialfn,
  PARALLEL = SAFE);
CREATE AGGREGATE llmeval.corpus_chrf(candidate text, reference text[], options jsonb) (
  SFUNC = llmeval._corpus_chrf_transfn, STYPE = internal,
  FINALFUNC = llmeval._corpus_chrf_finalfn, FINALFUNC_MODIFY = READ_ONLY,
  COMBINEFUNC = llmeval._corpus_chrf_combinefn,
  SERIALFUNC = llmeval._corpus_chrf_serialfn, DESERIALFUNC = llmeval._corpus_chrf_deserialfn,
  PARALLEL = SAFE);
