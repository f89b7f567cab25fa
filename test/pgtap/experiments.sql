-- A/B tests: experiment validation, deterministic weighted assignment by
-- rendezvous hashing (weights respected, stable when variants are added or
-- removed), tenant isolation, outcomes and the comparison with the control.
BEGIN;
SELECT plan(67);

-- pgTAP keeps its state in temporary tables of this session's owner.
CREATE ROLE tap_exp_alice IN ROLE llmeval_user;
CREATE ROLE tap_exp_bob IN ROLE llmeval_user;
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN
    CREATE ROLE authenticated;
  END IF;
END $$;
GRANT llmeval_user TO authenticated;
GRANT ALL ON ALL TABLES IN SCHEMA pg_temp TO PUBLIC;
GRANT ALL ON ALL SEQUENCES IN SCHEMA pg_temp TO PUBLIC;

SELECT llmeval.create_provider('tapexp', 'openai', 'http://127.0.0.1:9/v1');
SELECT llmeval.create_model('tapexp/model-a');

-- Statistics helpers, against Python's statistics.NormalDist (the same
-- algorithm, AS241) and exact or independently computed t quantiles.
SELECT is(llmeval._normal_quantile(0.975), 1.9599639845400536::float8, 'z 0.975');
SELECT is(llmeval._normal_quantile(0.8), 0.8416212335729144::float8, 'z 0.8');
SELECT ok(abs(llmeval._normal_quantile(1e-10) - -6.361340902404056) < 1e-14
          AND abs(llmeval._normal_quantile(0.3) - -0.5244005127080407) < 1e-15, 'z in the tail and below 0.5');
SELECT ok(abs(llmeval._t_quantile(0.975, 1) - 12.706204736174696) < 1e-10
          AND abs(llmeval._t_quantile(0.975, 2) - 4.302652729749464) < 1e-12
          AND abs(llmeval._t_quantile(0.975, 10) - 2.228138851986274) < 1e-12
          AND abs(llmeval._t_quantile(0.025, 10) + 2.228138851986274) < 1e-12,
          't quantiles at 1, 2 and 10 df (exact forms and a reference value)');
SELECT ok(abs(llmeval._t_quantile(0.975, 1.5) - 6.016663104427931) < 1e-9
          AND abs(llmeval._t_quantile(0.995, 2.3) - 8.003745266871086) < 1e-9,
          't quantiles at fractional df, where Hill''s approximation alone is 1% off');
-- welch_t_test's 95% interval is Welch's t quantile at its df times the standard error.
SELECT ok((SELECT abs((w.ci_high - w.ci_low) / 2
                      - llmeval._t_quantile(0.975, w.df) * sqrt(1.0 / 3 + (5.0 / 3) / 4)) < 1e-12
           FROM llmeval.welch_t_test('{1,2,3}', '{2,3,4,5}') w),
          'the t quantile agrees with welch_t_test''s interval');

-- Validation -------------------------------------------------------------
SET ROLE tap_exp_alice;
SELECT llmeval.create_prompt('greet', 'Hello {{name}}');
SELECT llmeval.create_prompt('greet', 'Hi {{name}}!');

SELECT throws_ok($$ SELECT llmeval.create_experiment(NULL, '[{"name": "a"}]') $$, '22004', NULL,
                 'an experiment needs a name');
SELECT throws_ok($$ SELECT llmeval.create_experiment('x', NULL) $$, '22004', NULL, 'and variants');
SELECT throws_ok($$ SELECT llmeval.create_experiment('x', '[]') $$, '22023',
                 'the variants of experiment "x" must be a non-empty JSON array', 'an empty array');
SELECT throws_ok($$ SELECT llmeval.create_experiment('x', '{"name": "a"}') $$, '22023', NULL,
                 'an object instead of an array');
SELECT throws_ok($$ SELECT llmeval.create_experiment('x', '[{"name": "a"}, 7]') $$, '22023',
                 'variant 2 of experiment "x" is not a JSON object', 'a variant that is not an object');
SELECT throws_ok($$ SELECT llmeval.create_experiment('x', '[{"weight": 2}]') $$, '22023',
                 'variant 1 of experiment "x" needs a name (a non-empty string)', 'a variant without a name');
SELECT throws_ok($$ SELECT llmeval.create_experiment('x', '[{"name": "a", "wieght": 2}]') $$, '22023',
                 'variant 1 of experiment "x" has an unknown key "wieght"', 'a misspelt key');
SELECT throws_ok($$ SELECT llmeval.create_experiment('x', '[{"name": "a", "weight": 0}]') $$, '22023',
                 'the weight of variant "a" must be a positive number, not 0', 'weight 0');
SELECT throws_ok($$ SELECT llmeval.create_experiment('x', '[{"name": "a"}, {"name": "b", "weight": -1}]') $$,
                 '22023', NULL, 'a negative weight');
SELECT throws_ok($$ SELECT llmeval.create_experiment('x', '[{"name": "a", "weight": "3"}]') $$, '22023',
                 NULL, 'a weight that is a string');
SELECT throws_ok($$ SELECT llmeval.create_experiment('x', '[{"name": "a", "weight": 1e400}]') $$, '22023',
                 NULL, 'a weight beyond double precision');
SELECT throws_ok($$ SELECT llmeval.create_experiment('x', '[{"name": "a"}, {"name": "b"}, {"name": "a"}]') $$,
                 '42710', 'variant "a" of experiment "x" is specified more than once', 'duplicate variant names');
SELECT throws_ok($$ SELECT llmeval.create_experiment('x', '[{"name": "a", "prompt": "nope"}]') $$, '42704',
                 'prompt "nope" does not exist', 'an unknown prompt');
SELECT throws_ok($$ SELECT llmeval.create_experiment('x', '[{"name": "a", "prompt": "greet", "prompt_version": 3}]') $$,
                 '42704', 'prompt "greet" has no version 3', 'an unknown prompt version');
SELECT throws_ok($$ SELECT llmeval.create_experiment('x', '[{"name": "a", "prompt_version": 1}]') $$, '22023',
                 'variant "a" has a prompt_version but no prompt', 'a prompt version without a prompt');
SELECT throws_ok($$ SELECT llmeval.create_experiment('x', '[{"name": "a", "prompt": "greet", "prompt_version": 1.5}]') $$,
                 '22023', NULL, 'a fractional prompt version');
SELECT throws_ok($$ SELECT llmeval.create_experiment('x', '[{"name": "a", "model": "tapexp/nope"}]') $$, '42704',
                 'model "tapexp/nope" does not exist', 'an unknown model');
SELECT is((SELECT count(*) FROM llmeval.experiments), 0::bigint, 'failed creations leave nothing behind');

SELECT ok(llmeval.create_experiment('copy', $$[
            {"name": "control", "prompt": "greet", "prompt_version": 1, "model": "tapexp/model-a"},
            {"name": "short", "weight": 3, "prompt": "greet"},
            {"name": "bare", "weight": 0.5}]$$) > 0, 'an experiment with prompts, models and weights');
SELECT results_eq(
  $$ SELECT v.name, pv.version, m.name, v.weight FROM llmeval.experiment_variants v
     LEFT JOIN llmeval.prompt_versions pv ON pv.id = v.prompt_version_id
     LEFT JOIN llmeval.models m ON m.id = v.model_id ORDER BY v.id $$,
  $$ VALUES ('control', 1, 'tapexp/model-a', 1::float8), ('short', 2, NULL, 3), ('bare', NULL, NULL, 0.5) $$,
  'variants keep their order, the given or latest prompt version, the model and the weight');
SELECT is((SELECT variant_names || variant_weights::text[] FROM llmeval.experiments WHERE name = 'copy'),
          ARRAY['control', 'short', 'bare', '1', '3', '0.5'], 'the experiment row mirrors its variants');
SELECT throws_ok($$ SELECT llmeval.create_experiment('copy', '[{"name": "a"}]') $$, '42710',
                 'experiment "copy" already exists', 'an existing name');
SELECT throws_ok($$ SELECT llmeval.add_variant('nope', '{"name": "a"}') $$, '42704',
                 'experiment "nope" does not exist', 'adding to an unknown experiment');
SELECT throws_ok($$ SELECT llmeval.add_variant('copy', '{"name": "short"}') $$, '42710',
                 'variant "short" of experiment "copy" already exists', 'adding an existing variant');
SELECT throws_ok($$ SELECT llmeval.add_variant('copy', '{"name": "new", "weight": 0}') $$, '22023', NULL,
                 'adding a variant with a bad weight');
SELECT throws_ok($$ SELECT llmeval.assign_variant('nope', 'u1') $$, '42704',
                 'experiment "nope" does not exist', 'assigning in an unknown experiment');
SELECT throws_ok($$ SELECT llmeval.assign_variant('copy', NULL) $$, '22004', NULL, 'a NULL unit key');
SELECT throws_ok($$ SELECT llmeval.record_outcome('copy', 'u1', 'score', 1, 'nope') $$, '42704',
                 'variant "nope" of experiment "copy" does not exist', 'an outcome for an unknown variant');
SELECT throws_ok($$ SELECT llmeval.record_outcome('copy', 'u1', 'score', 'NaN') $$, '22023', NULL,
                 'a NaN outcome');
SELECT throws_ok($$ SELECT llmeval.record_outcome('copy', 'u1', NULL, 1) $$, '22004', NULL,
                 'an outcome without a metric');
SELECT throws_ok($$ SELECT * FROM llmeval.experiment_result('copy', 'score', alpha => 0) $$, '22023', NULL,
                 'alpha outside (0, 1)');
SELECT throws_ok($$ SELECT * FROM llmeval.experiment_result('copy', 'score', power => 1) $$, '22023', NULL,
                 'power outside (0, 1)');
RESET ROLE;

-- Assignment ----------------------------------------------------------------
-- These run as the superuser, whose tenant is its role name: no row-level
-- security, so the 100,000-key checks stay quick.

-- The documented hash, against values computed in Python:
-- (int(sha256(f'{id}:{len(name)}:{name}:{key}'.encode()).hexdigest()[:13], 16) + 0.5) / 2**52
SELECT is(llmeval._assignment_hash(7, 'treatment', 'user-42'), 0.6805555243384088::float8,
          'the assignment hash is the documented SHA-256 formula');
SELECT is(llmeval._assignment_hash(7, 'café', 'ключ-1'), 0.8895428690321171::float8,
          'names are counted in characters, texts hashed as UTF-8');

SELECT llmeval.create_experiment('ab', '[{"name": "a", "weight": 1}, {"name": "b", "weight": 3}]');
SELECT is(llmeval.assign_variant('ab', 'user-42'), llmeval.assign_variant('ab', 'user-42'),
          'the same unit gets the same variant');

CREATE TEMP TABLE before AS
SELECT 'user-' || i AS unit, llmeval.assign_variant('ab', 'user-' || i) AS variant
FROM generate_series(1, 100000) i;

-- assign_variant is the lowest -ln(h)/weight, computed here from the formula.
SELECT is((SELECT count(*) FROM before b,
           LATERAL (SELECT v.name FROM unnest(ARRAY['a', 'b'], ARRAY[1, 3]::float8[]) AS v(name, weight)
                    ORDER BY -ln((('x' || left(encode(sha256(convert_to(
                               (SELECT id FROM llmeval.experiments WHERE name = 'ab' AND tenant = current_user)
                               || ':' || char_length(v.name) || ':' || v.name || ':' || b.unit, 'UTF8')), 'hex'), 13)
                             )::bit(52)::bigint + 0.5) / 2 ^ 52) / v.weight
                    LIMIT 1) spec
           WHERE b.unit <= 'user-11' AND spec.name <> b.variant), 0::bigint,
          'assignments follow the documented scheme');
SELECT ok((SELECT count(*) FILTER (WHERE variant = 'b')::float8 / count(*) BETWEEN 0.74 AND 0.76 FROM before),
          'weights 1:3 send 75% +/- 1% of 100,000 units to the second variant');

SELECT llmeval.add_variant('ab', '{"name": "c", "weight": 2}');
CREATE TEMP TABLE after_add AS
SELECT unit, llmeval.assign_variant('ab', unit) AS variant FROM before;
SELECT is((SELECT count(*) FROM before b JOIN after_add a USING (unit)
           WHERE a.variant <> b.variant AND a.variant <> 'c'), 0::bigint,
          'adding a variant moves no unit between the old variants');
SELECT ok((SELECT count(*) FILTER (WHERE variant = 'c')::float8 / count(*) BETWEEN 2.0 / 6 - 0.01 AND 2.0 / 6 + 0.01
           FROM after_add),
          'the new variant takes its weight''s share, 2/6 +/- 1%');
SELECT ok((SELECT bool_and(moved BETWEEN 2.0 / 6 - 0.015 AND 2.0 / 6 + 0.015) FROM (
             SELECT count(*) FILTER (WHERE a.variant = 'c')::float8 / count(*) AS moved
             FROM before b JOIN after_add a USING (unit) GROUP BY b.variant) s),
          'it takes a third of each old variant''s units');

-- Removing a variant moves only its units: removing c restores everything,
-- removing a moves a's units only.
DELETE FROM llmeval.experiment_variants v USING llmeval.experiments e
WHERE v.experiment_id = e.id AND e.name = 'ab' AND e.tenant = current_user AND v.name = 'c';
SELECT is((SELECT count(*) FROM before b WHERE b.unit <= 'user-3'
             AND llmeval.assign_variant('ab', b.unit) <> b.variant), 0::bigint,
          'removing the added variant gives every unit its first variant back');
SELECT llmeval.add_variant('ab', '{"name": "c", "weight": 2}');
DELETE FROM llmeval.experiment_variants v USING llmeval.experiments e
WHERE v.experiment_id = e.id AND e.name = 'ab' AND e.tenant = current_user AND v.name = 'a';
SELECT is((SELECT variant_names FROM llmeval.experiments WHERE name = 'ab' AND tenant = current_user),
          ARRAY['b', 'c'], 'the experiment row follows deleted and added variants');
SELECT is((SELECT count(*) FROM after_add a WHERE a.unit <= 'user-3' AND a.variant <> 'a'
             AND llmeval.assign_variant('ab', a.unit) <> a.variant), 0::bigint,
          'removing a variant moves only its units');
SELECT ok((SELECT count(*) FILTER (WHERE llmeval.assign_variant('ab', a.unit) = 'b')::float8 / count(*)
                  BETWEEN 0.6 - 0.03 AND 0.6 + 0.03
           FROM after_add a WHERE a.unit <= 'user-3' AND a.variant = 'a'),
          'its units spread over the others by weight (3:2)');

-- Tenants ---------------------------------------------------------------------
SET ROLE tap_exp_alice;
SELECT llmeval.record_outcome('copy', 'u1', 'score', 1);
SET ROLE tap_exp_bob;
SELECT throws_ok($$ SELECT llmeval.assign_variant('copy', 'u1') $$, '42704', 'experiment "copy" does not exist',
                 'another tenant cannot assign in the experiment: it does not exist for him');
SELECT throws_ok($$ SELECT llmeval.record_outcome('copy', 'u1', 'score', 1, 'control') $$, '42704', NULL,
                 'nor record outcomes');
SELECT throws_ok($$ SELECT * FROM llmeval.experiment_result('copy', 'score') $$, '42704', NULL,
                 'nor read results');
SELECT throws_ok($$ SELECT llmeval.add_variant('copy', '{"name": "mine"}') $$, '42704', NULL,
                 'nor add variants');
SELECT is((SELECT count(*) FROM llmeval.experiments) + (SELECT count(*) FROM llmeval.experiment_variants)
          + (SELECT count(*) FROM llmeval.experiment_outcomes), 0::bigint,
          'he sees none of its rows');
SELECT ok(llmeval.create_experiment('copy', '[{"name": "x"}, {"name": "y"}]') > 0,
          'and can create an experiment of the same name');
SELECT ok(llmeval.assign_variant('copy', 'u1') IN ('x', 'y'), 'which assigns his own variants');
RESET ROLE;
SET ROLE authenticated;
SET LOCAL request.jwt.claims = '{"role": "anon"}';
SELECT throws_ok($$ SELECT llmeval.assign_variant('copy', 'u1') $$, '42501', 'no tenant for the current user',
                 'without a tenant nothing is assigned');
RESET request.jwt.claims;
RESET ROLE;

-- Outcomes and results --------------------------------------------------------
SET ROLE tap_exp_alice;
SELECT is((SELECT v.name FROM llmeval.experiment_outcomes o JOIN llmeval.experiment_variants v ON v.id = o.variant_id
           WHERE o.unit_key = 'u1'), llmeval.assign_variant('copy', 'u1'),
          'an outcome goes to the unit''s assigned variant by default');

-- control: 0, 2, 0, 2, ... (mean 1, variance 100/99) over 100 units;
-- big: the same plus 3; same: the same values; small: plus 0.5, 20 units.
SELECT llmeval.create_experiment('effect', '[{"name": "control"}, {"name": "big"}, {"name": "same"}, {"name": "small"}]');
SELECT count(llmeval.record_outcome('effect', v || '-' || i, 'quality', (i % 2) * 2 + shift, v))
FROM (VALUES ('control', 0.0, 100), ('big', 3.0, 100), ('same', 0.0, 100), ('small', 0.5, 20)) AS a(v, shift, units),
     generate_series(1, units) i;
CREATE TEMP TABLE result AS SELECT * FROM llmeval.experiment_result('effect', 'quality');
SELECT results_eq($$ SELECT variant, n, mean, control_n, control_mean, diff FROM result $$,
                  $$ VALUES ('big', 100::bigint, 4::float8, 100::bigint, 1::float8, 3::float8),
                            ('same', 100, 1, 100, 1, 0), ('small', 20, 1.5, 100, 1, 0.5) $$,
                  'one row per variant against the control, in creation order');
SELECT ok((SELECT significant AND p_value < 1e-30 AND ci_low > 2.5 AND ci_high < 3.5 FROM result WHERE variant = 'big'),
          'a large effect is significant');
SELECT ok((SELECT NOT significant AND p_value > 0.99 AND ci_low < 0 AND ci_high > 0 FROM result WHERE variant = 'same'),
          'no effect is not significant');
SELECT ok((SELECT required_n IS NULL AND additional_n IS NULL FROM result WHERE variant = 'same'),
          'no sample size detects no difference');
-- 2 (z_0.975 + z_0.8)^2 sigma^2 / delta^2 = 2 (1.959963984540054 + 0.841621233572914)^2
-- * ((99 * 100/99 + 19 * 20/19) / 118) / 0.5^2 = 63.855..., so 64 per group, 44 more
-- for the 20-unit variant and none for the control.
SELECT results_eq($$ SELECT required_n, additional_n FROM result WHERE variant = 'small' $$,
                  $$ VALUES (64::bigint, 44::bigint) $$, 'the sample size per group, computed by hand');
SELECT ok((SELECT abs(ci_low - 2.6303259794481537) < 1e-9 AND abs(ci_high - 3.3696740205518463) < 1e-9
           AND required_n = 3 FROM llmeval.experiment_result('effect', 'quality', alpha => 0.01)
           WHERE variant = 'big'),
          'alpha 0.01 gives the 99% interval, 3 +/- t(0.995, 198) * 0.14213, and its sample size');
SELECT ok((SELECT required_n > 64 FROM llmeval.experiment_result('effect', 'quality', power => 0.95)
           WHERE variant = 'small'), 'more power needs more units');

-- A unit counts once, with the mean of its outcomes.
SELECT llmeval.record_outcome('effect', 'k1', 'repeat', 1, 'control'),
       llmeval.record_outcome('effect', 'k1', 'repeat', 3, 'control'),
       llmeval.record_outcome('effect', 'k2', 'repeat', 4, 'control');
SELECT results_eq($$ SELECT control_n, control_mean, n FROM llmeval.experiment_result('effect', 'repeat')
                     WHERE variant = 'big' $$,
                  $$ VALUES (2::bigint, 3::float8, 0::bigint) $$, 'units are counted once, outcomes averaged');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
