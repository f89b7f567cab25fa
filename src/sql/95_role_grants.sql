-- Tenant access for roles that do not inherit: Supabase's API roles.
--
-- Supabase creates anon, authenticated, service_role and authenticator
-- NOINHERIT. A role that does not inherit uses none of the privileges of the
-- roles it is a member of, so GRANT llmeval_user TO authenticated leaves a
-- signed-in user with "permission denied for table datasets" (PostgreSQL 16
-- could grant the membership WITH INHERIT TRUE; 15 cannot). Instead,
-- grant_tenant_access grants such a role directly what llmeval_user holds
-- on the extension's objects, read from the catalog when it runs, so it
-- follows llmeval_user's grants as they change; it is run here, after every
-- other file's grants, for a NOINHERIT authenticated.

-- The privileges a role holds itself (not through PUBLIC or membership) on
-- the extension's objects, one row per object: its kind and name as GRANT
-- takes them, and its privileges, column privileges as "UPDATE (name)".
CREATE FUNCTION llmeval._direct_privileges(grantee regrole)
RETURNS TABLE (target text, privileges text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
  WITH members AS (
    SELECT d.classid, d.objid
    FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
    WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e' AND e.extname = 'pg_llmeval'
  ), held (target, privilege) AS (
    SELECT 'SCHEMA ' || quote_ident(n.nspname), a.privilege_type
    FROM members m JOIN pg_namespace n ON m.classid = 'pg_namespace'::regclass AND n.oid = m.objid
    CROSS JOIN LATERAL aclexplode(n.nspacl) a
    WHERE a.grantee = $1
    UNION ALL
    SELECT CASE c.relkind WHEN 'S' THEN 'SEQUENCE ' ELSE 'TABLE ' END || c.oid::regclass::text,
           a.privilege_type
    FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
    CROSS JOIN LATERAL aclexplode(c.relacl) a
    WHERE a.grantee = $1
    UNION ALL
    SELECT 'TABLE ' || c.oid::regclass::text, a.privilege_type || ' (' || quote_ident(at.attname) || ')'
    FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
    JOIN pg_attribute at ON at.attrelid = c.oid AND at.attnum > 0 AND NOT at.attisdropped
    CROSS JOIN LATERAL aclexplode(at.attacl) a
    WHERE a.grantee = $1
    UNION ALL
    SELECT 'ROUTINE ' || p.oid::regprocedure::text, a.privilege_type
    FROM members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
    CROSS JOIN LATERAL aclexplode(p.proacl) a
    WHERE a.grantee = $1
    UNION ALL
    SELECT 'TYPE ' || t.oid::regtype::text, a.privilege_type
    FROM members m JOIN pg_type t ON m.classid = 'pg_type'::regclass AND t.oid = m.objid
    CROSS JOIN LATERAL aclexplode(t.typacl) a
    WHERE a.grantee = $1
  )
  SELECT target, string_agg(privilege, ', ' ORDER BY privilege) FROM held GROUP BY target
$$;

-- Runs as the extension's owner, who may grant on its objects. Granting
-- first revokes what the role holds itself, so that a role granted before
-- llmeval_user's grants narrowed (an upgrade) ends with exactly them.
CREATE FUNCTION llmeval._set_tenant_access(role regrole, allow boolean)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  role_name name;
  is_super boolean;
  r record;
BEGIN
  SELECT rolname, rolsuper INTO role_name, is_super FROM pg_roles WHERE oid = role;
  IF role_name IS NULL THEN
    RAISE EXCEPTION 'role must not be NULL' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  -- Their privileges are the extension's design, not a tenant's (revoking
  -- would strip a superuser owner's own); a predefined role would pass them
  -- to every member.
  IF role_name IN ('llmeval_user', 'llmeval_admin') OR role_name LIKE 'pg\_%' OR is_super
     OR role = (SELECT extowner FROM pg_extension WHERE extname = 'pg_llmeval') THEN
    RAISE EXCEPTION 'cannot change the tenant access of role "%"', role_name
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Grant tenant access to the roles your users log in or switch to, such as authenticated.';
  END IF;
  FOR r IN SELECT * FROM llmeval._direct_privileges(role) LOOP
    EXECUTE format('REVOKE %s ON %s FROM %s', r.privileges, r.target, role);
  END LOOP;
  IF allow THEN
    FOR r IN SELECT * FROM llmeval._direct_privileges('llmeval_user') LOOP
      EXECUTE format('GRANT %s ON %s TO %s', r.privileges, r.target, role);
    END LOOP;
  END IF;
END $$;
REVOKE ALL ON FUNCTION llmeval._direct_privileges(regrole) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._set_tenant_access(regrole, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION llmeval._set_tenant_access(regrole, boolean) TO llmeval_admin;

CREATE FUNCTION llmeval.grant_tenant_access(role regrole)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM llmeval._require_admin('grant tenant access');
  PERFORM llmeval._set_tenant_access(role, true);
END $$;
COMMENT ON FUNCTION llmeval.grant_tenant_access(regrole) IS
  'grants a role directly every privilege llmeval_user holds on the extension, for roles that '
  'do not inherit, such as Supabase''s authenticated (administrators only; run again after '
  'ALTER EXTENSION UPDATE)';

CREATE FUNCTION llmeval.revoke_tenant_access(role regrole)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM llmeval._require_admin('revoke tenant access');
  PERFORM llmeval._set_tenant_access(role, false);
END $$;
COMMENT ON FUNCTION llmeval.revoke_tenant_access(regrole) IS
  'revokes every privilege a role holds itself on the extension''s objects (administrators only)';

REVOKE ALL ON FUNCTION llmeval.grant_tenant_access(regrole) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval.revoke_tenant_access(regrole) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION llmeval.grant_tenant_access(regrole) TO llmeval_admin;
GRANT EXECUTE ON FUNCTION llmeval.revoke_tenant_access(regrole) TO llmeval_admin;

-- Supabase (or any cluster where authenticated does not inherit): its users
-- are tenants from the start. A role created later needs
-- SELECT llmeval.grant_tenant_access('authenticated').
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'authenticated' AND NOT rolinherit) THEN
    PERFORM llmeval._set_tenant_access('authenticated', true);
  END IF;
END $$;
