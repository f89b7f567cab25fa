-- Every public metric function is IMMUTABLE and PARALLEL SAFE, every corpus
-- aggregate is parallel-capable (combine, serial and deserial functions), and
-- Postgres really runs them in parallel workers.
BEGIN;
SELECT plan(8);

CREATE TEMP VIEW metric_functions AS
SELECT p.* FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'llmeval' AND p.prokind = 'f'
  AND p.proname IN ('bleu', 'chrf', 'ter', 'rouge', 'rouge_scores', 'exact_match', 'token_f1', 'levenshtein_ratio',
                    'cosine_similarity', 'render_prompt', 'prompt_fields');

SELECT is((SELECT count(*) FROM metric_functions WHERE provolatile <> 'i' OR proparallel <> 's'),
          0::bigint, 'metric functions are IMMUTABLE and PARALLEL SAFE');

-- 18: bleu, chrf, rouge (single variant), rouge (variants => text[]) and
-- rouge_scores each take text or text[]
SELECT is((SELECT count(*) FROM metric_functions), 18::bigint, 'the metric functions are there to check');

SELECT is(
  (SELECT count(*) FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid
   JOIN pg_namespace n ON n.oid = p.pronamespace
   WHERE n.nspname = 'llmeval'
     AND (a.aggcombinefn = 0 OR a.aggserialfn = 0 OR a.aggdeserialfn = 0 OR p.proparallel <> 's')),
  0::bigint, 'every aggregate has combine, serialize and deserialize functions');

SELECT ok((SELECT count(*) FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid
           JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'llmeval') >= 14,
          'the aggregates are there to check');

-- A parallel plan with partial aggregation.
-- a regular table: temporary tables are never scanned in parallel
CREATE TABLE big AS
SELECT 'the cat number ' || g || ' sat on the mat' AS candidate,
       'a cat number ' || (g % 7) || ' is on the mat' AS reference
FROM generate_series(1, 20000) g;
ANALYZE big;
SET LOCAL parallel_setup_cost = 0;
SET LOCAL parallel_tuple_cost = 0;
SET LOCAL min_parallel_table_scan_size = 0;
SET LOCAL max_parallel_workers_per_gather = 2;
CREATE FUNCTION pg_temp.plan_of(query text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  line text;
  plan text := '';
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) ' || query LOOP
    plan := plan || line || E'\n';
  END LOOP;
  RETURN plan;
END $$;
SELECT matches(pg_temp.plan_of('SELECT llmeval.corpus_bleu(candidate, reference) FROM big'),
               'Workers Launched: [12](.|\n)*Partial Aggregate',
               'corpus_bleu runs as a partial aggregate in parallel workers');
SELECT matches(pg_temp.plan_of('SELECT llmeval.corpus_chrf(candidate, reference) FROM big'),
               'Workers Launched: [12](.|\n)*Partial Aggregate',
               'corpus_chrf runs as a partial aggregate in parallel workers');
SELECT matches(pg_temp.plan_of('SELECT llmeval.corpus_ter(candidate, reference) FROM big'),
               'Workers Launched: [12](.|\n)*Partial Aggregate',
               'corpus_ter runs as a partial aggregate in parallel workers');
SELECT results_eq(
  $$ SELECT round(llmeval.corpus_bleu(candidate, reference)::numeric, 9) FROM big $$,
  $$ SELECT round(llmeval.corpus_bleu(candidate, reference)::numeric, 9)
     FROM (SELECT * FROM big ORDER BY candidate OFFSET 0) serial_scan $$,
  'parallel and serial corpus_bleu agree');

SELECT * FROM finish();
ROLLBACK;
