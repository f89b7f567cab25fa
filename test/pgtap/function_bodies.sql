-- Extension scripts run with check_function_bodies off, so a syntax error in
-- a SQL or PL/pgSQL function would surface only when the function is first
-- called (in a worker, at the worst). Recreate each of the extension's
-- functions with the check on: every body must parse and, for SQL
-- functions, plan against the schema.
BEGIN;
SELECT plan(1);
SET LOCAL check_function_bodies = on;
CREATE TEMP TABLE body_errors (fn text, error text);
DO $$
DECLARE
  f record;
BEGIN
  FOR f IN
    SELECT p.oid, p.oid::regprocedure::text AS name
    FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass
    JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'pg_llmeval'
    JOIN pg_language l ON l.oid = p.prolang
    WHERE l.lanname IN ('sql', 'plpgsql') AND p.prokind IN ('f', 'p')
  LOOP
    BEGIN
      EXECUTE pg_get_functiondef(f.oid);
    EXCEPTION WHEN OTHERS THEN
      INSERT INTO body_errors VALUES (f.name, SQLERRM);
    END;
  END LOOP;
END $$;
SELECT is((SELECT string_agg(fn || ': ' || error, E'\n') FROM body_errors), NULL,
          'every SQL and PL/pgSQL function of the extension parses and plans');
ROLLBACK;
