-- Ranking metrics (precision_at_k, recall_at_k, hit_rate_at_k,
-- reciprocal_rank, average_precision, ndcg_at_k): trec_eval's definitions
-- on hand-computed cases and Wikipedia's nDCG example; NULLs, empty arrays,
-- duplicates, unicode ids, large inputs and bad input with SQLSTATEs.
BEGIN;
SELECT plan(53);

-- Run d1..d10, relevant d1, d3, d6, d9 and d20 (never retrieved).
CREATE TEMP TABLE q AS
SELECT ARRAY['d1','d2','d3','d4','d5','d6','d7','d8','d9','d10'] AS run,
       ARRAY['d1','d3','d6','d9','d20'] AS rel;

SELECT is(llmeval.precision_at_k(run, rel, 1), 1::float8, 'P@1') FROM q;
SELECT is(llmeval.precision_at_k(run, rel, 5), 0.4::float8, 'P@5 = 2/5') FROM q;
SELECT is(llmeval.precision_at_k(run, rel, 10), 0.4::float8, 'P@10 = 4/10') FROM q;
SELECT is(llmeval.precision_at_k(run, rel, 20), 0.2::float8,
          'P@20 on a 10-document run divides by 20 (trec_eval P_20)') FROM q;
SELECT is(llmeval.recall_at_k(run, rel, 5), 0.4::float8, 'recall@5 = 2/5') FROM q;
SELECT is(llmeval.recall_at_k(run, rel, 1000), 0.8::float8, 'recall@1000 = 4/5') FROM q;
SELECT is(llmeval.hit_rate_at_k(run, rel, 1), 1::float8, 'hit@1') FROM q;
SELECT is(llmeval.hit_rate_at_k(ARRAY['x','y','d6'], rel, 2), 0::float8, 'hit@2 without a relevant document') FROM q;
SELECT is(llmeval.hit_rate_at_k(ARRAY['x','y','d6'], rel, 3), 1::float8, 'hit@3 with one at rank 3') FROM q;
SELECT is(llmeval.reciprocal_rank(ARRAY['x','y','d3'], rel), 1/3::float8, 'RR = 1/3') FROM q;
SELECT is(llmeval.reciprocal_rank(ARRAY['x','y'], rel), 0::float8, 'RR = 0 when none is retrieved') FROM q;
SELECT is(llmeval.average_precision(run, rel), (1 + 2/3::float8 + 3/6::float8 + 4/9::float8) / 5,
          'AP = (1/1 + 2/3 + 3/6 + 4/9) / 5') FROM q;
SELECT is(round(llmeval.average_precision(run, rel)::numeric, 6), 0.522222, 'AP = 0.522222') FROM q;

-- MAP and MRR over queries are avg(); queries without relevant documents are
-- NULL and stay out of the mean.
CREATE TEMP TABLE qs (run text[], rel text[]);
INSERT INTO qs VALUES (ARRAY['a','b','c'], ARRAY['a','c']),   -- AP 5/6, RR 1
                      (ARRAY['a','b','c'], ARRAY['b']),       -- AP 1/2, RR 1/2
                      (ARRAY['a','b','c'], ARRAY[]::text[]);  -- undefined
SELECT is(round(avg(llmeval.average_precision(run, rel))::numeric, 12), round((5/6::numeric + 0.5) / 2, 12),
          'MAP skips undefined queries') FROM qs;
SELECT is(avg(llmeval.reciprocal_rank(run, rel)), 0.75::float8, 'MRR skips undefined queries') FROM qs;

-- No relevant document: precision 0, everything else NULL.
SELECT is(llmeval.precision_at_k(ARRAY['a'], '{}', 3), 0::float8, 'P@k with nothing relevant is 0');
SELECT is(llmeval.recall_at_k(ARRAY['a'], '{}', 3), NULL, 'recall with nothing relevant is NULL');
SELECT is(llmeval.hit_rate_at_k(ARRAY['a'], '{}', 3), NULL, 'hit rate with nothing relevant is NULL');
SELECT is(llmeval.reciprocal_rank(ARRAY['a'], '{}'), NULL, 'RR with nothing relevant is NULL');
SELECT is(llmeval.average_precision(ARRAY['a'], '{}'), NULL, 'AP with nothing relevant is NULL');
SELECT is(llmeval.ndcg_at_k(ARRAY['a'], '{}', 3), NULL, 'nDCG with no judgement is NULL');
SELECT is(llmeval.ndcg_at_k(ARRAY['a'], '{"a": 0, "b": -1}', 3), NULL, 'nDCG with no positive grade is NULL');

-- Nothing retrieved.
SELECT is(llmeval.precision_at_k('{}', ARRAY['a'], 3), 0::float8, 'P@k of an empty run');
SELECT is(llmeval.recall_at_k('{}', ARRAY['a'], 3), 0::float8, 'recall of an empty run');
SELECT is(llmeval.average_precision('{}', ARRAY['a']), 0::float8, 'AP of an empty run');
SELECT is(llmeval.ndcg_at_k('{}', '{"a": 1}', 3), 0::float8, 'nDCG of an empty run');

-- Duplicates count once, at their first rank: a, a, b, a, c ranks a, b, c.
SELECT is(llmeval.precision_at_k(ARRAY['a','a','b','a','c'], ARRAY['a','c'], 3), 2/3::float8,
          'a duplicate is dropped and the next document moves up');
SELECT is(llmeval.average_precision(ARRAY['a','a','b','a','c'], ARRAY['c','a','c']),
          (1 + 2/3::float8) / 2, 'duplicates in both lists count once');

-- nDCG: Wikipedia's example ("Discounted cumulative gain"): D1..D6 graded
-- 3, 2, 3, 0, 1, 2; D7 (3) and D8 (2) judged, not retrieved. DCG6 = 6.861,
-- IDCG6 = 8.740 (3, 3, 3, 2, 2, 2), nDCG6 = 0.785.
CREATE TEMP TABLE wiki AS
SELECT ARRAY['D1','D2','D3','D4','D5','D6'] AS run,
       '{"D1": 3, "D2": 2, "D3": 3, "D4": 0, "D5": 1, "D6": 2, "D7": 3, "D8": 2}'::jsonb AS grades;
SELECT is(round(llmeval.ndcg_at_k(run, grades, 6)::numeric, 3), 0.785, 'Wikipedia nDCG6 = 0.785') FROM wiki;
SELECT is(round(llmeval.ndcg_at_k(run, grades, 6)::numeric, 12), round((
          (3 + 2/log(2, 3)::float8 + 3/2::float8 + 1/log(2, 6)::float8 + 2/log(2, 7)::float8)
          / (3 + 3/log(2, 3)::float8 + 3/2::float8 + 2/log(2, 5)::float8 + 2/log(2, 6)::float8 + 2/log(2, 7)::float8))::numeric, 12),
          'nDCG6 to 12 decimals of the formula') FROM wiki;
SELECT is(llmeval.ndcg_at_k(run, grades, 1), 1::float8, 'nDCG@1: the best grade first') FROM wiki;
SELECT is(llmeval.ndcg_at_k(ARRAY['D7','D1','D3','D2','D6','D8'], grades, 6), 1::float8,
          'nDCG of the ideal ranking is 1') FROM wiki;
-- k beyond the list: DCG stops at the list's end, the ideal goes on to k.
SELECT is(round(llmeval.ndcg_at_k(ARRAY['a'], '{"a": 1, "b": 1}', 5)::numeric, 12),
          round((1 / (1 + 1/log(2, 3)::float8))::numeric, 12),
          'nDCG@5 of a one-document run against two relevant documents');
SELECT is(round(llmeval.ndcg_at_k(ARRAY['b', 'a'], '{"a": 2.5, "b": 0.5}', 2)::numeric, 12),
          round(((0.5 + 2.5/log(2, 3)::float8) / (2.5 + 0.5/log(2, 3)::float8))::numeric, 12), 'fractional grades are linear gains');

-- Unicode ids compare as bytes: NFC é and NFD é differ.
SELECT is(llmeval.precision_at_k(ARRAY['café', '文档1', '🦀'], ARRAY['文档1', '🦀'], 3), 2/3::float8,
          'unicode ids');
SELECT is(llmeval.recall_at_k(ARRAY[U&'caf\00E9'], ARRAY[U&'cafe\0301'], 1), 0::float8,
          'ids are not normalised');
SELECT is(llmeval.ndcg_at_k(ARRAY['文档1'], '{"文档1": 1}', 1), 1::float8, 'unicode ids in judgements');

-- Large inputs: 100 000 retrieved, 50 000 relevant.
CREATE TEMP TABLE big AS
SELECT array_agg('doc' || i ORDER BY i) AS run,
       array_agg('doc' || i ORDER BY i) FILTER (WHERE i % 2 = 0) AS rel,
       jsonb_object_agg('doc' || i, 1) FILTER (WHERE i % 2 = 0) AS grades
FROM generate_series(1, 100000) i;
SELECT is(llmeval.precision_at_k(run, rel, 100000), 0.5::float8, 'P@k on 100 000 documents') FROM big;
SELECT is(llmeval.reciprocal_rank(run, rel), 0.5::float8, 'RR on 100 000 documents') FROM big;
SELECT ok(llmeval.ndcg_at_k(run, grades, 100000) BETWEEN 0.5 AND 1, 'nDCG on 100 000 documents') FROM big;

-- NULL arguments give NULL (STRICT).
SELECT is(llmeval.precision_at_k(NULL, ARRAY['a'], 3), NULL, 'NULL retrieved gives NULL');
SELECT is(llmeval.ndcg_at_k(ARRAY['a'], NULL, 3), NULL, 'NULL relevance gives NULL');
SELECT is(llmeval.recall_at_k(ARRAY['a'], ARRAY['a'], NULL), NULL, 'NULL k gives NULL');

-- Bad input.
SELECT throws_ok($$ SELECT llmeval.precision_at_k(ARRAY['a', NULL], ARRAY['a'], 3) $$, '22004',
                 'retrieved must not contain NULL elements', 'NULL in retrieved: 22004');
SELECT throws_ok($$ SELECT llmeval.average_precision(ARRAY['a'], ARRAY[NULL, 'a']) $$, '22004',
                 'relevant must not contain NULL elements', 'NULL in relevant: 22004');
SELECT throws_ok($$ SELECT llmeval.precision_at_k(ARRAY['a'], ARRAY['a'], 0) $$, '22023',
                 'k must be positive', 'k = 0: 22023');
SELECT throws_ok($$ SELECT llmeval.ndcg_at_k(ARRAY['a'], '{"a": 1}', -3) $$, '22023',
                 'k must be positive', 'negative k: 22023');
SELECT throws_ok($$ SELECT llmeval.ndcg_at_k(ARRAY['a'], '{"a": "high"}', 3) $$, '22023',
                 'relevance grades must be numbers', 'a grade that is not a number: 22023');
SELECT throws_ok($$ SELECT llmeval.ndcg_at_k(ARRAY['a'], '["a"]', 3) $$, '22023',
                 'relevance must be a JSON object', 'judgements that are not an object: 22023');
SELECT throws_ok($$ SELECT llmeval.ndcg_at_k(ARRAY['a'], '{"a": 1e400}', 3) $$, '22023',
                 'invalid relevance judgements', 'a grade beyond a double: 22023');
SELECT throws_ok($$ SELECT llmeval.recall_at_k(ARRAY[ARRAY['a'], ARRAY['b']], ARRAY['a'], 1) $$, '2202E',
                 'retrieved must be a one-dimensional array', 'a two-dimensional array: 2202E');

-- Contract: IMMUTABLE, PARALLEL SAFE, STRICT.
SELECT is((SELECT count(*)::int FROM pg_proc
           WHERE pronamespace = 'llmeval'::regnamespace
             AND proname IN ('precision_at_k', 'recall_at_k', 'hit_rate_at_k', 'reciprocal_rank',
                             'average_precision', 'ndcg_at_k')
             AND provolatile = 'i' AND proparallel = 's' AND proisstrict), 6,
          'the ranking metrics are IMMUTABLE, PARALLEL SAFE and STRICT');

SELECT ok(has_function_privilege('llmeval_user', 'llmeval.ndcg_at_k(text[], jsonb, int)', 'EXECUTE')
          AND has_function_privilege('public', 'llmeval.precision_at_k(text[], text[], int)', 'EXECUTE'),
          'tenants (and everyone) may call the ranking metrics');

SELECT * FROM finish();
ROLLBACK;
