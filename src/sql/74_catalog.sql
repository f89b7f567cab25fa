-- Providers, models and secrets (administrators only).
--
-- llmeval_admin need not be a superuser, yet the workers send the server
-- environment variable a provider names (api_key_env) to its base_url. So
-- every write of those columns, through create_provider or directly, passes
-- the superuser's policy: llmeval.api_key_env_names and llmeval.provider_hosts
-- (src/core/provider/policy.hpp). The workers and llmeval._embed check it
-- again before each request, as the settings may have narrowed since.

-- Nothing, or the policy's error (42501; 22023 for a URL that is not
-- http(s)) with a hint naming the setting. NULL api_key_env: no variable.
CREATE FUNCTION llmeval._check_provider_policy(api_key_env text, base_url text)
RETURNS void
AS 'MODULE_PATHNAME', 'llmeval_check_provider_policy'
LANGUAGE C STABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION llmeval._check_provider_policy(text, text) IS
  'internal: raises 42501 unless the provider policy (llmeval.api_key_env_names, '
  'llmeval.provider_hosts) allows the key variable and the URL''s host';

CREATE FUNCTION llmeval._providers_check_policy() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM llmeval._check_provider_policy(NEW.api_key_env, NEW.base_url);
  RETURN NEW;
END $$;

-- Only the table's owner could disable it, and session_replication_role,
-- which would skip it, is a superuser setting.
CREATE TRIGGER check_policy BEFORE INSERT OR UPDATE OF base_url, api_key_env
  ON llmeval.providers
  FOR EACH ROW EXECUTE FUNCTION llmeval._providers_check_policy();

CREATE FUNCTION llmeval.create_provider(name text, kind text, base_url text,
                                        api_key_env text DEFAULT NULL,
                                        options jsonb DEFAULT '{}')
RETURNS int
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  new_id int;
BEGIN
  PERFORM llmeval._require_admin('create providers');
  IF name IS NULL OR kind IS NULL OR base_url IS NULL THEN
    RAISE EXCEPTION 'name, kind and base_url must not be NULL' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF kind NOT IN ('openai', 'anthropic', 'gemini') THEN
    RAISE EXCEPTION 'unknown provider kind "%"', kind
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Valid kinds are openai (also any OpenAI-compatible server), anthropic and gemini.';
  END IF;
  IF base_url !~ '^https?://[^\s/]+' THEN
    RAISE EXCEPTION 'invalid base_url "%"', base_url
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Give the URL as the vendor''s SDK takes it, such as https://api.openai.com/v1.';
  END IF;
  IF api_key_env IS NOT NULL AND api_key_env !~ '^[A-Za-z_][A-Za-z0-9_]*$' THEN
    RAISE EXCEPTION 'invalid environment variable name "%"', api_key_env
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  options := coalesce(options, '{}');
  IF jsonb_typeof(options) <> 'object' THEN
    RAISE EXCEPTION 'options must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  -- Checked here for an early error; the trigger check_policy checks every write.
  PERFORM llmeval._check_provider_policy(api_key_env, rtrim(base_url, '/'));
  IF options ? 'max_tokens_param' AND options ->> 'max_tokens_param' NOT IN ('max_tokens', 'max_completion_tokens') THEN
    RAISE EXCEPTION 'provider option "max_tokens_param" must be "max_tokens" or "max_completion_tokens"'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF options ? 'api_key' THEN
    -- providers is readable by every tenant: keys go to provider_secrets.
    RAISE EXCEPTION 'API keys do not belong in provider options'
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Use llmeval.set_provider_secret(provider, api_key) or api_key_env.';
  END IF;
  INSERT INTO llmeval.providers AS p (name, kind, base_url, api_key_env, options)
  VALUES (create_provider.name, create_provider.kind, rtrim(create_provider.base_url, '/'),
          create_provider.api_key_env, create_provider.options)
  ON CONFLICT ON CONSTRAINT providers_name_key DO UPDATE
    SET kind = EXCLUDED.kind, base_url = EXCLUDED.base_url,
        api_key_env = EXCLUDED.api_key_env, options = EXCLUDED.options
  RETURNING p.id INTO new_id;
  RETURN new_id;
END $$;
COMMENT ON FUNCTION llmeval.create_provider(text, text, text, text, jsonb) IS
  'creates or updates a provider (administrators only)';

CREATE FUNCTION llmeval.set_provider_secret(provider text, api_key text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  found_id int;
BEGIN
  PERFORM llmeval._require_admin('set provider secrets');
  SELECT p.id INTO found_id FROM llmeval.providers p WHERE p.name = provider;
  IF found_id IS NULL THEN
    RAISE EXCEPTION 'provider "%" does not exist', provider USING ERRCODE = 'undefined_object';
  END IF;
  IF api_key IS NULL THEN
    DELETE FROM llmeval.provider_secrets s WHERE s.provider_id = found_id;
    RETURN;
  END IF;
  INSERT INTO llmeval.provider_secrets AS s (provider_id, api_key)
  VALUES (found_id, set_provider_secret.api_key)
  ON CONFLICT ON CONSTRAINT provider_secrets_pkey DO UPDATE
    SET api_key = EXCLUDED.api_key, updated_at = now();
END $$;
COMMENT ON FUNCTION llmeval.set_provider_secret(text, text) IS
  'stores (or with NULL removes) a provider''s API key, readable by administrators only';

-- The model options that say how a model is called (the others have columns
-- of their own), with the rule each breaks, if any (NULL: fine). A
-- provider's max_tokens_param applies to its models that set none.
CREATE FUNCTION llmeval._model_api_option_rule(k text, v jsonb) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
  SELECT CASE
    WHEN k = 'api' AND v NOT IN ('"chat_completions"', '"responses"')
      THEN '"chat_completions" or "responses"'
    WHEN k = 'reasoning' AND jsonb_typeof(v) <> 'boolean' THEN 'true or false'
    WHEN k = 'max_tokens_param' AND v NOT IN ('"max_tokens"', '"max_completion_tokens"')
      THEN '"max_tokens" or "max_completion_tokens"'
  END
$$;

CREATE FUNCTION llmeval.create_model(name text, input_price numeric DEFAULT 0,
                                     output_price numeric DEFAULT 0, options jsonb DEFAULT '{}',
                                     cached_input_price numeric DEFAULT NULL,
                                     cache_write_price numeric DEFAULT NULL)
RETURNS int
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  provider_name text := split_part(name, '/', 1);
  found_provider int;
  new_id int;
  unknown text;
  bad text;
BEGIN
  PERFORM llmeval._require_admin('create models');
  IF name IS NULL OR name !~ '^[^/]+/.+$' THEN
    RAISE EXCEPTION 'invalid model name "%"', name
      USING ERRCODE = 'invalid_parameter_value', HINT = 'Name models provider/model, such as openai/gpt-4o-mini.';
  END IF;
  SELECT p.id INTO found_provider FROM llmeval.providers p WHERE p.name = provider_name;
  IF found_provider IS NULL THEN
    RAISE EXCEPTION 'provider "%" does not exist', provider_name
      USING ERRCODE = 'undefined_object', HINT = 'Create it first with llmeval.create_provider.';
  END IF;
  IF coalesce(input_price, 0) < 0 OR coalesce(output_price, 0) < 0
     OR coalesce(cached_input_price, 0) < 0 OR coalesce(cache_write_price, 0) < 0 THEN
    RAISE EXCEPTION 'prices must not be negative' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  options := coalesce(options, '{}');
  IF jsonb_typeof(options) <> 'object' THEN
    RAISE EXCEPTION 'options must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  SELECT k INTO unknown FROM jsonb_object_keys(options) k
  WHERE k NOT IN ('api_model', 'requests_per_minute', 'tokens_per_minute', 'params', 'api',
                  'reasoning', 'max_tokens_param') LIMIT 1;
  IF unknown IS NOT NULL THEN
    RAISE EXCEPTION 'unknown model option "%"', unknown
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Valid options are api_model, requests_per_minute, tokens_per_minute, params, '
                   'api, reasoning and max_tokens_param.';
  END IF;
  SELECT format('model option "%s" must be %s', o.k, llmeval._model_api_option_rule(o.k, o.v)) INTO bad
  FROM jsonb_each(options) AS o(k, v) WHERE llmeval._model_api_option_rule(o.k, o.v) IS NOT NULL LIMIT 1;
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION '%', bad USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF jsonb_typeof(options -> 'params') = 'object' THEN
    PERFORM llmeval._check_params(options -> 'params', 'model params');
  END IF;
  BEGIN
    INSERT INTO llmeval.models AS m (provider_id, name, api_model, input_price, output_price,
                                     cached_input_price, cache_write_price,
                                     requests_per_minute, tokens_per_minute, params, options)
    VALUES (found_provider, create_model.name,
            coalesce(options ->> 'api_model', substr(create_model.name, length(provider_name) + 2)),
            coalesce(create_model.input_price, 0), coalesce(create_model.output_price, 0),
            create_model.cached_input_price, create_model.cache_write_price,
            (options ->> 'requests_per_minute')::int, (options ->> 'tokens_per_minute')::int,
            coalesce(options -> 'params', '{}'),
            options - ARRAY['api_model', 'requests_per_minute', 'tokens_per_minute', 'params'])
    ON CONFLICT ON CONSTRAINT models_name_key DO UPDATE
      SET api_model = EXCLUDED.api_model, input_price = EXCLUDED.input_price,
          output_price = EXCLUDED.output_price, cached_input_price = EXCLUDED.cached_input_price,
          cache_write_price = EXCLUDED.cache_write_price,
          requests_per_minute = EXCLUDED.requests_per_minute,
          tokens_per_minute = EXCLUDED.tokens_per_minute, params = EXCLUDED.params,
          options = EXCLUDED.options,
          -- another API or API model may take what this one refused
          refused_params = CASE WHEN m.api_model = EXCLUDED.api_model
                                     AND m.options ->> 'api' IS NOT DISTINCT FROM EXCLUDED.options ->> 'api'
                                THEN m.refused_params ELSE '{}' END
    RETURNING m.id INTO new_id;
  EXCEPTION
    WHEN invalid_text_representation OR numeric_value_out_of_range OR check_violation THEN
      RAISE EXCEPTION 'invalid model options: %', SQLERRM
        USING ERRCODE = 'invalid_parameter_value',
              HINT = 'Rate limits are positive integers; params is a JSON object.';
  END;
  RETURN new_id;
END $$;
COMMENT ON FUNCTION llmeval.create_model(text, numeric, numeric, jsonb, numeric, numeric) IS
  'creates or updates a model named provider/model with prices per million tokens: input, output, '
  'and input read from and written to the provider''s prompt cache (administrators only)';

REVOKE ALL ON FUNCTION llmeval.create_provider(text, text, text, text, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval.set_provider_secret(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval.create_model(text, numeric, numeric, jsonb, numeric, numeric) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION llmeval.create_provider(text, text, text, text, jsonb) TO llmeval_admin;
GRANT EXECUTE ON FUNCTION llmeval.set_provider_secret(text, text) TO llmeval_admin;
GRANT EXECUTE ON FUNCTION llmeval.create_model(text, numeric, numeric, jsonb, numeric, numeric) TO llmeval_admin;
-- Administrators who are not superusers insert providers and models.
GRANT USAGE ON SEQUENCE llmeval.providers_id_seq, llmeval.models_id_seq TO llmeval_admin;

-- The workers' note that models refused parameters (a 400 naming one, see
-- src/core/provider/refusal.hpp): not sent to them again.
CREATE FUNCTION llmeval._remember_refused_params(model_ids int[], params text[]) RETURNS void
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
  UPDATE llmeval.models m
  SET refused_params = ARRAY(SELECT DISTINCT x FROM unnest(m.refused_params || r.added) x ORDER BY x),
      updated_at = now()
  FROM (SELECT x.model_id, array_agg(x.param) AS added
        FROM unnest(model_ids, params) AS x(model_id, param) GROUP BY x.model_id) r
  WHERE m.id = r.model_id AND NOT (m.refused_params @> r.added)
$$;
REVOKE ALL ON FUNCTION llmeval._remember_refused_params(int[], text[]) FROM PUBLIC;
