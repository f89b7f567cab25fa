-- What a job would cost, before it is submitted: llmeval.estimate_job_cost.
--
-- Input tokens come from the prompts rendered for each test case, counted
-- by an approximation (no tokenizer of the providers' is available offline):
-- a token per 4 bytes of UTF-8 text (OpenAI's and Google's rule of thumb for
-- English; a CJK character, 3 bytes, counts as 0.75 of a token), per 3.5 for
-- Anthropic, whose tokenizer cuts English finer, plus 4 tokens per message
-- for the chat format. Texts in other scripts tokenize worse: the low and high
-- bounds are 0.7 and 1.5 times that. Output tokens per call come from the
-- tenant's history of the same prompt with the same model (10th percentile,
-- mean and 90th percentile of the calls' output tokens), else a stated default
-- (generation: 16, 256 or max_tokens when smaller, and max_tokens or 1024;
-- judging: 20, 80 and 512, the judges' max_tokens). Judge calls (one per sample
-- of each judge metric, two per test case of a pairwise one) read the
-- rendered prompt, the test case's context and reference and the answer
-- (the generation's estimate); an embedding call reads the answer and the
-- reference. Cost is at the models' list prices: cached input and the
-- response cache, which only lower it, are not counted; a model without
-- prices (input and output price 0) gives NULL with the reason, never 0.

-- A text's tokens by the approximation above (kind: the provider's).
CREATE FUNCTION llmeval._approx_tokens(content text, kind text) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT coalesce(octet_length(content), 0) / CASE WHEN kind = 'anthropic' THEN 3.5 ELSE 4.0 END $$;

-- The estimate's rows for the caller's tenant (see llmeval.estimate_job_cost).
-- It reads as the extension's owner (tenants may not call the checks it
-- shares with submit_job): every row read is the tenant's, by the filters.
CREATE FUNCTION llmeval._estimate_rows(caller_tenant text, prompt text, dataset text, models text[],
                                       metrics text[], options jsonb)
RETURNS TABLE (model text, purpose text, calls bigint, input_tokens bigint,
               output_tokens_low bigint, output_tokens bigint, output_tokens_high bigint,
               cost_low numeric, cost numeric, cost_high numeric, note text)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  prompt_version llmeval.prompt_versions;
  dataset_version llmeval.dataset_versions;
  inputs record;
  samples int;
BEGIN
  metrics := coalesce(metrics, '{}');
  SELECT * INTO inputs FROM llmeval._job_inputs(caller_tenant, prompt, dataset, models, metrics, options);
  prompt_version := inputs.prompt_version;
  dataset_version := inputs.dataset_version;
  options := inputs.pinned_options;
  samples := coalesce((options ->> 'samples')::int, 1);

  RETURN QUERY
  WITH cases AS (
    -- (a conversation: its messages as the question; replayed, a call per
    -- user turn, each sending at most the whole conversation)
    SELECT CASE WHEN tc.messages IS NULL THEN llmeval.render_prompt(prompt_version.template, tc.input)
                ELSE llmeval._transcript(tc.messages) END AS question,
           tc.context, tc.expected,
           CASE WHEN tc.messages IS NOT NULL AND options @> '{"conversation": "replay"}'
                THEN llmeval._user_turns(tc.messages)
                ELSE 1 END AS calls
    FROM llmeval.test_cases tc WHERE tc.dataset_version_id = dataset_version.id
  ),
  gen_models AS (
    SELECT m.id, m.name, p.kind, m.input_price, m.output_price, ord,
           -- the max_tokens a generation is sent with (model, prompt, job)
           coalesce((options ->> 'max_tokens')::numeric, (options -> 'params' ->> 'max_tokens')::numeric,
                    (prompt_version.params ->> 'max_tokens')::numeric, (m.params ->> 'max_tokens')::numeric) AS max_tokens
    FROM unnest(models) WITH ORDINALITY AS x(name, ord)
    JOIN llmeval.models m ON m.name = x.name JOIN llmeval.providers p ON p.id = m.provider_id
  ),
  -- output tokens per call: the tenant's history of this prompt with the model
  gen_history AS (
    SELECT g.id, count(r.output_tokens) AS n,
           percentile_cont(0.1) WITHIN GROUP (ORDER BY r.output_tokens)::numeric AS low,
           avg(r.output_tokens) AS mean,
           percentile_cont(0.9) WITHIN GROUP (ORDER BY r.output_tokens)::numeric AS high
    FROM gen_models g
    LEFT JOIN llmeval.jobs j ON j.tenant = caller_tenant AND j.prompt_version_id IN (SELECT v.id FROM llmeval.prompt_versions v
                                                       WHERE v.prompt_id = prompt_version.prompt_id)
    LEFT JOIN llmeval.tasks t ON t.job_id = j.id AND t.model_id = g.id AND t.kind = 'generate'
                              AND t.status = 'completed'
    LEFT JOIN llmeval.responses r ON r.task_id = t.id AND r.output_tokens IS NOT NULL
    GROUP BY g.id
  ),
  gen_out AS (
    SELECT g.*, h.n AS history,
           CASE WHEN h.n > 0 THEN h.low ELSE least(16, coalesce(g.max_tokens, 16)) END AS out_low,
           CASE WHEN h.n > 0 THEN h.mean ELSE least(256, coalesce(g.max_tokens, 256)) END AS out_mean,
           CASE WHEN h.n > 0 THEN h.high ELSE coalesce(g.max_tokens, 1024) END AS out_high
    FROM gen_models g JOIN gen_history h ON h.id = g.id
  ),
  generation AS (
    SELECT g.name AS model, 'generation'::text AS purpose, g.ord, sum(c.calls) AS calls,
           sum(c.calls * (llmeval._approx_tokens(c.question, g.kind) + llmeval._approx_tokens(prompt_version.system, g.kind)
               + CASE WHEN prompt_version.system IS NULL THEN 7 ELSE 11 END)) AS input,
           sum(c.calls) * g.out_low AS out_low, sum(c.calls) * g.out_mean AS out_mean, sum(c.calls) * g.out_high AS out_high,
           g.input_price, g.output_price,
           CASE WHEN g.history > 0 THEN format('output tokens from %s earlier calls of this prompt', g.history)
                ELSE format('output tokens: no earlier call of this prompt with this model; %s per call (%s to %s) assumed',
                            g.out_mean, g.out_low, g.out_high) END AS note
    FROM gen_out g CROSS JOIN cases c
    GROUP BY g.name, g.ord, g.out_low, g.out_mean, g.out_high, g.input_price, g.output_price, g.history
  ),
  judge_model AS (
    SELECT m.id, m.name, p.kind, m.input_price, m.output_price
    FROM llmeval.models m JOIN llmeval.providers p ON p.id = m.provider_id
    WHERE m.name = options ->> 'judge_model'
  ),
  judge_history AS (
    SELECT count(r.output_tokens) AS n,
           percentile_cont(0.1) WITHIN GROUP (ORDER BY r.output_tokens)::numeric AS low,
           avg(r.output_tokens) AS mean,
           percentile_cont(0.9) WITHIN GROUP (ORDER BY r.output_tokens)::numeric AS high
    FROM judge_model jm
    LEFT JOIN llmeval.tasks t ON t.model_id = jm.id AND t.kind = 'judge' AND t.status = 'completed'
                              AND t.tenant = caller_tenant
    LEFT JOIN llmeval.responses r ON r.task_id = t.id AND r.output_tokens IS NOT NULL
  ),
  judged AS (
    -- each judge metric: a call per sample of each generation; pairwise: two per test case
    SELECT jm.name AS model, 'judging'::text AS purpose, 1000 AS ord,
           -- (a replayed conversation is judged at each turn, but by the
           -- judges of whole conversations once)
           sum(CASE WHEN mt.kind = 'pairwise' THEN 2
                    ELSE samples * (SELECT count(*) FROM gen_out)
                         * CASE WHEN mt.definition ->> 'scope' = 'conversation' THEN 1 ELSE c.calls END END) AS calls,
           sum(CASE WHEN mt.kind = 'pairwise' THEN
                 2 * (llmeval._approx_tokens(llmeval._judge_system(), jm.kind)
                      + llmeval._approx_tokens(llmeval._pairwise_prompt(mt.definition, c.question, c.context, c.expected, '', ''), jm.kind)
                      + 11 + (SELECT sum(g.out_mean) FROM gen_out g))
               ELSE samples * (SELECT count(*) FROM gen_out)
                    * CASE WHEN mt.definition ->> 'scope' = 'conversation' THEN 1 ELSE c.calls END
                    * (llmeval._approx_tokens(llmeval._judge_system(), jm.kind)
                       + llmeval._approx_tokens(llmeval._judge_prompt(mt.definition, c.question, c.context, c.expected, ''), jm.kind)
                       + 11 + (SELECT avg(g.out_mean) FROM gen_out g)) END) AS input,
           jm.input_price, jm.output_price
    FROM judge_model jm
    CROSS JOIN LATERAL (
      SELECT DISTINCT ON (x.name) x.name, m.kind, m.definition
      FROM unnest(metrics) AS x(name)
      JOIN llmeval.metrics m ON m.name = x.name AND (m.tenant IS NULL OR m.tenant = caller_tenant)
      ORDER BY x.name, m.tenant NULLS LAST) mt
    CROSS JOIN cases c
    WHERE mt.kind IN ('judge', 'pairwise')
    GROUP BY jm.name, jm.input_price, jm.output_price
  ),
  judging AS (
    SELECT d.model, d.purpose, d.ord, d.calls, d.input,
           d.calls * CASE WHEN h.n > 0 THEN h.low ELSE 20 END AS out_low,
           d.calls * CASE WHEN h.n > 0 THEN h.mean ELSE 80 END AS out_mean,
           d.calls * CASE WHEN h.n > 0 THEN h.high ELSE 512 END AS out_high,
           d.input_price, d.output_price,
           CASE WHEN h.n > 0 THEN format('output tokens from %s earlier calls of this judge model', h.n)
                ELSE 'output tokens: no earlier call of this judge model; 80 per call (20 to 512) assumed' END
    FROM judged d CROSS JOIN judge_history h
  ),
  embedding AS (
    SELECT m.name AS model, 'embedding'::text AS purpose, 2000 AS ord,
           count(*) * (SELECT count(*) FROM gen_out) AS calls,
           sum((SELECT sum(g.out_mean) FROM gen_out g) + (SELECT count(*) FROM gen_out) * llmeval._approx_tokens(c.expected, p.kind)) AS input,
           0::numeric AS out_low, 0::numeric AS out_mean, 0::numeric AS out_high,
           m.input_price, m.output_price,
           'the answer and the reference of each generation; texts already embedded cost nothing'::text AS note
    FROM llmeval.models m JOIN llmeval.providers p ON p.id = m.provider_id CROSS JOIN cases c
    WHERE m.name = options ->> 'embedding_model' AND 'semantic_similarity' = ANY (metrics)
    GROUP BY m.name, m.input_price, m.output_price
  ),
  parts AS (
    SELECT * FROM generation UNION ALL SELECT * FROM judging UNION ALL SELECT * FROM embedding
  ),
  priced AS (
    SELECT x.model, x.purpose, x.ord, x.calls::bigint AS calls, ceil(x.input)::bigint AS input,
           ceil(x.out_low)::bigint AS out_low, ceil(x.out_mean)::bigint AS out_mean, ceil(x.out_high)::bigint AS out_high,
           CASE WHEN x.input_price = 0 AND x.output_price = 0 THEN NULL
                ELSE f.factor * (0.7 * x.input * x.input_price + x.out_low * x.output_price) / 1000000 END AS cost_low,
           CASE WHEN x.input_price = 0 AND x.output_price = 0 THEN NULL
                ELSE f.factor * (x.input * x.input_price + x.out_mean * x.output_price) / 1000000 END AS cost,
           CASE WHEN x.input_price = 0 AND x.output_price = 0 THEN NULL
                ELSE f.factor * (1.5 * x.input * x.input_price + x.out_high * x.output_price) / 1000000 END AS cost_high,
           CASE WHEN x.input_price = 0 AND x.output_price = 0
                THEN format('model %s has no prices (llmeval.create_model''s input_price and output_price): cost unknown; ',
                            x.model) ELSE '' END || x.note
             || CASE WHEN f.factor < 1 THEN format('; at the batch price (%s%% off)', round(100 * (1 - f.factor), 1))
                     ELSE '' END AS note
    FROM parts x
    -- (a batch job's calls at the model's batch price)
    CROSS JOIN LATERAL (
      SELECT CASE WHEN options @> '{"execution": "batch"}' THEN 1 - m.batch_discount ELSE 1 END AS factor
      FROM llmeval.models m WHERE m.name = x.model) f
  )
  SELECT x.model, x.purpose, x.calls, x.input, x.out_low, x.out_mean, x.out_high,
         round(x.cost_low, 6), round(x.cost, 6), round(x.cost_high, 6), x.note
  FROM (SELECT * FROM priced ORDER BY priced.ord, priced.purpose) x
  UNION ALL
  SELECT 'total', 'total', sum(x.calls)::bigint, sum(x.input)::bigint, sum(x.out_low)::bigint, sum(x.out_mean)::bigint,
         sum(x.out_high)::bigint,
         CASE WHEN bool_and(x.cost IS NOT NULL) THEN round(sum(x.cost_low), 6) END,
         CASE WHEN bool_and(x.cost IS NOT NULL) THEN round(sum(x.cost), 6) END,
         CASE WHEN bool_and(x.cost IS NOT NULL) THEN round(sum(x.cost_high), 6) END,
         CASE WHEN bool_and(x.cost IS NOT NULL) THEN 'input tokens approximated (see the README); low and high bound each part'
              ELSE 'unknown: ' || string_agg(DISTINCT x.model, ', ') FILTER (WHERE x.cost IS NULL) || ' without prices' END
  FROM priced x;
END $$;
REVOKE ALL ON FUNCTION llmeval._estimate_rows(text, text, text, text[], text[], jsonb) FROM PUBLIC;

CREATE FUNCTION llmeval._job_cost_estimate(caller_tenant text, prompt text, dataset text, models text[],
                                           metrics text[], options jsonb)
RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT jsonb_agg(to_jsonb(r) - 'ord' ORDER BY r.ord)
  FROM llmeval._estimate_rows(caller_tenant, prompt, dataset, models, metrics, options) WITH ORDINALITY
    AS r(model, purpose, calls, input_tokens, output_tokens_low, output_tokens, output_tokens_high,
         cost_low, cost, cost_high, note, ord)
$$;
REVOKE ALL ON FUNCTION llmeval._job_cost_estimate(text, text, text, text[], text[], jsonb) FROM PUBLIC;

-- The estimate as JSON (an array of the rows below), for scripts.
CREATE FUNCTION llmeval.job_cost_estimate(prompt text, dataset text, models text[],
                                          metrics text[] DEFAULT '{}', options jsonb DEFAULT '{}')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'llmeval_tenant_call'
LANGUAGE C STABLE;
COMMENT ON FUNCTION llmeval.job_cost_estimate(text, text, text[], text[], jsonb) IS
  'estimate_job_cost as a JSON array of its rows';

-- What submit_job with these arguments would cost, before submitting it: a
-- row per model and purpose (generation, judging, embedding) with its calls,
-- input tokens, output tokens and cost (low, expected, high), then the total.
CREATE FUNCTION llmeval.estimate_job_cost(prompt text, dataset text, models text[],
                                          metrics text[] DEFAULT '{}', options jsonb DEFAULT '{}')
RETURNS TABLE (model text, purpose text, calls bigint, input_tokens bigint,
               output_tokens_low bigint, output_tokens bigint, output_tokens_high bigint,
               cost_low numeric, cost numeric, cost_high numeric, note text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT r.* FROM jsonb_to_recordset(llmeval.job_cost_estimate(prompt, dataset, models, metrics, options))
    AS r(model text, purpose text, calls bigint, input_tokens bigint, output_tokens_low bigint,
         output_tokens bigint, output_tokens_high bigint, cost_low numeric, cost numeric, cost_high numeric,
         note text)
$$;
COMMENT ON FUNCTION llmeval.estimate_job_cost(text, text, text[], text[], jsonb) IS
  'what submit_job with these arguments would cost: calls, tokens and cost (low, expected, high) per model and purpose, and in total';
GRANT EXECUTE ON FUNCTION llmeval.estimate_job_cost(text, text, text[], text[], jsonb),
                          llmeval.job_cost_estimate(text, text, text[], text[], jsonb) TO llmeval_user, llmeval_admin;
