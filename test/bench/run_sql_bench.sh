#!/usr/bin/env bash
# Throughput of the lexical metrics through SQL on the 100k-pair workload
# (test/data/workload_100k.tsv.gz), single-threaded and with 2 parallel
# workers, and the ratio to the reference tools' single-process figures from
# test/data/README.md (sacrebleu 2.6.0, rouge-score; measured on the same kind
# of 2-core machine). Each query runs RUNS times; the median is reported.
# Needs PGHOST/PGPORT (see test/harness/with_cluster.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-3}
db=llmeval_bench

psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" <<'SQL'
CREATE EXTENSION pg_llmeval;
CREATE TABLE workload (id serial PRIMARY KEY, candidate text NOT NULL, reference text NOT NULL);
SQL
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "\\copy workload(candidate, reference) FROM PROGRAM 'gzip -dc test/data/workload_100k.tsv.gz' WITH (FORMAT csv, DELIMITER E'\\t', QUOTE E'\\x01')"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "VACUUM ANALYZE workload" -c "ALTER TABLE workload SET (parallel_workers = 2)"
rows=$(psql -X -At -d "$db" -c "SELECT count(*) FROM workload")

serial="SET max_parallel_workers_per_gather = 0;"
parallel="SET max_parallel_workers_per_gather = 2; SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;"

# Median execution time (psql's \timing, so no client start-up) of RUNS
# executions of a query, in seconds.
time_query() {
  local settings=$1 query=$2
  for _ in $(seq "$RUNS"); do
    psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "$settings" -c '\timing on' -c "$query" |
      sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'
  done | sort -g | sed -n "$(( (RUNS + 1) / 2 ))p" | awk '{ printf "%.6f", $1 / 1000 }'
}

# Checks that the parallel setting really gives a parallel plan.
plan_workers() {
  psql -X -At -d "$db" -c "$parallel" -c "EXPLAIN $1" | grep -oE "Workers Planned: [0-9]+" | grep -oE "[0-9]+" || echo 0
}

printf '\nSQL throughput on %s pairs (median of %s runs)\n\n' "$rows" "$RUNS"
printf '%-22s %-9s %9s %12s %14s %8s\n' metric mode seconds pairs/s "reference/s" ratio
printf '%-22s %-9s %9s %12s %14s %8s\n' ---------------------- --------- --------- ------------ -------------- --------

run() {
  local name=$1 reference=$2 query=$3
  for mode in serial parallel; do
    local settings=$serial
    [ "$mode" = parallel ] && settings=$parallel
    local secs pairs ratio label=$mode
    secs=$(time_query "$settings" "$query")
    pairs=$(echo "$rows / $secs" | bc -l)
    if [ "$mode" = parallel ]; then label="parallel$(plan_workers "$query")"; fi
    if [ "$reference" != - ]; then
      ratio=$(printf '%.1fx' "$(echo "$pairs / $reference" | bc -l)")
    else
      ratio=-
    fi
    printf '%-22s %-9s %9.3f %12.0f %14s %8s\n' "$name" "$label" "$secs" "$pairs" "$reference" "$ratio"
  done
}

# reference figures: test/data/README.md
run "scan only (baseline)" - "SELECT sum(octet_length(candidate) + octet_length(reference)) FROM workload"
run "bleu" 6203 "SELECT sum(llmeval.bleu(candidate, reference)) FROM workload"
run "corpus_bleu" 5301 "SELECT llmeval.corpus_bleu(candidate, reference) FROM workload"
run "chrf" 3178 "SELECT sum(llmeval.chrf(candidate, reference)) FROM workload"
run "corpus_chrf" - "SELECT llmeval.corpus_chrf(candidate, reference) FROM workload"
run "rouge rougeL" 5175 "SELECT sum((llmeval.rouge(candidate, reference, 'rougeL')).fmeasure) FROM workload"
# rouge-score's figure is for one RougeScorer(['rouge1','rouge2']).score call per pair
run "rouge rouge1+rouge2" 13427 "SELECT sum((llmeval.rouge(candidate, reference, 'rouge1')).fmeasure + (llmeval.rouge(candidate, reference, 'rouge2')).fmeasure) FROM workload"
run "ter" - "SELECT sum(llmeval.ter(candidate, reference)) FROM workload"
run "token_f1" - "SELECT sum(llmeval.token_f1(candidate, reference)) FROM workload"
run "levenshtein_ratio" - "SELECT sum(llmeval.levenshtein_ratio(candidate, reference)) FROM workload"
echo
echo "reference/s: single-process Python figures from test/data/README.md; ratio = pairs/s / reference/s"
