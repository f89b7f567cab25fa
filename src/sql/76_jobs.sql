-- Jobs: submit, follow, cancel, retry, export.
--
-- submit_job, cancel_job and retry_failed change the queue, which tenants
-- may only read. Each public function is the C entry point
-- llmeval_tenant_call (src/pg/fn_tenant_call.cpp): it computes the caller's
-- tenant with the caller's rights and calls llmeval._<name>(tenant, ...), a
-- SECURITY DEFINER function that nobody else may execute and that checks
-- every row it touches against that tenant.

CREATE VIEW llmeval.results WITH (security_invoker = true) AS
SELECT t.job_id, t.test_case_id, tc.position, m.name AS model, t.status,
       tc.input, tc.expected, tc.context, r.output,
       coalesce(r.error, t.last_error) AS error,
       r.latency_ms, r.input_tokens, r.output_tokens, r.cost, t.attempts,
       t.id AS task_id, j.correlation_id, t.updated_at,
       r.cached_input_tokens, r.cache_write_tokens, r.reasoning_tokens
FROM llmeval.tasks t
JOIN llmeval.jobs j ON j.id = t.job_id
JOIN llmeval.test_cases tc ON tc.id = t.test_case_id
JOIN llmeval.models m ON m.id = t.model_id
LEFT JOIN llmeval.responses r ON r.task_id = t.id
WHERE t.kind = 'generate';
COMMENT ON VIEW llmeval.results IS 'one row per job, test case and model: the task, its response and cost';

CREATE VIEW llmeval.scores WITH (security_invoker = true) AS
SELECT t.job_id, t.test_case_id, m.name AS model, s.metric, s.value, s.detail,
       s.task_id, s.created_at
FROM llmeval.task_scores s
JOIN llmeval.tasks t ON t.id = s.task_id AND t.kind = 'generate'
JOIN llmeval.models m ON m.id = t.model_id;
COMMENT ON VIEW llmeval.scores IS 'one row per job, test case, model and metric';

-- Conversations turn by turn: each user turn of a test case with messages,
-- the model's answer (a replayed conversation answers every turn; a final
-- turn run, the last only), what the turn expected, and its scores.
CREATE VIEW llmeval.conversation_turns WITH (security_invoker = true) AS
SELECT t.job_id, t.test_case_id, tc.position, m.name AS model, coalesce(t.turn, u.turn) AS turn,
       u.content AS user_message, r.output, r.tool_calls, u.expected, u.expected_tool_calls,
       t.status, coalesce(r.error, t.last_error) AS error,
       (SELECT jsonb_object_agg(s.metric, s.value) FROM llmeval.task_scores s WHERE s.task_id = t.id) AS scores,
       r.latency_ms, r.cost, t.id AS task_id
FROM llmeval.tasks t
JOIN llmeval.test_cases tc ON tc.id = t.test_case_id AND tc.messages IS NOT NULL
JOIN llmeval.models m ON m.id = t.model_id
CROSS JOIN LATERAL llmeval._conversation_turn(tc.messages, tc.expected, tc.expected_tool_calls, t.turn) u
LEFT JOIN llmeval.responses r ON r.task_id = t.id
WHERE t.kind IN ('generate', 'turn');
COMMENT ON VIEW llmeval.conversation_turns IS
  'per conversation test case, model and user turn answered: the user message, the model''s answer and tool calls, what the turn expected, and its scores';

GRANT SELECT ON llmeval.results, llmeval.scores, llmeval.conversation_turns TO llmeval_user;

-- The job options submit_job accepts.
CREATE FUNCTION llmeval._job_option_names() RETURNS text[]
LANGUAGE sql IMMUTABLE
AS $$ SELECT ARRAY['prompt_version', 'dataset_version', 'judge_model', 'params', 'temperature',
                   'max_tokens', 'top_p', 'stop', 'seed', 'cache', 'max_attempts', 'samples',
                   'embedding_model', 'judge_params', 'judge_logprobs', 'priority', 'max_cost_usd',
                   'execution', 'conversation', 'turn_window'] $$;

-- The rule a job option or request parameter breaks, if any (NULL: fine).
-- Request parameters reach a provider's request body (a prompt version's
-- params, a job's params and judge_params, and the job options of the same
-- names): the ones the engine reads must have the type the engine reads them
-- as, so that no value fails later inside a worker's claim, where it would
-- fail every task claimed with it. Other keys pass through unchecked.
CREATE FUNCTION llmeval._param_rule(k text, v jsonb) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
  SELECT CASE
    WHEN k = 'temperature' AND NOT (jsonb_typeof(v) = 'number' AND v::text::numeric BETWEEN 0 AND 2)
      THEN 'a number from 0 to 2'
    WHEN k = 'top_p' AND NOT (jsonb_typeof(v) = 'number' AND v::text::numeric BETWEEN 0 AND 1)
      THEN 'a number from 0 to 1'
    WHEN k IN ('max_tokens', 'max_completion_tokens', 'max_output_tokens')
         AND NOT (jsonb_typeof(v) = 'number' AND v::text ~ '^[0-9]+$' AND v::text::numeric BETWEEN 1 AND 1000000)
      THEN 'an integer from 1 to 1000000'
    WHEN k = 'seed' AND NOT (jsonb_typeof(v) = 'number' AND v::text ~ '^-?[0-9]+$'
                              AND v::text::numeric BETWEEN -9223372036854775808 AND 9223372036854775807)
      THEN 'an integer'
    WHEN k = 'stop' AND NOT (jsonb_typeof(v) = 'string'
                             OR (jsonb_typeof(v) = 'array' AND jsonb_array_length(v) BETWEEN 1 AND 4
                                 AND NOT jsonb_path_exists(v, '$[*] ? (@.type() != "string")')))
      THEN 'a string or an array of 1 to 4 strings'
    WHEN k IN ('logprobs', 'stream', 'cache', 'judge_logprobs') AND jsonb_typeof(v) <> 'boolean'
      THEN 'true or false'
    WHEN k = 'top_logprobs' AND NOT (jsonb_typeof(v) = 'number' AND v::text ~ '^[0-9]+$' AND v::text::numeric <= 20)
      THEN 'an integer from 0 to 20'
    -- reasoning: OpenAI's effort, Anthropic's extended thinking, Gemini's
    -- thinking configuration (passed through as the APIs take them)
    WHEN k = 'reasoning_effort' AND NOT (jsonb_typeof(v) = 'string'
                                         AND v #>> '{}' IN ('none', 'minimal', 'low', 'medium', 'high', 'xhigh'))
      THEN 'one of "none", "minimal", "low", "medium", "high", "xhigh"'
    -- (coalesce: a missing key makes the test NULL, which must not pass)
    WHEN k = 'thinking' AND NOT coalesce(jsonb_typeof(v) = 'object' AND (
           (v ->> 'type' = 'enabled' AND jsonb_typeof(v -> 'budget_tokens') = 'number'
            AND (v ->> 'budget_tokens') ~ '^[0-9]+$' AND (v ->> 'budget_tokens')::numeric BETWEEN 1024 AND 1000000)
           OR v ->> 'type' IN ('disabled', 'adaptive')), false)
      THEN 'an object {"type": "enabled", "budget_tokens": <integer from 1024>} or {"type": "disabled"}'
    WHEN k = 'thinkingConfig' AND NOT coalesce(jsonb_typeof(v) = 'object'
           AND (NOT v ? 'thinkingBudget' OR (jsonb_typeof(v -> 'thinkingBudget') = 'number'
                                             AND (v ->> 'thinkingBudget') ~ '^-?[0-9]+$'
                                             AND (v ->> 'thinkingBudget')::numeric BETWEEN -1 AND 1000000))
           AND (NOT v ? 'includeThoughts' OR jsonb_typeof(v -> 'includeThoughts') = 'boolean')
           AND (NOT v ? 'thinkingLevel' OR jsonb_typeof(v -> 'thinkingLevel') = 'string'), false)
      THEN 'an object with thinkingBudget (an integer from -1), includeThoughts (true or false) or thinkingLevel (a string)'
    -- job options
    WHEN k IN ('prompt_version', 'dataset_version')
         AND NOT (jsonb_typeof(v) = 'number' AND v::text ~ '^[0-9]+$' AND v::text::numeric BETWEEN 1 AND 2147483647)
      THEN 'a version number'
    WHEN k IN ('judge_model', 'embedding_model') AND jsonb_typeof(v) <> 'string'
      THEN 'a model name (provider/model)'
    WHEN k IN ('params', 'judge_params') AND jsonb_typeof(v) <> 'object' THEN 'a JSON object'
    WHEN k = 'max_attempts'
         AND NOT (jsonb_typeof(v) = 'number' AND v::text ~ '^[0-9]+$' AND v::text::numeric BETWEEN 1 AND 100)
      THEN 'an integer from 1 to 100'
    WHEN k = 'samples'
         AND NOT (jsonb_typeof(v) = 'number' AND v::text ~ '^[0-9]+$' AND v::text::numeric BETWEEN 1 AND 20)
      THEN 'an integer from 1 to 20'
    WHEN k = 'max_cost_usd'
         AND NOT (jsonb_typeof(v) = 'number' AND v::text::numeric > 0 AND v::text::numeric <= 1000000000)
      THEN 'a positive number (the most the job may spend, in the models'' price currency)'
    WHEN k = 'priority'
         AND NOT (jsonb_typeof(v) = 'number' AND v::text ~ '^-?[0-9]+$' AND v::text::numeric BETWEEN -1000 AND 1000)
      THEN 'an integer from -1000 to 1000'
    WHEN k = 'execution' AND NOT (v IN ('"sync"', '"batch"'))
      THEN '"sync" (calls one by one, the default) or "batch" (the providers'' batch APIs, at their batch price)'
    WHEN k = 'conversation' AND NOT (v IN ('"final_turn"', '"replay"'))
      THEN '"final_turn" (the model answers the last user turn given the scripted history, the default) '
           'or "replay" (each user turn sent with the model''s own earlier answers)'
    WHEN k = 'turn_window'
         AND NOT (jsonb_typeof(v) = 'number' AND v::text ~ '^[0-9]+$' AND v::text::numeric BETWEEN 1 AND 50)
      THEN 'an integer from 1 to 50 (the turns before an assistant turn that turn_relevancy reads)'
  END
$$;

-- Checks an object of job options or request parameters (what names it in
-- the error: 'job option', 'prompt params', ...): 22023 naming the first
-- key that breaks its rule; the nested params and judge_params too.
CREATE FUNCTION llmeval._check_params(params jsonb, what text) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  bad text;
BEGIN
  IF params IS NULL OR jsonb_typeof(params) <> 'object' THEN
    RAISE EXCEPTION '% must be a JSON object', what USING ERRCODE = 'invalid_parameter_value';
  END IF;
  SELECT format('%s "%s" must be %s', what, p.k, llmeval._param_rule(p.k, p.v)) INTO bad
  FROM jsonb_each(params) AS p(k, v)
  WHERE llmeval._param_rule(p.k, p.v) IS NOT NULL
  ORDER BY p.k LIMIT 1;
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION '%', bad USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF params ? 'params' THEN
    PERFORM llmeval._check_params(params -> 'params', 'params option');
  END IF;
  IF params ? 'judge_params' THEN
    PERFORM llmeval._check_params(params -> 'judge_params', 'judge_params option');
  END IF;
END $$;

-- options with option (judge_model, embedding_model) set: the job's own, else
-- the server setting of the same name; an error saying what needs it if neither.
CREATE FUNCTION llmeval._pin_model(options jsonb, option text, needed_by text) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  chosen text := coalesce(options ->> option, nullif(current_setting('llmeval.' || option, true), ''));
BEGIN
  IF chosen IS NULL THEN
    RAISE EXCEPTION '%', needed_by
      USING ERRCODE = 'invalid_parameter_value',
            HINT = format('Pass options => ''{"%s": "provider/model"}'' or set llmeval.%s.', option, option);
  END IF;
  RETURN options || jsonb_build_object(option, chosen);
END $$;

-- A job's options with the models of its judge and embedding metrics
-- pinned (the job's own options, else the server settings), each checked to
-- exist.
CREATE FUNCTION llmeval._pin_job_models(tenant text, metrics text[], options jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  unknown text;
BEGIN
  IF EXISTS (SELECT 1 FROM llmeval.metrics m WHERE m.name = ANY (metrics)
             AND m.kind IN ('judge', 'pairwise') AND (m.tenant IS NULL OR m.tenant = tenant)) THEN
    options := llmeval._pin_model(options, 'judge_model', 'judge metrics need a judge model');
  END IF;
  IF 'semantic_similarity' = ANY (metrics) THEN
    options := llmeval._pin_model(options, 'embedding_model', 'semantic_similarity needs an embedding model');
  END IF;
  SELECT x INTO unknown FROM unnest(ARRAY[options ->> 'judge_model', options ->> 'embedding_model']) x
  WHERE x IS NOT NULL AND NOT EXISTS (SELECT 1 FROM llmeval.models m WHERE m.name = x) LIMIT 1;
  IF unknown IS NOT NULL THEN
    RAISE EXCEPTION 'model "%" does not exist', unknown
      USING ERRCODE = 'undefined_object', HINT = 'Models are named provider/model; see llmeval.models.';
  END IF;
  RETURN options;
END $$;

-- What submit_job (and estimate_job_cost) make of their arguments, checked:
-- the options (22023 naming a bad one), the prompt and dataset versions, the
-- models and metrics, the judge and embedding models pinned in the options,
-- and every placeholder of the prompt filled by every test case.
CREATE FUNCTION llmeval._job_inputs(tenant text, prompt text, dataset text, models text[], metrics text[],
                                    options jsonb, OUT prompt_version llmeval.prompt_versions,
                                    OUT dataset_version llmeval.dataset_versions, OUT pinned_options jsonb)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  missing record;
  unknown text;
BEGIN
  options := coalesce(options, '{}');
  metrics := coalesce(metrics, '{}');
  IF prompt IS NULL OR dataset IS NULL THEN
    RAISE EXCEPTION 'a job needs a prompt and a dataset' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF jsonb_typeof(options) <> 'object' THEN
    RAISE EXCEPTION 'options must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  SELECT k INTO unknown FROM jsonb_object_keys(options) k
  WHERE k <> ALL (llmeval._job_option_names()) LIMIT 1;
  IF unknown IS NOT NULL THEN
    RAISE EXCEPTION 'unknown job option "%"', unknown
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Valid options are ' || array_to_string(llmeval._job_option_names(), ', ') || '.';
  END IF;
  PERFORM llmeval._check_params(options, 'job option');

  SELECT v.* INTO prompt_version
  FROM llmeval.prompts p JOIN llmeval.prompt_versions v ON v.prompt_id = p.id
  WHERE p.name = _job_inputs.prompt AND p.tenant = _job_inputs.tenant
    AND (NOT options ? 'prompt_version' OR v.version = (options ->> 'prompt_version')::int)
  ORDER BY v.version DESC LIMIT 1;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'prompt "%"% does not exist', prompt,
      coalesce(' version ' || (options ->> 'prompt_version'), '') USING ERRCODE = 'undefined_object';
  END IF;

  SELECT v.* INTO dataset_version
  FROM llmeval.datasets d JOIN llmeval.dataset_versions v ON v.dataset_id = d.id
  WHERE d.name = _job_inputs.dataset AND d.tenant = _job_inputs.tenant
    AND (NOT options ? 'dataset_version' OR v.version = (options ->> 'dataset_version')::int)
  ORDER BY v.version DESC LIMIT 1;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'dataset "%"% does not exist', dataset,
      coalesce(' version ' || (options ->> 'dataset_version'), '') USING ERRCODE = 'undefined_object';
  END IF;
  IF dataset_version.n_cases = 0 THEN
    RAISE EXCEPTION 'dataset "%" version % has no test cases', dataset, dataset_version.version
      USING ERRCODE = 'invalid_parameter_value';
  END IF;

  IF models IS NULL OR cardinality(models) = 0 THEN
    RAISE EXCEPTION 'a job needs at least one model' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF array_position(models, NULL) IS NOT NULL OR array_position(metrics, NULL) IS NOT NULL THEN
    RAISE EXCEPTION 'models and metrics must not contain NULL elements'
      USING ERRCODE = 'null_value_not_allowed';
  END IF;
  SELECT x INTO unknown FROM unnest(models || CASE WHEN options ? 'judge_model'
                                                   THEN ARRAY[options ->> 'judge_model'] END) x
  WHERE NOT EXISTS (SELECT 1 FROM llmeval.models m WHERE m.name = x) LIMIT 1;
  IF unknown IS NOT NULL THEN
    RAISE EXCEPTION 'model "%" does not exist', unknown
      USING ERRCODE = 'undefined_object', HINT = 'Models are named provider/model; see llmeval.models.';
  END IF;
  IF (SELECT count(DISTINCT x) FROM unnest(models) x) <> cardinality(models)
     OR (SELECT count(DISTINCT x) FROM unnest(metrics) x) <> cardinality(metrics) THEN
    RAISE EXCEPTION 'models and metrics must not repeat' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  SELECT x INTO unknown FROM unnest(metrics) x
  WHERE NOT EXISTS (SELECT 1 FROM llmeval.metrics m
                    WHERE m.name = x AND (m.tenant IS NULL OR m.tenant = _job_inputs.tenant))
  LIMIT 1;
  IF unknown IS NOT NULL THEN
    RAISE EXCEPTION 'metric "%" does not exist', unknown
      USING ERRCODE = 'undefined_object', HINT = 'See llmeval.metrics for the metrics available.';
  END IF;

  -- Judge and embedding metrics: the models that run them, pinned in the
  -- job (a later change of the server defaults leaves it alone).
  options := llmeval._pin_job_models(tenant, metrics, options);
  -- A budget is enforced from the calls' cost: a model without prices would
  -- make every call free and the budget silently void.
  IF options ? 'max_cost_usd' THEN
    SELECT m.name INTO unknown FROM llmeval.models m
    WHERE m.name = ANY (models || ARRAY[options ->> 'judge_model', options ->> 'embedding_model'])
      AND m.input_price = 0 AND m.output_price = 0
    ORDER BY m.name LIMIT 1;
    IF unknown IS NOT NULL THEN
      RAISE EXCEPTION 'job option "max_cost_usd" cannot be enforced: model "%" has no prices', unknown
        USING ERRCODE = 'invalid_parameter_value',
              HINT = 'Give the model its input_price and output_price (llmeval.create_model), or drop max_cost_usd.';
    END IF;
  END IF;
  -- Batch execution: every model (judge and embedding included) through an
  -- API with a batch form (src/core/provider/batch.hpp).
  IF options @> '{"execution": "batch"}' THEN
    SELECT m.name, p.kind INTO missing FROM llmeval.models m JOIN llmeval.providers p ON p.id = m.provider_id
    WHERE m.name = ANY (models || ARRAY[options ->> 'judge_model', options ->> 'embedding_model'])
      AND (p.kind NOT IN ('openai', 'anthropic') OR p.base_url ~ '/deployments/'
           OR (p.kind = 'anthropic' AND m.name = options ->> 'embedding_model'))
    ORDER BY m.name LIMIT 1;
    IF FOUND THEN
      RAISE EXCEPTION 'job option "execution": "batch" is not available for model "%"', missing.name
        USING ERRCODE = 'feature_not_supported',
              DETAIL = format('Batches are made through OpenAI''s Batch API and Anthropic''s Message Batches; '
                              'the model''s provider is of kind %s.', missing.kind),
              HINT = 'Run the job with "execution": "sync", or choose models of OpenAI or Anthropic providers.';
    END IF;
    IF options @> '{"conversation": "replay"}' THEN
      RAISE EXCEPTION 'job options "conversation": "replay" and "execution": "batch" cannot be combined'
        USING ERRCODE = 'feature_not_supported',
              DETAIL = 'Each turn of a replayed conversation waits for the answer to the turn before it; '
                       'a provider batch can take up to a day to answer.',
              HINT = 'Replay conversations with "execution": "sync", or batch them as "conversation": "final_turn".';
    END IF;
    IF options ? 'max_cost_usd' THEN
      RAISE EXCEPTION 'job options "max_cost_usd" and "execution": "batch" cannot be combined'
        USING ERRCODE = 'feature_not_supported',
              DETAIL = 'A budget is kept by starting calls one at a time; a provider batch sends them all at once.',
              HINT = 'Estimate the job first (llmeval.estimate_job_cost); the batch price is the model''s batch_discount off.';
    END IF;
  END IF;
  IF EXISTS (SELECT 1 FROM llmeval.metrics m WHERE m.name = ANY (metrics) AND m.kind = 'pairwise'
             AND (m.tenant IS NULL OR m.tenant = _job_inputs.tenant))
     AND cardinality(models) <> 2 THEN
    RAISE EXCEPTION 'a pairwise metric compares exactly two models; the job has %', cardinality(models)
      USING ERRCODE = 'invalid_parameter_value';
  END IF;

  -- Every test case must fill every placeholder of the prompt.
  SELECT tc.position, f INTO missing
  -- (a conversation is sent without the template, with the system prompt)
  FROM llmeval.test_cases tc
  CROSS JOIN LATERAL unnest(CASE WHEN tc.messages IS NULL THEN prompt_version.fields
                                 ELSE coalesce(llmeval.prompt_fields(prompt_version.system), '{}') END) f
  WHERE tc.dataset_version_id = dataset_version.id
    AND coalesce(tc.input -> f, 'null') = 'null'
  ORDER BY tc.position LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'test case % of dataset "%" has no field "%"', missing.position, dataset, missing.f
      USING ERRCODE = 'invalid_parameter_value',
            DETAIL = format('Prompt "%s" version %s uses {{%s}}.', prompt, prompt_version.version, missing.f);
  END IF;

  pinned_options := options;
END $$;
REVOKE ALL ON FUNCTION llmeval._job_inputs(text, text, text, text[], text[], jsonb) FROM PUBLIC;

CREATE FUNCTION llmeval._submit_job(tenant text, prompt text, dataset text, models text[],
                                    metrics text[], options jsonb)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  prompt_version llmeval.prompt_versions;
  dataset_version llmeval.dataset_versions;
  inputs record;
  model_ids int[];
  new_job bigint;
BEGIN
  options := coalesce(options, '{}');
  metrics := coalesce(metrics, '{}');
  -- The workers pass text between the database and the providers' UTF-8
  -- APIs without converting it; the metrics convert, and work in any
  -- encoding.
  IF getdatabaseencoding() <> 'UTF8' THEN
    RAISE EXCEPTION 'the job engine needs a UTF8 database; this one is %', getdatabaseencoding()
      USING ERRCODE = 'feature_not_supported',
            HINT = 'The metric functions work here; run jobs in a database created with ENCODING ''UTF8''.';
  END IF;
  SELECT * INTO inputs FROM llmeval._job_inputs(tenant, prompt, dataset, models, metrics, options);
  prompt_version := inputs.prompt_version;
  dataset_version := inputs.dataset_version;
  options := inputs.pinned_options;

  model_ids := ARRAY(SELECT m.id FROM unnest(models) WITH ORDINALITY AS x(name, ord)
                     JOIN llmeval.models m ON m.name = x.name ORDER BY x.ord);
  INSERT INTO llmeval.jobs AS j (tenant, prompt_version_id, dataset_version_id, models, metrics, options)
  VALUES (tenant, prompt_version.id, dataset_version.id, models, metrics, options)
  RETURNING j.id INTO new_job;
  INSERT INTO llmeval.events (tenant, job_id, correlation_id, kind, detail)
  SELECT tenant, j.id, j.correlation_id, 'job_submitted',
         jsonb_build_object('prompt', prompt, 'prompt_version', prompt_version.version,
                            'dataset', dataset, 'dataset_version', dataset_version.version,
                            'models', models, 'metrics', metrics)
  FROM llmeval.jobs j WHERE j.id = new_job;
  -- One task per test case and model, in file order then model order; a
  -- replayed conversation starts at its first turn (the generation is its
  -- last).
  INSERT INTO llmeval.tasks (job_id, test_case_id, model_id, tenant, kind, turn)
  SELECT new_job, tc.id, m.id, tenant,
         CASE WHEN rp.turns > 1 THEN 'turn' ELSE 'generate' END,
         CASE WHEN rp.turns IS NOT NULL THEN 1 END
  FROM llmeval.test_cases tc
  CROSS JOIN LATERAL (SELECT CASE WHEN tc.messages IS NOT NULL AND options @> '{"conversation": "replay"}'
                                  THEN llmeval._user_turns(tc.messages) END AS turns) rp
  CROSS JOIN unnest(model_ids) WITH ORDINALITY AS m(id, ord)
  WHERE tc.dataset_version_id = dataset_version.id
  ORDER BY tc.position, m.ord;
  RETURN new_job;
END $$;

CREATE FUNCTION llmeval.submit_job(prompt text, dataset text, models text[], metrics text[],
                                   options jsonb DEFAULT '{}')
RETURNS bigint
AS 'MODULE_PATHNAME', 'llmeval_tenant_call'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION llmeval.submit_job(text, text, text[], text[], jsonb) IS
  'queues one task per test case and model for the latest (or given) prompt and dataset versions; returns the job id';

-- The caller's job, or an error: the tenant's own, or any tenant's for an
-- administrator (a superuser or a member of llmeval_admin), who must be able
-- to stop a poison or runaway job. Locked (FOR NO KEY UPDATE, before any of
-- its tasks: the workers' lock order) only when the caller will change it:
-- a tenant's open transaction holding a job row it did not change would
-- hold that job's tasks for nothing.
CREATE FUNCTION llmeval._tenant_job(tenant text, caller regrole, job_id bigint, lock boolean)
RETURNS llmeval.jobs
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  job llmeval.jobs;
  admin boolean := pg_has_role(caller, 'llmeval_admin', 'USAGE')
                   OR (SELECT r.rolsuper FROM pg_roles r WHERE r.oid = caller);
BEGIN
  SELECT * INTO job FROM llmeval.jobs j
  WHERE j.id = _tenant_job.job_id AND (j.tenant = _tenant_job.tenant OR admin);
  IF NOT FOUND THEN
    RAISE EXCEPTION 'job % does not exist', job_id USING ERRCODE = 'undefined_object';
  END IF;
  IF lock THEN
    -- (with the counter changes the workers have not folded yet: the
    -- decision that follows is taken on the tasks as they are)
    PERFORM 1 FROM llmeval.jobs j WHERE j.id = _tenant_job.job_id FOR NO KEY UPDATE;
    PERFORM llmeval._fold_job_counters(ARRAY[_tenant_job.job_id], true);
    SELECT * INTO job FROM llmeval.jobs j WHERE j.id = _tenant_job.job_id;
  END IF;
  RETURN job;
END $$;

CREATE FUNCTION llmeval._cancel_job(tenant text, caller regrole, job_id bigint)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  job llmeval.jobs := llmeval._tenant_job(tenant, caller, job_id, false);
  n bigint;
BEGIN
  IF job.status IN ('completed', 'failed', 'cancelled') THEN
    RETURN 0;
  END IF;
  job := llmeval._tenant_job(tenant, caller, job_id, true);
  IF job.status IN ('completed', 'failed', 'cancelled') THEN
    RETURN 0;
  END IF;
  UPDATE llmeval.jobs j SET status = 'cancelled', finished_at = now() WHERE j.id = job.id;
  -- A worker holding a running task finds its claim token gone and drops
  -- the result.
  UPDATE llmeval.tasks t SET status = 'cancelled', claim_token = NULL, lease_expires_at = NULL,
                             worker_pid = NULL
  WHERE t.job_id = job.id AND t.status IN ('pending', 'running');
  GET DIAGNOSTICS n = ROW_COUNT;
  -- (its provider batches still running are cancelled there by the next
  -- worker to look at them, which finds the job cancelled: their rows are
  -- not locked here, as a worker would wait for them)
  INSERT INTO llmeval.events (tenant, job_id, correlation_id, kind, detail)
  VALUES (job.tenant, job.id, job.correlation_id, 'job_cancel',
          jsonb_build_object('tasks', n, 'by', caller::text));
  RETURN n;
END $$;

CREATE FUNCTION llmeval.cancel_job(job_id bigint)
RETURNS bigint
AS 'MODULE_PATHNAME', 'llmeval_tenant_call'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION llmeval.cancel_job(bigint) IS
  'cancels the job''s pending and running tasks; returns how many (0 if the job had ended)';

CREATE FUNCTION llmeval._retry_failed(tenant text, caller regrole, job_id bigint)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  job llmeval.jobs := llmeval._tenant_job(tenant, caller, job_id, false);
  n bigint;
BEGIN
  -- The job's row is locked only when there is something to retry (the
  -- failed tasks themselves are looked at: the job's counters may not have
  -- caught up with the workers yet).
  IF job.status <> 'cancelled'
     AND EXISTS (SELECT 1 FROM llmeval.tasks t WHERE t.job_id = job.id AND t.status = 'failed') THEN
    job := llmeval._tenant_job(tenant, caller, job_id, true);
  END IF;
  IF job.status = 'cancelled' THEN
    RAISE EXCEPTION 'job % was cancelled', job_id
      USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'Submit a new job instead.';
  END IF;
  IF job.failed = 0 THEN
    RETURN 0;
  END IF;
  -- (a job paused at its budget stays paused: its retries wait for resume_job)
  UPDATE llmeval.jobs j SET status = CASE WHEN j.status = 'paused' THEN 'paused' ELSE 'running' END,
                            finished_at = NULL
  WHERE j.id = job.id;
  DELETE FROM llmeval.responses r USING llmeval.tasks t
  WHERE r.task_id = t.id AND t.job_id = job.id AND t.status = 'failed';
  UPDATE llmeval.tasks t SET status = 'pending', attempts = 0, next_attempt_at = now(),
                             last_error = NULL
  WHERE t.job_id = job.id AND t.status = 'failed';
  GET DIAGNOSTICS n = ROW_COUNT;
  INSERT INTO llmeval.events (tenant, job_id, correlation_id, kind, detail)
  VALUES (job.tenant, job.id, job.correlation_id, 'job_retry',
          jsonb_build_object('tasks', n, 'by', caller::text));
  RETURN n;
END $$;

CREATE FUNCTION llmeval.retry_failed(job_id bigint)
RETURNS bigint
AS 'MODULE_PATHNAME', 'llmeval_tenant_call'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION llmeval.retry_failed(bigint) IS
  'puts the job''s failed tasks back in the queue with fresh attempts; returns how many';

-- Continues a job paused at its budget, with a new max_cost_usd (NULL: the
-- same, when the job was paused for another reason that has passed). The
-- new limit must be above what the job has spent.
CREATE FUNCTION llmeval._resume_job(tenant text, caller regrole, job_id bigint, max_cost_usd numeric)
RETURNS text
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  job llmeval.jobs := llmeval._tenant_job(tenant, caller, job_id, true);
  new_status text;
  room_spent numeric;
  room_per_call numeric;
  room_allowed bigint;
BEGIN
  IF job.status <> 'paused' THEN
    RAISE EXCEPTION 'job % is not paused (it is %)', job_id, job.status
      USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;
  IF max_cost_usd IS NOT NULL AND NOT (max_cost_usd > 0 AND max_cost_usd <= 1000000000) THEN
    RAISE EXCEPTION 'max_cost_usd must be above 0 and at most 1000000000' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  max_cost_usd := coalesce(max_cost_usd, (job.options ->> 'max_cost_usd')::numeric);
  -- (the new limit must leave room for a call, or the next claim pauses
  -- the job again at once)
  SELECT r.spent, r.per_call, r.allowed INTO room_spent, room_per_call, room_allowed
  FROM llmeval._job_budget_room(job.id, max_cost_usd) r;
  IF max_cost_usd IS NOT NULL AND room_allowed = 0 THEN
    RAISE EXCEPTION 'job % has spent %; max_cost_usd % leaves less than the % a call is reserved', job_id,
                    round(room_spent, 6), max_cost_usd, coalesce(round(room_per_call, 6)::text, 'first')
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Resume it with a higher limit: llmeval.resume_job(job_id, max_cost_usd).';
  END IF;
  new_status := CASE WHEN job.running + job.completed + job.failed > 0 THEN 'running' ELSE 'queued' END;
  INSERT INTO llmeval.events (tenant, job_id, correlation_id, kind, detail)
  VALUES (job.tenant, job.id, job.correlation_id, 'job_resume',
          jsonb_build_object('max_cost_usd', max_cost_usd, 'spent', job.spent, 'by', caller::text));
  UPDATE llmeval.jobs j
  SET status = new_status, paused_reason = NULL,
      options = CASE WHEN max_cost_usd IS NULL THEN j.options
                     ELSE j.options || jsonb_build_object('max_cost_usd', max_cost_usd) END
  WHERE j.id = job.id;
  PERFORM llmeval._wake_workers_on_commit();
  RETURN new_status;
END $$;

CREATE FUNCTION llmeval.resume_job(job_id bigint, max_cost_usd numeric DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'llmeval_tenant_call'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION llmeval.resume_job(bigint, numeric) IS
  'continues a job paused at its budget, with a new max_cost_usd; returns its status';

REVOKE ALL ON FUNCTION llmeval._resume_job(text, regrole, bigint, numeric) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._submit_job(text, text, text, text[], text[], jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._cancel_job(text, regrole, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._retry_failed(text, regrole, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._tenant_job(text, regrole, bigint, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._check_params(jsonb, text) FROM PUBLIC;

CREATE FUNCTION llmeval.job_progress(job_id bigint)
RETURNS TABLE (status text, total int, done int, completed int, failed int,
               cancelled int, pending int, running int, percent numeric, eta interval,
               started_at timestamptz, finished_at timestamptz, correlation_id uuid,
               batches jsonb)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  job llmeval.jobs;
BEGIN
  -- Row-level security limits this to the caller's jobs.
  SELECT * INTO job FROM llmeval.jobs j WHERE j.id = job_progress.job_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'job % does not exist', job_progress.job_id USING ERRCODE = 'undefined_object';
  END IF;
  status := job.status;
  total := job.total;
  completed := job.completed;
  failed := job.failed;
  cancelled := job.cancelled;
  pending := job.pending;
  running := job.running;
  done := job.completed + job.failed + job.cancelled;
  percent := CASE WHEN job.total = 0 THEN 100 ELSE round(100.0 * done / job.total, 1) END;
  -- Time so far per finished task, times the tasks left.
  eta := CASE WHEN job.status = 'running' AND done > 0 AND job.started_at IS NOT NULL
              THEN (now() - job.started_at) * ((job.total - done)::float8 / done) END;
  started_at := job.started_at;
  finished_at := job.finished_at;
  correlation_id := job.correlation_id;
  -- A batch job's provider batches by what the provider says of them
  -- (validating, in_progress, finalizing, completed, ended, ...): why a job
  -- sits at 0 % for an hour. NULL for a job without batches.
  SELECT jsonb_object_agg(s.state, s.n) INTO batches
  FROM (SELECT CASE WHEN b.status IN ('stored', 'abandoned') THEN b.status
                    ELSE coalesce(b.remote_status, b.status) END AS state, count(*) AS n
        FROM llmeval.provider_batches b WHERE b.job_id = job.id GROUP BY 1) s;
  RETURN NEXT;
END $$;
COMMENT ON FUNCTION llmeval.job_progress(bigint) IS
  'status, task counts, percent done, estimated time left and provider batches of a job';

CREATE FUNCTION llmeval.wait_job(job_id bigint, timeout interval DEFAULT '10 minutes')
RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  deadline timestamptz := clock_timestamp() + coalesce(timeout, '10 minutes');
  pause float8 := 0.01;
  current_status text;
BEGIN
  LOOP
    -- Each statement sees the latest committed state (READ COMMITTED).
    SELECT j.status INTO current_status FROM llmeval.jobs j WHERE j.id = wait_job.job_id;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'job % does not exist', wait_job.job_id USING ERRCODE = 'undefined_object';
    END IF;
    -- (paused: it will not end before someone resumes it)
    IF current_status IN ('completed', 'failed', 'cancelled', 'paused') OR clock_timestamp() >= deadline THEN
      RETURN current_status;
    END IF;
    PERFORM pg_sleep(least(pause, greatest(extract(epoch FROM deadline - clock_timestamp()), 0)));
    pause := least(pause * 2, 0.5);
  END LOOP;
END $$;
COMMENT ON FUNCTION llmeval.wait_job(bigint, interval) IS
  'waits until the job ends or is paused at its budget and returns its status (or the current status at the timeout)';

-- A CSV field as RFC 4180 writes it: quoted when needed; NULL as nothing.
CREATE FUNCTION llmeval._csv_field(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT CASE
           WHEN value IS NULL THEN ''
           WHEN value = '' OR value ~ '[",\r\n]' OR value ~ '^\s|\s$'
             THEN '"' || replace(value, '"', '""') || '"'
           ELSE value
         END
$$;

CREATE FUNCTION llmeval.export_results(job_id bigint, format text DEFAULT 'json')
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  job llmeval.jobs;
  out text;
BEGIN
  IF format IS NULL OR format NOT IN ('json', 'csv') THEN
    RAISE EXCEPTION 'unknown export format "%"', format
      USING ERRCODE = 'invalid_parameter_value', HINT = 'Valid formats are json and csv.';
  END IF;
  SELECT * INTO job FROM llmeval.jobs j WHERE j.id = export_results.job_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'job % does not exist', export_results.job_id USING ERRCODE = 'undefined_object';
  END IF;
  IF format = 'json' THEN
    SELECT coalesce(jsonb_agg(to_jsonb(r) - 'job_id' - 'updated_at'
                              || jsonb_build_object('scores', coalesce(
                                   (SELECT jsonb_object_agg(s.metric, s.value)
                                    FROM llmeval.task_scores s WHERE s.task_id = r.task_id), '{}'))
                              ORDER BY r.position, array_position(job.models, r.model)), '[]')::text
    INTO out
    FROM llmeval.results r WHERE r.job_id = job.id;
    RETURN jsonb_build_object('job_id', job.id, 'status', job.status,
                              'correlation_id', job.correlation_id, 'models', job.models,
                              'metrics', job.metrics, 'results', out::jsonb)::text;
  END IF;
  -- CSV: one row per task, one column per metric.
  SELECT string_agg(line, E'\r\n' ORDER BY ord) || E'\r\n' INTO out FROM (
    SELECT 0 AS ord,
           array_to_string(ARRAY['test_case_id', 'position', 'model', 'status', 'input', 'expected',
                                 'output', 'error', 'latency_ms', 'input_tokens', 'output_tokens',
                                 'cost', 'attempts']
                           || ARRAY(SELECT llmeval._csv_field(m) FROM unnest(job.metrics) m), ',') AS line
    UNION ALL
    SELECT r.position * (cardinality(job.models) + 1) + array_position(job.models, r.model),
           array_to_string(ARRAY[r.test_case_id::text, r.position::text, llmeval._csv_field(r.model),
                                 r.status, llmeval._csv_field(r.input::text),
                                 llmeval._csv_field(r.expected), llmeval._csv_field(r.output),
                                 llmeval._csv_field(r.error), coalesce(r.latency_ms::text, ''),
                                 coalesce(r.input_tokens::text, ''), coalesce(r.output_tokens::text, ''),
                                 coalesce(r.cost::text, ''), r.attempts::text]
                           || ARRAY(SELECT coalesce(s.value::text, '')
                                    FROM unnest(job.metrics) WITH ORDINALITY AS m(name, i)
                                    LEFT JOIN llmeval.task_scores s
                                      ON s.task_id = r.task_id AND s.metric = m.name
                                    ORDER BY m.i), ',')
    FROM llmeval.results r WHERE r.job_id = job.id) lines;
  RETURN out;
END $$;
COMMENT ON FUNCTION llmeval.export_results(bigint, text) IS
  'a job''s results with their scores, as JSON or CSV (one row per test case and model)';
