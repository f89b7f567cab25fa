-- Metrics a tenant defines (judge rubrics, assertions, SQL functions), the
-- scoring of assertions and SQL metrics, and embeddings asked for from SQL:
-- everything here takes text or code from a tenant.

-- Definitions ---------------------------------------------------------------

CREATE FUNCTION llmeval._check_metric_name(name text) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF name IS NULL OR name !~ '^[A-Za-z_][A-Za-z0-9_]*$' THEN
    RAISE EXCEPTION 'invalid metric name "%"', name
      USING ERRCODE = 'invalid_parameter_value', HINT = 'Use letters, digits and underscores.';
  END IF;
  IF EXISTS (SELECT 1 FROM llmeval.metrics m WHERE m.name = _check_metric_name.name
             AND (m.tenant IS NULL OR m.tenant = llmeval.current_tenant())) THEN
    RAISE EXCEPTION 'metric "%" already exists', name
      USING ERRCODE = 'duplicate_object', HINT = 'Drop it first with llmeval.drop_metric.';
  END IF;
END $$;

-- A judge metric from a rubric: the judge scores each output on the rubric
-- from min_score to max_score, and the metric's value is that score mapped
-- to 0-1.
CREATE FUNCTION llmeval.create_metric(name text, rubric text, min_score int DEFAULT 1,
                                      max_score int DEFAULT 5, description text DEFAULT NULL,
                                      uses text[] DEFAULT ARRAY['question', 'context', 'reference', 'answer'])
RETURNS int
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  new_id int;
  bad text;
BEGIN
  PERFORM llmeval._check_metric_name(name);
  IF rubric IS NULL OR btrim(rubric) = '' THEN
    RAISE EXCEPTION 'a judge metric needs a rubric' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF min_score IS NULL OR max_score IS NULL OR min_score >= max_score THEN
    RAISE EXCEPTION 'the score scale must run from a lower min_score to a higher max_score'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  SELECT u INTO bad FROM unnest(coalesce(uses, '{}')) u
  WHERE u IS NULL OR u NOT IN ('question', 'context', 'reference', 'answer') LIMIT 1;
  IF FOUND OR NOT 'answer' = ANY (coalesce(uses, '{}')) THEN
    RAISE EXCEPTION 'uses must list answer and may list question, context and reference'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  INSERT INTO llmeval.metrics AS m (name, kind, description, definition)
  VALUES (name, 'judge', coalesce(description, 'LLM judge on a rubric, 0-1'),
          jsonb_build_object('criteria', rubric, 'min', min_score, 'max', max_score, 'uses', uses))
  RETURNING m.id INTO new_id;
  RETURN new_id;
END $$;
COMMENT ON FUNCTION llmeval.create_metric(text, text, int, int, text, text[]) IS
  'defines a judge metric from a rubric and a score scale (scored 0-1 by the job''s judge model)';

-- A deterministic check of the output: 1 when it passes, 0 when not.
CREATE FUNCTION llmeval.create_assertion(name text, check_kind text, argument jsonb DEFAULT NULL,
                                         description text DEFAULT NULL)
RETURNS int
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  definition jsonb := jsonb_build_object('check', check_kind, 'argument', argument);
  new_id int;
BEGIN
  PERFORM llmeval._check_metric_name(name);
  -- Checks the definition on an empty output: a bad regex or schema fails now.
  PERFORM llmeval.assert_output('', definition);
  INSERT INTO llmeval.metrics AS m (name, kind, description, definition)
  VALUES (name, 'assertion', coalesce(description, 'assertion ' || check_kind || ' (0 or 1)'), definition)
  RETURNING m.id INTO new_id;
  RETURN new_id;
END $$;
COMMENT ON FUNCTION llmeval.create_assertion(text, text, jsonb, text) IS
  'defines an assertion metric: regex, not_regex, contains, not_contains, contains_all, contains_any, equals, json_valid, json_schema, length';

-- A metric computed by the tenant's own SQL function
-- (output text, tc llmeval.test_cases) -> float8, run as the job's submitter.
CREATE FUNCTION llmeval.create_sql_metric(name text, fn regprocedure, description text DEFAULT NULL)
RETURNS int
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  f pg_proc;
  new_id int;
BEGIN
  PERFORM llmeval._check_metric_name(name);
  SELECT * INTO f FROM pg_proc p WHERE p.oid = fn;
  IF f.pronargs <> 2 OR f.proargtypes[0] <> 'text'::regtype
     OR f.proargtypes[1] <> 'llmeval.test_cases'::regtype OR f.prorettype <> 'float8'::regtype
     OR f.proretset OR f.prokind <> 'f' THEN
    RAISE EXCEPTION 'function % must take (text, llmeval.test_cases) and return float8', fn
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF NOT has_function_privilege(fn, 'EXECUTE') THEN
    RAISE EXCEPTION 'permission denied for function %', fn USING ERRCODE = 'insufficient_privilege';
  END IF;
  INSERT INTO llmeval.metrics AS m (name, kind, description, definition)
  VALUES (name, 'sql', coalesce(description, 'SQL function ' || fn::text),
          jsonb_build_object('function', fn::oid::bigint, 'signature', fn::text))
  RETURNING m.id INTO new_id;
  RETURN new_id;
END $$;
COMMENT ON FUNCTION llmeval.create_sql_metric(text, regprocedure, text) IS
  'defines a metric computed by a SQL function (output text, tc llmeval.test_cases) returning float8';

CREATE FUNCTION llmeval.drop_metric(name text) RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
BEGIN
  DELETE FROM llmeval.metrics m WHERE m.name = drop_metric.name AND m.tenant = llmeval.current_tenant();
  RETURN FOUND;
END $$;
COMMENT ON FUNCTION llmeval.drop_metric(text) IS
  'drops one of the caller''s metrics (scores already stored stay); false if there was none';

-- Assertions and SQL metrics of completed generations. An SQL metric runs
-- as its function's owner (the tenant who wrote it: with that role's rights
-- and row-level security, never the worker's), each call in a
-- subtransaction: its error becomes a NULL score with the message.
CREATE FUNCTION llmeval._score_deterministic(task_ids bigint[]) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  item record;
  value float8;
  problem text;
BEGIN
  FOR item IN
    SELECT t.id, t.tenant, jm.name AS metric, jm.kind, jm.definition, r.output, tc,
           (SELECT pg_get_userbyid(p.proowner) FROM pg_proc p
            WHERE p.oid = (jm.definition ->> 'function')::bigint::oid) AS run_as
    FROM llmeval.tasks t
    JOIN llmeval.jobs j ON j.id = t.job_id
    CROSS JOIN LATERAL llmeval._job_metrics(j) jm
    JOIN llmeval.responses r ON r.task_id = t.id AND r.output IS NOT NULL
    JOIN llmeval.test_cases tc ON tc.id = t.test_case_id
    WHERE t.id = ANY (task_ids) AND t.kind = 'generate' AND t.status = 'completed'
      AND jm.kind IN ('assertion', 'sql')
    ORDER BY t.id, jm.name
  LOOP
    value := NULL;
    problem := NULL;
    BEGIN
      IF item.kind = 'assertion' THEN
        value := llmeval.assert_output(item.output, item.definition)::int;
      ELSE
        IF item.run_as IS NULL THEN
          RAISE EXCEPTION 'the function of metric % no longer exists', item.metric;
        END IF;
        PERFORM set_config('role', item.run_as, true);
        EXECUTE format('SELECT %s($1, $2)', (item.definition ->> 'function')::bigint::oid::regprocedure::regproc)
          INTO value USING item.output, item.tc;
        PERFORM set_config('role', 'none', true);
      END IF;
    EXCEPTION WHEN OTHERS THEN
      problem := SQLERRM;
    END;
    INSERT INTO llmeval.task_scores (task_id, tenant, metric, value, detail)
    VALUES (item.id, item.tenant, item.metric, value,
            CASE WHEN problem IS NOT NULL THEN jsonb_build_object('error', problem) END)
    ON CONFLICT (task_id, metric) DO NOTHING;
  END LOOP;
END $$;

REVOKE ALL ON FUNCTION llmeval._score_deterministic(bigint[]) FROM PUBLIC;

-- Semantic similarity from SQL ---------------------------------------------------

-- Embeddings of texts by a model, from the cache or one provider request
-- for those missing (which are cached). Runs as the extension owner: the
-- provider's key is read here and never returned.
CREATE FUNCTION llmeval._embeddings(model text, texts text[])
RETURNS SETOF float8[]
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  m record;
  missing text[];
  reply jsonb;
BEGIN
  SELECT md.id, md.api_model, p.kind, p.base_url, p.api_key_env, s.api_key INTO m
  FROM llmeval.models md JOIN llmeval.providers p ON p.id = md.provider_id
  LEFT JOIN llmeval.provider_secrets s ON s.provider_id = p.id
  WHERE md.name = _embeddings.model;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'model "%" does not exist', model
      USING ERRCODE = 'undefined_object', HINT = 'Models are named provider/model; see llmeval.models.';
  END IF;
  SELECT array_agg(DISTINCT x) INTO missing FROM unnest(texts) x
  WHERE NOT EXISTS (SELECT 1 FROM llmeval.embedding_cache c
                    WHERE c.model_id = m.id AND c.text_hash = llmeval._text_hash(x));
  IF missing IS NOT NULL THEN
    reply := llmeval._embed(m.kind, m.base_url, m.api_key, m.api_key_env, m.api_model, missing);
    INSERT INTO llmeval.embedding_cache (model_id, text_hash, vector)
    SELECT m.id, llmeval._text_hash(x.t), ARRAY(SELECT el.x::float8 FROM jsonb_array_elements_text(x.v) AS el(x))
    FROM unnest(missing, ARRAY(SELECT vs.v FROM jsonb_array_elements(reply -> 'vectors') AS vs(v))) AS x(t, v)
    ON CONFLICT DO NOTHING;
  END IF;
  RETURN QUERY
  SELECT c.vector FROM unnest(texts) WITH ORDINALITY AS x(t, i)
  JOIN llmeval.embedding_cache c ON c.model_id = m.id AND c.text_hash = llmeval._text_hash(x.t)
  ORDER BY x.i;
END $$;
REVOKE ALL ON FUNCTION llmeval._embeddings(text, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION llmeval._embeddings(text, text[]) TO llmeval_user;

CREATE FUNCTION llmeval.semantic_similarity(a text, b text, model text DEFAULT NULL)
RETURNS float8
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  chosen text := coalesce(model, nullif(current_setting('llmeval.embedding_model', true), ''));
  v float8[];
  va float8[];
  vb float8[];
BEGIN
  IF a IS NULL OR b IS NULL THEN
    RETURN NULL;
  END IF;
  IF chosen IS NULL THEN
    RAISE EXCEPTION 'no embedding model given'
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Pass one (provider/model) or set llmeval.embedding_model.';
  END IF;
  FOR v IN SELECT * FROM llmeval._embeddings(chosen, ARRAY[a, b]) LOOP
    IF va IS NULL THEN va := v; ELSE vb := v; END IF;
  END LOOP;
  RETURN llmeval.cosine_similarity(va::float4[], vb::float4[]);
END $$;
COMMENT ON FUNCTION llmeval.semantic_similarity(text, text, text) IS
  'cosine similarity of the two texts'' embeddings by the model (default llmeval.embedding_model), cached by (model, text)';

