-- Models as the providers are today: cache prices, API options, refused
-- parameters, and each provider's billing rule (llmeval._call_cost). The
-- workers' side runs end to end in test/integration/current_providers.sh.
BEGIN;
SELECT plan(21);

SELECT llmeval.create_provider('p-openai', 'openai', 'https://api.openai.com/v1');
SELECT llmeval.create_provider('p-anthropic', 'anthropic', 'https://api.anthropic.com');
SELECT llmeval.create_provider('p-compat', 'openai', 'http://127.0.0.1:8000/v1', NULL,
                               '{"max_tokens_param": "max_completion_tokens"}');

SELECT lives_ok($$SELECT llmeval.create_model('p-openai/gpt-5-mini', 0.25, 2, '{"reasoning": true}', 0.025)$$,
                'a reasoning model with a cached-input price');
SELECT lives_ok($$SELECT llmeval.create_model('p-anthropic/claude-sonnet-4-5', 3, 15, '{}', 0.3, 3.75)$$,
                'a model with cached-input and cache-write prices');
SELECT lives_ok($$SELECT llmeval.create_model('p-openai/gpt-5', 1.25, 10, '{"api": "responses", "params": {"reasoning_effort": "low"}}')$$,
                'a model on the Responses API, with a reasoning effort');
SELECT lives_ok($$SELECT llmeval.create_model('p-compat/local')$$, 'a model on a compatible server');
SELECT is((SELECT options FROM llmeval.models WHERE name = 'p-openai/gpt-5'), '{"api": "responses"}'::jsonb,
          'the API options are kept, the others in their columns');
SELECT is((SELECT (cached_input_price, cache_write_price)::text FROM llmeval.models WHERE name = 'p-openai/gpt-5-mini'),
          '(0.025,)', 'the cache prices are stored; none given is NULL');

-- Bad options, prices and params: 22023.
SELECT throws_ok($$SELECT llmeval.create_model('p-openai/x', 1, 1, '{"api": "completions"}')$$, '22023',
                 'model option "api" must be "chat_completions" or "responses"', 'an unknown API');
SELECT throws_ok($$SELECT llmeval.create_model('p-openai/x', 1, 1, '{"max_tokens_param": "limit"}')$$, '22023',
                 'model option "max_tokens_param" must be "max_tokens" or "max_completion_tokens"',
                 'an unknown output-limit name');
SELECT throws_ok($$SELECT llmeval.create_model('p-openai/x', 1, 1, '{}', NULL, -1)$$, '22023',
                 'prices must not be negative', 'a negative cache-write price');
SELECT throws_ok($$SELECT llmeval.create_model('p-openai/x', 1, 1, '{"params": {"thinking": {"type": "enabled"}}}')$$,
                 '22023', NULL, 'thinking without a budget');

-- The options the workers get.
SELECT is(llmeval._model_api_option_rule('reasoning', 'true'), NULL, 'reasoning: true is fine');
SELECT is(llmeval._param_rule('thinking', '{"type": "enabled", "budget_tokens": 2048}'), NULL,
          'thinking with a budget is fine');
SELECT is(llmeval._param_rule('thinkingConfig', '{"thinkingBudget": -1, "includeThoughts": true}'), NULL,
          'a dynamic thinking budget is fine');
SELECT isnt(llmeval._param_rule('reasoning_effort', '"max"'), NULL, 'an unknown reasoning effort is not');

-- Refusals remembered once each, in order; a new API model forgets them.
SELECT llmeval._remember_refused_params(
  ARRAY(SELECT id FROM llmeval.models WHERE name = 'p-compat/local') || ARRAY(SELECT id FROM llmeval.models WHERE name = 'p-compat/local'),
  ARRAY['temperature', 'logprobs']);
SELECT llmeval._remember_refused_params(ARRAY(SELECT id FROM llmeval.models WHERE name = 'p-compat/local'), ARRAY['temperature']);
SELECT is((SELECT refused_params FROM llmeval.models WHERE name = 'p-compat/local'), '{logprobs,temperature}',
          'refused parameters are remembered, each once');
SELECT llmeval.create_model('p-compat/local', 1, 1);
SELECT is((SELECT refused_params FROM llmeval.models WHERE name = 'p-compat/local'), '{logprobs,temperature}',
          'updating the model keeps them');
SELECT llmeval.create_model('p-compat/local', 1, 1, '{"api_model": "other"}');
SELECT is((SELECT refused_params FROM llmeval.models WHERE name = 'p-compat/local'), '{}',
          'another API model starts afresh');

-- Billing: 1,000,000 input tokens of which 600,000 cached and 100,000
-- written, 200,000 output of which any part reasoning.
SELECT is(llmeval._call_cost(m, 1000000, 600000, 100000, 200000), (300000 * 3 + 600000 * 0.3 + 100000 * 3.75 + 200000 * 15) / 1000000.0,
          'Anthropic: uncached input, cache reads and writes and output each at their price')
FROM llmeval.models m WHERE m.name = 'p-anthropic/claude-sonnet-4-5';
SELECT is(llmeval._call_cost(m, 1000000, 600000, NULL, 200000), (400000 * 0.25 + 600000 * 0.025 + 200000 * 2) / 1000000.0,
          'OpenAI: the cached part of the prompt at the cached price')
FROM llmeval.models m WHERE m.name = 'p-openai/gpt-5-mini';
SELECT is(llmeval._call_cost(m, 1000000, 600000, 100000, 200000), (1000000 * 1.25 + 200000 * 10) / 1000000.0,
          'no cache prices: every input token at the input price')
FROM llmeval.models m WHERE m.name = 'p-openai/gpt-5';
SELECT is(llmeval._call_cost(m, NULL, NULL, NULL, NULL), 0::numeric, 'no usage: no cost')
FROM llmeval.models m WHERE m.name = 'p-openai/gpt-5';

SELECT * FROM finish();
ROLLBACK;
