-- llmeval.estimate_job_cost: calls, tokens and cost before submitting, from
-- the rendered prompts and the tenant's history; models without prices give
-- NULL with the reason; the estimate against what a finished job cost.
BEGIN;
SELECT plan(17);

CREATE ROLE tap_est IN ROLE llmeval_user;
CREATE ROLE tap_est2 IN ROLE llmeval_user;
GRANT ALL ON ALL TABLES IN SCHEMA pg_temp TO PUBLIC;
SELECT llmeval.create_provider('tapes', 'openai', 'http://127.0.0.1:9/v1');
SELECT llmeval.create_provider('tapea', 'anthropic', 'http://127.0.0.1:9/v1');
SELECT llmeval.create_model('tapes/gen', 1, 4);          -- $1 and $4 per million tokens
SELECT llmeval.create_model('tapes/free');               -- no prices
SELECT llmeval.create_model('tapea/claude', 3, 15);
SELECT llmeval.create_model('tapes/judge', 10, 30);

SET ROLE tap_est;
-- 40 bytes rendered ('Q:' + 37 bytes + '?'): 10 tokens, plus 7 for the chat format
SELECT llmeval.create_prompt('p', 'Q:{{q}}?');
SELECT llmeval.import_dataset('d', (SELECT jsonb_agg(jsonb_build_object(
         'input', jsonb_build_object('q', 'what is the capital city of country ' || g),
         'expected', 'Paris'))
       FROM generate_series(1, 4) g));

SELECT throws_ok($$ SELECT * FROM llmeval.estimate_job_cost('nope', 'd', ARRAY['tapes/gen']) $$, '42704', NULL,
                 'an unknown prompt');
SELECT throws_ok($$ SELECT * FROM llmeval.estimate_job_cost('p', 'd', ARRAY['tapes/none']) $$, '42704', NULL,
                 'an unknown model');
SELECT throws_ok($$ SELECT * FROM llmeval.estimate_job_cost('p', 'd', ARRAY['tapes/gen'], ARRAY['nope']) $$, '42704', NULL,
                 'an unknown metric');
SELECT throws_ok($$ SELECT * FROM llmeval.estimate_job_cost('p', 'd', ARRAY['tapes/gen'], '{}', '{"max_tokens": "x"}') $$,
                 '22023', NULL, 'options are checked as submit_job checks them');
SELECT throws_ok($$ SELECT * FROM llmeval.estimate_job_cost('p', 'd', ARRAY['tapes/gen'], ARRAY['relevance']) $$,
                 '22023', NULL, 'a judge metric needs a judge model, as for submit_job');

CREATE TEMP TABLE e1 AS
  SELECT * FROM llmeval.estimate_job_cost('p', 'd', ARRAY['tapes/gen', 'tapea/claude'], ARRAY['bleu'],
                                          '{"max_tokens": 100}');
SELECT is((SELECT string_agg(model || ' ' || purpose || ' ' || calls || ' ' || input_tokens, ', ' ORDER BY model) FROM e1),
          'tapea/claude generation 4 74, tapes/gen generation 4 68, total total 8 142',
          'calls and input tokens: 40 bytes / 4 (Anthropic / 3.5) + 7 per call');
SELECT is((SELECT output_tokens_low || ' ' || output_tokens || ' ' || output_tokens_high FROM e1 WHERE model = 'tapes/gen'),
          '64 400 400', 'without history: 16, 256 or max_tokens (100) when smaller, and max_tokens per call');
-- (68 * 1 + 400 * 4) / 1e6 = 0.001668; low (0.7 * 68 * 1 + 64 * 4) / 1e6; high (1.5 * 68 + 400 * 4) / 1e6
SELECT is((SELECT cost_low || ' ' || cost || ' ' || cost_high FROM e1 WHERE model = 'tapes/gen'),
          '0.000304 0.001668 0.001702', 'cost at the model''s prices, low and high');
SELECT ok((SELECT note LIKE 'output tokens: no earlier call of this prompt with this model%' FROM e1 WHERE model = 'tapes/gen'),
          'the note says the output is assumed');
SELECT is((SELECT cost FROM e1 WHERE model = 'total'),
          (SELECT sum(cost) FROM e1 WHERE model <> 'total'), 'the total is the sum of the parts');

CREATE TEMP TABLE e2 AS SELECT * FROM llmeval.estimate_job_cost('p', 'd', ARRAY['tapes/gen', 'tapes/free']);
SELECT is((SELECT coalesce(cost::text, 'NULL') || ' ' || (note LIKE 'model tapes/free has no prices%') FROM e2 WHERE model = 'tapes/free'),
          'NULL true', 'a model without prices: NULL with the reason, never 0');
SELECT is((SELECT coalesce(cost::text, 'NULL') || ' ' || note FROM e2 WHERE model = 'total'),
          'NULL unknown: tapes/free without prices', 'and the total is unknown');

-- judges: 2 samples of relevance for each of 4 x 1 generations; pairwise: 2 per case
CREATE TEMP TABLE e3 AS
  SELECT * FROM llmeval.estimate_job_cost('p', 'd', ARRAY['tapes/gen'], ARRAY['relevance', 'coherence'],
                                          '{"judge_model": "tapes/judge", "samples": 2}');
SELECT is((SELECT calls || ' ' || output_tokens FROM e3 WHERE purpose = 'judging'), '16 1280',
          'a judge call per sample, metric and generation, 80 output tokens each without history');
SELECT ok((SELECT input_tokens > 16 * 100 FROM e3 WHERE purpose = 'judging'), 'judge calls read the judge''s instructions');

-- With history: the job run by hand, 30 output tokens per answer.
CREATE TEMP TABLE job AS SELECT llmeval.submit_job('p', 'd', ARRAY['tapes/gen'], ARRAY['bleu']) AS id;
RESET ROLE;
CREATE TEMP TABLE claimed AS SELECT * FROM llmeval._claim_tasks(10, 60);
SELECT llmeval._complete_tasks(
  ARRAY(SELECT task_id FROM claimed ORDER BY task_id), ARRAY(SELECT claim_token FROM claimed ORDER BY task_id),
  ARRAY(SELECT 'Paris' FROM claimed), ARRAY(SELECT 10::float8 FROM claimed), ARRAY(SELECT 17 FROM claimed),
  ARRAY(SELECT 20 + 5 * (row_number() OVER (ORDER BY task_id))::int FROM claimed ORDER BY task_id),
  ARRAY(SELECT false FROM claimed), ARRAY(SELECT NULL::bytea FROM claimed), '{}', '{}', '{}');
SET ROLE tap_est;
CREATE TEMP TABLE e4 AS SELECT * FROM llmeval.estimate_job_cost('p', 'd', ARRAY['tapes/gen']);
-- outputs 25, 30, 35, 40: p10 26.5, mean 32.5, p90 38.5 per call
SELECT is((SELECT output_tokens_low || ' ' || output_tokens || ' ' || output_tokens_high FROM e4 WHERE model = 'tapes/gen'),
          '106 130 154', 'with history: the 10th percentile, mean and 90th percentile of earlier calls');
SELECT is((SELECT cost FROM e4 WHERE model = 'tapes/gen'),
          (SELECT sum(cost) FROM llmeval.responses r JOIN llmeval.tasks t ON t.id = r.task_id WHERE t.job_id = (SELECT id FROM job)),
          'the estimate of a job like the finished one is what it cost (input 17 tokens a call, as estimated)');
RESET ROLE;

-- another tenant sees neither the prompt nor the history
SET ROLE tap_est2;
SELECT throws_ok($$ SELECT * FROM llmeval.estimate_job_cost('p', 'd', ARRAY['tapes/gen']) $$, '42704', NULL,
                 'another tenant''s prompt is not found');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
