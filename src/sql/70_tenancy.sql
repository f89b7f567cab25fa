-- Roles and tenants.
--
-- Two NOLOGIN roles are created when absent (roles are cluster-wide, so they
-- outlive DROP EXTENSION): llmeval_user, granted to tenants, and
-- llmeval_admin, which manages providers, models, secrets and maintenance.
-- Every user-owned row carries its tenant; row-level security shows a tenant
-- only its own rows. The tenant is current_user, except for the roles listed
-- in llmeval.jwt_roles (Supabase's authenticated and anon), whose tenant is
-- the "sub" claim of request.jwt.claims (what auth.uid() returns). Only
-- those roles may assert a tenant through the claims: for any other role the
-- setting is ignored, since any session can set it.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'llmeval_user') THEN
    CREATE ROLE llmeval_user NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'llmeval_admin') THEN
    CREATE ROLE llmeval_admin NOLOGIN;
  END IF;
END $$;
GRANT llmeval_user TO llmeval_admin;

CREATE TABLE llmeval.jwt_roles (
  role_name name PRIMARY KEY
);
COMMENT ON TABLE llmeval.jwt_roles IS
  'roles whose tenant is the sub claim of request.jwt.claims (PostgREST / Supabase API roles)';
INSERT INTO llmeval.jwt_roles VALUES ('authenticated'), ('anon');
GRANT SELECT ON llmeval.jwt_roles TO PUBLIC;
GRANT INSERT, DELETE ON llmeval.jwt_roles TO llmeval_admin;

-- search_path is pinned so that no operator or function of the caller's
-- schemas can change the answer. PL/pgSQL rather than SQL: a SQL function
-- with SET is planned again on every call, and row-level security calls
-- this once per statement.
CREATE FUNCTION llmeval.current_tenant() RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM llmeval.jwt_roles j WHERE j.role_name = current_user) THEN
    RETURN nullif(nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub', '');
  END IF;
  RETURN current_user::text;
END $$;
COMMENT ON FUNCTION llmeval.current_tenant() IS
  'the tenant of the current user: the role name, or the JWT sub claim for JWT roles (NULL if none)';

-- Whether the current user may administer pg_llmeval.
CREATE FUNCTION llmeval._is_admin() RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT pg_has_role(current_user, 'llmeval_admin', 'USAGE')
      OR (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
$$;

CREATE FUNCTION llmeval._require_admin(what text) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF NOT llmeval._is_admin() THEN
    RAISE EXCEPTION 'permission denied to %', what
      USING ERRCODE = 'insufficient_privilege',
            HINT = 'Only members of llmeval_admin may do this.';
  END IF;
END $$;

-- The scope of a tenant's cached responses and embeddings: the tenant
-- itself, or '' (one cache for all) when a superuser turned
-- llmeval.share_caches on. A shared cache saves calls, but a cost of 0 and no
-- latency tell a tenant that another tenant sent the identical request.
CREATE FUNCTION llmeval._cache_scope(tenant text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT CASE WHEN coalesce(current_setting('llmeval.share_caches', true), 'off')::boolean
                  THEN '' ELSE tenant END $$;
