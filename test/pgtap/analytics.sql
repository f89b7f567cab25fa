-- Model comparison, job comparison with Holm's correction, baselines and
-- the regression gate, on scores written as the workers write them.
BEGIN;
SELECT plan(16);

CREATE ROLE tap_erin IN ROLE llmeval_user;
GRANT ALL ON ALL TABLES IN SCHEMA pg_temp TO PUBLIC;
GRANT ALL ON ALL SEQUENCES IN SCHEMA pg_temp TO PUBLIC;
SELECT llmeval.create_provider('tapa', 'openai', 'http://127.0.0.1:9/v1');
SELECT llmeval.create_model('tapa/m1', 1, 2);
SELECT llmeval.create_model('tapa/m2');

SET ROLE tap_erin;
SELECT llmeval.create_prompt('p', '{{q}}');
SELECT llmeval.import_dataset('d', (SELECT jsonb_agg(jsonb_build_object('input', jsonb_build_object('q', 'q' || g), 'expected', 'a'))
                                    FROM generate_series(1, 30) g));
CREATE TEMP TABLE jobs_of AS
SELECT llmeval.submit_job('p', 'd', ARRAY['tapa/m1', 'tapa/m2'], ARRAY['bleu', 'exact_match']) AS a,
       llmeval.submit_job('p', 'd', ARRAY['tapa/m1', 'tapa/m2'], ARRAY['bleu', 'exact_match']) AS b,
       llmeval.submit_job('p', 'd', ARRAY['tapa/m1', 'tapa/m2'], ARRAY['bleu', 'exact_match']) AS c;
RESET ROLE;

-- Job b is about 10 BLEU points better than a, job c 8 worse; exact match
-- does not change. m2's tasks fail in a third of the cases of job a.
UPDATE llmeval.tasks t SET status = CASE WHEN t.job_id = (SELECT a FROM jobs_of) AND tc.position % 3 = 0
                                           AND t.model_id = (SELECT id FROM llmeval.models WHERE name = 'tapa/m2')
                                         THEN 'failed' ELSE 'completed' END
FROM llmeval.test_cases tc WHERE tc.id = t.test_case_id;
INSERT INTO llmeval.responses (task_id, tenant, output, latency_ms, input_tokens, output_tokens, cost)
SELECT t.id, t.tenant, 'x', 100 + tc.position, 10, 2, 0.000014
FROM llmeval.tasks t JOIN llmeval.test_cases tc ON tc.id = t.test_case_id WHERE t.status = 'completed';
INSERT INTO llmeval.task_scores (task_id, tenant, metric, value)
SELECT t.id, t.tenant, 'bleu',
       50 + (tc.position * 37) % 11 - 5
       + CASE t.job_id WHEN (SELECT b FROM jobs_of) THEN 10 + (tc.position * 13) % 5 - 2
                       WHEN (SELECT c FROM jobs_of) THEN -8 + (tc.position * 7) % 5 - 2 ELSE 0 END
FROM llmeval.tasks t JOIN llmeval.test_cases tc ON tc.id = t.test_case_id WHERE t.status = 'completed';
INSERT INTO llmeval.task_scores (task_id, tenant, metric, value)
SELECT t.id, t.tenant, 'exact_match', (tc.position % 2)::float8
FROM llmeval.tasks t JOIN llmeval.test_cases tc ON tc.id = t.test_case_id WHERE t.status = 'completed';

SET ROLE tap_erin;
SELECT is((SELECT n || ' ' || round(mean::numeric, 4) FROM llmeval.compare_models((SELECT a FROM jobs_of))
           WHERE model = 'tapa/m1' AND metric = 'bleu'),
          (SELECT count(*) || ' ' || round(avg(50 + (g * 37) % 11 - 5)::numeric, 4) FROM generate_series(1, 30) g),
          'compare_models: n and mean per model and metric');
SELECT ok((SELECT ci_low < mean AND mean < ci_high FROM llmeval.compare_models((SELECT a FROM jobs_of))
           WHERE model = 'tapa/m1' AND metric = 'bleu'), 'compare_models: a confidence interval around the mean');
SELECT is((SELECT round(error_rate::numeric, 4) FROM llmeval.compare_models((SELECT a FROM jobs_of))
           WHERE model = 'tapa/m2' AND metric = 'bleu'), 0.3333, 'compare_models: error rate');
SELECT is((SELECT (latency_p50_ms, cost, input_tokens)::text FROM llmeval.compare_models((SELECT a FROM jobs_of))
           WHERE model = 'tapa/m1' AND metric = 'bleu'), '(115.5,0.000420,300)', 'compare_models: latency, cost, tokens');

SELECT is((SELECT verdict FROM llmeval.compare_jobs((SELECT a FROM jobs_of), (SELECT b FROM jobs_of), 'bleu')
           WHERE model = 'tapa/m1'), 'better', 'b is better than a on BLEU');
SELECT is((SELECT verdict FROM llmeval.compare_jobs((SELECT a FROM jobs_of), (SELECT c FROM jobs_of), 'bleu')
           WHERE model = 'tapa/m1'), 'worse', 'c is worse than a on BLEU');
SELECT is((SELECT verdict FROM llmeval.compare_jobs((SELECT a FROM jobs_of), (SELECT b FROM jobs_of), 'exact_match')
           WHERE model = 'tapa/m1'), 'no significant difference', 'exact match did not change');
SELECT is((SELECT n FROM llmeval.compare_jobs((SELECT a FROM jobs_of), (SELECT b FROM jobs_of), 'bleu')
           WHERE model = 'tapa/m2'), 20::bigint, 'only test cases scored in both jobs are paired');
SELECT ok((SELECT abs(mean_diff - (mean_b - mean_a)) < 1e-12 AND ci_low < mean_diff AND mean_diff < ci_high
           FROM llmeval.compare_jobs((SELECT a FROM jobs_of), (SELECT b FROM jobs_of), 'bleu') WHERE model = 'tapa/m1'),
          'the difference and its confidence interval');
-- Holm: sorted p-values multiplied by (m - k + 1), monotone, at most 1.
SELECT ok((SELECT bool_and(p_adjusted >= p_value AND p_adjusted <= 1)
           FROM llmeval.compare_jobs((SELECT a FROM jobs_of), (SELECT b FROM jobs_of))), 'adjusted p-values are not smaller');
SELECT is((SELECT count(*) FROM llmeval.compare_jobs((SELECT a FROM jobs_of), (SELECT b FROM jobs_of))), 4::bigint,
          'all models and metrics are compared at once');
-- (exact match is identical in both jobs: no p-value, not in the family)
SELECT ok((SELECT min(p_adjusted) = least(1, min(p_value) * count(p_value)) AND count(p_value) = 2
           FROM llmeval.compare_jobs((SELECT a FROM jobs_of), (SELECT b FROM jobs_of))),
          'the smallest p-value is multiplied by the number of comparisons that have one');

SELECT lives_ok(format('SELECT llmeval.set_baseline(%s)', (SELECT a FROM jobs_of)), 'set_baseline');
SELECT alike(llmeval.assert_no_regression((SELECT b FROM jobs_of)), 'no regression:%', 'an improvement passes the gate');
SELECT throws_ok(format('SELECT llmeval.assert_no_regression(%s)', (SELECT c FROM jobs_of)), '23514',
                 format('regression: job %s is worse than baseline job %s', (SELECT c FROM jobs_of), (SELECT a FROM jobs_of)),
                 'a regression fails the gate');
SELECT alike(llmeval.assert_no_regression((SELECT c FROM jobs_of), (SELECT a FROM jobs_of), tolerance => 20),
            'no regression:%', 'a difference within the tolerance passes');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
