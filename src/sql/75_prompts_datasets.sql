-- Prompts and datasets. Tenants cannot write these tables directly (see
-- 73_security.sql): versions and test cases are written here only, so they
-- stay immutable and always belong to their parent's tenant. Each public
-- function is the C entry point llmeval_tenant_call, which computes the
-- caller's tenant with the caller's rights and calls the SECURITY DEFINER
-- llmeval._<name>(tenant, ...); that one writes rows of that tenant only.
-- New versions are numbered under a lock on the parent row, so concurrent
-- imports of one name get consecutive versions.

CREATE FUNCTION llmeval._create_prompt(tenant text, name text, template text, system text,
                                       params jsonb)
RETURNS int
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  found_prompt bigint;
  new_version int;
BEGIN
  IF name IS NULL OR name = '' OR template IS NULL THEN
    RAISE EXCEPTION 'a prompt needs a name and a template' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  params := coalesce(params, '{}');
  PERFORM llmeval._check_params(params, 'prompt params');
  INSERT INTO llmeval.prompts AS p (tenant, name) VALUES (tenant, _create_prompt.name)
  ON CONFLICT ON CONSTRAINT prompts_tenant_name_key DO UPDATE SET updated_at = now()
  RETURNING p.id INTO found_prompt;
  SELECT coalesce(max(v.version), 0) + 1 INTO new_version
  FROM llmeval.prompt_versions v WHERE v.prompt_id = found_prompt;
  INSERT INTO llmeval.prompt_versions (prompt_id, tenant, version, template, system, params, fields)
  VALUES (found_prompt, tenant, new_version, template, system, params,
          ARRAY(SELECT DISTINCT f FROM unnest(llmeval.prompt_fields(template)
                                            || coalesce(llmeval.prompt_fields(system), '{}')) f));
  RETURN new_version;
END $$;

CREATE FUNCTION llmeval.create_prompt(name text, template text, system text DEFAULT NULL,
                                      params jsonb DEFAULT '{}')
RETURNS int
AS 'MODULE_PATHNAME', 'llmeval_tenant_call'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION llmeval.create_prompt(text, text, text, jsonb) IS
  'adds a version of a prompt ({{field}} placeholders filled from test case input); returns the version';

-- Validates a dataset in the import format and stores it as a new version.
CREATE FUNCTION llmeval._store_dataset(tenant text, name text, data jsonb, source text, columns text[])
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  found_dataset bigint;
  version_id bigint;
  new_version int;
  bad record;
BEGIN
  IF name IS NULL OR name = '' THEN
    RAISE EXCEPTION 'a dataset needs a name' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF data IS NULL OR jsonb_typeof(data) <> 'array' THEN
    RAISE EXCEPTION 'dataset "%" must be a JSON array of test cases', name
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Each test case is {"input": {...}, "expected": "...", "context": "...", "metadata": {...}}.';
  END IF;
  SELECT ord, problem INTO bad FROM (
    SELECT ord, CASE
        WHEN jsonb_typeof(e) <> 'object' THEN 'it is not a JSON object'
        WHEN jsonb_typeof(e -> 'input') NOT IN ('object', 'null') THEN '"input" is not an object'
        WHEN jsonb_typeof(e -> 'expected') NOT IN ('string', 'null') THEN '"expected" is not a string'
        WHEN jsonb_typeof(e -> 'context') NOT IN ('string', 'null') THEN '"context" is not a string'
        WHEN jsonb_typeof(e -> 'metadata') NOT IN ('object', 'null') THEN '"metadata" is not an object'
        WHEN jsonb_typeof(e -> 'expected_tool_calls') NOT IN ('array', 'null')
          THEN '"expected_tool_calls" is not an array of calls'
        WHEN jsonb_typeof(e -> 'goal') NOT IN ('string', 'null') THEN '"goal" is not a string'
        WHEN coalesce(e -> 'goal', 'null') <> 'null' AND coalesce(e -> 'messages', 'null') = 'null'
          THEN '"goal" is the goal of a conversation: the test case has no "messages"'
        WHEN coalesce(e -> 'messages', 'null') <> 'null'
             AND llmeval._conversation_problem(e -> 'messages') IS NOT NULL
          THEN '"messages" must be a conversation: ' || llmeval._conversation_problem(e -> 'messages')
        WHEN llmeval._retrieval_problem(nullif(e -> 'contexts', 'null'), nullif(e -> 'relevant_ids', 'null')) IS NOT NULL
          THEN llmeval._retrieval_problem(nullif(e -> 'contexts', 'null'), nullif(e -> 'relevant_ids', 'null'))
        -- Prompts are rendered and sent as JSON numbers a double can hold.
        WHEN jsonb_path_exists(e -> 'input', 'strict $.** ? (@.type() == "number" && @.abs() > 1.7976931348623157e308)')
          THEN '"input" holds a number beyond the range of a double (quote it as a string)'
        ELSE (SELECT format('unknown key "%s"', k) FROM jsonb_object_keys(e) k
              WHERE k NOT IN ('input', 'expected', 'context', 'metadata', 'expected_tool_calls',
                              'messages', 'goal', 'contexts', 'relevant_ids') LIMIT 1)
      END AS problem
    FROM jsonb_array_elements(data) WITH ORDINALITY AS a(e, ord)) checked
  WHERE problem IS NOT NULL ORDER BY ord LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'invalid test case % in dataset "%": %', bad.ord, name, bad.problem
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Test cases have the keys input (object), expected, context, goal (strings), metadata (object), '
                   'expected_tool_calls, messages, contexts (arrays) and relevant_ids (array or object).';
  END IF;

  INSERT INTO llmeval.datasets AS d (tenant, name) VALUES (tenant, _store_dataset.name)
  ON CONFLICT ON CONSTRAINT datasets_tenant_name_key DO UPDATE SET updated_at = now()
  RETURNING d.id INTO found_dataset;
  SELECT coalesce(max(v.version), 0) + 1 INTO new_version
  FROM llmeval.dataset_versions v WHERE v.dataset_id = found_dataset;
  INSERT INTO llmeval.dataset_versions AS v (dataset_id, tenant, version, source, n_cases, columns)
  VALUES (found_dataset, tenant, new_version, source, jsonb_array_length(data), columns)
  RETURNING v.id INTO version_id;
  INSERT INTO llmeval.test_cases (dataset_version_id, tenant, position, input, expected, context, metadata,
                                  expected_tool_calls, messages, goal, contexts, relevant_ids)
  SELECT version_id, tenant, ord, coalesce(nullif(e -> 'input', 'null'), '{}'), e ->> 'expected',
         e ->> 'context', nullif(e -> 'metadata', 'null'), nullif(e -> 'expected_tool_calls', 'null'),
         nullif(e -> 'messages', 'null'), e ->> 'goal', nullif(e -> 'contexts', 'null'),
         nullif(e -> 'relevant_ids', 'null')
  FROM jsonb_array_elements(data) WITH ORDINALITY AS a(e, ord);
  RETURN version_id;
END $$;

CREATE FUNCTION llmeval._import_dataset(tenant text, name text, data jsonb)
RETURNS bigint
LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ SELECT llmeval._store_dataset(tenant, name, data, 'json', NULL) $$;

CREATE FUNCTION llmeval.import_dataset(name text, data jsonb)
RETURNS bigint
AS 'MODULE_PATHNAME', 'llmeval_tenant_call'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION llmeval.import_dataset(text, jsonb) IS
  'stores a JSON array of test cases as a new version of the dataset; returns the version''s id';

CREATE FUNCTION llmeval._import_dataset_csv(tenant text, name text, csv text)
RETURNS bigint
LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ SELECT llmeval._store_dataset(tenant, name, llmeval._dataset_from_csv(csv), 'csv', llmeval._csv_header(csv)) $$;

CREATE FUNCTION llmeval.import_dataset_csv(name text, csv text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'llmeval_tenant_call'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION llmeval.import_dataset_csv(text, text) IS
  'stores an RFC 4180 CSV file (header row; columns expected, context, goal (text), metadata, expected_tool_calls, messages, contexts, relevant_ids (JSON); the rest input fields) as a new dataset version';

-- The dataset version (latest unless given) of the current tenant.
CREATE FUNCTION llmeval._dataset_version(name text, version int)
RETURNS llmeval.dataset_versions
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  result_version llmeval.dataset_versions;
BEGIN
  SELECT v.* INTO result_version
  FROM llmeval.datasets d JOIN llmeval.dataset_versions v ON v.dataset_id = d.id
  WHERE d.name = _dataset_version.name AND d.tenant = llmeval.current_tenant()
    AND (_dataset_version.version IS NULL OR v.version = _dataset_version.version)
  ORDER BY v.version DESC LIMIT 1;
  IF NOT FOUND THEN
    IF version IS NULL THEN
      RAISE EXCEPTION 'dataset "%" does not exist', name USING ERRCODE = 'undefined_object';
    END IF;
    RAISE EXCEPTION 'dataset "%" has no version %', name, version USING ERRCODE = 'undefined_object';
  END IF;
  RETURN result_version;
END $$;

CREATE FUNCTION llmeval.export_dataset(name text, format text DEFAULT 'json', version int DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  v llmeval.dataset_versions := llmeval._dataset_version(name, version);
  cases jsonb;
BEGIN
  IF format IS NULL OR format NOT IN ('json', 'csv') THEN
    RAISE EXCEPTION 'unknown export format "%"', format
      USING ERRCODE = 'invalid_parameter_value', HINT = 'Valid formats are json and csv.';
  END IF;
  -- Absent fields are left out (not written as null); nulls inside input
  -- and metadata stay.
  SELECT coalesce(jsonb_agg(jsonb_build_object('input', tc.input)
           || CASE WHEN tc.expected IS NULL THEN '{}' ELSE jsonb_build_object('expected', tc.expected) END
           || CASE WHEN tc.context IS NULL THEN '{}' ELSE jsonb_build_object('context', tc.context) END
           || CASE WHEN tc.metadata IS NULL THEN '{}' ELSE jsonb_build_object('metadata', tc.metadata) END
           || CASE WHEN tc.expected_tool_calls IS NULL THEN '{}'
                   ELSE jsonb_build_object('expected_tool_calls', tc.expected_tool_calls) END
           || CASE WHEN tc.messages IS NULL THEN '{}' ELSE jsonb_build_object('messages', tc.messages) END
           || CASE WHEN tc.goal IS NULL THEN '{}' ELSE jsonb_build_object('goal', tc.goal) END
           || CASE WHEN tc.contexts IS NULL THEN '{}' ELSE jsonb_build_object('contexts', tc.contexts) END
           || CASE WHEN tc.relevant_ids IS NULL THEN '{}'
                   ELSE jsonb_build_object('relevant_ids', tc.relevant_ids) END
           ORDER BY tc.position), '[]')
  INTO cases
  FROM llmeval.test_cases tc WHERE tc.dataset_version_id = v.id;
  IF format = 'csv' THEN
    RETURN llmeval._dataset_to_csv(cases, v.columns);
  END IF;
  RETURN cases::text;
END $$;
COMMENT ON FUNCTION llmeval.export_dataset(text, text, int) IS
  'a dataset version (the latest by default) as JSON in the import format or as CSV';

REVOKE ALL ON FUNCTION llmeval._create_prompt(text, text, text, text, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._store_dataset(text, text, jsonb, text, text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._import_dataset(text, text, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._import_dataset_csv(text, text, text) FROM PUBLIC;
