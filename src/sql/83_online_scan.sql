-- Rules that read their source themselves: mode poll (for tables whose
-- owners will not have a trigger) and backfill_from (rows written before
-- the rule). The workers walk the table in (timestamp, key) order from a
-- watermark, as the rule's owner, and add the keys llmeval.online_sampled
-- picks to the rule's items, in committed batches: the watermark moves in
-- the transaction that adds the keys, so a crash loses and repeats nothing
-- (and a key added twice is one item anyway).
--
-- Poll mode reads up to ten seconds before now: a row must be committed by
-- then with its timestamp, or it is passed over (a timestamp set at insert,
-- DEFAULT now(), in a short transaction).

CREATE FUNCTION llmeval._online_poll_lag() RETURNS interval
LANGUAGE sql IMMUTABLE AS $$ SELECT interval '10 seconds' $$;

-- The scan query: $1 is text[] {after_ts, after_key, before_ts, seed, rate};
-- it returns the next sampled keys (at most 1,000) after the watermark and
-- before before_ts, as a jsonb array of {key, ts} in (timestamp, key) order.
CREATE FUNCTION llmeval._online_scan_sql(source oid, columns jsonb) RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  RETURN format(
    'SELECT coalesce(jsonb_agg(jsonb_build_object(''key'', x.k, ''ts'', x.ts) ORDER BY x.ts, x.kv), ''[]'') '
    'FROM (SELECT s.%1$I::text AS k, s.%1$I AS kv, s.%2$I::timestamptz AS ts FROM %3$s AS s '
    'WHERE s.%2$I::timestamptz < $1[3]::timestamptz '
    'AND (s.%2$I::timestamptz > $1[1]::timestamptz '
    '     OR (s.%2$I::timestamptz = $1[1]::timestamptz AND s.%1$I > $1[2]::%4$s)) '
    'AND llmeval.online_sampled(s.%1$I::text, $1[4]::bigint, $1[5]::float8) '
    'ORDER BY s.%2$I::timestamptz, s.%1$I LIMIT 1000) x',
    columns ->> 'key', columns ->> 'timestamp', source::regclass, llmeval._online_key_type(source, columns));
END $$;

-- One batch of one rule's scan: the keys added to its items and the
-- watermark moved past them (or to the end of the window when the batch
-- was not full). Returns the number of keys found.
CREATE FUNCTION llmeval._online_scan(rule llmeval.online_rules) RETURNS int
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  window_end timestamptz := coalesce(rule.scan_until, now() - llmeval._online_poll_lag());
  found_keys jsonb;
  n int;
BEGIN
  IF rule.scan_ts >= window_end THEN
    RETURN 0;
  END IF;
  found_keys := llmeval._query_as(rule.run_as, llmeval._online_jwt_sub(rule),
                                  llmeval._online_scan_sql(rule.source, rule.columns),
                                  ARRAY[rule.scan_ts::text, rule.scan_key, window_end::text,
                                        rule.seed::text, rule.sampling_rate::text],
                                  llmeval._tenant_code_timeout_ms());
  n := jsonb_array_length(found_keys);
  INSERT INTO llmeval.online_items (rule_id, tenant, row_key)
  SELECT rule.id, rule.tenant, k.value ->> 'key'
  FROM jsonb_array_elements(found_keys) WITH ORDINALITY AS k(value, ord)
  ORDER BY k.ord
  ON CONFLICT (rule_id, row_key) DO NOTHING;
  IF n = 1000 THEN
    UPDATE llmeval.online_rules r
    SET scan_ts = (found_keys -> -1 ->> 'ts')::timestamptz, scan_key = found_keys -> -1 ->> 'key'
    WHERE r.id = rule.id;
  ELSE
    -- the window is read to its end
    UPDATE llmeval.online_rules r SET scan_ts = window_end, scan_key = NULL WHERE r.id = rule.id;
  END IF;
  RETURN n;
END $$;

-- Every active rule's scan, one batch each; a rule whose scan fails keeps
-- its watermark, records the error and is tried again 30 seconds later.
CREATE FUNCTION llmeval._online_scan_all() RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  rule llmeval.online_rules;
BEGIN
  FOR rule IN
    SELECT r.* FROM llmeval.online_rules r
    WHERE r.status IN ('active', 'deferred') AND r.scan_ts IS NOT NULL
      AND r.scan_ts < coalesce(r.scan_until, 'infinity')
      AND (r.retry_after IS NULL OR r.retry_after <= now())
    ORDER BY r.id
    FOR UPDATE SKIP LOCKED
  LOOP
    BEGIN
      PERFORM llmeval._online_scan(rule);
    EXCEPTION WHEN OTHERS THEN
      UPDATE llmeval.online_rules r SET last_error = SQLERRM, retry_after = now() + interval '30 seconds'
      WHERE r.id = rule.id;
      INSERT INTO llmeval.events (tenant, job_id, kind, detail)
      VALUES (rule.tenant, rule.job_id, 'online_rule_error',
              jsonb_build_object('rule', rule.name, 'rule_id', rule.id, 'error', SQLERRM, 'sqlstate', SQLSTATE));
    END;
  END LOOP;
END $$;
REVOKE ALL ON FUNCTION llmeval._online_scan(llmeval.online_rules) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._online_scan_all() FROM PUBLIC;
