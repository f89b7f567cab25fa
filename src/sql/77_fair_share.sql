-- Fair shares between tenants: how the workers divide the calls in flight
-- between the tenants that have work waiting (llmeval._claim_tasks). Every
-- tenant's share is 1 unless an administrator sets another: a tenant with
-- share 2 gets twice the calls in flight of one with share 1 while both
-- have work; a tenant alone gets everything whatever its share.

CREATE TABLE llmeval.tenant_shares (
  tenant     text PRIMARY KEY,
  share      float8 NOT NULL CHECK (share >= 0.001 AND share <= 1000),
  updated_by name NOT NULL DEFAULT current_user,
  updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE llmeval.tenant_shares IS
  'each tenant''s share of the calls in flight when several have work (1 when not listed); set by administrators';
GRANT SELECT, INSERT, UPDATE, DELETE ON llmeval.tenant_shares TO llmeval_admin;
-- Administrators' rows, all of them; tenants have no grant at all (a share
-- names other tenants). (Row-level security on, as on every table with a
-- tenant column.)
ALTER TABLE llmeval.tenant_shares ENABLE ROW LEVEL SECURITY;
CREATE POLICY admin_all ON llmeval.tenant_shares FOR ALL TO llmeval_admin USING (true) WITH CHECK (true);

-- Sets a tenant's share (NULL: back to 1). Administrators only; the row
-- says who set it and when.
CREATE FUNCTION llmeval.set_tenant_share(tenant text, share float8)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
BEGIN
  PERFORM llmeval._require_admin('set tenant shares');
  IF tenant IS NULL THEN
    RAISE EXCEPTION 'tenant must not be NULL' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF share IS NOT NULL AND NOT (share >= 0.001 AND share <= 1000) THEN
    RAISE EXCEPTION 'a tenant''s share must be a number from 0.001 to 1000, not %', share
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Shares are relative: 2 is twice the calls in flight of a tenant with the default 1.';
  END IF;
  IF share IS NULL THEN
    DELETE FROM llmeval.tenant_shares s WHERE s.tenant = tenant;
  ELSE
    INSERT INTO llmeval.tenant_shares AS s (tenant, share) VALUES (tenant, share)
    ON CONFLICT ON CONSTRAINT tenant_shares_pkey
    DO UPDATE SET share = excluded.share, updated_by = current_user, updated_at = now();
  END IF;
END $$;
COMMENT ON FUNCTION llmeval.set_tenant_share(text, float8) IS
  'sets a tenant''s share of the calls in flight (NULL: the default 1); administrators only';
REVOKE ALL ON FUNCTION llmeval.set_tenant_share(text, float8) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION llmeval.set_tenant_share(text, float8) TO llmeval_admin;
