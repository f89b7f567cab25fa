-- Reports: what a tenant's evaluations came to, as data and as a page.
--
-- llmeval._report_data(job_ids) gathers the figures of a set of jobs into one
-- jsonb document: jobs, task counts, scores by model and metric (with a
-- 10-bin histogram per model over the metric's [min, max]), cost and tokens,
-- errors, latency percentiles and regressions against baselines.
-- generate_report stores that document for the tenant's jobs of the last day
-- or week in llmeval.reports, generate_reports_for_all_tenants one for each
-- tenant (pg_cron runs it, see schedule_jobs); report_html renders a job's
-- document, report_html_for a stored report.
--
-- All but generate_reports_for_all_tenants run with the caller's rights, so
-- row-level security decides what a tenant may report on. Superusers bypass
-- RLS and administrators read every tenant, so nothing relies on RLS alone: generate_report filters on
-- the caller's tenant (run by a superuser it covers that role's own jobs),
-- report_html and report_html_for check that the job or report is the
-- caller's or that the caller is an administrator, and whatever depends on
-- a tenant's definitions (its metrics, its baselines) is looked up for the
-- tenant of the job. generate_reports_for_all_tenants, which pg_cron runs,
-- is the one path that writes for other tenants: an administrator's call of
-- a SECURITY DEFINER function that stores one report per tenant, each built
-- from that tenant's jobs only.
--
-- The pages are self-contained: inline CSS and SVG, no script, no external
-- reference (a Content-Security-Policy forbids any), and every value that
-- comes from data goes through llmeval._html, since prompts, inputs,
-- outputs and provider errors are text anyone may have written.

-- Text as HTML text or attribute value.
CREATE FUNCTION llmeval._html(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT replace(replace(replace(replace(replace(value, '&', '&amp;'), '<', '&lt;'), '>', '&gt;'),
                         '"', '&quot;'), '''', '&#39;')
$$;
COMMENT ON FUNCTION llmeval._html(text) IS 'escapes text for HTML (& < > " '')';

-- Escaped text cut to max_chars characters (cut before escaping, so that no
-- entity is split). NULL gives the empty string.
CREATE FUNCTION llmeval._report_text(value text, max_chars int DEFAULT 400) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT coalesce(llmeval._html(CASE WHEN length(value) > max_chars
                                     THEN left(value, max_chars - 1) || '…' ELSE value END), '')
$$;

-- A number for people: up to three decimals for scores, fewer for large
-- values; a dash for none.
CREATE FUNCTION llmeval._report_num(value double precision) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT CASE
           WHEN value IS NULL THEN '–'
           WHEN value IN ('NaN', 'Infinity', '-Infinity') THEN value::text
           WHEN value = 0 THEN '0'
           WHEN abs(value) >= 10000 THEN to_char(round(value::numeric), 'FM999,999,999,999,990')
           WHEN abs(value) >= 100 THEN trim_scale(round(value::numeric, 1))::text
           WHEN abs(value) >= 1 THEN trim_scale(round(value::numeric, 2))::text
           ELSE trim_scale(round(value::numeric, 3))::text
         END
$$;

-- Milliseconds: whole ones from 10 ms.
CREATE FUNCTION llmeval._report_ms(value double precision) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT CASE WHEN abs(value) >= 10 THEN llmeval._report_num(round(value)) ELSE llmeval._report_num(value) END
$$;

-- Dollars: cents above a dollar, up to six decimals below.
CREATE FUNCTION llmeval._report_money(value numeric) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT CASE
           WHEN value IS NULL THEN '–'
           WHEN value = 0 THEN '$0'
           WHEN abs(value) >= 1 THEN '$' || to_char(round(value, 2), 'FM999,999,999,990.00')
           ELSE '$' || trim_scale(round(value, 6))::text
         END
$$;

-- A coordinate for SVG.
CREATE FUNCTION llmeval._svg_num(value double precision) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT trim_scale(round(coalesce(value, 0)::numeric, 1))::text $$;

-- A timestamp from a report document, in UTC.
CREATE FUNCTION llmeval._report_time(value text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT coalesce(to_char(value::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC', '–')
$$;

-- The colour of the i-th model (Tableau 10), the same in every chart.
CREATE FUNCTION llmeval._report_color(i bigint) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT (ARRAY['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2',
                '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'])[(coalesce(i, 1) - 1) % 10 + 1]
$$;

-- The smallest of 1, 2, 2.5, 5 times a power of ten that is >= value: an
-- axis end.
CREATE FUNCTION llmeval._report_axis_max(value double precision) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT CASE
           WHEN value IS NULL OR value <= 0 OR value IN ('NaN', 'Infinity') THEN 1
           ELSE (SELECT min(step * p) FROM unnest(ARRAY[1, 2, 2.5, 5, 10]::float8[]) step
                 WHERE step * p >= value * (1 - 1e-12))
         END
  FROM (SELECT power(10, floor(log(greatest(value, 1e-300)))) AS p) x
$$;

-- Whether a lower score of a metric is better for a tenant: the built-in
-- metric's or the tenant's own metrics.higher_is_better when that column
-- exists (it comes with the analytics functions), else only TER (it counts
-- edits). Two tenants may each define a metric of the same name, and an
-- administrator or a superuser sees both: the tenant is what picks one.
CREATE FUNCTION llmeval._lower_is_better(metric text, tenant text) RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  result boolean;
BEGIN
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_attribute
             WHERE attrelid = to_regclass('llmeval.metrics') AND attname = 'higher_is_better'
               AND attnum > 0 AND NOT attisdropped) THEN
    EXECUTE 'SELECT NOT m.higher_is_better FROM llmeval.metrics m
             WHERE m.name = $1 AND (m.tenant IS NULL OR m.tenant = $2)
             ORDER BY m.tenant NULLS FIRST LIMIT 1'
      INTO result USING metric, tenant;
  END IF;
  RETURN coalesce(result, metric = 'ter');
END $$;

-- A test case's input as "field: value" lines.
CREATE FUNCTION llmeval._report_input(input jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT CASE
           WHEN jsonb_typeof(input) = 'object' THEN
             (SELECT string_agg(key || ': ' || CASE WHEN jsonb_typeof(value) = 'string'
                                                    THEN value #>> '{}' ELSE value::text END,
                                E'\n' ORDER BY key)
              FROM jsonb_each(input))
           ELSE input::text
         END
$$;

-- Regressions of jobs against their baselines, per model and metric, on
-- the test cases both scored (paired by content, as compare_jobs pairs
-- them). A job's baselines are the job in jobs.baseline_job_id and the
-- tenant's named baselines (llmeval.baselines, from set_baseline), as far
-- as those exist: they come with the analytics functions, so they are
-- looked up at run time. A baseline counts only if it is a job of the same
-- tenant: a baselines row written directly may name any job id (its foreign
-- key does not look at tenants), and a report run with every tenant in
-- sight (a superuser, generate_reports_for_all_tenants) would otherwise
-- compare with another tenant's scores. With llmeval.compare_jobs, a
-- regression is a significant difference (paired t-test, Holm-corrected)
-- for the worse by the tenant's definition of the metric; without it, or if
-- it cannot test a pair, any worse mean.
CREATE FUNCTION llmeval._report_regressions(job_ids bigint[]) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  sources text[] := '{}';
  pair record;
  worse jsonb;
  method text;
  result jsonb := '[]';
BEGIN
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_attribute
             WHERE attrelid = to_regclass('llmeval.jobs') AND attname = 'baseline_job_id'
               AND attnum > 0 AND NOT attisdropped) THEN
    sources := sources || $q$
      SELECT j.id AS job_id, b.id AS baseline_job_id, NULL::text AS name, j.tenant
      FROM llmeval.jobs j JOIN llmeval.jobs b ON b.id = j.baseline_job_id AND b.tenant = j.tenant
      WHERE j.id = ANY ($1) AND b.id <> j.id$q$::text;
  END IF;
  IF to_regclass('llmeval.baselines') IS NOT NULL THEN
    -- (the tenant conditions matter to superusers, whom RLS lets see all)
    sources := sources || $q$
      SELECT j.id AS job_id, b.job_id AS baseline_job_id, b.name::text AS name, j.tenant
      FROM llmeval.jobs j JOIN llmeval.baselines b ON b.tenant = j.tenant AND b.job_id <> j.id
      JOIN llmeval.jobs bj ON bj.id = b.job_id AND bj.tenant = j.tenant
      WHERE j.id = ANY ($1)$q$::text;
  END IF;
  IF cardinality(sources) = 0 THEN
    RETURN result;
  END IF;

  FOR pair IN EXECUTE
    'SELECT job_id, baseline_job_id, tenant,
            array_agg(name ORDER BY name) FILTER (WHERE name IS NOT NULL) AS names
     FROM (' || array_to_string(sources, ' UNION ') || ') p
     GROUP BY job_id, baseline_job_id, tenant ORDER BY job_id, baseline_job_id'
    USING job_ids
  LOOP
    worse := NULL;
    method := NULL;
    IF to_regprocedure('llmeval.compare_jobs(bigint,bigint,text,double precision)') IS NOT NULL THEN
      BEGIN
        EXECUTE $q$
          SELECT coalesce(jsonb_agg(jsonb_build_object('model', c.model, 'metric', c.metric, 'n', c.n,
                                                       'mean', c.mean_b, 'baseline_mean', c.mean_a,
                                                       'delta', c.mean_diff, 'p_value', c.p_adjusted)
                                    ORDER BY c.model, c.metric), '[]')
          FROM llmeval.compare_jobs($1, $2, NULL, 0.05) c
          WHERE c.p_adjusted < 0.05
            AND CASE WHEN llmeval._lower_is_better(c.metric, $3) THEN c.mean_diff > 0
                     ELSE c.mean_diff < 0 END$q$
          INTO worse USING pair.baseline_job_id, pair.job_id, pair.tenant;
        method := 'paired t-test';
      EXCEPTION WHEN OTHERS THEN
        -- A report must not fail because one pair cannot be tested (too
        -- few cases, or another version of compare_jobs): compare means.
        worse := NULL;
      END;
    END IF;
    IF worse IS NULL THEN
      method := 'mean';
      WITH scored AS (
        SELECT t.job_id, m.name AS model, s.metric, s.value,
               llmeval._case_key(tc) AS case_key
        FROM llmeval.task_scores s
        JOIN llmeval.tasks t ON t.id = s.task_id AND t.kind = 'generate'
        JOIN llmeval.models m ON m.id = t.model_id
        JOIN llmeval.test_cases tc ON tc.id = t.test_case_id
        WHERE t.job_id IN (pair.job_id, pair.baseline_job_id)
          AND s.value IS NOT NULL AND s.value NOT IN ('NaN', 'Infinity', '-Infinity')
      ), paired AS (
        SELECT a.model, a.metric, count(*) AS n, avg(a.value) AS mean, avg(b.value) AS baseline_mean
        FROM scored a
        JOIN scored b ON b.job_id = pair.baseline_job_id AND b.model = a.model AND b.metric = a.metric
                     AND b.case_key = a.case_key
        WHERE a.job_id = pair.job_id
        GROUP BY a.model, a.metric
      )
      SELECT coalesce(jsonb_agg(jsonb_build_object('model', p.model, 'metric', p.metric, 'n', p.n,
                                                   'mean', p.mean, 'baseline_mean', p.baseline_mean,
                                                   'delta', p.mean - p.baseline_mean, 'p_value', NULL)
                                ORDER BY p.model, p.metric), '[]')
      INTO worse
      FROM paired p
      WHERE CASE WHEN llmeval._lower_is_better(p.metric, pair.tenant) THEN p.mean - p.baseline_mean
                 ELSE p.baseline_mean - p.mean END > 1e-9;
    END IF;
    result := result || (SELECT coalesce(jsonb_agg(jsonb_build_object('job_id', pair.job_id,
                                                                      'baseline_job_id', pair.baseline_job_id,
                                                                      'baselines', coalesce(to_jsonb(pair.names), '[]'),
                                                                      'method', method) || e ORDER BY o), '[]')
                         FROM jsonb_array_elements(worse) WITH ORDINALITY AS x(e, o));
  END LOOP;
  RETURN result;
END $$;

-- The jobs' calls by purpose (generation, judging, embedding), from
-- llmeval.job_costs: what each cost, and how much of its input the provider
-- billed as read from its prompt cache.
CREATE FUNCTION llmeval._report_cost_by_purpose(job_ids bigint[]) RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT coalesce(jsonb_object_agg(x.purpose, jsonb_build_object(
           'calls', x.calls, 'cost', x.cost, 'input_tokens', x.input_tokens,
           'cached_input_tokens', x.cached_input_tokens, 'cache_write_tokens', x.cache_write_tokens,
           'cached_input_share', round(x.cached_input_tokens::numeric / nullif(x.input_tokens, 0), 4),
           'output_tokens', x.output_tokens, 'reasoning_tokens', x.reasoning_tokens)), '{}')
  FROM (SELECT c.purpose, sum(c.calls) AS calls, sum(c.cost) AS cost, sum(c.input_tokens) AS input_tokens,
               sum(c.cached_input_tokens) AS cached_input_tokens,
               sum(c.cache_write_tokens) AS cache_write_tokens, sum(c.output_tokens) AS output_tokens,
               sum(c.reasoning_tokens) AS reasoning_tokens
        FROM llmeval.job_costs c WHERE c.job_id = ANY (job_ids) GROUP BY c.purpose) x
$$;

-- The figures of a set of jobs (those the caller can see). Keys:
--   models, metrics        in the jobs' order
--   jobs                   {count, by_status, list: [{id, prompt, dataset, models, status,
--                           total, completed, failed, cost, ...}]}
--   tasks                  counts by status
--   scores                 {model: {metric: {n, mean, min, max, stddev,
--                           histogram: {lo, hi, counts[10]}}}}; lo and hi are the
--                           metric's range over all models, so histograms compare
--   cost                   {total, by_model: {model: {cost, input_tokens, output_tokens,
--                           cached_input_tokens, cache_write_tokens, reasoning_tokens,
--                           tasks, completed, failed}} (generation),
--                           by_purpose: {generation|judging|embedding: {calls, cost,
--                           input_tokens, cached_input_tokens, cache_write_tokens,
--                           cached_input_share, output_tokens, reasoning_tokens}}}
--   tokens                 {input, output, cached_input, cache_write, reasoning} (generation)
--   errors                 {failed, by_model: {model: n}, top: [{error, count, models}] (5)}
--   latency                {model: {n, p50_ms, p95_ms, mean_ms, min_ms, max_ms}} of
--                           completed tasks
--   regressions            see _report_regressions
CREATE FUNCTION llmeval._report_data(job_ids bigint[]) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  model_names text[];
  metric_names text[];
  jobs jsonb;
  tasks jsonb;
  scores jsonb;
  cost_by_model jsonb;
  total_cost numeric;
  tokens jsonb;
  errors jsonb;
  latency jsonb;
BEGIN
  job_ids := coalesce(job_ids, '{}');

  SELECT coalesce(array_agg(f.model ORDER BY f.job_id, f.ord), '{}') INTO model_names
  FROM (SELECT DISTINCT ON (x.model) x.model, j.id AS job_id, x.ord
        FROM llmeval.jobs j, unnest(j.models) WITH ORDINALITY AS x(model, ord)
        WHERE j.id = ANY (job_ids)
        ORDER BY x.model, j.id, x.ord) f;
  SELECT coalesce(array_agg(f.metric ORDER BY f.job_id, f.ord), '{}') INTO metric_names
  FROM (SELECT DISTINCT ON (x.metric) x.metric, j.id AS job_id, x.ord
        FROM llmeval.jobs j, unnest(j.metrics) WITH ORDINALITY AS x(metric, ord)
        WHERE j.id = ANY (job_ids)
        ORDER BY x.metric, j.id, x.ord) f;

  SELECT jsonb_build_object(
           'count', count(*),
           'by_status', jsonb_build_object(
             'queued', count(*) FILTER (WHERE j.status = 'queued'),
             'running', count(*) FILTER (WHERE j.status = 'running'),
             'paused', count(*) FILTER (WHERE j.status = 'paused'),
             'completed', count(*) FILTER (WHERE j.status = 'completed'),
             'failed', count(*) FILTER (WHERE j.status = 'failed'),
             'cancelled', count(*) FILTER (WHERE j.status = 'cancelled')),
           'list', coalesce(jsonb_agg(jsonb_build_object(
             'id', j.id, 'prompt', p.name, 'prompt_version', pv.version,
             'dataset', d.name, 'dataset_version', dv.version,
             'models', to_jsonb(j.models), 'metrics', to_jsonb(j.metrics), 'status', j.status,
             'total', j.total, 'completed', j.completed, 'failed', j.failed,
             'cancelled', j.cancelled, 'cost', coalesce(c.cost, 0),
             'correlation_id', j.correlation_id, 'created_at', j.created_at,
             'finished_at', j.finished_at) ORDER BY j.id), '[]'))
  INTO jobs
  FROM llmeval.jobs j
  JOIN llmeval.prompt_versions pv ON pv.id = j.prompt_version_id
  JOIN llmeval.prompts p ON p.id = pv.prompt_id
  JOIN llmeval.dataset_versions dv ON dv.id = j.dataset_version_id
  JOIN llmeval.datasets d ON d.id = dv.dataset_id
  LEFT JOIN LATERAL (SELECT sum(r.cost) AS cost
                     FROM llmeval.tasks t JOIN llmeval.responses r ON r.task_id = t.id
                     WHERE t.job_id = j.id) c ON true
  WHERE j.id = ANY (job_ids);

  -- Tasks, cost and tokens by model.
  SELECT jsonb_build_object('total', coalesce(sum(x.n), 0), 'pending', coalesce(sum(x.pending), 0),
                            'running', coalesce(sum(x.running), 0),
                            'completed', coalesce(sum(x.completed), 0),
                            'failed', coalesce(sum(x.failed), 0),
                            'cancelled', coalesce(sum(x.cancelled), 0)),
         coalesce(jsonb_object_agg(x.model, jsonb_build_object(
                    'cost', x.cost, 'input_tokens', x.input_tokens, 'output_tokens', x.output_tokens,
                    'cached_input_tokens', x.cached_input_tokens, 'cache_write_tokens', x.cache_write_tokens,
                    'reasoning_tokens', x.reasoning_tokens, 'tasks', x.n, 'completed', x.completed, 'failed', x.failed))
                  FILTER (WHERE x.model IS NOT NULL), '{}'),
         coalesce(sum(x.cost), 0),
         jsonb_build_object('input', coalesce(sum(x.input_tokens), 0),
                            'output', coalesce(sum(x.output_tokens), 0),
                            'cached_input', coalesce(sum(x.cached_input_tokens), 0),
                            'cache_write', coalesce(sum(x.cache_write_tokens), 0),
                            'reasoning', coalesce(sum(x.reasoning_tokens), 0)),
         jsonb_build_object('failed', coalesce(sum(x.failed), 0),
                            'by_model', coalesce(jsonb_object_agg(x.model, x.failed)
                                                 FILTER (WHERE x.model IS NOT NULL), '{}'))
  INTO tasks, cost_by_model, total_cost, tokens, errors
  FROM (SELECT m.name AS model, count(*) AS n,
               count(*) FILTER (WHERE t.status = 'pending') AS pending,
               count(*) FILTER (WHERE t.status = 'running') AS running,
               count(*) FILTER (WHERE t.status = 'completed') AS completed,
               count(*) FILTER (WHERE t.status = 'failed') AS failed,
               count(*) FILTER (WHERE t.status = 'cancelled') AS cancelled,
               coalesce(sum(r.cost), 0) AS cost,
               coalesce(sum(r.input_tokens), 0) AS input_tokens,
               coalesce(sum(r.output_tokens), 0) AS output_tokens,
               coalesce(sum(r.cached_input_tokens), 0) AS cached_input_tokens,
               coalesce(sum(r.cache_write_tokens), 0) AS cache_write_tokens,
               coalesce(sum(r.reasoning_tokens), 0) AS reasoning_tokens
        FROM llmeval.tasks t
        JOIN llmeval.models m ON m.id = t.model_id
        LEFT JOIN llmeval.responses r ON r.task_id = t.id
        WHERE t.job_id = ANY (job_ids) AND t.kind = 'generate'
        GROUP BY m.name) x;

  -- The most frequent errors of failed tasks.
  errors := errors || jsonb_build_object('top', (
    SELECT coalesce(jsonb_agg(jsonb_build_object('error', e.error, 'count', e.n, 'models', to_jsonb(e.models))
                              ORDER BY e.n DESC, e.error), '[]')
    FROM (SELECT left(coalesce(r.error, t.last_error, 'unknown error'), 500) AS error, count(*) AS n,
                 array_agg(DISTINCT m.name ORDER BY m.name) AS models
          FROM llmeval.tasks t
          JOIN llmeval.models m ON m.id = t.model_id
          LEFT JOIN llmeval.responses r ON r.task_id = t.id
          WHERE t.job_id = ANY (job_ids) AND t.status = 'failed'
          GROUP BY 1
          ORDER BY n DESC, error
          LIMIT 5) e));

  SELECT coalesce(jsonb_object_agg(x.model, jsonb_build_object(
           'n', x.n, 'p50_ms', x.p50, 'p95_ms', x.p95, 'mean_ms', x.mean, 'min_ms', x.lo, 'max_ms', x.hi)), '{}')
  INTO latency
  FROM (SELECT m.name AS model, count(*) AS n,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY r.latency_ms) AS p50,
               percentile_cont(0.95) WITHIN GROUP (ORDER BY r.latency_ms) AS p95,
               avg(r.latency_ms) AS mean, min(r.latency_ms) AS lo, max(r.latency_ms) AS hi
        FROM llmeval.tasks t
        JOIN llmeval.models m ON m.id = t.model_id
        JOIN llmeval.responses r ON r.task_id = t.id
        WHERE t.job_id = ANY (job_ids) AND t.kind = 'generate' AND t.status = 'completed' AND r.latency_ms IS NOT NULL
        GROUP BY m.name) x;

  -- Scores: statistics and a histogram per model and metric; a value equal
  -- to the metric's maximum goes into the last bin.
  WITH v AS (
    SELECT m.name AS model, s.metric, s.value
    FROM llmeval.task_scores s
    JOIN llmeval.tasks t ON t.id = s.task_id AND t.kind = 'generate'
    JOIN llmeval.models m ON m.id = t.model_id
    WHERE t.job_id = ANY (job_ids)
      AND s.value IS NOT NULL AND s.value NOT IN ('NaN', 'Infinity', '-Infinity')
  ), metric_range AS (
    SELECT v.metric, min(v.value) AS lo, max(v.value) AS hi FROM v GROUP BY v.metric
  ), binned AS (
    SELECT v.model, v.metric,
           CASE WHEN r.hi > r.lo THEN least(floor((v.value - r.lo) / (r.hi - r.lo) * 10)::int, 9)
                ELSE 0 END AS bin
    FROM v JOIN metric_range r ON r.metric = v.metric
  ), bin_counts AS (
    SELECT b.model, b.metric, b.bin, count(*) AS n FROM binned b GROUP BY b.model, b.metric, b.bin
  ), stats AS (
    SELECT v.model, v.metric, count(*) AS n, avg(v.value) AS mean, min(v.value) AS lo,
           max(v.value) AS hi, stddev_samp(v.value) AS sd
    FROM v GROUP BY v.model, v.metric
  ), per_metric AS (
    SELECT s.model, s.metric,
           jsonb_build_object('n', s.n, 'mean', s.mean, 'min', s.lo, 'max', s.hi, 'stddev', s.sd,
                              'histogram', jsonb_build_object(
                                'lo', r.lo, 'hi', r.hi,
                                'counts', (SELECT jsonb_agg(coalesce(c.n, 0) ORDER BY i)
                                           FROM generate_series(0, 9) i
                                           LEFT JOIN bin_counts c
                                             ON c.model = s.model AND c.metric = s.metric AND c.bin = i))) AS doc
    FROM stats s JOIN metric_range r ON r.metric = s.metric
  )
  SELECT coalesce(jsonb_object_agg(x.model, x.metrics), '{}') INTO scores
  FROM (SELECT p.model, jsonb_object_agg(p.metric, p.doc) AS metrics FROM per_metric p GROUP BY p.model) x;

  -- Metrics scored but not asked for (judge or user-defined ones added later).
  metric_names := metric_names || ARRAY(SELECT DISTINCT k FROM jsonb_each(scores) s, jsonb_object_keys(s.value) k
                                        WHERE k <> ALL (metric_names) ORDER BY k);

  RETURN jsonb_build_object('version', 1, 'models', to_jsonb(model_names), 'metrics', to_jsonb(metric_names),
                            'jobs', jobs, 'tasks', tasks, 'scores', scores,
                            'cost', jsonb_build_object('total', total_cost, 'by_model', cost_by_model,
                                                       'by_purpose', llmeval._report_cost_by_purpose(job_ids)),
                            'tokens', tokens, 'errors', errors, 'latency', latency,
                            'regressions', llmeval._report_regressions(job_ids));
END $$;

-- The length of a report period; an error for anything but daily and weekly.
CREATE FUNCTION llmeval._report_interval(period text) RETURNS interval
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF period IS NULL OR period NOT IN ('daily', 'weekly') THEN
    RAISE EXCEPTION 'invalid report period "%"', period
      USING ERRCODE = 'invalid_parameter_value', HINT = 'Valid periods are daily and weekly.';
  END IF;
  RETURN CASE period WHEN 'daily' THEN interval '1 day' ELSE interval '7 days' END;
END $$;

-- The report document of one tenant's jobs created in (period_start,
-- period_end]. The explicit tenant filter matters to superusers (pg_cron)
-- and administrators, whom row-level security lets see every tenant.
CREATE FUNCTION llmeval._period_report(tenant text, period text, period_start timestamptz,
                                       period_end timestamptz) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
BEGIN
  RETURN jsonb_build_object('kind', period, 'tenant', tenant, 'period_start', period_start,
                            'period_end', period_end, 'generated_at', clock_timestamp())
         || llmeval._report_data(ARRAY(SELECT j.id FROM llmeval.jobs j
                                       WHERE j.tenant = tenant AND j.created_at > period_start
                                         AND j.created_at <= period_end
                                       ORDER BY j.id));
END $$;

CREATE FUNCTION llmeval.generate_report(period text) RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  tenant text := llmeval.current_tenant();
  period_end timestamptz := now();
  period_start timestamptz := period_end - llmeval._report_interval(period);
  report_id bigint;
BEGIN
  IF tenant IS NULL THEN
    RAISE EXCEPTION 'no tenant for the current user'
      USING ERRCODE = 'insufficient_privilege',
            DETAIL = 'A JWT role needs a "sub" claim in request.jwt.claims.';
  END IF;
  INSERT INTO llmeval.reports AS r (tenant, period, period_start, period_end, body)
  VALUES (tenant, period, period_start, period_end,
          llmeval._period_report(tenant, period, period_start, period_end))
  RETURNING r.id INTO report_id;
  RETURN report_id;
END $$;
COMMENT ON FUNCTION llmeval.generate_report(text) IS
  'stores in llmeval.reports a summary of the current tenant''s jobs of the last day (daily) or week (weekly); returns the report id';

-- Every tenant's report of a period, for pg_cron: one row in llmeval.reports
-- per tenant that created jobs in the period, with that tenant in its tenant
-- column and only its jobs in the body, so that each tenant reads its own
-- through row-level security. A SECURITY DEFINER function (pinned
-- search_path; only administrators may execute it), as writing rows of other
-- tenants is; it runs as the extension's owner, who sees every row, which is
-- why everything it reads is chosen by tenant (_period_report,
-- _report_regressions, _lower_is_better).
CREATE FUNCTION llmeval._generate_reports_for_all_tenants(period text)
RETURNS TABLE (tenant text, report_id bigint)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  p_end timestamptz := now();
  p_start timestamptz := p_end - llmeval._report_interval(period);
  t text;
BEGIN
  FOR t IN SELECT DISTINCT j.tenant FROM llmeval.jobs j
           WHERE j.created_at > p_start AND j.created_at <= p_end ORDER BY 1
  LOOP
    INSERT INTO llmeval.reports AS r (tenant, period, period_start, period_end, body)
    VALUES (t, period, p_start, p_end, llmeval._period_report(t, period, p_start, p_end))
    RETURNING r.tenant, r.id INTO tenant, report_id;
    RETURN NEXT;
  END LOOP;
END $$;
REVOKE ALL ON FUNCTION llmeval._generate_reports_for_all_tenants(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION llmeval._generate_reports_for_all_tenants(text) TO llmeval_admin;

CREATE FUNCTION llmeval.generate_reports_for_all_tenants(period text)
RETURNS TABLE (tenant text, report_id bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  -- A tenant gets a message rather than "permission denied for function".
  PERFORM llmeval._require_admin('generate every tenant''s reports');
  RETURN QUERY SELECT * FROM llmeval._generate_reports_for_all_tenants(period);
END $$;
COMMENT ON FUNCTION llmeval.generate_reports_for_all_tenants(text) IS
  'for pg_cron (administrators): stores the daily or weekly report of every tenant that created jobs in the period, each with that tenant''s jobs only; returns the tenants and report ids';

-- What a job's page shows beyond _report_data: the job itself, its failed
-- tasks and each model's lowest-scoring answers on the job's first metric
-- (up to three, of those below the best score any answer got).
CREATE FUNCTION llmeval._report_job(job llmeval.jobs) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  info jsonb;
  primary_metric text;
  lower_better boolean;
  failures jsonb;
  worst jsonb;
BEGIN
  SELECT jsonb_build_object(
           'id', job.id, 'prompt', p.name, 'prompt_version', pv.version, 'template', pv.template,
           'system', pv.system, 'dataset', d.name, 'dataset_version', dv.version, 'n_cases', dv.n_cases,
           'models', to_jsonb(job.models), 'metrics', to_jsonb(job.metrics), 'options', job.options,
           'status', job.status, 'total', job.total, 'pending', job.pending, 'running', job.running,
           'completed', job.completed, 'failed', job.failed, 'cancelled', job.cancelled,
           'correlation_id', job.correlation_id, 'created_by', job.created_by,
           'created_at', job.created_at, 'started_at', job.started_at, 'finished_at', job.finished_at)
  INTO info
  FROM llmeval.prompt_versions pv
  JOIN llmeval.prompts p ON p.id = pv.prompt_id,
       llmeval.dataset_versions dv
  JOIN llmeval.datasets d ON d.id = dv.dataset_id
  WHERE pv.id = job.prompt_version_id AND dv.id = job.dataset_version_id;

  SELECT coalesce(jsonb_agg(jsonb_build_object('model', f.model, 'position', f.position, 'input', f.input,
                                               'error', f.error, 'attempts', f.attempts)
                            ORDER BY f.position, f.model_ord), '[]')
  INTO failures
  FROM (SELECT m.name AS model, array_position(job.models, m.name) AS model_ord, tc.position,
               llmeval._report_input(tc.input) AS input,
               left(coalesce(r.error, t.last_error, 'unknown error'), 1000) AS error, t.attempts
        FROM llmeval.tasks t
        JOIN llmeval.models m ON m.id = t.model_id
        JOIN llmeval.test_cases tc ON tc.id = t.test_case_id
        LEFT JOIN llmeval.responses r ON r.task_id = t.id
        WHERE t.job_id = job.id AND t.status = 'failed'
        ORDER BY tc.position, array_position(job.models, m.name)
        LIMIT 20) f;

  SELECT x INTO primary_metric
  FROM unnest(job.metrics) WITH ORDINALITY AS u(x, ord)
  WHERE EXISTS (SELECT 1 FROM llmeval.task_scores s JOIN llmeval.tasks t ON t.id = s.task_id
                WHERE t.job_id = job.id AND s.metric = u.x)
  ORDER BY u.ord LIMIT 1;
  lower_better := llmeval._lower_is_better(primary_metric, job.tenant);

  -- Answers that scored below the best any answer of the job got.
  SELECT coalesce(jsonb_agg(jsonb_build_object('model', w.model, 'position', w.position, 'input', w.input,
                                               'expected', w.expected, 'output', w.output, 'value', w.value)
                            ORDER BY w.model_ord, w.rank), '[]')
  INTO worst
  FROM (SELECT m.name AS model, array_position(job.models, m.name) AS model_ord, tc.position,
               llmeval._report_input(tc.input) AS input, tc.expected, r.output, s.value,
               row_number() OVER (PARTITION BY m.name
                                  ORDER BY CASE WHEN lower_better THEN -s.value ELSE s.value END,
                                           tc.position) AS rank
        FROM llmeval.task_scores s
        JOIN llmeval.tasks t ON t.id = s.task_id AND t.kind = 'generate'
        JOIN llmeval.models m ON m.id = t.model_id
        JOIN llmeval.test_cases tc ON tc.id = t.test_case_id
        LEFT JOIN llmeval.responses r ON r.task_id = t.id
        CROSS JOIN (SELECT CASE WHEN lower_better THEN min(s2.value)
                                ELSE max(s2.value) END AS value
                    FROM llmeval.task_scores s2 JOIN llmeval.tasks t2 ON t2.id = s2.task_id AND t2.kind = 'generate'
                    WHERE t2.job_id = job.id AND s2.metric = primary_metric
                      AND s2.value IS NOT NULL AND s2.value NOT IN ('NaN', 'Infinity', '-Infinity')) best
        WHERE t.job_id = job.id AND s.metric = primary_metric
          AND s.value IS NOT NULL AND s.value NOT IN ('NaN', 'Infinity', '-Infinity')
          AND s.value IS DISTINCT FROM best.value) w
  WHERE w.rank <= 3;

  RETURN info || jsonb_build_object('failures', failures, 'primary_metric', primary_metric, 'worst', worst);
END $$;

-- Horizontal bars from 0 to axis_max, one per label; a NULL value shows
-- "no scores".
CREATE FUNCTION llmeval._svg_bars(labels text[], vals double precision[], notes text[], colors text[],
                                  axis_max double precision, aria text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  label_w constant int := 170;
  bar_w constant int := 220;
  row_h constant int := 26;
  n int := coalesce(cardinality(labels), 0);
  plot_h int := n * row_h;
  w int := 500;
  h int := 8 + plot_h + 22;
  out text;
BEGIN
  out := format('<svg class="chart bars" width="%s" height="%s" viewBox="0 0 %s %s" role="img" aria-label="%s">',
                w, h, w, h, llmeval._html(aria));
  -- grid and axis labels at 0, 25, 50, 75 and 100% of the axis
  SELECT out || string_agg(format('<line class="grid" x1="%s" y1="4" x2="%s" y2="%s"/>'
                                  '<text class="tick" x="%s" y="%s" text-anchor="middle">%s</text>',
                                  llmeval._svg_num(label_w + f * bar_w), llmeval._svg_num(label_w + f * bar_w),
                                  8 + plot_h + 2, llmeval._svg_num(label_w + f * bar_w), h - 6,
                                  llmeval._report_num(f * axis_max)), '' ORDER BY f)
  INTO out FROM unnest(ARRAY[0, 0.25, 0.5, 0.75, 1]::float8[]) f;
  SELECT out || coalesce(string_agg(
           format('<text class="label" x="%s" y="%s" text-anchor="end">%s<title>%s</title></text>',
                  label_w - 8, 8 + (i - 1) * row_h + 17,
                  llmeval._report_text(labels[i], 26), llmeval._html(labels[i]))
           || CASE WHEN vals[i] IS NULL THEN
                format('<text class="empty" x="%s" y="%s">no scores</text>', label_w + 6, 8 + (i - 1) * row_h + 17)
              ELSE
                format('<rect x="%s" y="%s" width="%s" height="18" rx="3" fill="%s"><title>%s: %s</title></rect>'
                       '<text class="value" x="%s" y="%s">%s</text>',
                       label_w, 8 + (i - 1) * row_h + 4,
                       llmeval._svg_num(greatest(least(vals[i] / axis_max, 1), 0) * bar_w),
                       llmeval._html(colors[i]), llmeval._html(labels[i]), llmeval._report_text(notes[i]),
                       llmeval._svg_num(label_w + greatest(least(vals[i] / axis_max, 1), 0) * bar_w + 6),
                       8 + (i - 1) * row_h + 17, llmeval._report_text(notes[i]))
              END, '' ORDER BY i), '')
  INTO out FROM generate_series(1, n) i;
  RETURN out || format('<line class="axis" x1="%s" y1="4" x2="%s" y2="%s"/></svg>', label_w, label_w, 8 + plot_h + 2);
END $$;

-- A 10-bin histogram over [lo, hi]; bar heights relative to y_max so that
-- the models' histograms of a metric compare.
CREATE FUNCTION llmeval._svg_histogram(counts int[], y_max int, lo double precision, hi double precision,
                                       color text, aria text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  x0 constant int := 30;
  bin_w constant int := 19;
  y0 constant int := 104;      -- the baseline
  plot_h constant int := 90;
  out text;
BEGIN
  y_max := greatest(coalesce(y_max, 1), 1);
  out := format('<svg class="chart hist" width="230" height="128" viewBox="0 0 230 128" role="img" aria-label="%s">'
                '<line class="grid" x1="%s" y1="%s" x2="%s" y2="%s"/>'
                '<text class="tick" x="%s" y="%s" text-anchor="end">%s</text>'
                '<text class="tick" x="%s" y="%s" text-anchor="end">0</text>',
                llmeval._html(aria), x0, y0 - plot_h, x0 + 10 * bin_w, y0 - plot_h,
                x0 - 4, y0 - plot_h + 4, y_max, x0 - 4, y0 + 4);
  IF hi > lo THEN
    SELECT out || coalesce(string_agg(
             format('<rect x="%s" y="%s" width="%s" height="%s" fill="%s"><title>%s to %s: %s</title></rect>',
                    x0 + i * bin_w + 1, llmeval._svg_num(y0 - counts[i + 1]::float8 / y_max * plot_h), bin_w - 2,
                    llmeval._svg_num(counts[i + 1]::float8 / y_max * plot_h), llmeval._html(color),
                    llmeval._report_num(lo + (hi - lo) * i / 10), llmeval._report_num(lo + (hi - lo) * (i + 1) / 10),
                    counts[i + 1]), '' ORDER BY i), '')
    INTO out FROM generate_series(0, 9) i WHERE coalesce(counts[i + 1], 0) > 0;
    out := out || format('<text class="tick" x="%s" y="122" text-anchor="start">%s</text>'
                         '<text class="tick" x="%s" y="122" text-anchor="end">%s</text>',
                         x0, llmeval._report_num(lo), x0 + 10 * bin_w, llmeval._report_num(hi));
  ELSE
    -- every value the same: one bar in the middle
    out := out || format('<rect x="%s" y="%s" width="%s" height="%s" fill="%s"><title>%s: %s</title></rect>'
                         '<text class="tick" x="%s" y="122" text-anchor="middle">all %s</text>',
                         x0 + 4 * bin_w + 1, llmeval._svg_num(y0 - coalesce(counts[1], 0)::float8 / y_max * plot_h),
                         2 * bin_w - 2, llmeval._svg_num(coalesce(counts[1], 0)::float8 / y_max * plot_h),
                         llmeval._html(color), llmeval._report_num(lo), coalesce(counts[1], 0),
                         x0 + 5 * bin_w, llmeval._report_num(lo));
  END IF;
  RETURN coalesce(out, '') || format('<line class="axis" x1="%s" y1="%s" x2="%s" y2="%s"/></svg>',
                                     x0, y0, x0 + 10 * bin_w, y0);
END $$;

-- Latency per model: p95 as a light bar, p50 as a dark one inside it.
CREATE FUNCTION llmeval._svg_latency(labels text[], p50 double precision[], p95 double precision[],
                                     colors text[])
RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  label_w constant int := 200;
  bar_w constant int := 420;
  row_h constant int := 30;
  n int := coalesce(cardinality(labels), 0);
  top constant int := 26;
  h int := top + n * row_h + 24;
  axis_max double precision;
  out text;
BEGIN
  SELECT llmeval._report_axis_max(max(x)) INTO axis_max FROM unnest(p95) x;
  out := format('<svg class="chart latency" width="760" height="%s" viewBox="0 0 760 %s" role="img" aria-label="latency p50 and p95 by model">'
                '<rect x="%s" y="6" width="14" height="10" fill="#9aa5b1" opacity="0.45"/><text class="tick" x="%s" y="15">p95</text>'
                '<rect x="%s" y="6" width="14" height="10" fill="#52606d"/><text class="tick" x="%s" y="15">p50 (median)</text>',
                h, h, label_w, label_w + 18, label_w + 60, label_w + 78);
  SELECT out || string_agg(format('<line class="grid" x1="%s" y1="%s" x2="%s" y2="%s"/>'
                                  '<text class="tick" x="%s" y="%s" text-anchor="middle">%s ms</text>',
                                  llmeval._svg_num(label_w + f * bar_w), top - 4, llmeval._svg_num(label_w + f * bar_w),
                                  top + n * row_h + 2, llmeval._svg_num(label_w + f * bar_w), h - 6,
                                  llmeval._report_ms(f * axis_max)), '' ORDER BY f)
  INTO out FROM unnest(ARRAY[0, 0.25, 0.5, 0.75, 1]::float8[]) f;
  SELECT out || coalesce(string_agg(
           format('<text class="label" x="%s" y="%s" text-anchor="end">%s<title>%s</title></text>'
                  '<rect x="%s" y="%s" width="%s" height="22" rx="3" fill="%s" opacity="0.35"><title>%s p95: %s ms</title></rect>'
                  '<rect x="%s" y="%s" width="%s" height="12" rx="2" fill="%s"><title>%s p50: %s ms</title></rect>'
                  '<text class="value" x="%s" y="%s">p50 %s ms · p95 %s ms</text>',
                  label_w - 8, top + (i - 1) * row_h + 16, llmeval._report_text(labels[i], 28), llmeval._html(labels[i]),
                  label_w, top + (i - 1) * row_h + 1, llmeval._svg_num(p95[i] / axis_max * bar_w),
                  llmeval._html(colors[i]), llmeval._html(labels[i]), llmeval._report_ms(p95[i]),
                  label_w, top + (i - 1) * row_h + 6, llmeval._svg_num(p50[i] / axis_max * bar_w),
                  llmeval._html(colors[i]), llmeval._html(labels[i]), llmeval._report_ms(p50[i]),
                  llmeval._svg_num(label_w + p95[i] / axis_max * bar_w + 6), top + (i - 1) * row_h + 16,
                  llmeval._report_ms(p50[i]), llmeval._report_ms(p95[i])), '' ORDER BY i), '')
  INTO out FROM generate_series(1, n) i;
  RETURN out || format('<line class="axis" x1="%s" y1="%s" x2="%s" y2="%s"/></svg>',
                       label_w, top - 4, label_w, top + n * row_h + 2);
END $$;

CREATE FUNCTION llmeval._report_css() RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $css$ SELECT $$
*{box-sizing:border-box}
body{margin:0;background:#f5f7fa;color:#1f2933;font:14px/1.45 -apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Liberation Sans","DejaVu Sans",sans-serif}
main{max-width:1160px;margin:0 auto;padding:20px 20px 8px}
header.top{background:#1f2933;color:#f5f7fa;border-radius:10px;padding:18px 22px;margin-bottom:18px}
header.top h1{margin:0 0 2px;font-size:21px;font-weight:650}
header.top .sub{color:#9aa5b1;font-size:12px}
header.top pre{background:#323f4b;color:#e4e7eb}
.badge{display:inline-block;padding:2px 10px;border-radius:999px;font-size:11px;font-weight:700;text-transform:uppercase;letter-spacing:.05em;vertical-align:middle;margin-left:8px;color:#fff;background:#7b8794}
.st-completed{background:#2f9e44}.st-failed{background:#e03131}.st-running{background:#1971c2}.st-queued{background:#7b8794}.st-cancelled{background:#e8590c}
dl.facts{display:grid;grid-template-columns:repeat(4,minmax(0,1fr));gap:10px 22px;margin:14px 0 0}
dl.facts dt{font-size:11px;text-transform:uppercase;letter-spacing:.06em;color:#9aa5b1}
dl.facts dd{margin:0;font-weight:600;overflow-wrap:anywhere}
.chip{display:inline-block;padding:1px 8px;border-radius:6px;margin:0 4px 4px 0;font-size:12px;font-weight:600;color:#fff}
.progress{display:flex;height:10px;border-radius:5px;overflow:hidden;background:#3e4c59;margin-top:14px}
.progress span{display:block;height:100%}
.legend{font-size:12px;color:#cbd2d9;margin-top:6px}
.legend span.item{margin-right:14px}
section{background:#fff;border:1px solid #e4e7eb;border-radius:10px;padding:14px 20px 16px;margin-bottom:18px}
h2{font-size:16px;margin:0 0 10px}
h3{font-size:14px;margin:0 0 6px}
.hint{color:#7b8794;font-weight:400;font-size:12px}
.grid2{display:grid;grid-template-columns:repeat(auto-fill,minmax(500px,1fr));gap:14px}
.card{border:1px solid #e4e7eb;border-radius:8px;padding:10px 12px}
.dist{margin-bottom:12px}
.hists{display:flex;flex-wrap:wrap;gap:8px 18px}
figure{margin:0}
figcaption{font-size:12px;color:#52606d;width:230px;padding-left:8px}
figcaption .name{display:block;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;color:#1f2933}
.dot{display:inline-block;width:9px;height:9px;border-radius:50%;margin-right:5px}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #e4e7eb;vertical-align:top}
th{font-size:11px;text-transform:uppercase;letter-spacing:.05em;color:#7b8794;font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.text{white-space:pre-wrap;overflow-wrap:anywhere;max-width:340px}
td.err{color:#c92a2a}
tr.total td{font-weight:700;border-top:2px solid #cbd2d9}
pre{background:#f0f4f8;padding:8px 10px;border-radius:6px;white-space:pre-wrap;overflow-wrap:anywhere;margin:10px 0 0;font-size:12px}
svg{display:block;max-width:100%;height:auto}
svg text{font-size:12px;fill:#3e4c59}
svg text.tick{font-size:10px;fill:#7b8794}
svg text.empty{fill:#9aa5b1;font-style:italic}
svg .grid{stroke:#e4e7eb}
svg .axis{stroke:#9aa5b1}
p.empty{color:#7b8794;font-style:italic;margin:4px 0}
footer{color:#9aa5b1;font-size:12px;text-align:center;margin:6px 0 24px}
$$ $css$;

-- The calls by purpose (doc.cost.by_purpose): generation, judging,
-- embedding, with the input billed as cached and the reasoning output.
CREATE FUNCTION llmeval._report_purpose_table(doc jsonb) RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT CASE WHEN coalesce(doc #> '{cost,by_purpose}', '{}') = '{}' THEN '' ELSE
    '<h3>By purpose</h3><table><thead><tr><th>Purpose</th><th class="num">Calls</th>'
    '<th class="num">Input tokens</th><th class="num">Billed as cached</th><th class="num">Cache writes</th>'
    '<th class="num">Output tokens</th><th class="num">Reasoning</th><th class="num">Cost</th></tr></thead><tbody>'
    || (SELECT string_agg(format('<tr><td>%s</td><td class="num">%s</td><td class="num">%s</td><td class="num">%s%s</td>'
                                 '<td class="num">%s</td><td class="num">%s</td><td class="num">%s</td><td class="num">%s</td></tr>',
                                 llmeval._html(p.k), llmeval._html(p.v ->> 'calls'),
                                 llmeval._report_num((p.v ->> 'input_tokens')::float8),
                                 llmeval._report_num((p.v ->> 'cached_input_tokens')::float8),
                                 CASE WHEN p.v ->> 'cached_input_share' IS NOT NULL
                                      THEN format(' (%s%%)', round((p.v ->> 'cached_input_share')::numeric * 100, 1)) ELSE '' END,
                                 llmeval._report_num((p.v ->> 'cache_write_tokens')::float8),
                                 llmeval._report_num((p.v ->> 'output_tokens')::float8),
                                 llmeval._report_num((p.v ->> 'reasoning_tokens')::float8),
                                 llmeval._report_money((p.v ->> 'cost')::numeric)), '' ORDER BY p.k)
        FROM jsonb_each(doc #> '{cost,by_purpose}') AS p(k, v))
    || '</tbody></table>' END
$$;


-- The page for a report document: a job's (report_html) or a stored
-- report's body (report_html_for). Sections without data say so, and the
-- charts are: one bar chart per metric with scores, one histogram per
-- model and metric with scores, and one latency chart when a model has
-- latencies. doc ->> 'tenant' says whose metric definitions apply.
CREATE FUNCTION llmeval._report_render(doc jsonb) RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  kind text := coalesce(doc ->> 'kind', 'job');
  job jsonb := doc -> 'job';
  model_names text[] := ARRAY(SELECT jsonb_array_elements_text(coalesce(doc -> 'models', '[]')));
  metric_names text[] := ARRAY(SELECT jsonb_array_elements_text(coalesce(doc -> 'metrics', '[]')));
  title text;
  header text;
  body text := '';
  part text;
  metric text;
  labels text[];
  vals float8[];
  notes text[];
  colors text[];
  p50s float8[];
  p95s float8[];
  top float8;
  y_max int;
BEGIN
  -- Header: the job, or the period and its totals.
  IF job IS NOT NULL THEN
    title := format('Job %s · %s', job ->> 'id', job ->> 'prompt');
    header := format('<h1>Job #%s<span class="badge st-%s">%s</span></h1>'
                     '<div class="sub">correlation id %s · created %s by %s</div>',
                     llmeval._html(job ->> 'id'), llmeval._html(job ->> 'status'), llmeval._html(job ->> 'status'),
                     llmeval._html(job ->> 'correlation_id'), llmeval._report_time(job ->> 'created_at'),
                     llmeval._html(job ->> 'created_by'))
      || '<dl class="facts">'
      || format('<div><dt>Prompt</dt><dd>%s <span class="hint">v%s</span></dd></div>',
                llmeval._report_text(job ->> 'prompt', 200), llmeval._html(job ->> 'prompt_version'))
      || format('<div><dt>Dataset</dt><dd>%s <span class="hint">v%s · %s cases</span></dd></div>',
                llmeval._report_text(job ->> 'dataset', 200), llmeval._html(job ->> 'dataset_version'),
                llmeval._html(job ->> 'n_cases'))
      || format('<div><dt>Tasks</dt><dd>%s of %s completed%s</dd></div>',
                llmeval._html(job ->> 'completed'), llmeval._html(job ->> 'total'),
                (SELECT coalesce(string_agg(' · ' || (job ->> k)::int || ' ' || k, '' ORDER BY o), '')
                 FROM (VALUES (1, 'failed'), (2, 'cancelled'), (3, 'running'), (4, 'pending')) AS v(o, k)
                 WHERE (job ->> k)::int > 0))
      || format('<div><dt>Cost</dt><dd>%s <span class="hint">%s in / %s out tokens</span></dd></div>',
                llmeval._report_money((doc #>> '{cost,total}')::numeric),
                llmeval._report_num((doc #>> '{tokens,input}')::float8),
                llmeval._report_num((doc #>> '{tokens,output}')::float8))
      || format('<div style="grid-column:span 2"><dt>Models</dt><dd>%s</dd></div>',
                (SELECT string_agg(format('<span class="chip" style="background:%s">%s</span>',
                                          llmeval._report_color(i), llmeval._report_text(m, 80)), '' ORDER BY i)
                 FROM unnest(model_names) WITH ORDINALITY AS x(m, i)))
      || format('<div><dt>Metrics</dt><dd>%s</dd></div>',
                coalesce(llmeval._report_text(array_to_string(metric_names, ', '), 300), ''))
      || format('<div><dt>Duration</dt><dd>%s</dd></div>',
                coalesce((SELECT CASE WHEN secs < 60 THEN round(secs, 1) || ' s'
                                      WHEN secs < 3600 THEN floor(secs / 60) || ' min ' || round(secs % 60) || ' s'
                                      ELSE floor(secs / 3600) || ' h ' || floor(secs % 3600 / 60) || ' min' END
                          FROM (SELECT extract(epoch FROM (job ->> 'finished_at')::timestamptz
                                                          - (job ->> 'started_at')::timestamptz) AS secs) d),
                         'not finished'))
      || '</dl>'
      || format('<pre>%s</pre>', llmeval._report_text(
                  coalesce('system: ' || (job ->> 'system') || E'\n', '') || (job ->> 'template'), 2000))
      || CASE WHEN (job ->> 'total')::int > 0 THEN
           '<div class="progress">'
           || (SELECT string_agg(format('<span style="width:%s%%;background:%s" title="%s: %s"></span>',
                                        round(100.0 * (job ->> s)::int / (job ->> 'total')::int, 2), c, s, (job ->> s)::int), ''
                                 ORDER BY o)
               FROM (VALUES (1, 'completed', '#2f9e44'), (2, 'failed', '#e03131'), (3, 'cancelled', '#e8590c'),
                            (4, 'running', '#1971c2')) AS v(o, s, c)
               WHERE (job ->> s)::int > 0)
           || '</div><div class="legend">'
           || (SELECT string_agg(format('<span class="item"><span class="dot" style="background:%s"></span>%s %s</span>',
                                        c, (job ->> s)::int, s), '' ORDER BY o)
               FROM (VALUES (1, 'completed', '#2f9e44'), (2, 'failed', '#e03131'), (3, 'cancelled', '#e8590c'),
                            (4, 'running', '#1971c2'), (5, 'pending', '#52606d')) AS v(o, s, c)
               WHERE (job ->> s)::int > 0)
           || '</div>'
         ELSE '' END;
  ELSE
    title := format('%s report · %s', initcap(kind), doc ->> 'tenant');
    header := format('<h1>%s report<span class="badge">%s</span></h1><div class="sub">tenant %s · %s to %s · generated %s</div>',
                     llmeval._html(initcap(kind)), llmeval._html(kind), llmeval._report_text(doc ->> 'tenant', 200),
                     llmeval._report_time(doc ->> 'period_start'), llmeval._report_time(doc ->> 'period_end'),
                     llmeval._report_time(doc ->> 'generated_at'))
      || '<dl class="facts">'
      || format('<div><dt>Jobs</dt><dd>%s</dd></div>', llmeval._html(coalesce(doc #>> '{jobs,count}', '0')))
      || format('<div><dt>By status</dt><dd>%s</dd></div>',
                coalesce((SELECT string_agg(llmeval._html(key || ' ' || value), ' · ' ORDER BY key)
                          FROM jsonb_each_text(coalesce(doc #> '{jobs,by_status}', '{}')) WHERE value <> '0'), '–'))
      || format('<div><dt>Tasks</dt><dd>%s completed · %s failed of %s</dd></div>',
                llmeval._html(coalesce(doc #>> '{tasks,completed}', '0')),
                llmeval._html(coalesce(doc #>> '{tasks,failed}', '0')),
                llmeval._html(coalesce(doc #>> '{tasks,total}', '0')))
      || format('<div><dt>Cost</dt><dd>%s <span class="hint">%s in / %s out tokens</span></dd></div>',
                llmeval._report_money((doc #>> '{cost,total}')::numeric),
                llmeval._report_num((doc #>> '{tokens,input}')::float8),
                llmeval._report_num((doc #>> '{tokens,output}')::float8))
      || format('<div style="grid-column:span 4"><dt>Models</dt><dd>%s</dd></div>',
                coalesce((SELECT string_agg(format('<span class="chip" style="background:%s">%s</span>',
                                                   llmeval._report_color(i), llmeval._report_text(m, 80)), '' ORDER BY i)
                          FROM unnest(model_names) WITH ORDINALITY AS x(m, i)), '–'))
      || '</dl>';

    -- The period's jobs.
    body := body || '<section id="jobs"><h2>Jobs</h2>'
      || coalesce('<table><thead><tr><th class="num">Job</th><th>Prompt</th><th>Dataset</th><th>Models</th><th>Status</th>'
                  '<th class="num">Completed</th><th class="num">Failed</th><th class="num">Cost</th><th>Created</th></tr></thead><tbody>'
                  || (SELECT string_agg(format('<tr><td class="num">%s</td><td>%s <span class="hint">v%s</span></td>'
                                               '<td>%s <span class="hint">v%s</span></td><td>%s</td>'
                                               '<td><span class="badge st-%s">%s</span></td><td class="num">%s / %s</td>'
                                               '<td class="num">%s</td><td class="num">%s</td><td>%s</td></tr>',
                                               llmeval._html(j ->> 'id'), llmeval._report_text(j ->> 'prompt', 80),
                                               llmeval._html(j ->> 'prompt_version'), llmeval._report_text(j ->> 'dataset', 80),
                                               llmeval._html(j ->> 'dataset_version'),
                                               (SELECT string_agg(llmeval._report_text(x, 80), ', ')
                                                FROM jsonb_array_elements_text(j -> 'models') x),
                                               llmeval._html(j ->> 'status'), llmeval._html(j ->> 'status'),
                                               llmeval._html(j ->> 'completed'), llmeval._html(j ->> 'total'),
                                               llmeval._html(j ->> 'failed'), llmeval._report_money((j ->> 'cost')::numeric),
                                               llmeval._report_time(j ->> 'created_at')), '' ORDER BY o)
                      FROM jsonb_array_elements(doc #> '{jobs,list}') WITH ORDINALITY AS l(j, o))
                  || '</tbody></table>', '<p class="empty">No jobs in this period.</p>')
      || '</section>';
  END IF;

  -- Model comparison: a bar chart per metric.
  part := '';
  FOREACH metric IN ARRAY metric_names LOOP
    SELECT array_agg(x.m ORDER BY x.i),
           array_agg((doc #>> ARRAY['scores', x.m, metric, 'mean'])::float8 ORDER BY x.i),
           array_agg(llmeval._report_num((doc #>> ARRAY['scores', x.m, metric, 'mean'])::float8)
                     || ' · n=' || (doc #>> ARRAY['scores', x.m, metric, 'n']) ORDER BY x.i),
           array_agg(llmeval._report_color(x.i) ORDER BY x.i),
           max((doc #>> ARRAY['scores', x.m, metric, 'max'])::float8)
    INTO labels, vals, notes, colors, top
    FROM unnest(model_names) WITH ORDINALITY AS x(m, i);
    part := part || format('<div class="card"><h3>%s <span class="hint">mean per model%s</span></h3>%s</div>',
                           llmeval._html(metric),
                           CASE WHEN llmeval._lower_is_better(metric, doc ->> 'tenant') THEN ' · lower is better' ELSE '' END,
                           CASE WHEN top IS NULL THEN '<p class="empty">No scores.</p>'
                                ELSE llmeval._svg_bars(labels, vals, notes, colors,
                                       CASE WHEN metric IN ('bleu', 'chrf', 'ter') THEN greatest(100, llmeval._report_axis_max(top))
                                            WHEN top <= 1 AND coalesce((SELECT min((doc #>> ARRAY['scores', m, metric, 'min'])::float8)
                                                                        FROM unnest(model_names) m), 0) >= 0 THEN 1
                                            ELSE llmeval._report_axis_max(top) END,
                                       metric || ' by model') END);
  END LOOP;
  body := body || '<section id="comparison"><h2>Model comparison</h2>'
          || CASE WHEN part = '' THEN '<p class="empty">No metrics.</p>' ELSE '<div class="grid2">' || part || '</div>' END
          || '</section>';

  -- Score distributions: a histogram per model for each metric.
  part := '';
  FOREACH metric IN ARRAY metric_names LOOP
    SELECT max(c::int) INTO y_max
    FROM unnest(model_names) m, jsonb_array_elements_text(doc #> ARRAY['scores', m, metric, 'histogram', 'counts']) c;
    CONTINUE WHEN y_max IS NULL;
    part := part || format('<div class="dist"><h3>%s <span class="hint">10 bins from %s to %s</span></h3><div class="hists">',
                           llmeval._html(metric),
                           llmeval._report_num((SELECT min((doc #>> ARRAY['scores', m, metric, 'histogram', 'lo'])::float8) FROM unnest(model_names) m)),
                           llmeval._report_num((SELECT max((doc #>> ARRAY['scores', m, metric, 'histogram', 'hi'])::float8) FROM unnest(model_names) m)))
      || (SELECT string_agg(format('<figure><figcaption><span class="name"><span class="dot" style="background:%s"></span>%s</span>n=%s · mean %s</figcaption>%s</figure>',
                                   llmeval._report_color(x.i), llmeval._report_text(x.m, 40), llmeval._html(s ->> 'n'),
                                   llmeval._report_num((s ->> 'mean')::float8),
                                   llmeval._svg_histogram(ARRAY(SELECT jsonb_array_elements_text(s #> '{histogram,counts}')::int),
                                                          y_max, (s #>> '{histogram,lo}')::float8, (s #>> '{histogram,hi}')::float8,
                                                          llmeval._report_color(x.i), metric || ' distribution of ' || x.m)),
                            '' ORDER BY x.i)
          FROM unnest(model_names) WITH ORDINALITY AS x(m, i), LATERAL (SELECT doc #> ARRAY['scores', x.m, metric] AS s) y
          WHERE (s ->> 'n')::int > 0)
      || '</div></div>';
  END LOOP;
  body := body || '<section id="distributions"><h2>Score distributions</h2>'
          || CASE WHEN part = '' THEN '<p class="empty">No scores yet.</p>' ELSE part END || '</section>';

  -- Latency of completed tasks.
  SELECT array_agg(x.m ORDER BY x.i), array_agg((doc #>> ARRAY['latency', x.m, 'p50_ms'])::float8 ORDER BY x.i),
         array_agg((doc #>> ARRAY['latency', x.m, 'p95_ms'])::float8 ORDER BY x.i),
         array_agg(llmeval._report_color(x.i) ORDER BY x.i)
  INTO labels, p50s, p95s, colors
  FROM unnest(model_names) WITH ORDINALITY AS x(m, i)
  WHERE (doc #>> ARRAY['latency', x.m, 'n'])::int > 0;
  body := body || '<section id="latency"><h2>Latency <span class="hint">completed tasks, per model</span></h2>'
          || CASE WHEN labels IS NULL THEN '<p class="empty">No completed tasks.</p>'
                  ELSE llmeval._svg_latency(labels, p50s, p95s, colors) END
          || '</section>';

  -- Cost and tokens.
  body := body || '<section id="cost"><h2>Cost and tokens</h2><table><thead><tr><th>Model</th><th class="num">Tasks</th>'
          '<th class="num">Completed</th><th class="num">Failed</th><th class="num">Input tokens</th>'
          '<th class="num">Output tokens</th><th class="num">Cost</th><th class="num">Cost per completed task</th></tr></thead><tbody>'
    || coalesce((SELECT string_agg(format('<tr><td><span class="dot" style="background:%s"></span>%s</td><td class="num">%s</td>'
                                          '<td class="num">%s</td><td class="num">%s</td><td class="num">%s</td><td class="num">%s</td>'
                                          '<td class="num">%s</td><td class="num">%s</td></tr>',
                                          llmeval._report_color(x.i), llmeval._report_text(x.m, 80),
                                          llmeval._html(coalesce(c ->> 'tasks', '0')),
                                          llmeval._html(coalesce(c ->> 'completed', '0')),
                                          llmeval._html(coalesce(c ->> 'failed', '0')),
                                          llmeval._report_num(coalesce((c ->> 'input_tokens')::float8, 0)),
                                          llmeval._report_num(coalesce((c ->> 'output_tokens')::float8, 0)),
                                          llmeval._report_money(coalesce((c ->> 'cost')::numeric, 0)),
                                          llmeval._report_money((c ->> 'cost')::numeric / nullif((c ->> 'completed')::numeric, 0))),
                                   '' ORDER BY x.i)
                 FROM unnest(model_names) WITH ORDINALITY AS x(m, i),
                      LATERAL (SELECT doc #> ARRAY['cost', 'by_model', x.m] AS c) y), '')
    || format('<tr class="total"><td>Total</td><td class="num">%s</td><td class="num">%s</td><td class="num">%s</td>'
              '<td class="num">%s</td><td class="num">%s</td><td class="num">%s</td><td></td></tr>',
              llmeval._html(coalesce(doc #>> '{tasks,total}', '0')),
              llmeval._html(coalesce(doc #>> '{tasks,completed}', '0')),
              llmeval._html(coalesce(doc #>> '{tasks,failed}', '0')), llmeval._report_num(coalesce((doc #>> '{tokens,input}')::float8, 0)),
              llmeval._report_num(coalesce((doc #>> '{tokens,output}')::float8, 0)),
              llmeval._report_money(coalesce((doc #>> '{cost,total}')::numeric, 0)))
    || '</tbody></table>' || llmeval._report_purpose_table(doc) || '</section>';

  -- Failures: the most frequent errors, and for a job its failed tasks.
  body := body || format('<section id="failures"><h2>Failures <span class="hint">%s failed tasks</span></h2>',
                         llmeval._html(coalesce(doc #>> '{errors,failed}', '0')))
    || CASE WHEN coalesce(jsonb_array_length(doc #> '{errors,top}'), 0) = 0 THEN '<p class="empty">No failed tasks.</p>'
       ELSE '<h3>Most frequent errors</h3><table><thead><tr><th class="num">Tasks</th><th>Error</th><th>Models</th></tr></thead><tbody>'
            || (SELECT string_agg(format('<tr><td class="num">%s</td><td class="text err">%s</td><td>%s</td></tr>',
                                         llmeval._html(e ->> 'count'), llmeval._report_text(e ->> 'error', 500),
                                         (SELECT string_agg(llmeval._report_text(x, 80), ', ')
                                          FROM jsonb_array_elements_text(e -> 'models') x)), '' ORDER BY o)
                FROM jsonb_array_elements(doc #> '{errors,top}') WITH ORDINALITY AS t(e, o))
            || '</tbody></table>'
       END
    || CASE WHEN coalesce(jsonb_array_length(job -> 'failures'), 0) = 0 THEN ''
       ELSE format('<h3 style="margin-top:12px">Failed tasks <span class="hint">%s</span></h3>',
                   CASE WHEN (job ->> 'failed')::int > jsonb_array_length(job -> 'failures')
                        THEN format('the first %s of %s', jsonb_array_length(job -> 'failures'), (job ->> 'failed')::int)
                        ELSE 'all' END)
            || '<table><thead><tr><th>Model</th><th class="num">Case</th><th>Input</th><th>Error</th><th class="num">Attempts</th></tr></thead><tbody>'
            || (SELECT string_agg(format('<tr><td>%s</td><td class="num">%s</td><td class="text">%s</td><td class="text err">%s</td><td class="num">%s</td></tr>',
                                         llmeval._report_text(f ->> 'model', 80), llmeval._html(f ->> 'position'),
                                         llmeval._report_text(f ->> 'input', 300), llmeval._report_text(f ->> 'error', 400),
                                         llmeval._html(f ->> 'attempts')), '' ORDER BY o)
                FROM jsonb_array_elements(job -> 'failures') WITH ORDINALITY AS t(f, o))
            || '</tbody></table>'
       END
    || '</section>';

  -- A job's lowest-scoring answers.
  IF coalesce(jsonb_array_length(job -> 'worst'), 0) > 0 THEN
    body := body || format('<section id="answers"><h2>Lowest-scoring answers <span class="hint">by %s, up to three per model, of those below the best score</span></h2>',
                           llmeval._html(job ->> 'primary_metric'))
      || '<table><thead><tr><th>Model</th><th class="num">Case</th><th class="num">Score</th><th>Input</th><th>Expected</th><th>Output</th></tr></thead><tbody>'
      || (SELECT string_agg(format('<tr><td><span class="dot" style="background:%s"></span>%s</td><td class="num">%s</td><td class="num">%s</td>'
                                   '<td class="text">%s</td><td class="text">%s</td><td class="text">%s</td></tr>',
                                   llmeval._report_color(coalesce(array_position(model_names, w ->> 'model'), 1)),
                                   llmeval._report_text(w ->> 'model', 80), llmeval._html(w ->> 'position'),
                                   llmeval._report_num((w ->> 'value')::float8), llmeval._report_text(w ->> 'input', 300),
                                   llmeval._report_text(w ->> 'expected', 200), llmeval._report_text(w ->> 'output', 400)),
                            '' ORDER BY o)
          FROM jsonb_array_elements(job -> 'worst') WITH ORDINALITY AS t(w, o))
      || '</tbody></table></section>';
  END IF;

  -- Regressions against baselines (always listed in periodic reports).
  IF job IS NULL OR coalesce(jsonb_array_length(doc -> 'regressions'), 0) > 0 THEN
    body := body || '<section id="regressions"><h2>Regressions <span class="hint">worse than a baseline job on the test cases both scored</span></h2>'
      || CASE WHEN coalesce(jsonb_array_length(doc -> 'regressions'), 0) = 0
              THEN '<p class="empty">No regressions against baselines.</p>'
         ELSE '<table><thead><tr><th class="num">Job</th><th>Baseline</th><th>Model</th><th>Metric</th>'
              '<th class="num">Cases</th><th class="num">Baseline mean</th><th class="num">Mean</th>'
              '<th class="num">Change</th><th class="num">p</th></tr></thead><tbody>'
              || (SELECT string_agg(format('<tr><td class="num">%s</td><td>job %s%s</td><td>%s</td><td>%s</td><td class="num">%s</td>'
                                           '<td class="num">%s</td><td class="num">%s</td><td class="num err">%s</td>'
                                           '<td class="num">%s</td></tr>',
                                           llmeval._html(r ->> 'job_id'), llmeval._html(r ->> 'baseline_job_id'),
                                           coalesce(' <span class="hint">' || (SELECT string_agg(llmeval._report_text(x, 80), ', ')
                                                                              FROM jsonb_array_elements_text(
                                                                                     CASE WHEN jsonb_typeof(r -> 'baselines') = 'array'
                                                                                          THEN r -> 'baselines' END) x)
                                                    || '</span>', ''),
                                           llmeval._report_text(r ->> 'model', 80), llmeval._report_text(r ->> 'metric', 80),
                                           llmeval._html(r ->> 'n'),
                                           llmeval._report_num((r ->> 'baseline_mean')::float8),
                                           llmeval._report_num((r ->> 'mean')::float8),
                                           CASE WHEN (r ->> 'delta')::float8 > 0 THEN '+' ELSE '' END
                                             || llmeval._report_num((r ->> 'delta')::float8),
                                           CASE WHEN r ->> 'p_value' IS NULL THEN '–'
                                                WHEN (r ->> 'p_value')::float8 < 0.001 THEN '&lt; 0.001'
                                                ELSE llmeval._report_num((r ->> 'p_value')::float8) END), '' ORDER BY o)
                  FROM jsonb_array_elements(doc -> 'regressions') WITH ORDINALITY AS t(r, o))
              || '</tbody></table>'
         END
      || '</section>';
  END IF;

  RETURN '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
    -- nothing may be loaded or run, whatever the data holds
    || '<meta http-equiv="Content-Security-Policy" content="default-src ''none''; style-src ''unsafe-inline''">'
    || '<meta name="viewport" content="width=device-width, initial-scale=1">'
    || '<title>' || llmeval._report_text(title, 200) || '</title>'
    || '<style>' || llmeval._report_css() || '</style></head><body><main>'
    || '<header class="top">' || header || '</header>'
    || body
    || format('<footer>pg_llmeval report · generated %s</footer>',
              llmeval._report_time(coalesce(doc ->> 'generated_at', now()::text)))
    || '</main></body></html>';
END $$;

CREATE FUNCTION llmeval.report_html(job_id bigint) RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  job llmeval.jobs;
BEGIN
  IF job_id IS NULL THEN
    RAISE EXCEPTION 'job_id must not be NULL' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  -- The caller's job, or any tenant's for an administrator: said here, not
  -- left to row-level security, which superusers and BYPASSRLS roles skip.
  SELECT * INTO job FROM llmeval.jobs j
  WHERE j.id = report_html.job_id AND (j.tenant = llmeval.current_tenant() OR llmeval._is_admin());
  IF NOT FOUND THEN
    RAISE EXCEPTION 'job % does not exist', job_id USING ERRCODE = 'undefined_object';
  END IF;
  RETURN llmeval._report_render(llmeval._report_data(ARRAY[job.id])
                                || jsonb_build_object('kind', 'job', 'tenant', job.tenant, 'generated_at', now(),
                                                      'job', llmeval._report_job(job)));
END $$;
COMMENT ON FUNCTION llmeval.report_html(bigint) IS
  'a self-contained HTML page (inline CSS and SVG charts) on a job: models compared per metric, score distributions, latency, cost, failures';

CREATE FUNCTION llmeval.report_html_for(report_id bigint) RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  report llmeval.reports;
BEGIN
  IF report_id IS NULL THEN
    RAISE EXCEPTION 'report_id must not be NULL' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  -- As in report_html: the caller's, or any tenant's for an administrator.
  SELECT * INTO report FROM llmeval.reports r
  WHERE r.id = report_html_for.report_id AND (r.tenant = llmeval.current_tenant() OR llmeval._is_admin());
  IF NOT FOUND THEN
    RAISE EXCEPTION 'report % does not exist', report_id USING ERRCODE = 'undefined_object';
  END IF;
  RETURN llmeval._report_render(jsonb_build_object('generated_at', report.created_at)
                                || report.body
                                || jsonb_build_object('kind', report.period, 'tenant', report.tenant,
                                                      'period_start', report.period_start,
                                                      'period_end', report.period_end));
END $$;
COMMENT ON FUNCTION llmeval.report_html_for(bigint) IS
  'a stored report (llmeval.reports) as a self-contained HTML page';
