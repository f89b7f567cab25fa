-- Online evaluation: rules that score the rows an application writes into
-- its own tables.
--
-- A rule names a source table, maps its columns (the row key, the output,
-- and as available the input, expected answer and context) and lists
-- metrics. Rows reach the engine in two steps, so that the application's
-- insert never waits for, or fails because of, a rule:
--
-- 1. A statement-level AFTER INSERT trigger on the source (one per rule)
--    samples the inserted rows by their key and appends the sampled keys to
--    llmeval.online_pending. It evaluates nothing a tenant wrote, calls no
--    provider and locks no row but the ones it inserts; an error in it is
--    reported as a warning, never raised into the application's statement.
-- 2. The workers (llmeval._online_ingest, about once a second) read each
--    pending row with the rights of the rule's owner (so row-level security
--    and column privileges apply, and the rule's filter runs sandboxed as
--    that role), and turn the rows that pass into test cases of the rule's
--    dataset with their output already written: a generation task completed
--    at once in the rule's job. Lexical, assertion and SQL metrics are
--    scored there and then; judge and embedding metrics are queued like any
--    job's, through the same queue, retries, rate limits, prices and cache.
--
-- Sampling is a pure function of the key and the rule's seed
-- (llmeval.online_sampled), so a re-run picks the same rows and two rules
-- with the same seed and rate sample the same keys. Each (rule, row) becomes
-- one item (unique key) and each item one generation task, whose scores are
-- unique per metric: each (rule, row, metric) is scored at most once.

-- Whether the row with this key is in a sample of the given rate: the low 53
-- bits of a seeded 64-bit hash of the key's text, as a fraction of 2^53.
CREATE FUNCTION llmeval.online_sampled(row_key text, seed bigint, rate float8)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT rate >= 1 OR (rate > 0 AND (hashtextextended(row_key COLLATE "C", seed) & 9007199254740991)::float8
                                    / 9007199254740992.0 < rate)
$$;
COMMENT ON FUNCTION llmeval.online_sampled(text, bigint, float8) IS
  'whether an online rule with this seed and sampling rate samples the row with this key (deterministic)';

CREATE TABLE llmeval.online_rules (
  id            bigserial PRIMARY KEY,
  tenant        text NOT NULL DEFAULT llmeval.current_tenant(),
  name          text NOT NULL CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$'),
  source        oid NOT NULL,       -- the table (regclass; its name may change)
  columns       jsonb NOT NULL CHECK (jsonb_typeof(columns) = 'object'),
  metrics       text[] NOT NULL CHECK (cardinality(metrics) > 0),
  options       jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(options) = 'object'),
  mode          text NOT NULL CHECK (mode IN ('trigger', 'poll')),
  sampling_rate float8 NOT NULL CHECK (sampling_rate BETWEEN 0 AND 1),
  seed          bigint NOT NULL DEFAULT 0,
  filter        text,
  -- active; paused by its owner; deferred by the workers while the day's
  -- spending has reached max_cost_usd_per_day (until deferred_until)
  status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'deferred')),
  deferred_until timestamptz,
  -- the role the rows are read (and the filter run) as: the rule's creator;
  -- for a JWT role, with the tenant as its "sub" claim
  run_as        oid NOT NULL,
  run_as_name   name NOT NULL,
  job_id        bigint NOT NULL,
  dataset_version_id bigint NOT NULL,
  -- the scan of the source (mode poll, and backfill_from): the (timestamp,
  -- key) of the last row looked at, and where a backfill ends (NULL: poll
  -- goes on); see 83_online_scan.sql
  scan_ts       timestamptz,
  scan_key      text,
  scan_until    timestamptz,
  -- the metrics whose alert_below is crossed now (llmeval._online_check_alerts)
  alerting      text[] NOT NULL DEFAULT '{}',
  -- the last error reading the rule's rows, and when to try again
  last_error    text,
  retry_after   timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant, name),
  UNIQUE (id, tenant),
  FOREIGN KEY (job_id, tenant) REFERENCES llmeval.jobs (id, tenant) ON DELETE RESTRICT,
  FOREIGN KEY (dataset_version_id, tenant) REFERENCES llmeval.dataset_versions (id, tenant)
    ON DELETE RESTRICT
);
CREATE INDEX ON llmeval.online_rules (job_id);
CREATE INDEX ON llmeval.online_rules (dataset_version_id);
CREATE TRIGGER touch_updated_at BEFORE UPDATE ON llmeval.online_rules
  FOR EACH ROW EXECUTE FUNCTION llmeval._touch_updated_at();
COMMENT ON TABLE llmeval.online_rules IS
  'online evaluation rules: a source table, its column mapping, metrics, sampling and filter';

-- What the triggers append: the sampled keys, nothing else. Every column,
-- index and check here is paid inside the application's insert, so the
-- table has none but these (no key, no tenant, no foreign key to the rule:
-- its check would lock the rule's row in every insert). The workers move
-- the rows into online_items (llmeval._online_ingest) about once a second,
-- which is also when duplicates (a key deleted and written again) go.
CREATE TABLE llmeval.online_pending (
  rule_id     bigint NOT NULL,
  row_key     text NOT NULL,
  enqueued_at timestamptz NOT NULL DEFAULT now()
-- (rows live for a second: vacuumed often)
) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000);
REVOKE ALL ON llmeval.online_pending FROM PUBLIC;
COMMENT ON TABLE llmeval.online_pending IS
  'keys sampled by online rules'' triggers, not yet moved into online_items';

-- The sampled rows of each rule, by key: each (rule, row) once.
CREATE TABLE llmeval.online_items (
  id          bigserial PRIMARY KEY,
  rule_id     bigint NOT NULL,
  tenant      text NOT NULL,
  row_key     text NOT NULL,
  -- pending: sampled, not yet read; ingested: read and queued for scoring
  -- (task_id); filtered: the rule's filter is false for it; skipped: gone
  -- (deleted, or not visible to the rule's owner); no_output: its output
  -- was NULL when read (read again if it is written later, on_update)
  status      text NOT NULL DEFAULT 'pending'
              CHECK (status IN ('pending', 'ingested', 'filtered', 'skipped', 'no_output')),
  task_id     bigint REFERENCES llmeval.tasks ON DELETE SET NULL,
  detail      text,
  enqueued_at timestamptz NOT NULL DEFAULT now(),
  ingested_at timestamptz,
  -- its scores were all in and the rule's review option was applied to it
  reviewed    boolean NOT NULL DEFAULT false,
  -- a session not yet idle: read again then
  not_before  timestamptz,
  UNIQUE (rule_id, row_key)
);
CREATE INDEX online_items_pending ON llmeval.online_items (rule_id, id) WHERE status = 'pending';
CREATE INDEX ON llmeval.online_items (task_id) WHERE task_id IS NOT NULL;
-- a rule's recent rows, for its alerts
CREATE INDEX ON llmeval.online_items (rule_id, ingested_at) WHERE status = 'ingested';
COMMENT ON TABLE llmeval.online_items IS
  'rows sampled by online rules (by key) and what became of them';

ALTER TABLE llmeval.online_rules ENABLE ROW LEVEL SECURITY;
ALTER TABLE llmeval.online_items ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON llmeval.online_rules FOR SELECT
  USING (tenant = (SELECT llmeval.current_tenant()));
CREATE POLICY admin_read ON llmeval.online_rules FOR SELECT TO llmeval_admin USING (true);
CREATE POLICY tenant_isolation ON llmeval.online_items FOR SELECT
  USING (tenant = (SELECT llmeval.current_tenant()));
CREATE POLICY admin_read ON llmeval.online_items FOR SELECT TO llmeval_admin USING (true);
-- Tenants read; they write only through the functions below.
GRANT SELECT ON llmeval.online_rules, llmeval.online_items TO llmeval_user, llmeval_admin;

CREATE VIEW llmeval.online_scores WITH (security_invoker = true) AS
SELECT r.name AS rule, i.row_key, s.metric, s.value, s.detail, s.created_at AS scored_at,
       i.rule_id, s.task_id
FROM llmeval.online_items i
JOIN llmeval.online_rules r ON r.id = i.rule_id
JOIN llmeval.task_scores s ON s.task_id = i.task_id;
COMMENT ON VIEW llmeval.online_scores IS 'one row per online rule, source row and metric scored';
GRANT SELECT ON llmeval.online_scores TO llmeval_user, llmeval_admin;

-- The application side: the trigger ------------------------------------------

-- Appends the sampled keys of the inserted rows (transition table
-- llmeval_new_rows) to the rule's items, in C (src/pg/fn_online_trigger.cpp):
-- a statement none of whose rows is sampled runs no SQL at all. A paused
-- rule still samples, so that resume_online_rule loses no row. Never
-- raises: the application's insert must not fail because of a rule.
CREATE FUNCTION llmeval._online_enqueue() RETURNS trigger
AS 'MODULE_PATHNAME', 'llmeval_online_enqueue'
LANGUAGE C;
REVOKE ALL ON FUNCTION llmeval._online_enqueue() FROM PUBLIC;

-- Creation --------------------------------------------------------------------

CREATE FUNCTION llmeval._online_option_names() RETURNS text[]
LANGUAGE sql IMMUTABLE
AS $$ SELECT ARRAY['sampling_rate', 'seed', 'filter', 'mode', 'on_update', 'backfill_from',
                   'alert_below', 'alert_window', 'alert_min_scores', 'max_cost_usd_per_day', 'review', 'idle_seconds', 'judge_model', 'embedding_model', 'judge_params', 'judge_logprobs', 'samples',
                   'max_attempts', 'cache', 'priority'] $$;

-- The options that are the rule's, not its job's.
CREATE FUNCTION llmeval._online_rule_only_options() RETURNS text[]
LANGUAGE sql IMMUTABLE
AS $$ SELECT ARRAY['sampling_rate', 'seed', 'filter', 'mode', 'on_update', 'backfill_from',
                   'alert_below', 'alert_window', 'alert_min_scores', 'max_cost_usd_per_day', 'review', 'idle_seconds'] $$;

CREATE FUNCTION llmeval._online_column_roles() RETURNS text[]
LANGUAGE sql IMMUTABLE
AS $$ SELECT ARRAY['key', 'output', 'input', 'question', 'expected', 'context', 'session', 'timestamp'] $$;

-- The type of the rule's key column (or another role's), as a cast names it.
CREATE FUNCTION llmeval._online_key_type(source oid, columns jsonb, role text DEFAULT 'key') RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  key_type text;
BEGIN
  SELECT format_type(a.atttypid, a.atttypmod) INTO key_type
  FROM pg_attribute a
  WHERE a.attrelid = source AND a.attname = columns ->> role AND a.attnum > 0 AND NOT a.attisdropped;
  IF key_type IS NULL THEN
    RAISE EXCEPTION 'the % column "%" of table % no longer exists', role, columns ->> role, source::regclass
      USING ERRCODE = 'undefined_column';
  END IF;
  RETURN key_type;
END $$;

-- The query that reads a rule's rows as its owner: for the keys in $1 (text
-- array), one jsonb array of {key, passes, output, input, expected,
-- context}. The filter was checked to be one expression
-- (llmeval._check_filter_expression); CASE makes it boolean.
CREATE FUNCTION llmeval._online_read_sql(source oid, columns jsonb, filter text, session boolean DEFAULT false)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  key_type text := llmeval._online_key_type(source, columns);
  fields text;
  passes text := CASE WHEN filter IS NULL THEN 'true' ELSE format('CASE WHEN (%s) THEN true ELSE false END', filter) END;
  input_column text := coalesce(columns ->> 'input', columns ->> 'question');
  input_expr text := CASE WHEN input_column IS NULL THEN 'NULL' ELSE 's.' || quote_ident(input_column) END;
BEGIN
  -- Session scope: one item per session ($1 holds session ids), its output
  -- the transcript of the turns that pass the filter, in (timestamp, key)
  -- order; last is its latest turn's timestamp, for its idle time.
  IF session THEN
    RETURN format(
      'SELECT coalesce(jsonb_agg(jsonb_build_object(''key'', x.k, ''passes'', x.n > 0, ''last'', x.last, '
      '''output'', x.transcript, ''input'', x.first_input)), ''[]'') FROM ('
      'SELECT s.%1$I::text AS k, max(s.%2$I::timestamptz) AS last, count(*) FILTER (WHERE p.ok) AS n, '
      'string_agg(''User: '' || coalesce(%3$s::text, '''') || E''\nAssistant: '' || coalesce(s.%4$I::text, ''''), '
      '           E''\n\n'' ORDER BY s.%2$I, s.%5$I) FILTER (WHERE p.ok) AS transcript, '
      '(array_agg(%3$s::text ORDER BY s.%2$I, s.%5$I) FILTER (WHERE p.ok))[1] AS first_input '
      'FROM %6$s AS s CROSS JOIN LATERAL (SELECT %7$s AS ok) p '
      'WHERE s.%1$I = ANY ($1::%8$s[]) GROUP BY 1) x',
      columns ->> 'session', columns ->> 'timestamp',
      input_expr, columns ->> 'output', columns ->> 'key', source::regclass,
      passes, llmeval._online_key_type(source, columns, 'session'));
  END IF;
  SELECT string_agg(format('%L, llmeval_source.%I::text', c.role, c.col), ', ' ORDER BY c.role)
  INTO fields
  FROM (SELECT CASE WHEN k = 'question' THEN 'input' ELSE k END AS role, v AS col
        FROM jsonb_each_text(columns) AS x(k, v)
        WHERE k IN ('key', 'output', 'input', 'question', 'expected', 'context')) c;
  RETURN format('SELECT coalesce(jsonb_agg(jsonb_build_object(%s, %L, %s)), ''[]'') '
                'FROM %s AS llmeval_source WHERE llmeval_source.%I = ANY ($1::%s[])',
                fields, 'passes',
                CASE WHEN filter IS NULL THEN 'true'
                     ELSE format('CASE WHEN (%s) THEN true ELSE false END', filter) END,
                source::regclass, columns ->> 'key', key_type);
END $$;

CREATE FUNCTION llmeval._check_filter_expression(filter text) RETURNS void
AS 'MODULE_PATHNAME', 'llmeval_check_filter_expression'
LANGUAGE C STABLE;

CREATE FUNCTION llmeval._query_as(run_as oid, jwt_sub text, sql text, keys text[], timeout_ms int)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'llmeval_query_as'
LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION llmeval._query_as(oid, text, text, text[], int) FROM PUBLIC;

CREATE FUNCTION llmeval._lexical_score(metric text, output text, reference text) RETURNS float8
AS 'MODULE_PATHNAME', 'llmeval_lexical_score'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

-- The timeout of tenant code (SQL metrics, rule filters).
CREATE FUNCTION llmeval._tenant_code_timeout_ms() RETURNS int
LANGUAGE sql STABLE
AS $$ SELECT coalesce((SELECT s.setting::int FROM pg_settings s
                       WHERE s.name = 'llmeval.sql_metric_timeout_ms'), 5000) $$;

-- The claims a rule's reads run with: the tenant as "sub" for a JWT role.
CREATE FUNCTION llmeval._online_jwt_sub(rule llmeval.online_rules) RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT CASE WHEN EXISTS (SELECT 1 FROM llmeval.jwt_roles jr WHERE jr.role_name = rule.run_as_name)
              THEN rule.tenant END
$$;

-- The column mapping, checked against the source and completed (the key
-- defaults to a single-column primary key): 22023 for a bad mapping, 42501
-- for a column the caller may not read.
CREATE FUNCTION llmeval._online_columns(caller regrole, source regclass, columns jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  bad text;
  key_attnum int2;
BEGIN
  IF columns IS NULL OR jsonb_typeof(columns) <> 'object' THEN
    RAISE EXCEPTION 'columns must be a JSON object mapping key, output, input, expected, context to the source''s columns'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  SELECT k INTO bad FROM jsonb_object_keys(columns) k WHERE k <> ALL (llmeval._online_column_roles()) LIMIT 1;
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION 'unknown column role "%"', bad
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Valid roles are ' || array_to_string(llmeval._online_column_roles(), ', ') || '.';
  END IF;
  SELECT k INTO bad FROM jsonb_each(columns) AS x(k, v) WHERE jsonb_typeof(v) <> 'string' LIMIT 1;
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION 'column role "%" must name a column of %', bad, source
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF columns ? 'input' AND columns ? 'question' THEN
    RAISE EXCEPTION 'columns may map input or question, not both' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF NOT columns ? 'output' THEN
    RAISE EXCEPTION 'columns must map output' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF NOT columns ? 'key' THEN
    SELECT a.attname INTO bad
    FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
    WHERE i.indrelid = source AND i.indisprimary AND i.indnatts = 1;
    IF bad IS NULL THEN
      RAISE EXCEPTION 'table % has no single-column primary key: map the row key in columns', source
        USING ERRCODE = 'invalid_parameter_value';
    END IF;
    columns := columns || jsonb_build_object('key', bad);
  END IF;
  SELECT v INTO bad FROM jsonb_each_text(columns) AS x(k, v)
  WHERE NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = source AND a.attname = v
                      AND a.attnum > 0 AND NOT a.attisdropped)
  LIMIT 1;
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION 'column "%" of table % does not exist', bad, source USING ERRCODE = 'undefined_column';
  END IF;
  SELECT v INTO bad FROM jsonb_each_text(columns) AS x(k, v)
  WHERE NOT has_column_privilege(caller, source, v, 'SELECT') LIMIT 1;
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION 'permission denied for column "%" of table %', bad, source
      USING ERRCODE = 'insufficient_privilege',
            DETAIL = 'A rule reads its rows with the rights of the role that creates it.';
  END IF;
  -- The key must name one row: a unique, non-partial index on it alone.
  SELECT a.attnum INTO key_attnum FROM pg_attribute a
  WHERE a.attrelid = source AND a.attname = columns ->> 'key';
  IF NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = source AND i.indisunique
                   AND i.indnatts = 1 AND i.indkey[0] = key_attnum AND i.indpred IS NULL
                   AND i.indexprs IS NULL) THEN
    RAISE EXCEPTION 'the key column "%" of table % is not unique', columns ->> 'key', source
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Map a primary key or a column with a unique index of its own.';
  END IF;
  RETURN columns;
END $$;

-- The rule's metrics, checked: known to the tenant, no pairwise (a rule
-- scores one output per row), and a mapped expected column for the metrics
-- that compare with one.
CREATE FUNCTION llmeval._online_check_metrics(tenant text, metrics text[], columns jsonb) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  bad text;
BEGIN
  IF metrics IS NULL OR cardinality(metrics) = 0 THEN
    RAISE EXCEPTION 'a rule needs at least one metric' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF array_position(metrics, NULL) IS NOT NULL THEN
    RAISE EXCEPTION 'metrics must not contain NULL elements' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF (SELECT count(DISTINCT x) FROM unnest(metrics) x) <> cardinality(metrics) THEN
    RAISE EXCEPTION 'metrics must not repeat' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  SELECT x INTO bad FROM unnest(metrics) x
  WHERE NOT EXISTS (SELECT 1 FROM llmeval.metrics m WHERE m.name = x AND (m.tenant IS NULL OR m.tenant = tenant))
  LIMIT 1;
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION 'metric "%" does not exist', bad
      USING ERRCODE = 'undefined_object', HINT = 'See llmeval.metrics for the metrics available.';
  END IF;
  SELECT m.name INTO bad FROM llmeval.metrics m
  WHERE m.name = ANY (metrics) AND m.kind = 'pairwise' AND (m.tenant IS NULL OR m.tenant = tenant) LIMIT 1;
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION 'metric "%" compares two models; an online rule scores one output per row', bad
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF NOT columns ? 'expected' THEN
    SELECT m.name INTO bad FROM llmeval.metrics m
    WHERE m.name = ANY (metrics) AND m.kind IN ('lexical', 'embedding')
      AND (m.tenant IS NULL OR m.tenant = tenant) LIMIT 1;
    IF bad IS NOT NULL THEN
      RAISE EXCEPTION 'metric "%" compares the output with an expected answer: map the expected column', bad
        USING ERRCODE = 'invalid_parameter_value';
    END IF;
  END IF;
END $$;

-- Whether text is a valid interval.
CREATE FUNCTION llmeval._is_interval(value text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM value::interval;
  RETURN true;
EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow OR interval_field_overflow THEN
  RETURN false;
END $$;

-- Whether text is a valid timestamptz (PostgreSQL 16 has pg_input_is_valid).
CREATE FUNCTION llmeval._is_timestamptz(value text) RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM value::timestamptz;
  RETURN value::timestamptz > '-infinity' AND value::timestamptz < 'infinity';
EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow OR invalid_parameter_value THEN
  RETURN false;
END $$;

-- The options, checked (22023 naming the option), with defaults; the job options among them are checked as
-- submit_job checks them.
CREATE FUNCTION llmeval._online_options(options jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  bad text;
  v jsonb;
BEGIN
  options := coalesce(options, '{}');
  IF jsonb_typeof(options) <> 'object' THEN
    RAISE EXCEPTION 'options must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  SELECT k INTO bad FROM jsonb_object_keys(options) k
  WHERE k <> ALL (llmeval._online_option_names()) ORDER BY k LIMIT 1;
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION 'unknown online rule option "%"', bad
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Valid options are ' || array_to_string(llmeval._online_option_names(), ', ') || '.';
  END IF;
  v := options -> 'sampling_rate';
  IF v IS NOT NULL AND NOT (jsonb_typeof(v) = 'number' AND v::text::numeric BETWEEN 0 AND 1) THEN
    RAISE EXCEPTION 'online rule option "sampling_rate" must be a number from 0 to 1'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  v := options -> 'seed';
  IF v IS NOT NULL AND NOT (jsonb_typeof(v) = 'number' AND v::text ~ '^-?[0-9]+$'
                            AND v::text::numeric BETWEEN -9223372036854775808 AND 9223372036854775807) THEN
    RAISE EXCEPTION 'online rule option "seed" must be an integer' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  v := options -> 'filter';
  IF v IS NOT NULL AND NOT (jsonb_typeof(v) = 'string' AND btrim(v #>> '{}') <> '') THEN
    RAISE EXCEPTION 'online rule option "filter" must be a non-empty SQL expression (a string)'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  v := options -> 'mode';
  IF v IS NOT NULL AND NOT (jsonb_typeof(v) = 'string' AND v #>> '{}' IN ('trigger', 'poll')) THEN
    RAISE EXCEPTION 'online rule option "mode" must be "trigger" or "poll"' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  v := options -> 'on_update';
  IF v IS NOT NULL AND (jsonb_typeof(v) <> 'boolean' OR (v = 'true' AND options ->> 'mode' = 'poll')) THEN
    RAISE EXCEPTION 'online rule option "on_update" must be true or false, and goes with mode "trigger"'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  v := options -> 'idle_seconds';
  IF v IS NOT NULL AND NOT (jsonb_typeof(v) = 'number' AND v::text ~ '^[0-9]+$' AND v::text::numeric BETWEEN 1 AND 86400) THEN
    RAISE EXCEPTION 'online rule option "idle_seconds" must be an integer from 1 to 86400'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF v IS NOT NULL AND (options ->> 'mode' = 'poll' OR options ? 'backfill_from') THEN
    RAISE EXCEPTION 'session scope (idle_seconds) goes with mode "trigger" and no backfill_from'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  v := options -> 'backfill_from';
  IF v IS NOT NULL AND NOT (jsonb_typeof(v) = 'string' AND llmeval._is_timestamptz(v #>> '{}')) THEN
    RAISE EXCEPTION 'online rule option "backfill_from" must be a timestamp' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  v := options -> 'alert_below';
  IF v IS NOT NULL AND NOT (jsonb_typeof(v) = 'object' AND NOT jsonb_path_exists(v, '$.* ? (@.type() != "number")')) THEN
    RAISE EXCEPTION 'online rule option "alert_below" must map metric names to numbers'
      USING ERRCODE = 'invalid_parameter_value', HINT = 'For example {"relevance": 0.6}.';
  END IF;
  v := options -> 'alert_window';
  IF v IS NOT NULL AND NOT (jsonb_typeof(v) = 'string' AND llmeval._is_interval(v #>> '{}')
                            AND (v #>> '{}')::interval BETWEEN interval '1 minute' AND interval '30 days') THEN
    RAISE EXCEPTION 'online rule option "alert_window" must be an interval from 1 minute to 30 days'
      USING ERRCODE = 'invalid_parameter_value', HINT = 'For example "15 minutes"; the default is "1 hour".';
  END IF;
  v := options -> 'alert_min_scores';
  IF v IS NOT NULL AND NOT (jsonb_typeof(v) = 'number' AND v::text ~ '^[0-9]+$'
                            AND v::text::numeric BETWEEN 1 AND 1000000) THEN
    RAISE EXCEPTION 'online rule option "alert_min_scores" must be an integer from 1 to 1000000'
      USING ERRCODE = 'invalid_parameter_value', HINT = 'The default is 10.';
  END IF;
  v := options -> 'max_cost_usd_per_day';
  IF v IS NOT NULL AND NOT (jsonb_typeof(v) = 'number' AND v::text::numeric > 0) THEN
    RAISE EXCEPTION 'online rule option "max_cost_usd_per_day" must be a positive number'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  PERFORM llmeval._check_params(options - llmeval._online_rule_only_options(), 'online rule option');
  RETURN jsonb_build_object('sampling_rate', 1, 'seed', 0, 'mode', 'trigger') || options;
END $$;

-- The model a rule's generation tasks name: the application that wrote
-- the output. It is never called (those tasks are completed when created).
CREATE FUNCTION llmeval._application_model() RETURNS int
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  found_id int;
BEGIN
  SELECT m.id INTO found_id FROM llmeval.models m WHERE m.name = 'application/output';
  IF found_id IS NULL THEN
    INSERT INTO llmeval.providers (name, kind, base_url, options)
    VALUES ('application', 'openai', 'http://application.invalid',
            '{"comment": "the application whose rows online rules score; never called"}')
    ON CONFLICT (name) DO NOTHING;
    INSERT INTO llmeval.models (provider_id, name, api_model)
    SELECT p.id, 'application/output', 'output' FROM llmeval.providers p WHERE p.name = 'application'
    ON CONFLICT (name) DO NOTHING;
    SELECT m.id INTO found_id FROM llmeval.models m WHERE m.name = 'application/output';
  END IF;
  RETURN found_id;
END $$;

CREATE FUNCTION llmeval._create_online_rule(tenant text, caller regrole, name text, source regclass,
                                            columns jsonb, metrics text[], options jsonb)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  rel pg_class;
  job_options jsonb;
  jwt_sub text;
  prompt_id bigint;
  prompt_version_id bigint;
  dataset_id bigint;
  version_id bigint;
  new_job bigint;
  new_rule bigint;
  caller_name name := (SELECT r.rolname FROM pg_roles r WHERE r.oid = caller);
  unknown text;
BEGIN
  IF name IS NULL OR source IS NULL THEN
    RAISE EXCEPTION 'a rule needs a name and a source table' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF name !~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$' THEN
    RAISE EXCEPTION 'invalid rule name "%"', name
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Up to 63 letters, digits, "_", ".", ":" and "-", starting with a letter or digit.';
  END IF;
  IF getdatabaseencoding() <> 'UTF8' THEN
    RAISE EXCEPTION 'the job engine needs a UTF8 database; this one is %', getdatabaseencoding()
      USING ERRCODE = 'feature_not_supported';
  END IF;
  options := llmeval._online_options(options);

  SELECT * INTO rel FROM pg_class c WHERE c.oid = source;
  IF rel.relkind NOT IN ('r', 'p') OR rel.relpersistence = 't' THEN
    RAISE EXCEPTION '% is not a permanent table', source
      USING ERRCODE = 'wrong_object_type', HINT = 'Rules read ordinary or partitioned tables.';
  END IF;
  IF rel.relnamespace IN ('llmeval'::regnamespace, 'pg_catalog'::regnamespace,
                          'information_schema'::regnamespace, 'pg_toast'::regnamespace) THEN
    RAISE EXCEPTION 'a rule cannot read %', source USING ERRCODE = 'insufficient_privilege';
  END IF;
  -- A tenant reads only what it may read, and adds a trigger only where it may.
  IF NOT has_table_privilege(caller, source, 'SELECT') AND NOT EXISTS (
       SELECT 1 FROM pg_attribute a WHERE a.attrelid = source AND a.attnum > 0 AND NOT a.attisdropped
         AND has_column_privilege(caller, source, a.attnum, 'SELECT')) THEN
    RAISE EXCEPTION 'permission denied for table %', source
      USING ERRCODE = 'insufficient_privilege',
            DETAIL = 'A rule reads its rows with the rights of the role that creates it.';
  END IF;
  columns := llmeval._online_columns(caller, source, columns);
  IF options ->> 'mode' = 'trigger' AND NOT has_table_privilege(caller, source, 'TRIGGER') THEN
    RAISE EXCEPTION 'permission denied to create a trigger on table %', source
      USING ERRCODE = 'insufficient_privilege',
            HINT = 'A rule in mode "trigger" needs the TRIGGER privilege on its table (or its ownership).';
  END IF;
  IF (options ->> 'mode' = 'poll' OR options ? 'backfill_from') AND NOT columns ? 'timestamp' THEN
    RAISE EXCEPTION 'mode "poll" and backfill_from read the table in the order of a timestamp: map the timestamp column'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF options ? 'idle_seconds' AND NOT (columns ? 'session' AND columns ? 'timestamp') THEN
    RAISE EXCEPTION 'session scope (idle_seconds) needs the session and timestamp columns'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF options ? 'idle_seconds' AND EXISTS (
       SELECT 1 FROM llmeval.metrics m WHERE m.name = ANY (metrics) AND m.kind IN ('lexical', 'embedding')
         AND (m.tenant IS NULL OR m.tenant = tenant)) THEN
    RAISE EXCEPTION 'a session is scored as a whole: metrics that compare with an expected answer do not apply'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  PERFORM llmeval._online_check_metrics(tenant, metrics, columns);
  IF EXISTS (SELECT 1 FROM llmeval.online_rules r WHERE r.tenant = tenant AND r.name = name) THEN
    RAISE EXCEPTION 'online rule "%" already exists', name USING ERRCODE = 'duplicate_object';
  END IF;

  -- The filter: one expression, then the rule's own query run once, as the
  -- caller and sandboxed, on no key, so that an unknown column, a wrong type
  -- or an aggregate is refused now rather than at every read.
  PERFORM llmeval._check_filter_expression(options ->> 'filter');
  jwt_sub := CASE WHEN EXISTS (SELECT 1 FROM llmeval.jwt_roles jr WHERE jr.role_name = caller_name)
                  THEN tenant END;
  BEGIN
    PERFORM llmeval._query_as(caller, jwt_sub, llmeval._online_read_sql(source, columns, options ->> 'filter',
                                                                          options ? 'idle_seconds'),
                              '{}', llmeval._tenant_code_timeout_ms());
    IF columns ? 'timestamp' THEN
      PERFORM llmeval._query_as(caller, jwt_sub, llmeval._online_scan_sql(source, columns),
                                ARRAY['-infinity', NULL, '-infinity', '0', '1'], llmeval._tenant_code_timeout_ms());
    END IF;
  EXCEPTION WHEN OTHERS THEN
    RAISE EXCEPTION 'the rule''s filter or columns cannot be read from %: %', source, SQLERRM
      USING ERRCODE = SQLSTATE;
  END;

  -- The job the rule's rows are scored in, with its prompt and dataset.
  SELECT k INTO unknown FROM jsonb_object_keys(coalesce(options -> 'alert_below', '{}')) k
  WHERE k <> ALL (metrics) LIMIT 1;
  IF unknown IS NOT NULL THEN
    RAISE EXCEPTION 'alert_below names "%", which is not one of the rule''s metrics', unknown
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  PERFORM llmeval._check_review_option(tenant, metrics, options -> 'review');
  job_options := llmeval._pin_job_models(tenant, metrics, options - llmeval._online_rule_only_options());
  IF EXISTS (SELECT 1 FROM llmeval.prompts p WHERE p.tenant = tenant AND p.name = 'online:' || name)
     OR EXISTS (SELECT 1 FROM llmeval.datasets d WHERE d.tenant = tenant AND d.name = 'online:' || name) THEN
    RAISE EXCEPTION 'a prompt or dataset named "online:%" already exists', name
      USING ERRCODE = 'duplicate_object',
            HINT = 'A rule keeps its rows in a dataset of that name; choose another rule name.';
  END IF;
  INSERT INTO llmeval.prompts AS p (tenant, name) VALUES (tenant, 'online:' || name) RETURNING p.id INTO prompt_id;
  INSERT INTO llmeval.prompt_versions AS v (prompt_id, tenant, version, template, fields)
  VALUES (prompt_id, tenant, 1, '{{input}}', '{input}') RETURNING v.id INTO prompt_version_id;
  INSERT INTO llmeval.datasets AS d (tenant, name) VALUES (tenant, 'online:' || name) RETURNING d.id INTO dataset_id;
  -- n_cases 0: the rule's rows are added to this version as they come
  INSERT INTO llmeval.dataset_versions AS v (dataset_id, tenant, version, source, n_cases)
  VALUES (dataset_id, tenant, 1, 'json', 0) RETURNING v.id INTO version_id;
  INSERT INTO llmeval.jobs AS j (tenant, prompt_version_id, dataset_version_id, models, metrics, options)
  SELECT tenant, prompt_version_id, version_id, ARRAY['application/output'], metrics, job_options
  WHERE llmeval._application_model() IS NOT NULL
  RETURNING j.id INTO new_job;

  INSERT INTO llmeval.online_rules AS r (tenant, name, source, columns, metrics, options, mode,
                                         sampling_rate, seed, filter, run_as, run_as_name, job_id,
                                         dataset_version_id, scan_ts, scan_until)
  VALUES (tenant, name, source, columns, metrics, options, options ->> 'mode',
          (options ->> 'sampling_rate')::float8, (options ->> 'seed')::bigint, options ->> 'filter',
          caller, caller_name, new_job, version_id,
          -- the scan starts just before backfill_from (or now, polling new rows only)
          coalesce((options ->> 'backfill_from')::timestamptz, CASE WHEN options ->> 'mode' = 'poll' THEN now() END)
            - interval '1 microsecond',
          -- a backfill under a trigger ends where the trigger starts: now
          CASE WHEN options ->> 'mode' = 'trigger' AND options ? 'backfill_from' THEN now() END)
  RETURNING r.id INTO new_rule;
  IF options ->> 'mode' = 'trigger' THEN
    EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %s REFERENCING NEW TABLE AS llmeval_new_rows '
                   'FOR EACH STATEMENT EXECUTE FUNCTION llmeval._online_enqueue(%L)',
                   'llmeval_online_' || new_rule, source, new_rule);
  END IF;
  -- on_update: a row whose output is written after its insert (an answer
  -- streamed in later) is sampled again then; read with no output before,
  -- it is read again (once: a row scored is never scored twice). Postgres
  -- allows no column list (UPDATE OF output) with a transition table: the
  -- trigger passes over updated rows whose output is still NULL, and keys
  -- already read with an output are dropped when the workers take the queue.
  IF (options ->> 'on_update')::boolean THEN
    EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %s REFERENCING NEW TABLE AS llmeval_new_rows '
                   'FOR EACH STATEMENT EXECUTE FUNCTION llmeval._online_enqueue(%L)',
                   'llmeval_online_' || new_rule || '_update', source, new_rule);
  END IF;
  -- the workers look for rules every ten seconds while there is none
  PERFORM llmeval._wake_workers_on_commit();
  INSERT INTO llmeval.events (tenant, job_id, kind, detail)
  VALUES (tenant, new_job, 'online_rule_created',
          jsonb_build_object('rule', name, 'rule_id', new_rule, 'source', source::text,
                             'metrics', metrics, 'options', options));
  RETURN new_rule;
END $$;

CREATE FUNCTION llmeval.create_online_rule(name text, source regclass, columns jsonb, metrics text[],
                                           options jsonb DEFAULT '{}')
RETURNS bigint
AS 'MODULE_PATHNAME', 'llmeval_tenant_call'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION llmeval.create_online_rule(text, regclass, jsonb, text[], jsonb) IS
  'scores a sample of the rows inserted into a table of yours (columns: key, output, input, expected, context); returns the rule id';

-- Pause, resume, drop -----------------------------------------------------------

CREATE FUNCTION llmeval._tenant_online_rule(tenant text, name text) RETURNS llmeval.online_rules
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  rule llmeval.online_rules;
BEGIN
  SELECT * INTO rule FROM llmeval.online_rules r WHERE r.tenant = tenant AND r.name = name FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'online rule "%" does not exist', name USING ERRCODE = 'undefined_object';
  END IF;
  RETURN rule;
END $$;

CREATE FUNCTION llmeval._pause_online_rule(tenant text, name text) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  rule llmeval.online_rules := llmeval._tenant_online_rule(tenant, name);
BEGIN
  UPDATE llmeval.online_rules r SET status = 'paused' WHERE r.id = rule.id;
  RETURN 'paused';
END $$;

CREATE FUNCTION llmeval._resume_online_rule(tenant text, name text) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  rule llmeval.online_rules := llmeval._tenant_online_rule(tenant, name);
BEGIN
  UPDATE llmeval.online_rules r SET status = 'active', retry_after = NULL, deferred_until = NULL WHERE r.id = rule.id;
  RETURN 'active';
END $$;

-- Drops the trigger, the rule and its items, and cancels the scoring still
-- queued; the scores already made stay in the rule's job (llmeval.scores).
CREATE FUNCTION llmeval._drop_online_rule(tenant text, caller regrole, name text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  rule llmeval.online_rules := llmeval._tenant_online_rule(tenant, name);
  trigger_name name;
BEGIN
  FOR trigger_name IN
    SELECT t.tgname FROM pg_trigger t
    WHERE t.tgrelid = rule.source AND t.tgname IN ('llmeval_online_' || rule.id, 'llmeval_online_' || rule.id || '_update')
  LOOP
    EXECUTE format('DROP TRIGGER %I ON %s', trigger_name, rule.source::regclass);
  END LOOP;
  DELETE FROM llmeval.online_items i WHERE i.rule_id = rule.id;
  DELETE FROM llmeval.online_pending p WHERE p.rule_id = rule.id;
  DELETE FROM llmeval.online_rules r WHERE r.id = rule.id;
  PERFORM llmeval._cancel_job(tenant, caller, rule.job_id);
  INSERT INTO llmeval.events (tenant, job_id, kind, detail)
  VALUES (tenant, rule.job_id, 'online_rule_dropped', jsonb_build_object('rule', rule.name, 'rule_id', rule.id));
  RETURN true;
END $$;

CREATE FUNCTION llmeval.pause_online_rule(name text) RETURNS text
AS 'MODULE_PATHNAME', 'llmeval_tenant_call' LANGUAGE C VOLATILE;
CREATE FUNCTION llmeval.resume_online_rule(name text) RETURNS text
AS 'MODULE_PATHNAME', 'llmeval_tenant_call' LANGUAGE C VOLATILE;
CREATE FUNCTION llmeval.drop_online_rule(name text) RETURNS boolean
AS 'MODULE_PATHNAME', 'llmeval_tenant_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION llmeval.pause_online_rule(text) IS
  'stops scoring a rule''s rows; rows inserted meanwhile are still sampled and wait for resume_online_rule';
COMMENT ON FUNCTION llmeval.resume_online_rule(text) IS 'scores a paused rule''s rows again, those sampled meanwhile first';
COMMENT ON FUNCTION llmeval.drop_online_rule(text) IS
  'removes a rule and its trigger and cancels its queued scoring; its scores stay in its job';

REVOKE ALL ON FUNCTION llmeval._create_online_rule(text, regrole, text, regclass, jsonb, text[], jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._pause_online_rule(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._resume_online_rule(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._drop_online_rule(text, regrole, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._tenant_online_rule(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._online_columns(regrole, regclass, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._application_model() FROM PUBLIC;

-- The workers' side: reading and queueing ------------------------------------------

-- Locks a rule's row for a worker's change, or says it is held elsewhere
-- (a tenant's open pause_online_rule, another worker): workers never wait
-- on a rule.
CREATE FUNCTION llmeval._online_lock_rule(rule_id bigint) RETURNS boolean
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT EXISTS (SELECT 1 FROM llmeval.online_rules r WHERE r.id = rule_id FOR NO KEY UPDATE SKIP LOCKED)
$$;
REVOKE ALL ON FUNCTION llmeval._online_lock_rule(bigint) FROM PUBLIC;

-- Reads up to max_rows pending rows of each active rule, as the rule's
-- owner, and queues those that pass the filter for scoring; returns the
-- jobs whose tasks changed (a worker folds their counters). A rule whose
-- rows cannot be read (its filter fails, its owner lost the right, a
-- timeout) keeps its rows pending, records the error, and is tried again
-- after 30 seconds; the other rules go on.
CREATE FUNCTION llmeval._online_ingest(max_rows int DEFAULT 500) RETURNS bigint[]
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  rule llmeval.online_rules;
  item_ids bigint[];
  item_keys text[];
  found_rows jsonb;
  application_model int;
  queued bigint[];
  touched bigint[] := '{}';
BEGIN
  -- The triggers' queue into the items, each (rule, key) once; keys of
  -- rules dropped since go.
  WITH taken AS (
    DELETE FROM llmeval.online_pending p
    WHERE p.ctid = ANY (ARRAY(SELECT q.ctid FROM llmeval.online_pending q
                              LIMIT 50000 FOR UPDATE SKIP LOCKED))
    RETURNING p.rule_id, p.row_key, p.enqueued_at
  )
  INSERT INTO llmeval.online_items (rule_id, tenant, row_key, enqueued_at)
  SELECT t.rule_id, r.tenant, t.row_key, min(t.enqueued_at)
  FROM taken t JOIN llmeval.online_rules r ON r.id = t.rule_id
  GROUP BY t.rule_id, r.tenant, t.row_key
  ORDER BY min(t.enqueued_at), t.row_key
  -- (a row read before its output was written is read again)
  ON CONFLICT (rule_id, row_key) DO UPDATE
    SET status = 'pending', detail = NULL, ingested_at = NULL, enqueued_at = EXCLUDED.enqueued_at
    WHERE online_items.status = 'no_output';

  -- Rules that read their table themselves (poll, backfill) add its new
  -- sampled keys to their items (83_online_scan.sql).
  PERFORM llmeval._online_scan_all();

  FOR rule IN
    SELECT r.* FROM llmeval.online_rules r
    WHERE r.status IN ('active', 'deferred') AND (r.retry_after IS NULL OR r.retry_after <= now())
      AND EXISTS (SELECT 1 FROM llmeval.online_items i WHERE i.rule_id = r.id AND i.status = 'pending'
                    AND (i.not_before IS NULL OR i.not_before <= now()))
    ORDER BY r.id
  LOOP
    -- The rule's row, held for the statements below that change it, or
    -- passed over this time: a tenant's open transaction (pause, resume)
    -- never holds a worker.
    CONTINUE WHEN NOT llmeval._online_lock_rule(rule.id);
    -- (a rule over its day's budget waits, its rows pending: see 83_online_budget.sql)
    CONTINUE WHEN NOT llmeval._online_budget_allows(rule);
    BEGIN
      SELECT array_agg(p.id ORDER BY p.id), array_agg(p.row_key ORDER BY p.id) INTO item_ids, item_keys
      FROM (SELECT i.id, i.row_key FROM llmeval.online_items i
            WHERE i.rule_id = rule.id AND i.status = 'pending'
              AND (i.not_before IS NULL OR i.not_before <= now())
            ORDER BY i.id LIMIT max_rows
            FOR UPDATE SKIP LOCKED) p;
      CONTINUE WHEN item_ids IS NULL;
      found_rows := llmeval._query_as(rule.run_as, llmeval._online_jwt_sub(rule),
                                      llmeval._online_read_sql(rule.source, rule.columns, rule.filter,
                                                               rule.options ? 'idle_seconds'),
                                      item_keys, llmeval._tenant_code_timeout_ms());
      application_model := llmeval._application_model();
      IF to_regclass('pg_temp.llmeval_online_batch') IS NULL THEN
        CREATE TEMP TABLE llmeval_online_batch (
          item_id bigint, row_key text, passes boolean, output text, input text, expected text,
          context text, last timestamptz, task_id bigint) ON COMMIT DROP;
      END IF;
      TRUNCATE llmeval_online_batch;
      INSERT INTO llmeval_online_batch (item_id, row_key, passes, output, input, expected, context, last)
      SELECT i.id, i.row_key, f.passes, f.output, f.input, f.expected, f.context, f.last
      FROM unnest(item_ids, item_keys) AS i(id, row_key)
      LEFT JOIN jsonb_to_recordset(found_rows)
             AS f(key text, passes boolean, output text, input text, expected text, context text, last timestamptz)
        ON f.key = i.row_key;
      -- A session whose last turn is more recent than idle_seconds waits
      -- until it has been idle that long (and is read again then).
      IF rule.options ? 'idle_seconds' THEN
        UPDATE llmeval.online_items i
        SET not_before = b.last + make_interval(secs => (rule.options ->> 'idle_seconds')::int)
        FROM llmeval_online_batch b
        WHERE i.id = b.item_id AND b.last + make_interval(secs => (rule.options ->> 'idle_seconds')::int) > now();
        DELETE FROM llmeval_online_batch b
        WHERE b.last + make_interval(secs => (rule.options ->> 'idle_seconds')::int) > now();
      END IF;

      UPDATE llmeval.online_items i
      SET status = CASE WHEN b.passes IS NULL THEN 'skipped' WHEN b.output IS NULL THEN 'no_output'
                        ELSE 'filtered' END,
          detail = CASE WHEN b.passes IS NULL
                          THEN 'the row no longer exists, or the rule''s owner cannot see it'
                        WHEN b.output IS NULL THEN 'the output column is NULL'
                        ELSE 'the rule''s filter is not true for the row' END,
          ingested_at = now()
      FROM llmeval_online_batch b
      WHERE i.id = b.item_id AND (b.passes IS NOT TRUE OR b.output IS NULL);

      -- The rows that pass: a test case (position: the item's id, unique
      -- without coordination between workers) and a generation completed
      -- with the application's output.
      WITH cases AS (
        INSERT INTO llmeval.test_cases AS tc (dataset_version_id, tenant, position, input, expected,
                                               context, metadata)
        SELECT rule.dataset_version_id, rule.tenant, b.item_id::int,
               jsonb_build_object('input', coalesce(b.input, '')), b.expected, b.context,
               jsonb_build_object('online_rule', rule.name, 'row_key', b.row_key)
        FROM llmeval_online_batch b WHERE b.passes AND b.output IS NOT NULL
        ORDER BY b.item_id
        RETURNING tc.id, tc.position
      ), tasks AS (
        INSERT INTO llmeval.tasks AS t (job_id, test_case_id, model_id, tenant, status, attempts)
        SELECT rule.job_id, c.id, application_model, rule.tenant, 'completed', 1
        FROM cases c ORDER BY c.position
        RETURNING t.id, t.test_case_id
      )
      UPDATE llmeval_online_batch b SET task_id = t.id
      FROM tasks t JOIN cases c ON c.id = t.test_case_id
      WHERE b.item_id = c.position;
      INSERT INTO llmeval.responses (task_id, tenant, output, cost, attempt)
      SELECT b.task_id, rule.tenant, b.output, 0, 1 FROM llmeval_online_batch b WHERE b.task_id IS NOT NULL;
      UPDATE llmeval.online_items i SET status = 'ingested', task_id = b.task_id, ingested_at = now()
      FROM llmeval_online_batch b WHERE i.id = b.item_id AND b.task_id IS NOT NULL;
      queued := ARRAY(SELECT b.task_id FROM llmeval_online_batch b WHERE b.task_id IS NOT NULL ORDER BY 1);

      -- Lexical metrics here (as the workers score a generation); judges and
      -- embeddings queued; assertions and SQL metrics scored.
      INSERT INTO llmeval.task_scores (task_id, tenant, metric, value, detail)
      SELECT b.task_id, rule.tenant, m.name, llmeval._lexical_score(m.name, b.output, b.expected),
             CASE WHEN b.expected IS NULL THEN '{"error": "no expected answer to compare with"}'::jsonb END
      FROM llmeval_online_batch b
      CROSS JOIN llmeval.metrics m
      WHERE b.task_id IS NOT NULL AND m.tenant IS NULL AND m.kind = 'lexical' AND m.name = ANY (rule.metrics)
      ON CONFLICT (task_id, metric) DO NOTHING;
      IF cardinality(queued) > 0 THEN
        PERFORM llmeval._queue_judgements(queued);
        PERFORM llmeval._score_deterministic(queued);
        touched := touched || rule.job_id;
      END IF;
      IF rule.last_error IS NOT NULL THEN
        UPDATE llmeval.online_rules r SET last_error = NULL, retry_after = NULL WHERE r.id = rule.id;
      END IF;
    EXCEPTION WHEN OTHERS THEN
      UPDATE llmeval.online_rules r SET last_error = SQLERRM, retry_after = now() + interval '30 seconds'
      WHERE r.id = rule.id;
      INSERT INTO llmeval.events (tenant, job_id, kind, detail)
      VALUES (rule.tenant, rule.job_id, 'online_rule_error',
              jsonb_build_object('rule', rule.name, 'rule_id', rule.id, 'error', SQLERRM, 'sqlstate', SQLSTATE));
    END;
  END LOOP;
  PERFORM llmeval._online_check_alerts();
  PERFORM llmeval._online_route_reviews();
  RETURN touched;
END $$;
REVOKE ALL ON FUNCTION llmeval._online_ingest(int) FROM PUBLIC;
