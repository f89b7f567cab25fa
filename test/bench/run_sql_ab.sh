#!/usr/bin/env bash
# A/B of two builds of the metric code through SQL on a noisy machine: the
# builds' pg_llmeval.so swapped in turn into the cluster's library directory,
# run_sql_bench.sh after each swap, ROUNDS rounds of A then B. Run it without
# preloading, so that every backend loads the file in place:
#   A_SO=/path/old/pg_llmeval.so B_SO=/path/new/pg_llmeval.so \
#     LLMEVAL_PRELOAD= test/harness/with_cluster.sh test/bench/run_sql_ab.sh
# The SQL objects are the installed build's: both builds must export the
# metric functions it declares. The installed file is put back at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${A_SO:?the first build's pg_llmeval.so}" "${B_SO:?the second build's pg_llmeval.so}"
ROUNDS=${ROUNDS:-2}
lib=$(pg_config --pkglibdir)/pg_llmeval.so
saved=$(mktemp)
cp "$lib" "$saved"
trap 'cp "$saved" "$lib"; rm -f "$saved"' EXIT
for round in $(seq "$ROUNDS"); do
  for v in A B; do
    so=A_SO; [ "$v" = B ] && so=B_SO
    cp "${!so}" "$lib"
    echo "=== round $round: $v (${!so})"
    test/bench/run_sql_bench.sh
  done
done
