#!/usr/bin/env bash
# Throughput of the lexical metrics through SQL on the 100k-pair workload
# (test/data/workload_100k.tsv.gz, the shared benchmark workload): one core
# (parallel workers off), each metric as SELECT count(f(candidate, reference))
# FROM workload, beside the empty-function baseline (a C function of the same
# two columns that returns at once: Postgres's own per-row cost) and the
# ratio to the reference tools' single-process figures (test/data/README.md:
# sacrebleu 2.6.0, rouge-score 0.1.2, measured on the same kind of 2-core
# machine). Then the same with 2 parallel workers. Each query runs RUNS times;
# the median is reported. Needs PGHOST/PGPORT (see test/harness/with_cluster.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-3}
db=llmeval_bench

# The baseline function: a shared library of its own, built here, owned by the
# cluster's user so the server can load it.
libdir=$(mktemp -d /tmp/llmeval_bench_lib.XXXXXX)
trap 'rm -rf "$libdir"' EXIT
cc -O2 -fPIC -shared -I"$(pg_config --includedir-server)" -o "$libdir/empty_function.so" \
  test/bench/empty_function.c
chmod 755 "$libdir" "$libdir/empty_function.so"

psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" <<SQL
CREATE EXTENSION pg_llmeval;
CREATE FUNCTION empty_function(text, text) RETURNS float8
  AS '$libdir/empty_function.so', 'bench_empty_function' LANGUAGE C IMMUTABLE PARALLEL SAFE;
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

baseline_secs=
header() {
  printf '\n%s on %s pairs (median of %s runs)\n\n' "$1" "$rows" "$RUNS"
  printf '%-26s %9s %12s %12s %12s %14s %8s\n' metric seconds pairs/s "baseline/s" "net pairs/s" "reference/s" ratio
  printf '%-26s %9s %12s %12s %12s %14s %8s\n' -------------------------- --------- ------------ \
    ------------ ------------ -------------- --------
}

# run NAME REFERENCE_PAIRS_PER_S QUERY: pairs/s, the baseline's pairs/s, the
# pairs/s left once the baseline's time is taken out, and pairs/s divided by
# the reference tool's figure.
run() {
  local name=$1 reference=$2 query=$3 settings=$4
  local secs pairs net ratio baseline_rate
  # An older build (for a before/after comparison) may lack a function.
  if ! psql -X -q -d "$db" -c "EXPLAIN $query" >/dev/null 2>&1; then
    printf '%-26s %9s\n' "$name" "(not in this build)"
    return
  fi
  secs=$(time_query "$settings" "$query")
  pairs=$(echo "$rows / $secs" | bc -l)
  if [ -z "$baseline_secs" ]; then baseline_secs=$secs; fi
  baseline_rate=$(echo "$rows / $baseline_secs" | bc -l)
  if [ "$(echo "$secs > $baseline_secs" | bc -l)" = 1 ]; then
    net=$(printf '%.0f' "$(echo "$rows / ($secs - $baseline_secs)" | bc -l)")
  else
    net=-
  fi
  if [ "$reference" != - ]; then
    ratio=$(printf '%.1fx' "$(echo "$pairs / $reference" | bc -l)")
  else
    ratio=-
  fi
  printf '%-26s %9.3f %12.0f %12.0f %12s %14s %8s\n' "$name" "$secs" "$pairs" "$baseline_rate" "$net" \
    "$reference" "$ratio"
}

# The metrics, each with the reference tool's figure (test/data/README.md) or -.
metrics() {
  local settings=$1
  baseline_secs=
  run "empty function (baseline)" - "SELECT count(empty_function(candidate, reference)) FROM workload" "$settings"
  run "bleu (13a)" 7649 "SELECT count(llmeval.bleu(candidate, reference)) FROM workload" "$settings"
  run "corpus_bleu" 7161 "SELECT llmeval.corpus_bleu(candidate, reference) FROM workload" "$settings"
  run "chrf" 4859 "SELECT count(llmeval.chrf(candidate, reference)) FROM workload" "$settings"
  run "corpus_chrf" - "SELECT llmeval.corpus_chrf(candidate, reference) FROM workload" "$settings"
  run "ter" 1239 "SELECT count(llmeval.ter(candidate, reference)) FROM workload" "$settings"
  run "rouge rougeL" 9054 "SELECT count(llmeval.rouge(candidate, reference, 'rougeL')) FROM workload" "$settings"
  # rouge-score's figure is one RougeScorer(['rouge1','rouge2']).score call per pair
  run "rouge1+2 rouge_scores" 17559 "SELECT count(llmeval.rouge_scores(candidate, reference, ARRAY['rouge1', 'rouge2'])) FROM workload" "$settings"
  run "rouge1+2 rows (LATERAL)" 17559 "SELECT count(s.fmeasure) FROM workload, LATERAL llmeval.rouge(candidate, reference, variants => ARRAY['rouge1', 'rouge2']) s" "$settings"
  run "rouge1 + rouge2 (two calls)" 17559 "SELECT count(llmeval.rouge(candidate, reference, 'rouge1')) + count(llmeval.rouge(candidate, reference, 'rouge2')) FROM workload" "$settings"
  run "token_f1" - "SELECT count(llmeval.token_f1(candidate, reference)) FROM workload" "$settings"
  run "levenshtein_ratio" - "SELECT count(llmeval.levenshtein_ratio(candidate, reference)) FROM workload" "$settings"
}

header "SQL throughput, one core (max_parallel_workers_per_gather = 0)"
metrics "$serial"
header "SQL throughput, 2 parallel workers (plan: $(plan_workers "SELECT count(llmeval.bleu(candidate, reference)) FROM workload") workers)"
metrics "$parallel"
echo
echo "baseline/s: the empty C function over the same rows (Postgres's per-row cost);"
echo "net pairs/s: rows / (seconds - baseline seconds), the metric's own cost;"
echo "reference/s: single-process Python figures from test/data/README.md; ratio = pairs/s / reference/s"
