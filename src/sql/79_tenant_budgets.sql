-- Tenants' daily budgets, set by administrators: what a tenant's jobs may
-- spend on provider calls in a day (UTC). A claim starts no call that the
-- tenant's room does not allow: spent today + a reservation for each call in
-- flight (twice the tenant's mean paid call; one call at a time before its
-- first paid answer) must stay within the budget, so the budget is exceeded
-- by no more than the reservations were short. At the limit the tenant's
-- jobs are paused with the reason; they are resumed by the workers when the
-- day turns or the budget is raised.
--
-- Spent today is kept without summing the day's responses: each write-back
-- appends its tenants' costs as a delta (llmeval._append_job_cost), and the
-- claim that reads a tenant's room folds them into the day's row when no one
-- else holds it (SKIP LOCKED: never a wait).

CREATE TABLE llmeval.tenant_budgets (
  tenant     text PRIMARY KEY,
  daily_usd  numeric NOT NULL CHECK (daily_usd > 0 AND daily_usd <= 1000000000),
  updated_by name NOT NULL DEFAULT current_user,
  updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE llmeval.tenant_budgets IS
  'each tenant''s daily budget for provider calls (UTC days; no row: no limit); set by administrators';

CREATE TABLE llmeval.tenant_spend (
  tenant text NOT NULL,
  day    date NOT NULL,
  cost   numeric NOT NULL DEFAULT 0 CHECK (cost >= 0),
  calls  bigint NOT NULL DEFAULT 0 CHECK (calls >= 0),
  PRIMARY KEY (tenant, day)
);
COMMENT ON TABLE llmeval.tenant_spend IS
  'what tenants with a daily budget spent on provider calls each day (deltas not yet folded aside)';
CREATE TABLE llmeval.tenant_spend_deltas (
  id     bigserial PRIMARY KEY,
  tenant text NOT NULL,
  day    date NOT NULL,
  cost   numeric NOT NULL,
  calls  bigint NOT NULL
);
CREATE INDEX ON llmeval.tenant_spend_deltas (tenant, day);

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
    INSERT INTO llmeval.tenant_spend AS s (tenant, day, cost, calls)
    SELECT tenant, llmeval._spend_day(), coalesce(sum(r.cost), 0), count(*) FILTER (WHERE r.cost > 0)
    FROM llmeval.responses r
    WHERE r.tenant = set_tenant_budget.tenant
      AND r.created_at >= (llmeval._spend_day()::timestamp AT TIME ZONE 'UTC')
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
  INSERT INTO llmeval.tenant_spend_deltas (tenant, day, cost, calls)
  SELECT t.tenant, llmeval._spend_day(), sum(x.cost), count(*)
  FROM unnest(task_ids, costs) AS x(task_id, cost) JOIN llmeval.tasks t ON t.id = x.task_id
  WHERE x.cost > 0 AND EXISTS (SELECT 1 FROM llmeval.tenant_budgets b WHERE b.tenant = t.tenant)
  GROUP BY t.tenant
$$;

-- How many more calls a tenant with a daily budget may start now (as
-- llmeval._job_budget_room for a job); allowed is 2147483647 without a
-- budget. Folds the tenant's deltas into its day's row when free.
CREATE FUNCTION llmeval._tenant_budget_room(tenant text)
RETURNS TABLE (allowed bigint, spent numeric, budget numeric, per_call numeric, reason text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  today date := llmeval._spend_day();
  paid bigint;
  running bigint;
BEGIN
  SELECT b.daily_usd INTO budget FROM llmeval.tenant_budgets b WHERE b.tenant = tenant;
  IF budget IS NULL THEN
    allowed := 2147483647;
    RETURN NEXT;
    RETURN;
  END IF;
  INSERT INTO llmeval.tenant_spend AS s (tenant, day) VALUES (tenant, today) ON CONFLICT ON CONSTRAINT tenant_spend_pkey DO NOTHING;
  PERFORM 1 FROM llmeval.tenant_spend s WHERE s.tenant = tenant AND s.day = today FOR UPDATE SKIP LOCKED;
  IF FOUND THEN
    WITH moved AS (
      DELETE FROM llmeval.tenant_spend_deltas d WHERE d.tenant = tenant AND d.day = today RETURNING d.cost, d.calls
    )
    UPDATE llmeval.tenant_spend s
    SET cost = s.cost + (SELECT coalesce(sum(m.cost), 0) FROM moved m),
        calls = s.calls + (SELECT coalesce(sum(m.calls), 0) FROM moved m)
    WHERE s.tenant = tenant AND s.day = today;
  END IF;
  SELECT s.cost + coalesce((SELECT sum(d.cost) FROM llmeval.tenant_spend_deltas d WHERE d.tenant = tenant AND d.day = today), 0),
         s.calls + coalesce((SELECT sum(d.calls) FROM llmeval.tenant_spend_deltas d WHERE d.tenant = tenant AND d.day = today), 0)
  INTO spent, paid
  FROM llmeval.tenant_spend s WHERE s.tenant = tenant AND s.day = today;
  SELECT count(*) INTO running FROM llmeval.tasks t WHERE t.tenant = tenant AND t.status = 'running';
  IF paid > 0 THEN
    per_call := 2 * spent / paid;
    allowed := CASE WHEN per_call = 0 THEN 2147483647
                    ELSE greatest(0, floor((budget - spent - running * per_call) / per_call)) END;
  ELSE
    allowed := CASE WHEN running = 0 AND spent < budget THEN 1 ELSE 0 END;
  END IF;
  reason := CASE WHEN allowed = 0 AND running = 0 THEN
              format('tenant daily budget %s: spent %s today leaves less than the %s a call is reserved',
                     budget, round(spent, 6), coalesce(round(per_call, 6)::text, 'first')) END;
  RETURN NEXT;
END $$;
REVOKE ALL ON FUNCTION llmeval._tenant_budget_room(text) FROM PUBLIC;

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
       coalesce(s.cost, 0) + coalesce((SELECT sum(d.cost) FROM llmeval.tenant_spend_deltas d
                                       WHERE d.tenant = b.tenant AND d.day = llmeval._spend_day()), 0) AS spent_today
FROM llmeval.tenant_budgets b
LEFT JOIN llmeval.tenant_spend s ON s.tenant = b.tenant AND s.day = llmeval._spend_day();
COMMENT ON VIEW llmeval.tenant_budget_use IS
  'each tenant with a daily budget: the budget and what its calls cost today (UTC)';
GRANT SELECT ON llmeval.tenant_budget_use TO llmeval_user;
