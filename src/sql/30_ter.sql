-- TER (sacrebleu): edits (insertions, deletions, substitutions and block
-- shifts) per reference word, 0-100+ (lower is better).

CREATE FUNCTION llmeval.ter(candidate text, reference text, normalized boolean DEFAULT false,
                            no_punct boolean DEFAULT false, asian_support boolean DEFAULT false,
                            case_sensitive boolean DEFAULT false)
RETURNS float8
AS 'MODULE_PATHNAME', 'llmeval_ter'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION llmeval.ter(text, text, boolean, boolean, boolean, boolean) IS
  'sentence TER (0-100, lower is better) as sacrebleu.sentence_ter computes it';

CREATE FUNCTION llmeval.ter(candidate text, reference text[], normalized boolean DEFAULT false,
                            no_punct boolean DEFAULT false, asian_support boolean DEFAULT false,
                            case_sensitive boolean DEFAULT false)
RETURNS float8
AS 'MODULE_PATHNAME', 'llmeval_ter_multi'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION llmeval.ter(text, text[], boolean, boolean, boolean, boolean) IS
  'sentence TER against several references (fewest edits over the average reference length)';

CREATE FUNCTION llmeval._corpus_ter_transfn(internal, text, text)
RETURNS internal AS 'MODULE_PATHNAME', 'llmeval_corpus_ter_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION llmeval._corpus_ter_transfn(internal, text, text[])
RETURNS internal AS 'MODULE_PATHNAME', 'llmeval_corpus_ter_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION llmeval._corpus_ter_transfn(internal, text, text, jsonb)
RETURNS internal AS 'MODULE_PATHNAME', 'llmeval_corpus_ter_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION llmeval._corpus_ter_transfn(internal, text, text[], jsonb)
RETURNS internal AS 'MODULE_PATHNAME', 'llmeval_corpus_ter_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION llmeval._corpus_ter_combinefn(internal, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'llmeval_corpus_ter_combinefn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION llmeval._corpus_ter_serialfn(internal)
RETURNS bytea AS 'MODULE_PATHNAME', 'llmeval_corpus_ter_serialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION llmeval._corpus_ter_deserialfn(bytea, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'llmeval_corpus_ter_deserialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION llmeval._corpus_ter_finalfn(internal)
RETURNS float8 AS 'MODULE_PATHNAME', 'llmeval_corpus_ter_finalfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

-- corpus_ter: edits and reference lengths summed over rows (sacrebleu.corpus_ter).
CREATE AGGREGATE llmeval.corpus_ter(candidate text, reference text) (
  SFUNC = llmeval._corpus_ter_transfn, STYPE = internal,
  FINALFUNC = llmeval._corpus_ter_finalfn, FINALFUNC_MODIFY = READ_ONLY,
  COMBINEFUNC = llmeval._corpus_ter_combinefn,
  SERIALFUNC = llmeval._corpus_ter_serialfn, DESERIALFUNC = llmeval._corpus_ter_deserialfn,
  PARALLEL = SAFE);
CREATE AGGREGATE llmeval.corpus_ter(candidate text, reference text[]) (
  SFUNC = llmeval._corpus_ter_transfn, STYPE = internal,
  FINALFUNC = llmeval._corpus_ter_finalfn, FINALFUNC_MODIFY = READ_ONLY,
  COMBINEFUNC = llmeval._corpus_ter_combinefn,
  SERIALFUNC = llmeval._corpus_ter_serialfn, DESERIALFUNC = llmeval._corpus_ter_deserialfn,
  PARALLEL = SAFE);
CREATE AGGREGATE llmeval.corpus_ter(candidate text, reference text, options jsonb) (
  SFUNC = llmeval._corpus_ter_transfn, STYPE = internal,
  FINALFUNC = llmeval._corpus_ter_finalfn, FINALFUNC_MODIFY = READ_ONLY,
  COMBINEFUNC = llmeval._corpus_ter_combinefn,
  SERIALFUNC = llmeval._corpus_ter_serialfn, DESERIALFUNC = llmeval._corpus_ter_deserialfn,
  PARALLEL = SAFE);
CREATE AGGREGATE llmeval.corpus_ter(candidate text, reference text[], options jsonb) (
  SFUNC = llmeval._corpus_ter_transfn, STYPE = internal,
  FINALFUNC = llmeval._corpus_ter_finalfn, FINALFUNC_MODIFY = READ_ONLY,
  COMBINEFUNC = llmeval._corpus_ter_combinefn,
  SERIALFUNC = llmeval._corpus_ter_serialfn, DESERIALFUNC = llmeval._corpus_ter_deserialfn,
  PARALLEL = SAFE);
