-- Ranking metrics for retrieval, as trec_eval defines them (P_k, recall_k,
-- success_k, recip_rank, map, ndcg_cut). The retrieved ids are in rank order;
-- an id retrieved again counts once, at its first rank (later copies are
-- dropped). A query with no relevant document has no recall, hit rate,
-- reciprocal rank, average precision or nDCG: NULL, which avg() skips.
-- NULL elements are an error (22004), so is k <= 0 (22023).

CREATE FUNCTION llmeval.precision_at_k(retrieved text[], relevant text[], k int)
RETURNS float8
AS 'MODULE_PATHNAME', 'llmeval_precision_at_k'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION llmeval.precision_at_k(text[], text[], int) IS
  'relevant documents among the first k retrieved, divided by k (even when fewer than k '
  'were retrieved, as trec_eval''s P_k); 0 when nothing is relevant';

CREATE FUNCTION llmeval.recall_at_k(retrieved text[], relevant text[], k int)
RETURNS float8
AS 'MODULE_PATHNAME', 'llmeval_recall_at_k'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION llmeval.recall_at_k(text[], text[], int) IS
  'relevant documents among the first k retrieved, divided by the number of relevant '
  'documents; NULL when there is none';

CREATE FUNCTION llmeval.hit_rate_at_k(retrieved text[], relevant text[], k int)
RETURNS float8
AS 'MODULE_PATHNAME', 'llmeval_hit_rate_at_k'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION llmeval.hit_rate_at_k(text[], text[], int) IS
  '1 when a relevant document is among the first k retrieved, else 0 (trec_eval''s '
  'success_k); NULL when nothing is relevant';

CREATE FUNCTION llmeval.reciprocal_rank(retrieved text[], relevant text[])
RETURNS float8
AS 'MODULE_PATHNAME', 'llmeval_reciprocal_rank'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION llmeval.reciprocal_rank(text[], text[]) IS
  '1 / rank of the first relevant document retrieved, 0 when none is; NULL when nothing is '
  'relevant (avg gives MRR)';

CREATE FUNCTION llmeval.average_precision(retrieved text[], relevant text[])
RETURNS float8
AS 'MODULE_PATHNAME', 'llmeval_average_precision'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION llmeval.average_precision(text[], text[]) IS
  'sum of the precision at the rank of each relevant document retrieved, divided by the '
  'number of relevant documents (trec_eval''s map per query; avg gives MAP); NULL when '
  'nothing is relevant';

CREATE FUNCTION llmeval.ndcg_at_k(retrieved text[], relevance jsonb, k int)
RETURNS float8
AS 'MODULE_PATHNAME', 'llmeval_ndcg_at_k'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION llmeval.ndcg_at_k(text[], jsonb, int) IS
  'nDCG@k with graded relevance {"id": grade} (trec_eval''s ndcg_cut): gain = grade when '
  'positive, discount log2(rank + 1), ideal DCG from all graded documents, retrieved or not; '
  'NULL when no grade is positive; a grade that is not a number is an error (22023)';
