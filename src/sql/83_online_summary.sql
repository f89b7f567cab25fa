-- What people watch of an online rule: its scores over time, and an alert
-- when a metric drops below the level its owner set (option alert_below).

-- The window and the least number of scores a rule's alerts are decided
-- on: its options alert_window and alert_min_scores, by default one hour
-- and 10 scores (fewer would alert on noise). (Checked at the rule's
-- creation: llmeval._check_online_options.)
CREATE FUNCTION llmeval._online_alert_window(options jsonb) RETURNS interval
LANGUAGE sql STABLE AS $$ SELECT coalesce((options ->> 'alert_window')::interval, interval '1 hour') $$;
CREATE FUNCTION llmeval._online_alert_min_scores(options jsonb) RETURNS int
LANGUAGE sql IMMUTABLE AS $$ SELECT coalesce((options ->> 'alert_min_scores')::int, 10) $$;

-- Each rule's metrics now: the number and mean of their scores over the
-- rule's alert window, the metric's alert_below and whether it alerts.
-- What the alerts decide on, and the Prometheus gauges show.
CREATE VIEW llmeval.online_gauges WITH (security_invoker = true) AS
SELECT r.tenant, r.name AS rule, m.metric, w.n, w.mean,
       (r.options -> 'alert_below' ->> m.metric)::float8 AS alert_below,
       m.metric = ANY (r.alerting) AS alerting, r.id AS rule_id,
       llmeval._online_alert_window(r.options) AS alert_window,
       llmeval._online_alert_min_scores(r.options) AS alert_min_scores
FROM llmeval.online_rules r
CROSS JOIN unnest(r.metrics) AS m(metric)
CROSS JOIN LATERAL (
  SELECT count(s.value) AS n, avg(s.value) AS mean
  FROM llmeval.online_items i
  JOIN llmeval.task_scores s ON s.task_id = i.task_id AND s.metric = m.metric
  WHERE i.rule_id = r.id AND i.status = 'ingested'
    -- judges score a while after the row is read: a day's rows bound the search
    AND i.ingested_at > now() - llmeval._online_alert_window(r.options) - interval '1 day'
    AND s.created_at > now() - llmeval._online_alert_window(r.options)) w;
COMMENT ON VIEW llmeval.online_gauges IS
  'per online rule and metric: n and mean of the scores in the rule''s alert window (default the last hour), alert_below, and whether it alerts';
GRANT SELECT ON llmeval.online_gauges TO llmeval_user, llmeval_admin;

-- Per time bucket and metric of a rule: the number of scores, their mean
-- and its 95 % confidence interval (Student's t; NULL under 2 scores), the
-- rule's alert_below for the metric and the share of scores below it, and
-- the cost of the judge and embedding calls made for the metric in the
-- bucket. Buckets start at multiples of bucket from 2000-01-01 UTC. Runs with
-- the caller's rights: a tenant summarises its own rules only.
CREATE FUNCTION llmeval.online_summary(rule text, bucket interval DEFAULT '1 hour')
RETURNS TABLE (bucket_start timestamptz, metric text, n bigint, mean float8, ci_low float8,
               ci_high float8, alert_below float8, share_below float8, cost numeric)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
  found_rule llmeval.online_rules;
BEGIN
  IF bucket IS NULL OR bucket <= interval '0' THEN
    RAISE EXCEPTION 'bucket must be a positive interval' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF bucket < interval '1 second' OR extract(month FROM bucket) <> 0 OR extract(year FROM bucket) <> 0 THEN
    RAISE EXCEPTION 'bucket must be at least a second and given in days, hours, minutes or seconds'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  SELECT * INTO found_rule FROM llmeval.online_rules r WHERE r.name = online_summary.rule
  ORDER BY r.tenant = llmeval.current_tenant() DESC LIMIT 1;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'online rule "%" does not exist', rule USING ERRCODE = 'undefined_object';
  END IF;
  RETURN QUERY
  WITH scores AS (
    SELECT date_bin(bucket, s.scored_at, timestamptz '2000-01-01 00:00:00+00') AS b, s.metric, s.value,
           (found_rule.options -> 'alert_below' ->> s.metric)::float8 AS threshold
    FROM llmeval.online_scores s
    WHERE s.rule_id = found_rule.id AND s.value IS NOT NULL
  ), stats AS (
    SELECT x.b, x.metric, count(*) AS n, avg(x.value) AS mean, stddev_samp(x.value) AS sd,
           max(x.threshold) AS threshold,
           avg((x.value < x.threshold)::int)::float8 AS share_below
    FROM scores x GROUP BY x.b, x.metric
  ), costs AS (
    SELECT date_bin(bucket, r.created_at, timestamptz '2000-01-01 00:00:00+00') AS b, t.metric,
           sum(r.cost) AS cost
    FROM llmeval.online_items i
    JOIN llmeval.tasks t ON t.target_task_id = i.task_id AND t.kind IN ('judge', 'embed')
    JOIN llmeval.responses r ON r.task_id = t.id
    WHERE i.rule_id = found_rule.id
    GROUP BY 1, 2
  )
  SELECT st.b, st.metric, st.n, st.mean,
         CASE WHEN st.n >= 2 THEN st.mean - llmeval._t_quantile(0.975, st.n - 1) * st.sd / sqrt(st.n) END,
         CASE WHEN st.n >= 2 THEN st.mean + llmeval._t_quantile(0.975, st.n - 1) * st.sd / sqrt(st.n) END,
         st.threshold, CASE WHEN st.threshold IS NOT NULL THEN st.share_below END,
         coalesce(c.cost, 0)
  FROM stats st LEFT JOIN costs c ON c.b = st.b AND c.metric = st.metric
  ORDER BY st.b, st.metric;
END $$;
COMMENT ON FUNCTION llmeval.online_summary(text, interval) IS
  'per time bucket and metric of an online rule: n, mean and its 95% CI, share below alert_below, cost of its judge calls';

-- Decides the alerts of every rule with alert_below: a metric whose mean
-- over the rule's alert window (with at least its alert_min_scores
-- scores; by default the last hour, 10 scores) is below its level starts
-- alerting; one back at or above it stops. Each change is an event
-- (online_alert, online_alert_cleared) and a NOTIFY on llmeval_online_alert
-- with the rule, tenant, metric, mean, n and level; while it lasts the
-- metric is in online_rules.alerting. Called by the workers' step.
CREATE FUNCTION llmeval._online_check_alerts() RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  change record;
BEGIN
  FOR change IN
    SELECT g.rule_id AS id, g.tenant, g.rule AS name, r.job_id, g.metric, g.n, g.mean,
           g.alert_below AS level, NOT g.alerting AS starts, g.alert_window
    FROM llmeval.online_gauges g JOIN llmeval.online_rules r ON r.id = g.rule_id
    WHERE g.alert_below IS NOT NULL
      AND ((NOT g.alerting AND g.n >= g.alert_min_scores AND g.mean < g.alert_below)
           OR (g.alerting AND (g.n = 0 OR g.mean >= g.alert_below)))
    ORDER BY g.rule_id, g.metric
  LOOP
    -- A rule held elsewhere is decided on the next pass; a change another
    -- worker made meanwhile is not made (nor announced) twice.
    CONTINUE WHEN NOT llmeval._online_lock_rule(change.id);
    UPDATE llmeval.online_rules r
    SET alerting = CASE WHEN change.starts THEN array_append(r.alerting, change.metric)
                        ELSE array_remove(r.alerting, change.metric) END
    WHERE r.id = change.id AND (change.metric = ANY (r.alerting)) <> change.starts;
    CONTINUE WHEN NOT FOUND;
    INSERT INTO llmeval.events (tenant, job_id, kind, detail)
    VALUES (change.tenant, change.job_id, CASE WHEN change.starts THEN 'online_alert' ELSE 'online_alert_cleared' END,
            jsonb_build_object('rule', change.name, 'rule_id', change.id, 'metric', change.metric,
                               'mean', change.mean, 'n', change.n, 'alert_below', change.level,
                               'window', change.alert_window::text));
    PERFORM pg_notify('llmeval_online_alert',
                      json_build_object('rule', change.name, 'tenant', change.tenant, 'metric', change.metric,
                                        'alerting', change.starts, 'mean', change.mean, 'n', change.n,
                                        'alert_below', change.level)::text);
  END LOOP;
END $$;
REVOKE ALL ON FUNCTION llmeval._online_check_alerts() FROM PUBLIC;
