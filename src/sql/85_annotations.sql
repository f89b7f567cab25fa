-- Annotation queues: people review what the machine doubts.
--
-- A queue belongs to a tenant (its owner), who fills it with outputs of its
-- jobs (add_to_queue; an online rule's rows are outputs of the rule's job)
-- and names its reviewers (grant_annotation_queue: a role's name, or a
-- Supabase user's id). Reviewers claim one item at a time
-- (claim_annotation: FOR UPDATE SKIP LOCKED, so two reviewers never get the
-- same item; a claim expires, so an abandoned item comes back), submit
-- labels checked against the queue's rubric, or skip it (it goes to someone
-- else). promote_annotations turns the reviewed items into a new version of
-- a dataset: production mistakes become regression tests.

CREATE TABLE llmeval.annotation_queues (
  id            bigserial PRIMARY KEY,
  tenant        text NOT NULL DEFAULT llmeval.current_tenant(),
  name          text NOT NULL CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$'),
  -- [{key, type numeric|categorical|boolean, min, max, categories, required}]
  rubric        jsonb NOT NULL CHECK (jsonb_typeof(rubric) = 'array'),
  instructions  text,
  claim_seconds int NOT NULL DEFAULT 900 CHECK (claim_seconds > 0),
  created_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant, name),
  UNIQUE (id, tenant)
);

-- Who may review a queue besides its owner: tenants as current_tenant()
-- gives them (a role's name, a Supabase user's sub).
CREATE TABLE llmeval.annotation_reviewers (
  queue_id   bigint NOT NULL,
  tenant     text NOT NULL,
  reviewer   text NOT NULL CHECK (reviewer <> ''),
  PRIMARY KEY (queue_id, reviewer),
  FOREIGN KEY (queue_id, tenant) REFERENCES llmeval.annotation_queues (id, tenant) ON DELETE CASCADE
);

CREATE TABLE llmeval.annotation_items (
  id               bigserial PRIMARY KEY,
  queue_id         bigint NOT NULL,
  tenant           text NOT NULL,
  -- the generation reviewed (its job, test case and output)
  task_id          bigint NOT NULL REFERENCES llmeval.tasks ON DELETE CASCADE,
  status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'claimed', 'done')),
  claimed_by       text,
  claim_expires_at timestamptz,
  -- reviewers who skipped it: it is not offered to them again
  skipped_by       text[] NOT NULL DEFAULT '{}',
  labels           jsonb CHECK (jsonb_typeof(labels) = 'object'),
  reviewed_by      text,
  reviewed_at      timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (queue_id, task_id),
  FOREIGN KEY (queue_id, tenant) REFERENCES llmeval.annotation_queues (id, tenant) ON DELETE CASCADE,
  CHECK ((status = 'claimed') = (claimed_by IS NOT NULL AND claim_expires_at IS NOT NULL)),
  CHECK ((status = 'done') = (labels IS NOT NULL))
);
CREATE INDEX annotation_items_open ON llmeval.annotation_items (queue_id, id) WHERE status <> 'done';
CREATE INDEX ON llmeval.annotation_items (task_id);

-- The owner sees its queues and items; a reviewer those it is granted.
-- (with the caller's rights: current_tenant() is the caller's, and a
-- reviewer reads its own grants)
CREATE FUNCTION llmeval._may_review(queue_id bigint) RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT EXISTS (SELECT 1 FROM llmeval.annotation_reviewers r
                 WHERE r.queue_id = _may_review.queue_id AND r.reviewer = llmeval.current_tenant())
$$;
ALTER TABLE llmeval.annotation_queues ENABLE ROW LEVEL SECURITY;
ALTER TABLE llmeval.annotation_reviewers ENABLE ROW LEVEL SECURITY;
ALTER TABLE llmeval.annotation_items ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON llmeval.annotation_queues FOR SELECT
  USING (tenant = (SELECT llmeval.current_tenant()) OR llmeval._may_review(id));
CREATE POLICY tenant_isolation ON llmeval.annotation_reviewers FOR SELECT
  USING (tenant = (SELECT llmeval.current_tenant()) OR reviewer = (SELECT llmeval.current_tenant()));
CREATE POLICY tenant_isolation ON llmeval.annotation_items FOR SELECT
  USING (tenant = (SELECT llmeval.current_tenant()) OR llmeval._may_review(queue_id));
CREATE POLICY admin_read ON llmeval.annotation_queues FOR SELECT TO llmeval_admin USING (true);
CREATE POLICY admin_read ON llmeval.annotation_reviewers FOR SELECT TO llmeval_admin USING (true);
CREATE POLICY admin_read ON llmeval.annotation_items FOR SELECT TO llmeval_admin USING (true);
GRANT SELECT ON llmeval.annotation_queues, llmeval.annotation_reviewers, llmeval.annotation_items
  TO llmeval_user, llmeval_admin;

-- The rubric, checked: 22023 naming the item at fault.
CREATE FUNCTION llmeval._check_rubric(rubric jsonb) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  item jsonb;
  n int := 0;
  problem text;
BEGIN
  IF rubric IS NULL OR jsonb_typeof(rubric) <> 'array' OR jsonb_array_length(rubric) = 0 THEN
    RAISE EXCEPTION 'a rubric is a non-empty JSON array of items' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  FOR item IN SELECT value FROM jsonb_array_elements(rubric) LOOP
    n := n + 1;
    problem := CASE
      WHEN jsonb_typeof(item) <> 'object' THEN 'must be an object'
      WHEN NOT (item ->> 'key' ~ '^[A-Za-z_][A-Za-z0-9_]*$') OR jsonb_typeof(item -> 'key') <> 'string'
        THEN 'needs a key (an identifier)'
      WHEN item ? 'required' AND jsonb_typeof(item -> 'required') <> 'boolean' THEN 'required must be true or false'
      WHEN item ->> 'type' = 'numeric' AND NOT (jsonb_typeof(item -> 'min') = 'number' AND jsonb_typeof(item -> 'max') = 'number'
                                                AND (item ->> 'min')::numeric < (item ->> 'max')::numeric)
        THEN 'numeric needs numbers min < max'
      WHEN item ->> 'type' = 'categorical' AND NOT (jsonb_typeof(item -> 'categories') = 'array'
                                                    AND jsonb_array_length(item -> 'categories') > 0
                                                    AND NOT jsonb_path_exists(item -> 'categories', '$[*] ? (@.type() != "string")'))
        THEN 'categorical needs a non-empty array of string categories'
      WHEN coalesce(item ->> 'type', '') NOT IN ('numeric', 'categorical', 'boolean')
        THEN 'type must be numeric, categorical or boolean'
    END;
    IF problem IS NOT NULL THEN
      RAISE EXCEPTION 'rubric item % %', n, problem USING ERRCODE = 'invalid_parameter_value';
    END IF;
  END LOOP;
  IF (SELECT count(DISTINCT value ->> 'key') FROM jsonb_array_elements(rubric)) <> jsonb_array_length(rubric) THEN
    RAISE EXCEPTION 'rubric keys must not repeat' USING ERRCODE = 'invalid_parameter_value';
  END IF;
END $$;

-- Labels, checked against a rubric: 22023 naming the key at fault.
CREATE FUNCTION llmeval._check_labels(rubric jsonb, labels jsonb) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  bad text;
BEGIN
  IF labels IS NULL OR jsonb_typeof(labels) <> 'object' THEN
    RAISE EXCEPTION 'labels must be a JSON object keyed by the rubric''s keys' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  SELECT k INTO bad FROM jsonb_object_keys(labels) k
  WHERE NOT EXISTS (SELECT 1 FROM jsonb_array_elements(rubric) r WHERE r.value ->> 'key' = k) LIMIT 1;
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION 'label "%" is not in the rubric', bad USING ERRCODE = 'invalid_parameter_value';
  END IF;
  SELECT format('label "%s" %s', r.value ->> 'key',
                CASE WHEN NOT labels ? (r.value ->> 'key') THEN 'is required'
                     WHEN r.value ->> 'type' = 'numeric' THEN format('must be a number from %s to %s', r.value ->> 'min', r.value ->> 'max')
                     WHEN r.value ->> 'type' = 'categorical' THEN 'must be one of ' || (r.value ->> 'categories')
                     ELSE 'must be true or false' END)
  INTO bad
  FROM jsonb_array_elements(rubric) r
  WHERE CASE WHEN NOT labels ? (r.value ->> 'key') THEN coalesce((r.value ->> 'required')::boolean, false)
             WHEN r.value ->> 'type' = 'numeric'
               THEN NOT (jsonb_typeof(labels -> (r.value ->> 'key')) = 'number'
                         AND (labels ->> (r.value ->> 'key'))::numeric BETWEEN (r.value ->> 'min')::numeric
                                                                           AND (r.value ->> 'max')::numeric)
             WHEN r.value ->> 'type' = 'categorical'
               THEN NOT (jsonb_typeof(labels -> (r.value ->> 'key')) = 'string'
                         AND (r.value -> 'categories') ? (labels ->> (r.value ->> 'key')))
             ELSE jsonb_typeof(labels -> (r.value ->> 'key')) <> 'boolean' END
  LIMIT 1;
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION '%', bad USING ERRCODE = 'invalid_parameter_value';
  END IF;
END $$;

CREATE FUNCTION llmeval._create_annotation_queue(tenant text, name text, rubric jsonb, instructions text)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  new_id bigint;
BEGIN
  IF name IS NULL OR name !~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$' THEN
    RAISE EXCEPTION 'invalid queue name "%"', name USING ERRCODE = 'invalid_parameter_value';
  END IF;
  PERFORM llmeval._check_rubric(rubric);
  IF EXISTS (SELECT 1 FROM llmeval.annotation_queues q WHERE q.tenant = tenant AND q.name = name) THEN
    RAISE EXCEPTION 'annotation queue "%" already exists', name USING ERRCODE = 'duplicate_object';
  END IF;
  INSERT INTO llmeval.annotation_queues AS q (tenant, name, rubric, instructions)
  VALUES (tenant, name, rubric, instructions) RETURNING q.id INTO new_id;
  RETURN new_id;
END $$;

-- The caller's own queue of that name (owner = true), or one it reviews.
CREATE FUNCTION llmeval._annotation_queue(tenant text, name text, owner boolean)
RETURNS llmeval.annotation_queues
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  found llmeval.annotation_queues[];
BEGIN
  -- (the caller's own queue first: a name may also be another owner's it reviews)
  SELECT array_agg(q ORDER BY q.tenant = tenant DESC) INTO found FROM llmeval.annotation_queues q
  WHERE q.name = name AND (q.tenant = tenant OR (NOT owner AND EXISTS (
          SELECT 1 FROM llmeval.annotation_reviewers r WHERE r.queue_id = q.id AND r.reviewer = tenant)));
  IF found IS NULL THEN
    RAISE EXCEPTION 'annotation queue "%" does not exist', name USING ERRCODE = 'undefined_object';
  END IF;
  IF cardinality(found) > 1 AND found[1].tenant <> tenant THEN
    RAISE EXCEPTION 'several annotation queues you may review are named "%"', name
      USING ERRCODE = 'ambiguous_parameter';
  END IF;
  RETURN found[1];
END $$;

CREATE FUNCTION llmeval._grant_annotation_queue(tenant text, queue text, reviewer text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  q llmeval.annotation_queues := llmeval._annotation_queue(tenant, queue, true);
BEGIN
  IF reviewer IS NULL OR reviewer = '' THEN
    RAISE EXCEPTION 'a reviewer is a role''s name or a Supabase user''s id' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  INSERT INTO llmeval.annotation_reviewers (queue_id, tenant, reviewer) VALUES (q.id, q.tenant, reviewer)
  ON CONFLICT DO NOTHING;
  RETURN true;
END $$;

-- Adds the completed generations of one of the owner's jobs, optionally
-- only those of a model and with a metric's score below or above a value
-- (filter keys: model, metric, below, above, limit). Returns how many were added.
CREATE FUNCTION llmeval._add_to_queue(tenant text, queue text, job_id bigint, filter jsonb) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  q llmeval.annotation_queues := llmeval._annotation_queue(tenant, queue, true);
  bad text;
  n bigint;
BEGIN
  filter := coalesce(filter, '{}');
  IF jsonb_typeof(filter) <> 'object' THEN
    RAISE EXCEPTION 'filter must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  SELECT k INTO bad FROM jsonb_each(filter) AS f(k, v)
  WHERE k NOT IN ('model', 'metric', 'below', 'above', 'limit')
     OR (k IN ('model', 'metric') AND jsonb_typeof(v) <> 'string')
     OR (k IN ('below', 'above') AND jsonb_typeof(v) <> 'number')
     OR (k = 'limit' AND NOT (jsonb_typeof(v) = 'number' AND v::text ~ '^[0-9]+$'))
  ORDER BY k LIMIT 1;
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION 'bad filter key "%"', bad
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Keys: model and metric (strings), below and above (numbers, with metric), limit (an integer).';
  END IF;
  IF (filter ? 'below' OR filter ? 'above') AND NOT filter ? 'metric' THEN
    RAISE EXCEPTION 'below and above compare a metric''s score: name the metric' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM llmeval.jobs j WHERE j.id = job_id AND j.tenant = tenant) THEN
    RAISE EXCEPTION 'job % does not exist', job_id USING ERRCODE = 'undefined_object';
  END IF;
  INSERT INTO llmeval.annotation_items (queue_id, tenant, task_id)
  SELECT q.id, tenant, t.id
  FROM llmeval.tasks t
  JOIN llmeval.models m ON m.id = t.model_id
  LEFT JOIN llmeval.task_scores s ON s.task_id = t.id AND s.metric = filter ->> 'metric'
  WHERE t.job_id = job_id AND t.kind = 'generate' AND t.status = 'completed'
    AND (NOT filter ? 'model' OR m.name = filter ->> 'model')
    AND (NOT filter ? 'metric' OR s.value IS NOT NULL)
    AND (NOT filter ? 'below' OR s.value < (filter ->> 'below')::float8)
    AND (NOT filter ? 'above' OR s.value > (filter ->> 'above')::float8)
  ORDER BY t.id
  LIMIT (filter ->> 'limit')::bigint
  ON CONFLICT (queue_id, task_id) DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;

-- The next item for the caller: one not done, not skipped by it, and not
-- claimed by someone else unless that claim expired. SKIP LOCKED: two
-- reviewers claiming at once get different items.
CREATE TYPE llmeval.annotation_claim AS (
  item_id bigint, input jsonb, output text, expected text, context text, rubric jsonb,
  instructions text, claim_expires_at timestamptz);

CREATE FUNCTION llmeval._claim_annotation(tenant text, queue text)
RETURNS llmeval.annotation_claim
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
  q llmeval.annotation_queues := llmeval._annotation_queue(_claim_annotation.tenant, _claim_annotation.queue, false);
  claimed bigint;
  result llmeval.annotation_claim;
BEGIN
  UPDATE llmeval.annotation_items i
  SET status = 'claimed', claimed_by = _claim_annotation.tenant,
      claim_expires_at = now() + make_interval(secs => q.claim_seconds)
  WHERE i.id = (SELECT c.id FROM llmeval.annotation_items c
                WHERE c.queue_id = q.id AND c.status <> 'done'
                  AND (c.status = 'pending' OR c.claim_expires_at < now()
                       OR c.claimed_by = _claim_annotation.tenant)
                  AND NOT (_claim_annotation.tenant = ANY (c.skipped_by))
                ORDER BY (c.claimed_by = _claim_annotation.tenant) DESC NULLS LAST, c.id
                LIMIT 1 FOR UPDATE SKIP LOCKED)
  RETURNING i.id INTO claimed;
  -- (all NULL when nothing is left for the caller)
  SELECT i.id, tc.input, r.output, tc.expected, tc.context, q.rubric, q.instructions, i.claim_expires_at
  INTO result
  FROM llmeval.annotation_items i
  JOIN llmeval.tasks t ON t.id = i.task_id
  JOIN llmeval.test_cases tc ON tc.id = t.test_case_id
  LEFT JOIN llmeval.responses r ON r.task_id = t.id
  WHERE i.id = claimed;
  RETURN result;
END $$;

-- The caller's live claim on an item, locked; 55000 when it has none.
CREATE FUNCTION llmeval._claimed_item(tenant text, item bigint) RETURNS llmeval.annotation_items
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  found_item llmeval.annotation_items;
BEGIN
  SELECT * INTO found_item FROM llmeval.annotation_items i WHERE i.id = item FOR UPDATE;
  IF NOT FOUND OR NOT (found_item.tenant = tenant OR EXISTS (
       SELECT 1 FROM llmeval.annotation_reviewers r WHERE r.queue_id = found_item.queue_id AND r.reviewer = tenant)) THEN
    RAISE EXCEPTION 'annotation item % does not exist', item USING ERRCODE = 'undefined_object';
  END IF;
  IF found_item.status <> 'claimed' OR found_item.claimed_by <> tenant OR found_item.claim_expires_at < now() THEN
    RAISE EXCEPTION 'annotation item % is not claimed by you', item
      USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'Claim an item with claim_annotation; a claim expires after the queue''s claim_seconds.';
  END IF;
  RETURN found_item;
END $$;

CREATE FUNCTION llmeval._submit_annotation(tenant text, item bigint, "values" jsonb) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  claimed llmeval.annotation_items := llmeval._claimed_item(tenant, item);
BEGIN
  PERFORM llmeval._check_labels((SELECT q.rubric FROM llmeval.annotation_queues q WHERE q.id = claimed.queue_id),
                                "values");
  UPDATE llmeval.annotation_items i
  SET status = 'done', labels = "values", reviewed_by = tenant, reviewed_at = now(),
      claimed_by = NULL, claim_expires_at = NULL
  WHERE i.id = claimed.id;
  RETURN true;
END $$;

CREATE FUNCTION llmeval._skip_annotation(tenant text, item bigint) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  claimed llmeval.annotation_items := llmeval._claimed_item(tenant, item);
BEGIN
  UPDATE llmeval.annotation_items i
  SET status = 'pending', claimed_by = NULL, claim_expires_at = NULL, skipped_by = i.skipped_by || tenant
  WHERE i.id = claimed.id;
  RETURN true;
END $$;

-- A new version of a dataset of the owner's from the queue's reviewed items:
-- each item's input, expected answer and context, and in the metadata the
-- output reviewed and its labels.
CREATE FUNCTION llmeval._promote_annotations(tenant text, queue text, dataset text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  q llmeval.annotation_queues := llmeval._annotation_queue(tenant, queue, true);
  data jsonb;
BEGIN
  SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
           'input', tc.input, 'expected', tc.expected, 'context', tc.context,
           'metadata', coalesce(tc.metadata, '{}') || jsonb_build_object(
             'annotation_queue', q.name, 'output', r.output, 'labels', i.labels,
             'reviewed_by', i.reviewed_by))) ORDER BY i.id)
  INTO data
  FROM llmeval.annotation_items i
  JOIN llmeval.tasks t ON t.id = i.task_id
  JOIN llmeval.test_cases tc ON tc.id = t.test_case_id
  LEFT JOIN llmeval.responses r ON r.task_id = t.id
  WHERE i.queue_id = q.id AND i.status = 'done';
  IF data IS NULL THEN
    RAISE EXCEPTION 'annotation queue "%" has no reviewed item', queue USING ERRCODE = 'no_data_found';
  END IF;
  RETURN llmeval._import_dataset(tenant, dataset, data);
END $$;

CREATE FUNCTION llmeval.create_annotation_queue(name text, rubric jsonb, instructions text DEFAULT NULL)
RETURNS bigint AS 'MODULE_PATHNAME', 'llmeval_tenant_call' LANGUAGE C VOLATILE;
CREATE FUNCTION llmeval.grant_annotation_queue(queue text, reviewer text)
RETURNS boolean AS 'MODULE_PATHNAME', 'llmeval_tenant_call' LANGUAGE C VOLATILE;
CREATE FUNCTION llmeval.add_to_queue(queue text, job_id bigint, filter jsonb DEFAULT '{}')
RETURNS bigint AS 'MODULE_PATHNAME', 'llmeval_tenant_call' LANGUAGE C VOLATILE;
CREATE FUNCTION llmeval.claim_annotation(queue text)
RETURNS llmeval.annotation_claim AS 'MODULE_PATHNAME', 'llmeval_tenant_call' LANGUAGE C VOLATILE;
CREATE FUNCTION llmeval.submit_annotation(item bigint, "values" jsonb)
RETURNS boolean AS 'MODULE_PATHNAME', 'llmeval_tenant_call' LANGUAGE C VOLATILE;
CREATE FUNCTION llmeval.skip_annotation(item bigint)
RETURNS boolean AS 'MODULE_PATHNAME', 'llmeval_tenant_call' LANGUAGE C VOLATILE;
CREATE FUNCTION llmeval.promote_annotations(queue text, dataset text)
RETURNS bigint AS 'MODULE_PATHNAME', 'llmeval_tenant_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION llmeval.create_annotation_queue(text, jsonb, text) IS
  'a queue of outputs for people to label with a rubric (items: key, type numeric|categorical|boolean, required)';
COMMENT ON FUNCTION llmeval.claim_annotation(text) IS
  'the next item of a queue you own or review, claimed for you until it expires (no two reviewers get one item)';
COMMENT ON FUNCTION llmeval.promote_annotations(text, text) IS
  'a new version of a dataset from a queue''s reviewed items (their labels in the metadata)';

REVOKE ALL ON FUNCTION llmeval._create_annotation_queue(text, text, jsonb, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._grant_annotation_queue(text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._add_to_queue(text, text, bigint, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._claim_annotation(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._submit_annotation(text, bigint, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._skip_annotation(text, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._promote_annotations(text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._annotation_queue(text, text, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._claimed_item(text, bigint) FROM PUBLIC;

-- How well a metric's scores agree with the labels people gave in an
-- annotation queue (label: a rubric key; a boolean label counts as 1 or 0),
-- over the queue's reviewed items scored by the metric: the statistics of
-- judge_agreement. With the caller's rights: its own queues, or those it reviews.
CREATE FUNCTION llmeval.judge_agreement(queue text, metric text, label text)
RETURNS TABLE (statistic text, value float8, n bigint)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  q llmeval.annotation_queues;
BEGIN
  IF queue IS NULL OR label IS NULL OR metric IS NULL THEN
    RAISE EXCEPTION 'queue, metric and label must not be NULL' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  SELECT * INTO q FROM llmeval.annotation_queues aq WHERE aq.name = queue
  ORDER BY aq.tenant = llmeval.current_tenant() DESC LIMIT 1;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'annotation queue "%" does not exist', queue USING ERRCODE = 'undefined_object';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM jsonb_array_elements(q.rubric) r WHERE r.value ->> 'key' = label) THEN
    RAISE EXCEPTION 'label "%" is not in the rubric of queue "%"', label, queue USING ERRCODE = 'undefined_object';
  END IF;
  RETURN QUERY
  SELECT a.* FROM (
    SELECT array_agg(s.value) AS x,
           array_agg(llmeval._score_category(jm.kind, jm.definition, s.value, s.detail)) AS x_text,
           array_agg(CASE jsonb_typeof(i.labels -> label)
                       WHEN 'boolean' THEN (i.labels ->> label)::boolean::int::text
                       ELSE i.labels ->> label END) AS y_text
    FROM llmeval.annotation_items i
    JOIN llmeval.tasks t ON t.id = i.task_id
    JOIN llmeval.jobs j ON j.id = t.job_id
    JOIN llmeval.task_scores s ON s.task_id = t.id AND s.metric = judge_agreement.metric AND s.value IS NOT NULL
    CROSS JOIN LATERAL (SELECT m.kind, m.definition FROM llmeval._job_metrics(j) m WHERE m.name = judge_agreement.metric) jm
    WHERE i.queue_id = q.id AND i.status = 'done' AND i.labels ? label) p
  CROSS JOIN LATERAL llmeval._agreement(coalesce(p.x, '{}'), coalesce(p.x_text, '{}'), coalesce(p.y_text, '{}')) a;
END $$;
COMMENT ON FUNCTION llmeval.judge_agreement(text, text, text) IS
  'agreement of a metric''s scores with the labels of an annotation queue''s reviewed items: Pearson, Spearman, Kendall tau-b, Cohen''s kappa, with counts';

-- Online rules' option review: the rows people should look at go to one of
-- the rule owner's annotation queues once all their scores are in.
--   {"queue": "name",
--    "below": {"metric": level, ...},        a score below its level
--    "spread_above": s,                      judge samples whose stddev exceeds s
--    "disagree": ["judge_metric", "assertion_metric"],  the judge (>= 0.5) and an
--                                            assertion (1) disagree
--    "share": p}                             a deterministic random share
-- Checked at create_online_rule (22023; 42704 for a queue the tenant does not own).
CREATE FUNCTION llmeval._check_review_option(tenant text, metrics text[], review jsonb) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  bad text;
BEGIN
  IF review IS NULL THEN
    RETURN;
  END IF;
  IF jsonb_typeof(review) <> 'object' OR jsonb_typeof(review -> 'queue') <> 'string' THEN
    RAISE EXCEPTION 'online rule option "review" must be an object naming a queue'
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'For example {"queue": "support-review", "below": {"relevance": 0.5}, "share": 0.01}.';
  END IF;
  SELECT k INTO bad FROM jsonb_each(review) AS r(k, v)
  WHERE k NOT IN ('queue', 'below', 'spread_above', 'disagree', 'share')
     OR (k = 'below' AND (jsonb_typeof(v) <> 'object' OR jsonb_path_exists(v, '$.* ? (@.type() != "number")')
                          OR EXISTS (SELECT 1 FROM jsonb_object_keys(v) m WHERE m <> ALL (metrics))))
     OR (k = 'spread_above' AND jsonb_typeof(v) <> 'number')
     OR (k = 'disagree' AND NOT (jsonb_typeof(v) = 'array' AND jsonb_array_length(v) = 2
                                 AND (v ->> 0) = ANY (metrics) AND (v ->> 1) = ANY (metrics)))
     OR (k = 'share' AND NOT (jsonb_typeof(v) = 'number' AND v::text::numeric BETWEEN 0 AND 1))
  ORDER BY k LIMIT 1;
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION 'online rule option "review": bad "%"', bad
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Keys: queue; below {metric: level} over the rule''s metrics; spread_above (a number); '
                   'disagree [judge metric, assertion metric]; share (0 to 1).';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM llmeval.annotation_queues q WHERE q.tenant = tenant AND q.name = review ->> 'queue') THEN
    RAISE EXCEPTION 'annotation queue "%" does not exist', review ->> 'queue' USING ERRCODE = 'undefined_object';
  END IF;
END $$;

-- Applies each rule's review option to its rows whose scores are all in
-- (the workers' step), each row once.
CREATE FUNCTION llmeval._online_route_reviews() RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  WITH ready AS (
    SELECT i.id, i.row_key, i.task_id, r.tenant, r.seed, r.options -> 'review' AS review, q.id AS queue_id
    FROM llmeval.online_rules r
    JOIN llmeval.online_items i ON i.rule_id = r.id AND i.status = 'ingested' AND NOT i.reviewed
    LEFT JOIN llmeval.annotation_queues q ON q.tenant = r.tenant AND q.name = r.options -> 'review' ->> 'queue'
    WHERE r.options ? 'review'
      AND (SELECT count(*) FROM llmeval.task_scores s WHERE s.task_id = i.task_id) >= cardinality(r.metrics)
    ORDER BY i.id
    LIMIT 5000
    FOR UPDATE OF i SKIP LOCKED
  ), doubtful AS (
    SELECT x.* FROM ready x
    WHERE x.queue_id IS NOT NULL AND (
      EXISTS (SELECT 1 FROM jsonb_each_text(coalesce(x.review -> 'below', '{}')) AS b(metric, level)
              JOIN llmeval.task_scores s ON s.task_id = x.task_id AND s.metric = b.metric
              WHERE s.value < b.level::float8)
      OR EXISTS (SELECT 1 FROM llmeval.task_scores s
                 WHERE s.task_id = x.task_id AND (s.detail ->> 'stddev')::float8 > (x.review ->> 'spread_above')::float8)
      OR (SELECT (j.value >= 0.5) <> (a.value = 1)
          FROM llmeval.task_scores j, llmeval.task_scores a
          WHERE j.task_id = x.task_id AND j.metric = x.review -> 'disagree' ->> 0
            AND a.task_id = x.task_id AND a.metric = x.review -> 'disagree' ->> 1)
      -- (another seed than the sampling's: the share is not the sample's first rows)
      OR llmeval.online_sampled(x.row_key, x.seed # 6148914691236517205, coalesce((x.review ->> 'share')::float8, 0)))
  ), added AS (
    INSERT INTO llmeval.annotation_items (queue_id, tenant, task_id)
    SELECT d.queue_id, d.tenant, d.task_id FROM doubtful d ORDER BY d.id
    ON CONFLICT (queue_id, task_id) DO NOTHING
  )
  UPDATE llmeval.online_items i SET reviewed = true FROM ready x WHERE i.id = x.id;
END $$;
REVOKE ALL ON FUNCTION llmeval._online_route_reviews() FROM PUBLIC;
