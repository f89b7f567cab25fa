#!/usr/bin/env bash
# The metric functions work when the library is not preloaded (loaded on
# first use): run with LLMEVAL_PRELOAD= test/harness/with_cluster.sh.
set -euo pipefail
out=$(psql -X -q -At -v ON_ERROR_STOP=1 -d postgres \
  -c "CREATE EXTENSION pg_llmeval" \
  -c "SELECT round(llmeval.bleu('The cat sat on the mat.', 'The cat is on the mat.')::numeric, 4)" \
  -c "SHOW llmeval.max_inflight")
if [ "$out" = "$(printf '48.8923\n16')" ]; then
  echo "ok - pg_llmeval works without shared_preload_libraries"
else
  echo "not ok - without preloading: $out"; exit 1
fi
