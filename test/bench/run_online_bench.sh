#!/usr/bin/env bash
# The cost of an online rule to the application's inserts: rows per second
# inserted into a source table without a rule and with a trigger-mode rule at
# sampling rate 0.1, in statements of 1 row and of 1,000 rows (pgbench, one
# client, autocommit). The goal (issue 16) is at least 90 % of the throughput
# without a rule. Runs alternate (without, with, without, with, ...) so that
# drift of a shared machine hits both sides; the median of RUNS runs of
# SECONDS seconds each is reported. What the workers do later with the
# sampled rows is not the insert's cost and is not measured here: run it on
# a cluster without workers (LLMEVAL_PRELOAD= test/harness/with_cluster.sh).
# Needs PGHOST/PGPORT (see test/harness/with_cluster.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-9}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-2}
db=llmeval_online_bench
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" <<'SQL'
CREATE EXTENSION pg_llmeval;
-- the same table twice: one with a rule, one without
CREATE TABLE plain_log (id bigserial PRIMARY KEY, question text, answer text, reference text,
                        created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE ruled_log (LIKE plain_log INCLUDING ALL);
CREATE SEQUENCE ruled_log_id_seq OWNED BY ruled_log.id;
ALTER TABLE ruled_log ALTER COLUMN id SET DEFAULT nextval('ruled_log_id_seq');
SELECT llmeval.create_online_rule('bench', 'ruled_log',
  '{"output": "answer", "question": "question", "expected": "reference"}',
  ARRAY['token_f1'], '{"sampling_rate": 0.1}');
SQL

for table in plain_log ruled_log; do
  printf "INSERT INTO %s (question, answer, reference) VALUES ('How do I reset my password?', 'Open the settings page and choose reset.', 'Use the reset link in settings.');\n" \
    "$table" > "$work/${table}_1.sql"
  printf "INSERT INTO %s (question, answer, reference) SELECT 'How do I reset my password? ' || g, 'Open the settings page and choose reset.', 'Use the reset link in settings.' FROM generate_series(1, 1000) g;\n" \
    "$table" > "$work/${table}_1000.sql"
done

# rows per second of one pgbench run
rows_per_second() {  # TABLE BATCH
  pgbench -n -c 1 -T "$SECONDS_PER_RUN" -f "$work/$1_$2.sql" "$db" 2>/dev/null |
    sed -n 's/^tps = \([0-9.]*\) .*/\1/p' | awk -v b="$2" '{ printf "%.0f", $1 * b }'
}
median() { sort -g | sed -n "$(( (RUNS + 1) / 2 ))p"; }

printf '\nInserts into a source table, without and with an online rule (rate 0.1)\n'
printf 'median of %s runs of %s s, one client, autocommit\n\n' "$RUNS" "$SECONDS_PER_RUN"
printf '%-12s %16s %16s %8s %8s %12s\n' "rows/stmt" "no rule rows/s" "rule rows/s" "ratio" "pairs" "pair range"
for batch in 1 1000; do
  : > "$work/plain" ; : > "$work/ruled" ; : > "$work/ratios"
  for _ in $(seq "$RUNS"); do
    a=$(rows_per_second plain_log "$batch")
    b=$(rows_per_second ruled_log "$batch")
    echo "$a" >> "$work/plain"
    echo "$b" >> "$work/ruled"
    awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f\n", b / a }' >> "$work/ratios"
  done
  plain=$(median < "$work/plain")
  ruled=$(median < "$work/ruled")
  # Also the ratio within each pair of adjacent runs, and their median: load
  # that comes and goes over the measurement hits both runs of a pair alike.
  printf '%-12s %16s %16s %8s %8s %12s\n' "$batch" "$plain" "$ruled" \
    "$(awk -v a="$ruled" -v b="$plain" 'BEGIN { printf "%.3f", a / b }')" "$(median < "$work/ratios")" \
    "$(sort -g "$work/ratios" | sed -n '1p;$p' | paste -sd-)"
done
printf '\nratio: of the two medians; pairs: the median of the ratios within pairs of adjacent runs\n'
sampled=$(psql -X -At -d "$db" -c "SELECT (SELECT count(*) FROM llmeval.online_pending) + (SELECT count(*) FROM llmeval.online_items)")
inserted=$(psql -X -At -d "$db" -c "SELECT count(*) FROM ruled_log")
printf '\nrows sampled by the rule (queued): %s of %s (%.3f)\n' "$sampled" "$inserted" "$(awk -v s="$sampled" -v n="$inserted" 'BEGIN { print s / n }')"
