-- Metrics a tenant defines (judge rubrics, assertions, SQL functions), the
-- scoring of assertions and SQL metrics, and embeddings asked for from SQL:
-- everything here takes text or code from a tenant.

-- Definitions ---------------------------------------------------------------
--
-- Tenants cannot write llmeval.metrics themselves: a row written directly
-- would skip these checks, and a bad definition (a built-in's name with
-- another kind, a scale that is not a number) would break other tenants'
-- jobs. Each public function is the C entry point llmeval_tenant_call: it
-- computes the caller's tenant with the caller's rights and calls the
-- SECURITY DEFINER llmeval._<name>(tenant, ...), which nobody else may
-- execute.

CREATE FUNCTION llmeval._check_metric_name(tenant text, name text) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
BEGIN
  IF name IS NULL OR name !~ '^[A-Za-z_][A-Za-z0-9_]*$' THEN
    RAISE EXCEPTION 'invalid metric name "%"', name
      USING ERRCODE = 'invalid_parameter_value', HINT = 'Use letters, digits and underscores.';
  END IF;
  IF EXISTS (SELECT 1 FROM llmeval.metrics m WHERE m.name = _check_metric_name.name
             AND (m.tenant IS NULL OR m.tenant = tenant)) THEN
    RAISE EXCEPTION 'metric "%" already exists', name
      USING ERRCODE = 'duplicate_object', HINT = 'Drop it first with llmeval.drop_metric.';
  END IF;
END $$;

-- A judge metric from a rubric: the judge scores each output on the rubric
-- from min_score to max_score, and the metric's value is that score mapped
-- to 0-1.
CREATE FUNCTION llmeval._create_metric(tenant text, name text, rubric text, min_score int,
                                       max_score int, description text, uses text[])
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  new_id bigint;
  bad text;
BEGIN
  PERFORM llmeval._check_metric_name(tenant, name);
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
  INSERT INTO llmeval.metrics AS m (tenant, name, kind, description, definition)
  VALUES (tenant, name, 'judge', coalesce(description, 'LLM judge on a rubric, 0-1'),
          jsonb_build_object('criteria', rubric, 'min', min_score, 'max', max_score, 'uses', uses))
  RETURNING m.id INTO new_id;
  RETURN new_id;
END $$;

CREATE FUNCTION llmeval.create_metric(name text, rubric text, min_score int DEFAULT 1,
                                      max_score int DEFAULT 5, description text DEFAULT NULL,
                                      uses text[] DEFAULT ARRAY['question', 'context', 'reference', 'answer'])
RETURNS bigint
AS 'MODULE_PATHNAME', 'llmeval_tenant_call'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION llmeval.create_metric(text, text, int, int, text, text[]) IS
  'defines a judge metric from a rubric and a score scale (scored 0-1 by the job''s judge model)';

-- A deterministic check of the output: 1 when it passes, 0 when not.
CREATE FUNCTION llmeval._create_assertion(tenant text, name text, check_kind text, argument jsonb,
                                          description text)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  definition jsonb := jsonb_build_object('check', check_kind, 'argument', argument);
  new_id bigint;
BEGIN
  PERFORM llmeval._check_metric_name(tenant, name);
  -- Checks the definition on an empty output: a bad regex or schema fails now.
  PERFORM llmeval.assert_output('', definition);
  INSERT INTO llmeval.metrics AS m (tenant, name, kind, description, definition)
  VALUES (tenant, name, 'assertion', coalesce(description, 'assertion ' || check_kind || ' (0 or 1)'),
          definition)
  RETURNING m.id INTO new_id;
  RETURN new_id;
END $$;

CREATE FUNCTION llmeval.create_assertion(name text, check_kind text, argument jsonb DEFAULT NULL,
                                         description text DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'llmeval_tenant_call'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION llmeval.create_assertion(text, text, jsonb, text) IS
  'defines an assertion metric: regex, not_regex, contains, not_contains, contains_all, contains_any, equals, json_valid, json_schema, length';

-- A metric computed by a SQL function (output text, tc llmeval.test_cases)
-- -> float8. It runs as the role that registered it (see _score_deterministic),
-- so that role must own the function or hold an explicit grant on it:
-- EXECUTE granted to PUBLIC, as every function has by default, would let a
-- tenant run another tenant's function, with that tenant's rights, on inputs
-- it controls. The function is kept by OID, never looked up by name again.
CREATE FUNCTION llmeval._create_sql_metric(tenant text, caller regrole, name text, fn regprocedure,
                                           description text)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  f pg_proc;
  new_id bigint;
BEGIN
  PERFORM llmeval._check_metric_name(tenant, name);
  IF fn IS NULL THEN
    RAISE EXCEPTION 'a SQL metric needs a function' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  SELECT * INTO f FROM pg_proc p WHERE p.oid = fn;
  IF f.pronargs <> 2 OR f.proargtypes[0] <> 'text'::regtype
     OR f.proargtypes[1] <> 'llmeval.test_cases'::regtype OR f.prorettype <> 'float8'::regtype
     OR f.proretset OR f.prokind <> 'f' THEN
    RAISE EXCEPTION 'function % must take (text, llmeval.test_cases) and return float8', fn
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF NOT pg_has_role(caller, f.proowner, 'USAGE')
     AND NOT EXISTS (SELECT 1 FROM aclexplode(f.proacl) a
                     WHERE a.privilege_type = 'EXECUTE' AND a.grantee <> 0
                       AND pg_has_role(caller, a.grantee, 'USAGE')) THEN
    RAISE EXCEPTION 'permission denied for function %', fn
      USING ERRCODE = 'insufficient_privilege',
            DETAIL = format('A SQL metric runs as the role that registers it, so %s must own the function or be granted EXECUTE on it explicitly (a grant to PUBLIC does not count).', caller),
            HINT = 'Write the metric''s function yourself, or ask its owner for GRANT EXECUTE.';
  END IF;
  INSERT INTO llmeval.metrics AS m (tenant, name, kind, description, definition)
  VALUES (tenant, name, 'sql', coalesce(description, 'SQL function ' || fn::text),
          jsonb_build_object('function', fn::oid::bigint, 'signature', fn::text,
                             'run_as', caller::oid::bigint, 'run_as_name', caller::text))
  RETURNING m.id INTO new_id;
  RETURN new_id;
END $$;

CREATE FUNCTION llmeval.create_sql_metric(name text, fn regprocedure, description text DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'llmeval_tenant_call'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION llmeval.create_sql_metric(text, regprocedure, text) IS
  'defines a metric computed by a SQL function (output text, tc llmeval.test_cases) returning float8, run as the caller';

CREATE FUNCTION llmeval._drop_metric(tenant text, name text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
BEGIN
  DELETE FROM llmeval.metrics m WHERE m.name = _drop_metric.name AND m.tenant = tenant;
  RETURN FOUND;
END $$;

CREATE FUNCTION llmeval.drop_metric(name text) RETURNS boolean
AS 'MODULE_PATHNAME', 'llmeval_tenant_call'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION llmeval.drop_metric(text) IS
  'drops one of the caller''s metrics (scores already stored stay); false if there was none';

REVOKE ALL ON FUNCTION llmeval._check_metric_name(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._create_metric(text, text, text, int, int, text, text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._create_assertion(text, text, text, jsonb, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._create_sql_metric(text, regrole, text, regprocedure, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._drop_metric(text, text) FROM PUBLIC;

-- Scoring -------------------------------------------------------------------

-- One call of a tenant's SQL metric: as the role that registered it, in a
-- security-restricted operation, under a timeout (src/pg/fn_tenant_code.cpp).
CREATE FUNCTION llmeval._call_sql_metric(fn oid, run_as oid, jwt_sub text, output text,
                                         tc llmeval.test_cases, timeout_ms int)
RETURNS float8
AS 'MODULE_PATHNAME', 'llmeval_call_sql_metric'
LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION llmeval._call_sql_metric(oid, oid, text, text, llmeval.test_cases, int) FROM PUBLIC;

-- Assertions and SQL metrics of completed generations, each call in a
-- subtransaction: its error becomes a NULL score with the message. A SQL
-- metric runs as the role that registered it (for a JWT role, with the
-- tenant's claims), never with the worker's rights. Tenant code is bounded
-- within a batch too: once a metric has timed out, its other calls in the
-- batch are not made (NULL, with the reason), and once tenant code has taken
-- three timeouts' worth of time, no more is run in this batch.
CREATE FUNCTION llmeval._score_deterministic(task_ids bigint[]) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  item record;
  value float8;
  problem text;
  timeout_ms int := coalesce((SELECT s.setting::int FROM pg_settings s
                              WHERE s.name = 'llmeval.sql_metric_timeout_ms'), 5000);
  budget_ends timestamptz;
  timed_out text[] := '{}';
  started timestamptz;
BEGIN
  FOR item IN
    SELECT t.id, t.tenant, jm.name AS metric, jm.kind, jm.definition, r.output, tc,
           (jm.definition ->> 'function')::oid AS fn, (jm.definition ->> 'run_as')::oid AS run_as,
           EXISTS (SELECT 1 FROM llmeval.jwt_roles jr
                   WHERE jr.role_name = jm.definition ->> 'run_as_name') AS jwt_role
    FROM llmeval.tasks t
    JOIN llmeval.jobs j ON j.id = t.job_id
    CROSS JOIN LATERAL llmeval._job_metrics(j) jm
    JOIN llmeval.responses r ON r.task_id = t.id AND r.output IS NOT NULL
    JOIN llmeval.test_cases tc ON tc.id = t.test_case_id
    WHERE t.id = ANY (task_ids) AND t.kind IN ('generate', 'turn') AND t.status = 'completed'
      AND jm.kind IN ('assertion', 'sql')
    ORDER BY t.id, jm.name
  LOOP
    value := NULL;
    problem := NULL;
    IF item.kind = 'sql' AND item.metric = ANY (timed_out) THEN
      problem := 'not run: an earlier call of this metric in the same batch timed out';
    ELSIF item.kind = 'sql' AND clock_timestamp() > budget_ends THEN
      problem := 'not run: tenant code used this batch''s time (3 x llmeval.sql_metric_timeout_ms)';
    ELSE
      BEGIN
        IF item.kind = 'assertion' THEN
          value := llmeval.assert_output(item.output, item.definition)::int;
        ELSE
          IF item.run_as IS NULL THEN
            RAISE EXCEPTION 'metric % was registered before SQL metrics ran as their tenant', item.metric
              USING HINT = 'Register it again with llmeval.create_sql_metric.';
          END IF;
          started := clock_timestamp();
          budget_ends := coalesce(budget_ends, started + make_interval(secs => 3 * timeout_ms / 1000.0));
          value := llmeval._call_sql_metric(item.fn, item.run_as,
                                            CASE WHEN item.jwt_role THEN item.tenant END,
                                            item.output, item.tc, timeout_ms);
          IF value = 'NaN'::float8 OR value IN ('Infinity'::float8, '-Infinity'::float8) THEN
            RAISE EXCEPTION 'metric % returned %, not a finite number', item.metric, value;
          END IF;
        END IF;
      EXCEPTION WHEN OTHERS THEN
        problem := SQLERRM;
        value := NULL;
        IF SQLSTATE = '54000' AND SQLERRM LIKE 'SQL metric timeout:%' THEN
          timed_out := timed_out || item.metric;
        END IF;
      END;
    END IF;
    INSERT INTO llmeval.task_scores (task_id, tenant, metric, value, detail)
    VALUES (item.id, item.tenant, item.metric, value,
            CASE WHEN problem IS NOT NULL THEN jsonb_build_object('error', problem) END)
    ON CONFLICT (task_id, metric) DO NOTHING;
  END LOOP;
END $$;

REVOKE ALL ON FUNCTION llmeval._score_deterministic(bigint[]) FROM PUBLIC;

-- Semantic similarity from SQL ---------------------------------------------------

-- Calls made from SQL on a tenant's behalf (not by the workers), metered
-- like the workers' calls: the model's shared rate limits, its prices, and
-- the tenant they are billed to.
CREATE TABLE llmeval.direct_calls (
  id            bigserial PRIMARY KEY,
  tenant        text NOT NULL,
  model_id      int NOT NULL REFERENCES llmeval.models ON DELETE CASCADE,
  kind          text NOT NULL CHECK (kind IN ('embed')),
  texts         int NOT NULL CHECK (texts > 0),
  input_tokens  int CHECK (input_tokens >= 0),
  cost          numeric NOT NULL CHECK (cost >= 0),
  latency_ms    double precision CHECK (latency_ms >= 0),
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON llmeval.direct_calls (tenant, created_at);
CREATE INDEX ON llmeval.direct_calls (model_id);
CREATE INDEX ON llmeval.direct_calls (created_at);
COMMENT ON TABLE llmeval.direct_calls IS
  'provider calls made from SQL (semantic_similarity), with tokens and cost, per tenant';
ALTER TABLE llmeval.direct_calls ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON llmeval.direct_calls FOR SELECT
  USING (tenant = (SELECT llmeval.current_tenant()));
CREATE POLICY admin_read ON llmeval.direct_calls FOR SELECT TO llmeval_admin USING (true);
GRANT SELECT ON llmeval.direct_calls TO llmeval_user;

-- The cosine similarity of two texts' embeddings by a model, from the
-- tenant's embedding cache or one provider request for those missing. Runs
-- as the extension owner (the provider's key is read here and never
-- returned), for the tenant computed by llmeval_tenant_call. The call waits
-- its turn in the model's rate limits (at most a minute) and is recorded in
-- direct_calls at the model's input price.
CREATE FUNCTION llmeval._semantic_similarity(tenant text, a text, b text, model text)
RETURNS float8
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  chosen text := coalesce(model, nullif(current_setting('llmeval.embedding_model', true), ''));
  scope text := llmeval._cache_scope(tenant);
  m record;
  missing text[];
  reply jsonb;
  wait_ms bigint;
  waited bigint := 0;
  started timestamptz;
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
  SELECT md.id, md.api_model, md.input_price, md.requests_per_minute, md.tokens_per_minute,
         p.kind, p.base_url, p.api_key_env, s.api_key INTO m
  FROM llmeval.models md JOIN llmeval.providers p ON p.id = md.provider_id
  LEFT JOIN llmeval.provider_secrets s ON s.provider_id = p.id
  WHERE md.name = chosen;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'model "%" does not exist', chosen
      USING ERRCODE = 'undefined_object', HINT = 'Models are named provider/model; see llmeval.models.';
  END IF;
  SELECT array_agg(DISTINCT x) INTO missing FROM unnest(ARRAY[a, b]) x
  WHERE NOT EXISTS (SELECT 1 FROM llmeval.embedding_cache c
                    WHERE c.model_id = m.id AND c.scope = scope AND c.text_hash = llmeval._text_hash(x));
  IF missing IS NOT NULL THEN
    LOOP
      wait_ms := llmeval._acquire_rate(m.id, m.requests_per_minute, m.tokens_per_minute,
                                       (SELECT sum(octet_length(x)) / 4 + 1 FROM unnest(missing) x)::bigint);
      EXIT WHEN wait_ms <= 0;
      IF waited + wait_ms > 60000 THEN
        RAISE EXCEPTION 'model "%" is at its rate limit', chosen
          USING ERRCODE = 'configuration_limit_exceeded',
                HINT = 'Its requests_per_minute and tokens_per_minute are shared with the workers; try again later.';
      END IF;
      PERFORM pg_sleep(wait_ms / 1000.0);
      waited := waited + wait_ms;
    END LOOP;
    started := clock_timestamp();
    reply := llmeval._embed(m.kind, m.base_url, m.api_key, m.api_key_env, m.api_model, missing);
    INSERT INTO llmeval.direct_calls (tenant, model_id, kind, texts, input_tokens, cost, latency_ms)
    VALUES (tenant, m.id, 'embed', cardinality(missing), (reply ->> 'input_tokens')::int,
            coalesce((reply ->> 'input_tokens')::numeric, 0) * m.input_price / 1000000,
            extract(epoch FROM clock_timestamp() - started) * 1000);
    INSERT INTO llmeval.embedding_cache (model_id, scope, text_hash, vector)
    SELECT m.id, scope, llmeval._text_hash(x.t),
           ARRAY(SELECT el.x::float8 FROM jsonb_array_elements_text(x.v) AS el(x))
    FROM unnest(missing, ARRAY(SELECT vs.v FROM jsonb_array_elements(reply -> 'vectors') AS vs(v))) AS x(t, v)
    ON CONFLICT DO NOTHING;
  END IF;
  SELECT c.vector INTO va FROM llmeval.embedding_cache c
  WHERE c.model_id = m.id AND c.scope = scope AND c.text_hash = llmeval._text_hash(a);
  SELECT c.vector INTO vb FROM llmeval.embedding_cache c
  WHERE c.model_id = m.id AND c.scope = scope AND c.text_hash = llmeval._text_hash(b);
  RETURN llmeval.cosine_similarity(va::float4[], vb::float4[]);
END $$;
REVOKE ALL ON FUNCTION llmeval._semantic_similarity(text, text, text, text) FROM PUBLIC;

CREATE FUNCTION llmeval.semantic_similarity(a text, b text, model text DEFAULT NULL)
RETURNS float8
AS 'MODULE_PATHNAME', 'llmeval_tenant_call'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION llmeval.semantic_similarity(text, text, text) IS
  'cosine similarity of the two texts'' embeddings by the model (default llmeval.embedding_model), cached per tenant, rate-limited and billed to the caller';

CREATE FUNCTION llmeval._acquire_rate(model_id int, requests_per_minute int, tokens_per_minute int,
                                      estimated_tokens bigint)
RETURNS bigint
AS 'MODULE_PATHNAME', 'llmeval_acquire_rate'
LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION llmeval._acquire_rate(int, int, int, bigint) FROM PUBLIC;

