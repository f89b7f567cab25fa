-- The statistics through SQL: representative scipy reference cases (the block
-- below is generated from test/data/stats_fixtures.json by
-- test/data/make_stats_fixtures.py --pgtap; the unit test checks all of
-- them), the documented column contracts, NULL and error behaviour.
BEGIN;
SELECT plan(48);

-- BEGIN GENERATED CASES (test/data/make_stats_fixtures.py --pgtap)
-- Representative cases of test/data/stats_fixtures.json; do not edit by hand.
CREATE TEMP TABLE two_sample_cases (id text, test text, a float8[], b float8[], expected jsonb);
INSERT INTO two_sample_cases VALUES
  ('welch_small_normal', 'welch_t_test',
   '{-0.0112,-0.3177,0.3496,-1.5899,0.4845}'::float8[],
   '{-0.3217,-0.7261,0.0985,-1.9515,-0.1584,-0.7313,0.4097}'::float8[],
   '{"ci_high": 1.3449658082860703, "ci_low": -0.8129029511432132, "df": 8.324763948653148, "effect_size": 0.3353233526347971, "mean_a": -0.21694, "mean_b": -0.4829714285714286, "mean_diff": 0.2660314285714286, "n_a": 5, "n_b": 7, "p_value": 0.5871353186956407, "statistic": 0.5647504280818881}'),
  ('welch_tiny_p', 'welch_t_test',
   '{3.7825,0.4005,1.6801,2.3011,2.1951,1.0663,1.2289,0.7387,2.3292,2.5366,2.4929,1.9942,1.2354,1.1595,1.7836,0.7654,3.3274,1.1143,2.873,3.11,0.5303,2.1418,1.9982,1.4697,2.3901,1.0255,1.0609,0.6849,1.7954,1.7473,1.0752,1.4137,1.1259,1.4089,2.3241,0.9094,1.3003,1.3446,0.2644,0.9519,1.9912,1.7703,0.6142,0.3045,0.7979,2.5239,1.0101,1.1182,0.8926,0.8988,2.9505,1.3933,2.643,2.3835,1.9894,3.21,0.816,1.9957,0.5613,1.3868,0.3672,1.2535,2.9455,3.0617,-0.8889,1.9381,0.0827,0.7473,0.8904,2.9032,1.8889,1.4175,1.1038,0.6245,2.0889,2.1299,3.5991,3.0918,0.9811,1.7355,0.4706,2.5251,1.7944,2.8008,-0.0809,2.0658,2.138,1.5376,3.6429,2.2773,1.1049,1.256,2.615,1.0158,0.8022,0.476,1.9233,0.6364,3.9391,1.3945}'::float8[],
   '{-1.4139,-0.7634,1.0558,0.9916,0.2622,0.8129,-0.6738,-1.2058,1.1802,0.5931,-0.1791,-0.7328,-0.6933,0.0524,0.9021,0.0816,-0.8987,0.221,0.2387,0.3176,1.1094,1.1757,1.752,1.4969,-0.052,-0.7186,0.2908,1.5993,0.9496,-1.3568,0.6006,-0.7269,-1.8434,0.9174,-0.9029,-1.6771,-0.1465,2.5368,-0.8682,-1.5951,-1.4677,-0.0755,2.584,-2.6201,0.0512,0.1344,-1.4692,-1.2363,-0.091,-0.4728,-0.4417,-0.5236,0.077,-0.0096,-0.9998,-1.1718,1.7666,-0.5482,-0.0536,-0.1862,0.2269,0.7889,-0.3385,-2.1489,0.7862,-0.8028,-1.9327,1.5126,0.1769,-2.0099,0.9195,-0.502,-0.6671,-0.4763,-0.1098,-1.5407,1.442,-1.3471,0.5857,-0.8162,-0.5963,0.1161,-0.7714,-0.2839,0.2778,-0.2943,0.4232,-0.2166,0.1235,-0.7359,0.6637,0.1566,0.736,1.9701,-2.2533,0.779,-1.6136,0.1994,1.8766,0.3809}'::float8[],
   '{"ci_high": 2.0016862589725006, "ci_low": 1.4384157410274998, "df": 194.7150501772877, "effect_size": 1.7034332189477146, "mean_a": 1.6262490000000003, "mean_b": -0.093802, "mean_diff": 1.7200510000000002, "n_a": 100, "n_b": 100, "p_value": 2.484769260804761e-25, "statistic": 12.045091804163578}'),
  ('welch_both_constant', 'welch_t_test',
   '{1.0,1.0,1.0,1.0}'::float8[],
   '{2.0,2.0,2.0,2.0,2.0}'::float8[],
   '{"ci_high": -1.0, "ci_low": -1.0, "df": null, "effect_size": "-Infinity", "mean_a": 1.0, "mean_b": 2.0, "mean_diff": -1.0, "n_a": 4, "n_b": 5, "p_value": 0.0, "statistic": "-Infinity"}'),
  ('paired_small', 'paired_t_test',
   '{8.075,6.322800000000001,4.7204,7.236000000000001,6.0017,6.8953999999999995,6.782100000000001,5.699,6.523300000000001,6.279400000000001}'::float8[],
   '{6.6735,5.2784,4.3041,6.8227,5.4924,5.4471,6.8253,4.0612,4.496,4.0448}'::float8[],
   '{"ci_high": 1.655102726002108, "ci_low": 0.5628172739978922, "df": 9.0, "effect_size": 1.452554719994872, "mean_a": 6.45351, "mean_b": 5.34455, "mean_diff": 1.1089600000000002, "n_a": 10, "n_b": 10, "p_value": 0.0013027399633729554, "statistic": 4.59338134121192}'),
  ('paired_identical', 'paired_t_test',
   '{2.9841,-0.7184,-2.5668,1.0554,-0.1541,0.5084,0.901,-0.9663,1.1578,-0.888,1.3328,1.2038,-1.4537,1.4523,2.1345}'::float8[],
   '{2.9841,-0.7184,-2.5668,1.0554,-0.1541,0.5084,0.901,-0.9663,1.1578,-0.888,1.3328,1.2038,-1.4537,1.4523,2.1345}'::float8[],
   '{"ci_high": 0.0, "ci_low": 0.0, "df": 14.0, "effect_size": null, "mean_a": 0.39885333333333334, "mean_b": 0.39885333333333334, "mean_diff": 0.0, "n_a": 15, "n_b": 15, "p_value": null, "statistic": null}'),
  ('mwu_small', 'mann_whitney_u',
   '{-0.7804,1.5252,-0.1844,1.6865}'::float8[],
   '{-0.9719,-0.6284,0.0126,0.918,0.9098}'::float8[],
   '{"ci_high": null, "ci_low": null, "effect_size": 0.3, "n_a": 4, "n_b": 5, "p_value": 0.5402913746074199, "statistic": 13.0, "z": 0.6123724356957945}'),
  ('mwu_all_tied', 'mann_whitney_u',
   '{2.0,2.0,2.0,2.0,2.0}'::float8[],
   '{2.0,2.0,2.0,2.0,2.0,2.0}'::float8[],
   '{"ci_high": null, "ci_low": null, "effect_size": 0.0, "n_a": 5, "n_b": 6, "p_value": 1.0, "statistic": 15.0, "z": 0.0}'),
  ('wilcoxon_small', 'wilcoxon_signed_rank',
   '{-4.1793,-0.7221000000000001,2.0697,1.6262999999999999,0.582,0.4803,2.5962,1.0857,0.9965,2.5909,0.29979999999999996,0.571,-0.5276000000000001,0.9348,0.19410000000000005,0.8495000000000001,2.7248,0.053099999999999925,-1.9909000000000001,0.10109999999999997}'::float8[],
   '{-1.0833,-1.0819,0.1312,1.4323,-0.549,0.3563,2.1322,0.8847,0.6076,0.2464,0.8056,-1.6415,-0.9996,0.5335,-0.9805,-0.2567,1.5224,-0.6137,-0.9089,-1.092}'::float8[],
   '{"ci_high": null, "ci_low": null, "effect_size": 0.6190476190476191, "n": 20, "n_nonzero": 20, "p_value": 0.015240061183200121, "statistic": 40.0, "w_minus": 40.0, "w_plus": 170.0, "z": 2.4266235270763112}'),
  ('wilcoxon_zeros_and_ties', 'wilcoxon_signed_rank',
   '{5.0,1.0,5.0,3.0,3.0,5.0,1.0,2.0,5.0,3.0,3.0,3.0,5.0,4.0,2.0,1.0,4.0,2.0,1.0,2.0,4.0,1.0,2.0,3.0,2.0,5.0,3.0,2.0,2.0,2.0,2.0,1.0,5.0,4.0,3.0,4.0,3.0,2.0,5.0,4.0,2.0,5.0,1.0,2.0,2.0,4.0,1.0,3.0,4.0,5.0,2.0,3.0,3.0,4.0,5.0,3.0,3.0,5.0,5.0,5.0}'::float8[],
   '{5.0,1.0,4.0,3.0,4.0,3.0,1.0,3.0,5.0,3.0,2.0,1.0,5.0,4.0,2.0,1.0,4.0,3.0,1.0,2.0,5.0,2.0,1.0,3.0,1.0,5.0,3.0,1.0,2.0,2.0,1.0,2.0,4.0,4.0,1.0,3.0,3.0,2.0,4.0,3.0,1.0,5.0,1.0,3.0,2.0,4.0,1.0,3.0,3.0,5.0,1.0,1.0,2.0,4.0,5.0,4.0,3.0,5.0,4.0,5.0}'::float8[],
   '{"ci_high": null, "ci_low": null, "effect_size": 0.49206349206349204, "n": 60, "n_nonzero": 27, "p_value": 0.015569643031155758, "statistic": 96.0, "w_minus": 96.0, "w_plus": 282.0, "z": 2.418850375386698}'),
  ('wilcoxon_all_zero', 'wilcoxon_signed_rank',
   '{0.6419,0.1872,0.5615,0.6323,0.408,-0.1488,-1.025,-0.3948,0.1913,-0.1289,1.6244,-0.3268}'::float8[],
   '{0.6419,0.1872,0.5615,0.6323,0.408,-0.1488,-1.025,-0.3948,0.1913,-0.1289,1.6244,-0.3268}'::float8[],
   '{"ci_high": null, "ci_low": null, "effect_size": null, "n": 12, "n_nonzero": 0, "p_value": null, "statistic": null, "w_minus": 0.0, "w_plus": 0.0, "z": null}');
CREATE TEMP TABLE proportion_cases (id text, successes_a bigint, n_a bigint, successes_b bigint, n_b bigint, expected jsonb);
INSERT INTO proportion_cases VALUES
  ('prop_moderate', 45, 100, 30, 100,
   '{"ci_high": 0.2825695066924352, "ci_low": 0.017430493307564826, "effect_size": 0.3113494249059283, "p_value": 0.02845973691631055, "prop_a": 0.45, "prop_b": 0.3, "prop_diff": 0.15000000000000002, "statistic": 2.1908902300206647}'),
  ('prop_none', 0, 50, 0, 50,
   '{"ci_high": 0.0, "ci_low": 0.0, "effect_size": 0.0, "p_value": null, "prop_a": 0.0, "prop_b": 0.0, "prop_diff": 0.0, "statistic": null}');
CREATE TEMP TABLE bootstrap_cases (id text, x float8[], confidence float8, resamples int, seed bigint, expected jsonb);
INSERT INTO bootstrap_cases VALUES
  ('bootstrap_likert_defaults', '{1.0,3.0,5.0,1.0,2.0,4.0,1.0,1.0,5.0,2.0}'::float8[], 0.95, 10000, 0,
   '{"ci_high": 3.5, "ci_low": 1.6, "estimate": 2.5, "resamples": 10000}'),
  ('bootstrap_binary', '{0.0,0.0,0.0,0.0,1.0,1.0,0.0,0.0,1.0,1.0,1.0,0.0,1.0,0.0,1.0,1.0,1.0,1.0,1.0,1.0,0.0,0.0,1.0,1.0,1.0,0.0,1.0,1.0,0.0,1.0}'::float8[], 0.99, 5000, 123456789,
   '{"ci_high": 0.8333333333333334, "ci_low": 0.36666666666666664, "estimate": 0.6, "resamples": 5000}');
-- END GENERATED CASES

-- The keys of `expected` whose value in `got` differs: both NULL (NaN in
-- scipy), equal (infinities included), or within `rel` relative plus a floor
-- (p-values may underflow differently below 1e-300).
CREATE FUNCTION pg_temp.stats_mismatches(got jsonb, expected jsonb, rel float8 DEFAULT 1e-9)
RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
  SELECT coalesce(array_agg(e.key || ': got ' || coalesce(got ->> e.key, 'NULL') || ', expected ' ||
                            coalesce(expected ->> e.key, 'NULL') ORDER BY e.key), '{}')
  FROM jsonb_each(expected) e
  WHERE NOT CASE
    WHEN expected ->> e.key IS NULL OR got ->> e.key IS NULL
      THEN expected ->> e.key IS NULL AND got ->> e.key IS NULL
    ELSE (got ->> e.key)::float8 = (expected ->> e.key)::float8
      OR abs((got ->> e.key)::float8 - (expected ->> e.key)::float8)
         <= rel * abs((expected ->> e.key)::float8)
            + CASE WHEN rel = 0 THEN 0 WHEN e.key = 'p_value' THEN 1e-300 ELSE 1e-12 END::float8
  END
$$;

CREATE TEMP VIEW two_sample_results AS
SELECT c.id, c.test, c.expected,
       CASE c.test
         WHEN 'welch_t_test' THEN (SELECT to_jsonb(r) FROM llmeval.welch_t_test(c.a, c.b) r)
         WHEN 'paired_t_test' THEN (SELECT to_jsonb(r) FROM llmeval.paired_t_test(c.a, c.b) r)
         WHEN 'mann_whitney_u' THEN (SELECT to_jsonb(r) FROM llmeval.mann_whitney_u(c.a, c.b) r)
         WHEN 'wilcoxon_signed_rank'
           THEN (SELECT to_jsonb(r) FROM llmeval.wilcoxon_signed_rank(c.a, c.b) r)
       END AS got
FROM two_sample_cases c;

SELECT is((SELECT count(DISTINCT test) FROM two_sample_cases), 4::bigint,
          'reference cases for the four two-sample tests are loaded');
SELECT is((SELECT count(*) FROM two_sample_results
           WHERE test = t AND pg_temp.stats_mismatches(got, expected) <> '{}'), 0::bigint,
          t || ': every column within 1e-9 of scipy')
FROM unnest(ARRAY['welch_t_test', 'paired_t_test', 'mann_whitney_u', 'wilcoxon_signed_rank']) t;
SELECT diag(id || ': ' || array_to_string(pg_temp.stats_mismatches(got, expected), '; '))
FROM two_sample_results WHERE pg_temp.stats_mismatches(got, expected) <> '{}';

SELECT is((SELECT count(*) FROM proportion_cases c,
                LATERAL llmeval.two_proportion_z_test(c.successes_a, c.n_a, c.successes_b, c.n_b) r
           WHERE pg_temp.stats_mismatches(to_jsonb(r), c.expected) <> '{}'), 0::bigint,
          'two_proportion_z_test: every column within 1e-9 of the reference');
SELECT is((SELECT count(*) FROM bootstrap_cases c,
                LATERAL llmeval.bootstrap_ci(c.x, c.confidence, c.resamples, c.seed) r
           WHERE pg_temp.stats_mismatches(to_jsonb(r), c.expected, 0) <> '{}'), 0::bigint,
          'bootstrap_ci: bit for bit the reference implementation''s interval');
SELECT diag(c.id || ': ' || array_to_string(pg_temp.stats_mismatches(to_jsonb(r), c.expected, 0), '; '))
FROM bootstrap_cases c, LATERAL llmeval.bootstrap_ci(c.x, c.confidence, c.resamples, c.seed) r
WHERE pg_temp.stats_mismatches(to_jsonb(r), c.expected, 0) <> '{}';

-- The result columns are a contract (callers use (f(a, b)).p_value etc.).
SELECT is(pg_get_function_arguments('llmeval.welch_t_test(float8[], float8[])'::regprocedure),
          'a double precision[], b double precision[], OUT statistic double precision, '
          'OUT p_value double precision, OUT effect_size double precision, '
          'OUT ci_low double precision, OUT ci_high double precision, OUT df double precision, '
          'OUT n_a bigint, OUT n_b bigint, OUT mean_a double precision, '
          'OUT mean_b double precision, OUT mean_diff double precision',
          'welch_t_test columns');
SELECT is(pg_get_function_arguments('llmeval.paired_t_test(float8[], float8[])'::regprocedure),
          pg_get_function_arguments('llmeval.welch_t_test(float8[], float8[])'::regprocedure),
          'paired_t_test has the same columns');
SELECT is(pg_get_function_arguments('llmeval.mann_whitney_u(float8[], float8[])'::regprocedure),
          'a double precision[], b double precision[], OUT statistic double precision, '
          'OUT p_value double precision, OUT effect_size double precision, '
          'OUT ci_low double precision, OUT ci_high double precision, OUT z double precision, '
          'OUT n_a bigint, OUT n_b bigint',
          'mann_whitney_u columns');
SELECT is(pg_get_function_arguments('llmeval.wilcoxon_signed_rank(float8[], float8[])'::regprocedure),
          'a double precision[], b double precision[], OUT statistic double precision, '
          'OUT p_value double precision, OUT effect_size double precision, '
          'OUT ci_low double precision, OUT ci_high double precision, OUT z double precision, '
          'OUT n bigint, OUT n_nonzero bigint, OUT w_plus double precision, '
          'OUT w_minus double precision',
          'wilcoxon_signed_rank columns');
SELECT is(pg_get_function_arguments(
            'llmeval.two_proportion_z_test(bigint, bigint, bigint, bigint)'::regprocedure),
          'successes_a bigint, n_a bigint, successes_b bigint, n_b bigint, '
          'OUT statistic double precision, OUT p_value double precision, '
          'OUT effect_size double precision, OUT ci_low double precision, '
          'OUT ci_high double precision, OUT prop_a double precision, OUT prop_b double precision, '
          'OUT prop_diff double precision',
          'two_proportion_z_test columns');
SELECT is(pg_get_function_arguments('llmeval.bootstrap_ci(float8[], float8, int, bigint)'::regprocedure),
          'x double precision[], confidence double precision DEFAULT 0.95, resamples integer DEFAULT '
          '10000, seed bigint DEFAULT 0, OUT estimate double precision, OUT ci_low double precision, '
          'OUT ci_high double precision, OUT resamples integer',
          'bootstrap_ci arguments and columns');
SELECT is((SELECT count(*) FROM pg_proc
           WHERE pronamespace = 'llmeval'::regnamespace
             AND proname IN ('welch_t_test', 'paired_t_test', 'mann_whitney_u',
                             'wilcoxon_signed_rank', 'two_proportion_z_test', 'bootstrap_ci')
             AND provolatile = 'i' AND proparallel = 's'
             AND proisstrict = (proname <> 'bootstrap_ci')),
          6::bigint, 'all six are IMMUTABLE and PARALLEL SAFE; all but bootstrap_ci are STRICT');

-- NULL arrays give NULL rows; NULL options of bootstrap_ci mean their defaults.
SELECT ok(llmeval.welch_t_test(NULL, '{1,2}') IS NULL AND llmeval.paired_t_test('{1,2}', NULL) IS NULL
          AND llmeval.mann_whitney_u(NULL, NULL) IS NULL
          AND llmeval.wilcoxon_signed_rank(NULL, '{1}') IS NULL
          AND llmeval.two_proportion_z_test(1, 2, NULL, 4) IS NULL
          AND llmeval.bootstrap_ci(NULL) IS NULL, 'a NULL argument gives a NULL row');
SELECT is(llmeval.bootstrap_ci('{1,2,3,4,10}', NULL, NULL, NULL),
          llmeval.bootstrap_ci('{1,2,3,4,10}', 0.95, 10000, 0), 'NULL options mean the defaults');
SELECT is(llmeval.bootstrap_ci('{1,2,3,4,10}'), llmeval.bootstrap_ci('{1,2,3,4,10}', 0.95, 10000, 0),
          'bootstrap_ci defaults');

-- Errors, each with its SQLSTATE.
SELECT throws_ok($$ SELECT llmeval.welch_t_test('{1,NULL,3}', '{1,2}') $$, '22004',
                 'a must not contain NULL elements', 'welch_t_test: NULL element');
SELECT throws_ok($$ SELECT llmeval.paired_t_test('{1,2}', '{1,NULL}') $$, '22004',
                 'b must not contain NULL elements', 'paired_t_test: NULL element');
SELECT throws_ok($$ SELECT llmeval.mann_whitney_u('{NULL}', '{1,2}') $$, '22004', NULL,
                 'mann_whitney_u: NULL element');
SELECT throws_ok($$ SELECT llmeval.wilcoxon_signed_rank('{1,2}', '{NULL,2}') $$, '22004', NULL,
                 'wilcoxon_signed_rank: NULL element');
SELECT throws_ok($$ SELECT llmeval.bootstrap_ci('{1,NULL}') $$, '22004', NULL,
                 'bootstrap_ci: NULL element');
SELECT throws_ok($$ SELECT llmeval.welch_t_test('{1,NaN,3}', '{1,2}') $$, '22000',
                 'a must not contain NaN or infinite values', 'welch_t_test: NaN');
SELECT throws_ok($$ SELECT llmeval.mann_whitney_u('{1,2}', '{3,Infinity}') $$, '22000', NULL,
                 'mann_whitney_u: Infinity');
SELECT throws_ok($$ SELECT llmeval.wilcoxon_signed_rank('{-Infinity,2}', '{1,2}') $$, '22000', NULL,
                 'wilcoxon_signed_rank: -Infinity');
SELECT throws_ok($$ SELECT llmeval.paired_t_test('{1,2}', '{NaN,2}') $$, '22000', NULL,
                 'paired_t_test: NaN');
SELECT throws_ok($$ SELECT llmeval.bootstrap_ci('{1,NaN}') $$, '22000', NULL, 'bootstrap_ci: NaN');
SELECT throws_ok($$ SELECT llmeval.welch_t_test('{{1,2},{3,4}}', '{1,2}') $$, '2202E',
                 'a must be a one-dimensional array', 'welch_t_test: two-dimensional array');
SELECT throws_ok($$ SELECT llmeval.mann_whitney_u('{1,2}', '{{1},{2}}') $$, '2202E', NULL,
                 'mann_whitney_u: two-dimensional array');
SELECT throws_ok($$ SELECT llmeval.paired_t_test('{1,2,3}', '{1,2}') $$, '2202E',
                 'paired samples must have the same length', 'paired_t_test: lengths differ');
SELECT throws_ok($$ SELECT llmeval.wilcoxon_signed_rank('{1}', '{1,2}') $$, '2202E', NULL,
                 'wilcoxon_signed_rank: lengths differ');
SELECT throws_ok($$ SELECT llmeval.two_proportion_z_test(5, 4, 1, 2) $$, '22023',
                 'successes_a must be between 0 and n_a', 'two_proportion_z_test: successes > n');
SELECT throws_ok($$ SELECT llmeval.two_proportion_z_test(1, 4, 0, -2) $$, '22023', NULL,
                 'two_proportion_z_test: negative n');
SELECT throws_ok($$ SELECT llmeval.bootstrap_ci('{1,2}', confidence => 1) $$, '22023', NULL,
                 'bootstrap_ci: confidence 1');
SELECT throws_ok($$ SELECT llmeval.bootstrap_ci('{1,2}', resamples => 0) $$, '22023', NULL,
                 'bootstrap_ci: no resamples');

-- Too few observations: NULLs, not errors.
SELECT ok(r.p_value IS NULL AND r.statistic IS NULL AND r.df IS NULL AND r.mean_a = 1
          AND r.mean_diff = -1 AND r.n_a = 1 AND r.n_b = 3,
          'welch_t_test with one value in a: NULL test, means given')
FROM llmeval.welch_t_test('{1}', '{1,2,3}') r;
SELECT ok(r.p_value IS NULL AND r.mean_a IS NULL AND r.n_a = 0 AND r.n_b = 0,
          'paired_t_test of empty arrays: NULLs')
FROM llmeval.paired_t_test('{}', '{}') r;
SELECT ok(r.statistic IS NULL AND r.p_value IS NULL AND r.n_a = 0 AND r.n_b = 2,
          'mann_whitney_u with an empty sample: NULLs')
FROM llmeval.mann_whitney_u('{}', '{1,2}') r;
SELECT ok(r.statistic IS NULL AND r.p_value IS NULL AND r.effect_size IS NULL AND r.n = 3
          AND r.n_nonzero = 0 AND r.w_plus = 0,
          'wilcoxon_signed_rank with every difference 0: NULLs (scipy raises)')
FROM llmeval.wilcoxon_signed_rank('{1,2,3}', '{1,2,3}') r;
SELECT ok(r.statistic IS NULL AND r.p_value IS NULL AND r.prop_a IS NULL AND r.prop_b = 0.5,
          'two_proportion_z_test with n_a = 0: NULLs')
FROM llmeval.two_proportion_z_test(0, 0, 2, 4) r;
SELECT ok(r.estimate IS NULL AND r.ci_low IS NULL AND r.resamples = 10000,
          'bootstrap_ci of an empty array: NULLs')
FROM llmeval.bootstrap_ci('{}') r;

-- Zero variance as scipy: +/-Infinity and p = 0, or NULL for 0/0.
SELECT ok(r.statistic = '-Infinity' AND r.p_value = 0 AND r.ci_low = -1 AND r.ci_high = -1,
          'welch_t_test of two different constants: t = -Infinity, p = 0')
FROM llmeval.welch_t_test('{1,1,1}', '{2,2}') r;
SELECT ok(r.statistic IS NULL AND r.p_value IS NULL AND r.mean_diff = 0,
          'paired_t_test of identical samples: 0/0 gives NULL')
FROM llmeval.paired_t_test('{1,5,2}', '{1,5,2}') r;

-- Directions: positive effect sizes when a tends to be larger.
SELECT ok(r.statistic = 6 AND r.effect_size = 1 AND r.z > 0, 'mann_whitney_u: U of a, rank-biserial +1')
FROM llmeval.mann_whitney_u('{3,4,5}', '{1,2}') r;
-- d = 1, 2, 3, 4, 0, -1: the 0 is dropped, |d| = 1 twice shares rank 1.5.
SELECT ok(r.statistic = 1.5 AND r.w_plus = 13.5 AND r.w_minus = 1.5 AND r.effect_size = 0.8
          AND r.n = 6 AND r.n_nonzero = 5 AND r.z > 0,
          'wilcoxon_signed_rank: zero dropped, ties averaged, min(W+, W-), rank-biserial')
FROM llmeval.wilcoxon_signed_rank('{2,4,6,8,5,3}', '{1,2,3,4,5,4}') r;
SELECT ok(r.effect_size > 0 AND r.prop_diff = 0.25 AND r.ci_low < 0.25 AND r.ci_high > 0.25,
          'two_proportion_z_test: Cohen''s h and the Wald interval around p_a - p_b')
FROM llmeval.two_proportion_z_test(75, 100, 50, 100) r;
SELECT ok((llmeval.paired_t_test('{2,4,6,9}', '{1,2,3,4}')).effect_size > 0
          AND (llmeval.welch_t_test('{2,4,6,9}', '{1,2,3,4}')).effect_size > 0,
          't-tests: positive d when a is larger');

-- Seeds: reproducible, and every bigint is a seed.
CREATE TEMP TABLE sample AS SELECT '{1.1,2.7,3.2,4.9,10.3,0.4,5.5,6.1}'::float8[] AS x;
SELECT ok(llmeval.bootstrap_ci(x, resamples => 200, seed => 7)
            = llmeval.bootstrap_ci(x, resamples => 200, seed => 7)
          AND llmeval.bootstrap_ci(x, resamples => 200, seed => 7)
            <> llmeval.bootstrap_ci(x, resamples => 200, seed => 8)
          AND (llmeval.bootstrap_ci(x, seed => -9223372036854775808)).ci_low IS NOT NULL,
          'bootstrap_ci: the same seed gives the same interval, another seed another')
FROM sample;

SELECT * FROM finish();
ROLLBACK;
