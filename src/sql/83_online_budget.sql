-- Online rules' daily budgets (option max_cost_usd_per_day).
--
-- What a rule spends is what its job's judge and embedding calls cost (the
-- application's own outputs cost nothing), per UTC day. When the day's
-- spending has reached the budget, the rule is deferred: its sampled rows
-- stay pending, never dropped, and are read when the next day begins (or
-- when the budget is no longer reached). A budgeted rule reads its next
-- batch of rows only once the calls of the last one have ended, so the
-- budget is overshot by one batch's calls at most, never by a backlog.

-- The start of the current UTC day, and of the next.
CREATE FUNCTION llmeval._online_budget_day() RETURNS timestamptz
LANGUAGE sql STABLE
AS $$ SELECT date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' $$;

-- The cost of a rule's calls that ended today (UTC).
CREATE FUNCTION llmeval._online_spent_today(rule llmeval.online_rules) RETURNS numeric
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT coalesce(sum(r.cost), 0)
  FROM llmeval.tasks t JOIN llmeval.responses r ON r.task_id = t.id
  WHERE t.job_id = rule.job_id AND t.kind IN ('judge', 'embed') AND r.created_at >= llmeval._online_budget_day()
$$;

-- Whether the workers may read a batch of this rule's rows now; defers the
-- rule when its day's budget is spent and makes it active again when it is
-- not (a new day), each change an event (online_budget_deferred,
-- online_budget_resumed).
CREATE FUNCTION llmeval._online_budget_allows(rule llmeval.online_rules) RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  budget numeric := (rule.options ->> 'max_cost_usd_per_day')::numeric;
  spent numeric;
BEGIN
  IF budget IS NULL THEN
    RETURN true;
  END IF;
  -- the last batch's calls first: their cost is not known before they end
  IF EXISTS (SELECT 1 FROM llmeval.tasks t WHERE t.job_id = rule.job_id AND t.status IN ('pending', 'running')) THEN
    RETURN false;
  END IF;
  spent := llmeval._online_spent_today(rule);
  IF spent >= budget THEN
    IF rule.status = 'active' THEN
      UPDATE llmeval.online_rules r
      SET status = 'deferred', deferred_until = llmeval._online_budget_day() + interval '1 day'
      WHERE r.id = rule.id AND r.status = 'active';
      INSERT INTO llmeval.events (tenant, job_id, kind, detail)
      VALUES (rule.tenant, rule.job_id, 'online_budget_deferred',
              jsonb_build_object('rule', rule.name, 'rule_id', rule.id, 'spent', spent, 'max_cost_usd_per_day', budget,
                                 'until', llmeval._online_budget_day() + interval '1 day',
                                 'pending', (SELECT count(*) FROM llmeval.online_items i
                                             WHERE i.rule_id = rule.id AND i.status = 'pending')));
    END IF;
    RETURN false;
  END IF;
  IF rule.status = 'deferred' THEN
    UPDATE llmeval.online_rules r SET status = 'active', deferred_until = NULL
    WHERE r.id = rule.id AND r.status = 'deferred';
    INSERT INTO llmeval.events (tenant, job_id, kind, detail)
    VALUES (rule.tenant, rule.job_id, 'online_budget_resumed',
            jsonb_build_object('rule', rule.name, 'rule_id', rule.id, 'spent', spent, 'max_cost_usd_per_day', budget));
  END IF;
  RETURN true;
END $$;
REVOKE ALL ON FUNCTION llmeval._online_budget_allows(llmeval.online_rules) FROM PUBLIC;
