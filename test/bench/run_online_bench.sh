#!/usr/bin/env bash
# The cost of an online rule to the application's inserts (issue 16's goal:
# at least 90 % of the throughput without a rule, at sampling rate 0.1, in
# statements of 1 row and of 1,000 rows).
#
# Two measurements:
# 1. Throughput, as an application sees it: pgbench, one client, autocommit,
#    into three identical tables: `ruled_log` with a trigger-mode rule and two
#    without (`plain_log`, `control_log`). Each round runs the three in a
#    rotated order, so that drift of a shared machine and the order of runs
#    hit all three alike. The control is an A/A comparison: its ratio to
#    plain_log is what noise alone gives, and is printed beside the rule's.
# 2. The rule's own cost per statement, inside one backend (a loop of single
#    INSERT statements in PL/pgSQL, no commit and no network, which dominate
#    and blur measurement 1 at one row per statement): microseconds per
#    statement with and without the rule, alternated.
#
# What the workers do later with the sampled rows is not the insert's cost and
# is not measured here: run it on a cluster without workers
# (LLMEVAL_PRELOAD= test/harness/with_cluster.sh). Needs PGHOST/PGPORT.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-9}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-2}
LOOP_STATEMENTS=${LOOP_STATEMENTS:-20000}
db=llmeval_online_bench
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tables=(plain_log ruled_log control_log)

psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" <<'SQL'
CREATE EXTENSION pg_llmeval;
-- the same table three times: one with a rule, two without
CREATE TABLE plain_log (id bigserial PRIMARY KEY, question text, answer text, reference text,
                        created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE ruled_log (id bigserial PRIMARY KEY, question text, answer text, reference text,
                        created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE control_log (id bigserial PRIMARY KEY, question text, answer text, reference text,
                          created_at timestamptz NOT NULL DEFAULT now());
SELECT llmeval.create_online_rule('bench', 'ruled_log',
  '{"output": "answer", "question": "question", "expected": "reference"}',
  ARRAY['token_f1'], '{"sampling_rate": 0.1}');
CREATE FUNCTION insert_loop(target regclass, n int) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
  started timestamptz := clock_timestamp();
BEGIN
  FOR i IN 1..n LOOP
    EXECUTE format('INSERT INTO %s (question, answer, reference) VALUES '
                   '(''How do I reset my password? %s'', ''Open the settings page and choose reset.'', '
                   '''Use the reset link in settings.'')', target, i);
  END LOOP;
  RETURN extract(epoch FROM clock_timestamp() - started) * 1e6 / n;
END $$;
SQL

for table in "${tables[@]}"; do
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
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
range() { sort -g | sed -n '1p;$p' | paste -sd-; }

printf '\n1. Inserts into a source table, without and with an online rule (rate 0.1)\n'
printf '   %s rounds of %s s per table, one client, autocommit\n\n' "$RUNS" "$SECONDS_PER_RUN"
printf '%-10s %14s %14s %8s %8s %12s %8s %12s\n' "rows/stmt" "no rule rows/s" "rule rows/s" \
  "ratio" "pairs" "pair range" "A/A" "A/A range"
for batch in 1 1000; do
  for t in "${tables[@]}"; do : > "$work/$t"; done
  : > "$work/ratios"; : > "$work/control"
  for round in $(seq "$RUNS"); do
    declare -A got=()
    for i in 0 1 2; do
      t=${tables[$(( (round + i) % 3 ))]}
      got[$t]=$(rows_per_second "$t" "$batch")
      echo "${got[$t]}" >> "$work/$t"
    done
    awk -v a="${got[plain_log]}" -v b="${got[ruled_log]}" 'BEGIN { printf "%.3f\n", b / a }' >> "$work/ratios"
    awk -v a="${got[plain_log]}" -v b="${got[control_log]}" 'BEGIN { printf "%.3f\n", b / a }' >> "$work/control"
  done
  plain=$(median < "$work/plain_log")
  ruled=$(median < "$work/ruled_log")
  printf '%-10s %14s %14s %8s %8s %12s %8s %12s\n' "$batch" "$plain" "$ruled" \
    "$(awk -v a="$ruled" -v b="$plain" 'BEGIN { printf "%.3f", a / b }')" "$(median < "$work/ratios")" \
    "$(range < "$work/ratios")" "$(median < "$work/control")" "$(range < "$work/control")"
done
printf '\nratio: of the two medians; pairs: the median of the ratios within a round;\n'
printf 'A/A: the same for control_log, a second table without a rule (what noise alone gives)\n'

printf '\n2. Cost per INSERT statement of one row inside one backend (no commit, no network)\n\n'
: > "$work/loop_plain_log"; : > "$work/loop_ruled_log"; : > "$work/loop_control_log"
for round in $(seq "$RUNS"); do
  for i in 0 1 2; do
    t=${tables[$(( (round + i) % 3 ))]}
    psql -X -At -d "$db" -c "SELECT insert_loop('$t', $LOOP_STATEMENTS)" >> "$work/loop_$t"
  done
done
loop_plain=$(median < "$work/loop_plain_log")
loop_ruled=$(median < "$work/loop_ruled_log")
loop_control=$(median < "$work/loop_control_log")
printf '%-24s %8s\n' "no rule, us/statement" "$(printf '%.2f' "$loop_plain")"
printf '%-24s %8s  (A/A: %+.2f us)\n' "control, us/statement" "$(printf '%.2f' "$loop_control")" \
  "$(awk -v a="$loop_plain" -v b="$loop_control" 'BEGIN { print b - a }')"
printf '%-24s %8s\n' "rule, us/statement" "$(printf '%.2f' "$loop_ruled")"
printf '%-24s %8s  (ratio of throughputs %.3f)\n' "the rule's cost, us" \
  "$(awk -v a="$loop_plain" -v b="$loop_ruled" 'BEGIN { printf "%.2f", b - a }')" \
  "$(awk -v a="$loop_plain" -v b="$loop_ruled" 'BEGIN { print a / b }')"
printf '(medians of %s runs of %s statements each, the three tables in rotated order)\n' "$RUNS" "$LOOP_STATEMENTS"

sampled=$(psql -X -At -d "$db" -c "SELECT (SELECT count(*) FROM llmeval.online_pending) + (SELECT count(*) FROM llmeval.online_items)")
inserted=$(psql -X -At -d "$db" -c "SELECT count(*) FROM ruled_log")
printf '\nrows sampled by the rule (queued): %s of %s (%.3f)\n' "$sampled" "$inserted" "$(awk -v s="$sampled" -v n="$inserted" 'BEGIN { print s / n }')"
