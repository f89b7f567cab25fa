#!/usr/bin/env bash
# Dataset import and export, and job submission, at 100,000 rows: the
# workload's pairs as a CSV (candidate as input field "question", reference
# as "expected"), timed inside psql (median of RUNS). Needs PGHOST/PGPORT.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-3}
db=llmeval_data_bench

psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" <<'SQL'
CREATE EXTENSION pg_llmeval;
CREATE TABLE workload (id serial PRIMARY KEY, candidate text NOT NULL, reference text NOT NULL);
SQL
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "\\copy workload(candidate, reference) FROM PROGRAM 'gzip -dc test/data/workload_100k.tsv.gz' WITH (FORMAT csv, DELIMITER E'\\t', QUOTE E'\\x01')"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" <<'SQL'
-- The CSV text, built once with the extension's own writer.
CREATE TABLE csv_file AS
SELECT llmeval._dataset_to_csv(jsonb_agg(jsonb_build_object('input', jsonb_build_object('question', candidate),
                                                             'expected', reference) ORDER BY id)) AS body
FROM workload;
SELECT llmeval.create_provider('bench', 'openai', 'http://127.0.0.1:9/v1');
SELECT llmeval.create_model('bench/m');
SELECT llmeval.create_prompt('p', 'Q: {{question}}');
SQL
rows=$(psql -X -At -d "$db" -c "SELECT count(*) FROM workload")
mb=$(psql -X -At -d "$db" -c "SELECT round(octet_length(body) / 1e6, 1) FROM csv_file")

time_query() {
  for _ in $(seq "$RUNS"); do
    psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c '\timing on' -c "$1" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'
  done | sort -g | sed -n "$(( (RUNS + 1) / 2 ))p" | awk '{ printf "%.3f", $1 / 1000 }'
}

printf '\nDatasets of %s rows (CSV %s MB), median of %s runs\n\n' "$rows" "$mb" "$RUNS"
printf '%-36s %9s %12s\n' operation seconds rows/s
printf '%-36s %9s %12s\n' ------------------------------------ --------- ------------
report() {
  local secs
  secs=$(time_query "$2")
  printf '%-36s %9.3f %12.0f\n' "$1" "$secs" "$(echo "$rows / $secs" | bc -l)"
}
report "import_dataset_csv" "SELECT llmeval.import_dataset_csv('w', body) FROM csv_file"
report "export_dataset csv" "SELECT octet_length(llmeval.export_dataset('w', 'csv'))"
report "export_dataset json" "SELECT octet_length(llmeval.export_dataset('w', 'json'))"
report "import_dataset (json)" "SELECT llmeval.import_dataset('wj', llmeval.export_dataset('w', 'json')::jsonb)"
report "submit_job (1 task per row)" "SELECT llmeval.submit_job('p', 'w', ARRAY['bench/m'], ARRAY['bleu'])"
# each run cancels a different one of the jobs submitted above
report "cancel_job (100k tasks)" "SELECT llmeval.cancel_job(max(id)) FROM llmeval.jobs WHERE status = 'queued'"
