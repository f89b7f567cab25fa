#!/usr/bin/env bash
# Runs the pg_regress suite (sql/, expected/) and the pgTAP suites
# (test/pgtap/*.sql, through pg_prove) and the integration scripts
# (test/integration/*.sh) against the cluster in PGHOST/PGPORT.
# The reference cases of test/data/metrics_public.jsonl are loaded into the
# pgTAP database as table refcases for test/pgtap/refdata_*.sql, and the rows
# of the corpus cases as view refcase_rows (see below).
set -euo pipefail
cd "$(dirname "$0")/../.."

status=0
echo "== pg_regress =="
make -s installcheck || { status=1; cat regression.diffs 2>/dev/null | head -200; }

echo "== pgTAP =="
db=llmeval_tap
psql -q -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
psql -q -v ON_ERROR_STOP=1 -d "$db" <<'SQL'
CREATE EXTENSION pgtap;
CREATE EXTENSION pg_llmeval;
CREATE TABLE refcases_raw (line text);
SQL
# Lines are read verbatim: CSV with quote and delimiter bytes that never occur.
psql -q -v ON_ERROR_STOP=1 -d "$db" \
  -c "\\copy refcases_raw FROM 'test/data/metrics_public.jsonl' WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')"
psql -q -v ON_ERROR_STOP=1 -d "$db" <<'SQL'
CREATE TABLE refcases AS
  SELECT (line::jsonb ->> 'id')::int AS id, line::jsonb ->> 'metric' AS metric, line::jsonb AS doc
  FROM refcases_raw;
DROP TABLE refcases_raw;
-- A corpus case holds `candidates` and `references[k][i]`, the k-th reference
-- stream as sacrebleu takes it: row i is candidates[i] with references
-- [references[0][i], references[1][i], ...] ("" where a stream has none).
CREATE VIEW refcase_rows AS
SELECT c.id, x.i AS row_number, x.candidate,
       ARRAY(SELECT s.stream ->> (x.i - 1)::int
             FROM jsonb_array_elements(c.doc -> 'references') WITH ORDINALITY AS s(stream, k)
             ORDER BY s.k) AS refs
FROM refcases c,
     jsonb_array_elements_text(c.doc -> 'candidates') WITH ORDINALITY AS x(candidate, i)
WHERE c.metric LIKE 'corpus\_%';
GRANT SELECT ON refcases, refcase_rows TO PUBLIC;
SQL
pg_prove -d "$db" --failures --timer test/pgtap/*.sql || status=1

echo "== integration =="
for t in test/integration/*.sh; do
  [ -x "$t" ] || continue
  echo "-- $t"
  "$t" || status=1
done
exit $status
