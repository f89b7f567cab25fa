-- Tenants' daily budgets, set by administrators: what a tenant's jobs may
-- spend on provider calls in a day (UTC). A claim starts no call that the
-- tenant's room does not allow: spent today + a reservation for each call in
-- flight (twice the mean paid call of its model today) must stay within the
-- budget, so the budget is exceeded by no more than the reservations were
-- short. A model with no paid call today has no known cost: while one of its
-- calls is in flight no other call of the tenant starts, and it starts only
-- when nothing else is in flight (cheap calls cannot make an expensive
-- model's first calls look cheap). At the limit the tenant's jobs are
-- paused with the reason; the workers resume them when the day turns or the
-- budget is raised.
--
-- Spent today is kept per model without summing the day's responses: each
-- write-back appends its costs as deltas (llmeval._append_job_cost), and the
-- claim that reads a tenant's room folds them, holding the tenant's budget
-- row: one claim at a time per budgeted tenant, and a claim that finds the
-- row held passes the tenant over (SKIP LOCKED: never a wait).

CREATE TABLE llmeval.tenant_budgets (
  tenant     text PRIMARY KEY,
  daily_usd  numeric NOT NULL CHECK (daily_usd > 0 AND daily_usd <= 1000000000),
  updated_by name NOT NULL DEFAULT current_user,
  updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE llmeval.tenant_budgets IS
  'each tenant''s daily budget for provider calls (UTC days; no row: no limit); set by administrators';

CREATE TABLE llmeval.tenant_spend (
  tenant   text NOT NULL,
  day      date NOT NULL,
  model_id int NOT NULL,
  cost     numeric NOT NULL DEFAULT 0 CHECK (cost >= 0),
  calls    bigint NOT NULL DEFAULT 0 CHECK (calls >= 0),  -- paid calls
  PRIMARY KEY (tenant, day, model_id)
);
COMMENT ON TABLE llmeval.tenant_spend IS
  'what tenants with a daily budget spent on provider calls each day (deltas not yet folded aside)';
CREATE TABLE llmeval.tenant_spend_deltas (
  id       bigserial PRIMARY KEY,
  tenant   text NOT NULL,
  day      date NOT NULL,
  model_id int NOT NULL,
  cost     numeric NOT NULL,
  calls    bigint NOT NULL
);
CREATE INDEX ON llmeval.tenant_spend_deltas (tenant);

-- Administrators set and read them all; a tenant reads its own (what it
-- may spend, what it spent: the gauge llmeval_tenant_budget_used_ratio).
GRANT SELECT, INSERT, UPDATE, DELETE ON llmeval.tenant_budgets TO llmeval_admin;
GRANT SELECT ON llmeval.tenant_budgets, llmeval.tenant_spend, llmeval.tenant_spend_deltas TO llmeval_user;
ALTER TABLE llmeval.tenant_budgets ENABLE ROW LEVEL SECURITY;
CREATE POLICY admin_all ON llmeval.tenant_budgets FOR ALL TO llmeval_admin USING (true) WITH CHECK (true);
CREATE POLICY tenant_isolation ON llmeval.tenant_budgets FOR SELECT
  USING (tenant = (SELECT llmeval.current_tenant()));
ALTER TABLE llmeval.tenant_spend ENABLE ROW LEVEL SECURITY;
CREATE POLICY admin_read ON llmeval.tenant_spend FOR SELECT TO llmeval_admin USING (true);
CREATE POLICY tenant_isolation ON llmeval.tenant_spend FOR SELECT
  USING (tenant = (SELECT llmeval.current_tenant()));
ALTER TABLE llmeval.tenant_spend_deltas ENABLE ROW LEVEL SECURITY;
CREATE POLICY admin_read ON llmeval.tenant_spend_deltas FOR SELECT TO llmeval_admin USING (true);
CREATE POLICY tenant_isolation ON llmeval.tenant_spend_deltas FOR SELECT
  USING (tenant = (SELECT llmeval.current_tenant()));

-- The UTC day spend is counted in.
CREATE FUNCTION llmeval._spend_day() RETURNS date
LANGUAGE sql STABLE
AS $$ SELECT (now() AT TIME ZONE 'UTC')::date $$;

-- Sets a tenant's daily budget (NULL: no limit). Administrators only. The
-- day's spend so far is counted from the tenant's responses when it starts
-- being kept.
CREATE FUNCTION llmeval.set_tenant_budget(tenant text, daily_usd numeric)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
BEGIN
  PERFORM llmeval._require_admin('set tenant budgets');
  IF tenant IS NULL THEN
    RAISE EXCEPTION 'tenant must not be NULL' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF daily_usd IS NOT NULL AND NOT (daily_usd > 0 AND daily_usd <= 1000000000) THEN
    RAISE EXCEPTION 'a daily budget must be above 0 and at most 1000000000, not %', daily_usd
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'NULL removes the budget; to stop a tenant''s calls, pause or cancel its jobs.';
  END IF;
  IF daily_usd IS NULL THEN
    DELETE FROM llmeval.tenant_budgets b WHERE b.tenant = tenant;
  ELSE
    INSERT INTO llmeval.tenant_budgets AS b (tenant, daily_usd) VALUES (tenant, daily_usd)
    ON CONFLICT ON CONSTRAINT tenant_budgets_pkey
    DO UPDATE SET daily_usd = excluded.daily_usd, updated_by = current_user, updated_at = now();
    -- (what the tenant's jobs spent today before spend was kept for it)
    INSERT INTO llmeval.tenant_spend AS s (tenant, day, model_id, cost, calls)
    SELECT tenant, llmeval._spend_day(), t.model_id, sum(r.cost), count(*)
    FROM llmeval.responses r JOIN llmeval.tasks t ON t.id = r.task_id
    WHERE r.tenant = set_tenant_budget.tenant AND r.cost > 0
      AND r.created_at >= (llmeval._spend_day()::timestamp AT TIME ZONE 'UTC')
    GROUP BY t.model_id
    ON CONFLICT ON CONSTRAINT tenant_spend_pkey DO NOTHING;
  END IF;
  INSERT INTO llmeval.events (tenant, kind, detail)
  VALUES (tenant, 'tenant_budget', jsonb_build_object('daily_usd', daily_usd, 'by', session_user));
END $$;
COMMENT ON FUNCTION llmeval.set_tenant_budget(text, numeric) IS
  'sets a tenant''s daily budget for provider calls, in the models'' price currency (NULL: none); administrators only';
REVOKE ALL ON FUNCTION llmeval.set_tenant_budget(text, numeric) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION llmeval.set_tenant_budget(text, numeric) TO llmeval_admin;

-- Appends the costs of these responses of tenants with a budget to their
-- day's spend (from llmeval._append_job_cost, in the write-back).
CREATE FUNCTION llmeval._append_tenant_spend(task_ids bigint[], costs numeric[]) RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
  INSERT INTO llmeval.tenant_spend_deltas (tenant, day, model_id, cost, calls)
  SELECT t.tenant, llmeval._spend_day(), t.model_id, sum(x.cost), count(*)
  FROM unnest(task_ids, costs) AS x(task_id, cost) JOIN llmeval.tasks t ON t.id = x.task_id
  WHERE x.cost > 0 AND EXISTS (SELECT 1 FROM llmeval.tenant_budgets b WHERE b.tenant = t.tenant)
  GROUP BY t.tenant, t.model_id
$$;

-- How many more calls of these models (all the tenant's when NULL) a
-- tenant with a daily budget may start now (as llmeval._job_budget_room for
-- a job); allowed is 2147483647 without a budget, and 0 with reason NULL
-- when another claim holds the tenant's budget row (pass it over). Folds
-- the tenant's deltas.
CREATE FUNCTION llmeval._tenant_budget_room(tenant text, models int[] DEFAULT NULL)
RETURNS TABLE (allowed bigint, spent numeric, budget numeric, per_call numeric, reason text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  today date := llmeval._spend_day();
  running_unknown bigint;
  running_any bigint;
  reserved numeric;
  unknown_models boolean;
BEGIN
  SELECT b.daily_usd INTO budget FROM llmeval.tenant_budgets b WHERE b.tenant = tenant;
  IF budget IS NULL THEN
    allowed := 2147483647;
    RETURN NEXT;
    RETURN;
  END IF;
  PERFORM 1 FROM llmeval.tenant_budgets b WHERE b.tenant = tenant FOR NO KEY UPDATE SKIP LOCKED;
  IF NOT FOUND THEN
    allowed := 0;  -- (another claim is reading it: its claims are not visible here)
    RETURN NEXT;
    RETURN;
  END IF;
  WITH moved AS (
    DELETE FROM llmeval.tenant_spend_deltas d WHERE d.tenant = tenant RETURNING d.day, d.model_id, d.cost, d.calls
  )
  INSERT INTO llmeval.tenant_spend AS s (tenant, day, model_id, cost, calls)
  SELECT tenant, m.day, m.model_id, sum(m.cost), sum(m.calls) FROM moved m GROUP BY m.day, m.model_id
  ON CONFLICT ON CONSTRAINT tenant_spend_pkey
  DO UPDATE SET cost = s.cost + excluded.cost, calls = s.calls + excluded.calls;
  spent := coalesce((SELECT sum(s.cost) FROM llmeval.tenant_spend s WHERE s.tenant = tenant AND s.day = today), 0);
  -- The calls in flight, each at twice its model's mean today; those of a
  -- model without a paid call today at an unknown cost.
  WITH running AS (
    SELECT t.model_id, count(*) AS n FROM llmeval.tasks t
    WHERE t.tenant = tenant AND t.status = 'running' GROUP BY t.model_id
  )
  SELECT coalesce(sum(r.n * 2 * s.cost / s.calls) FILTER (WHERE s.calls > 0), 0),
         coalesce(sum(r.n) FILTER (WHERE s.calls IS NULL OR s.calls = 0), 0), coalesce(sum(r.n), 0)
  INTO reserved, running_unknown, running_any
  FROM running r LEFT JOIN llmeval.tenant_spend s ON s.tenant = tenant AND s.day = today AND s.model_id = r.model_id;
  -- The dearest of the models asked for, by their mean today; unknown when
  -- one has no paid call today.
  SELECT max(2 * s.cost / s.calls),
         bool_or(s.calls IS NULL OR s.calls = 0)
  INTO per_call, unknown_models
  FROM (SELECT m.id FROM llmeval.models m WHERE models IS NULL OR m.id = ANY (models)) m
  LEFT JOIN llmeval.tenant_spend s ON s.tenant = tenant AND s.day = today AND s.model_id = m.id
  WHERE models IS NOT NULL OR s.calls > 0;
  IF running_unknown > 0 THEN
    allowed := 0;
  ELSIF coalesce(unknown_models, false) OR per_call IS NULL OR per_call = 0 THEN
    allowed := CASE WHEN running_any = 0 AND spent < budget THEN 1 ELSE 0 END;
  ELSE
    allowed := greatest(0, floor((budget - spent - reserved) / per_call));
  END IF;
  reason := CASE WHEN allowed = 0 AND running_any = 0 THEN
              format('tenant daily budget %s: spent %s today leaves less than the %s a call is reserved',
                     budget, round(spent, 6), coalesce(round(per_call, 6)::text, 'first')) END;
  RETURN NEXT;
END $$;
REVOKE ALL ON FUNCTION llmeval._tenant_budget_room(text, int[]) FROM PUBLIC;

-- Pauses the due jobs of tenants at their daily budget, and resumes those
-- it paused once their tenant has room again (the next day, or a higher
-- budget). Run by the workers every few seconds; never waits for a row.
CREATE FUNCTION llmeval._apply_tenant_budgets() RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  t record;
  room record;
BEGIN
  FOR t IN
    SELECT DISTINCT j.tenant FROM llmeval.jobs j
    WHERE (j.status IN ('queued', 'running', 'paused')
           AND EXISTS (SELECT 1 FROM llmeval.tenant_budgets b WHERE b.tenant = j.tenant))
       -- (and those paused for a budget since removed)
       OR (j.status = 'paused' AND j.paused_reason LIKE 'tenant daily budget%')
  LOOP
    SELECT * INTO room FROM llmeval._tenant_budget_room(t.tenant);
    IF room.reason IS NOT NULL THEN
      UPDATE llmeval.jobs j SET status = 'paused', paused_reason = room.reason
      WHERE j.id IN (SELECT x.id FROM llmeval.jobs x
                     WHERE x.tenant = t.tenant AND x.status IN ('queued', 'running') AND x.pending > 0
                     FOR NO KEY UPDATE SKIP LOCKED);
    ELSIF room.allowed > 0 THEN
      UPDATE llmeval.jobs j SET status = CASE WHEN j.started_at IS NULL THEN 'queued' ELSE 'running' END,
                                paused_reason = NULL
      WHERE j.id IN (SELECT x.id FROM llmeval.jobs x
                     WHERE x.tenant = t.tenant AND x.status = 'paused' AND x.paused_reason LIKE 'tenant daily budget%'
                     FOR NO KEY UPDATE SKIP LOCKED);
    END IF;
  END LOOP;
END $$;
REVOKE ALL ON FUNCTION llmeval._apply_tenant_budgets() FROM PUBLIC;

-- Each budgeted tenant's spend today against its budget (with the deltas not
-- yet folded): the gauge llmeval_tenant_budget_used_ratio, for
-- prometheus_metrics() and the exporter alike.
CREATE VIEW llmeval.tenant_budget_use WITH (security_invoker = true) AS
SELECT b.tenant, b.daily_usd,
       coalesce((SELECT sum(s.cost) FROM llmeval.tenant_spend s
                 WHERE s.tenant = b.tenant AND s.day = llmeval._spend_day()), 0)
       + coalesce((SELECT sum(d.cost) FROM llmeval.tenant_spend_deltas d
                   WHERE d.tenant = b.tenant AND d.day = llmeval._spend_day()), 0) AS spent_today
FROM llmeval.tenant_budgets b;
COMMENT ON VIEW llmeval.tenant_budget_use IS
  'each tenant with a daily budget: the budget and what its calls cost today (UTC)';
GRANT SELECT ON llmeval.tenant_budget_use TO llmeval_user;
