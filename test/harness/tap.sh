# Sourced by the integration tests: TAP-style checks against the cluster.
#   q SQL                   runs SQL in $TAP_DB (default postgres), unaligned
#   expect NAME GOT WANT    "ok - NAME" when GOT = WANT, else "not ok" and status=1
#   check NAME SQL WANT     expect on the result of SQL
#   check_true NAME EXPR    check that EXPR (SQL) is true
#   wait_server             waits for the server to accept queries again
#   kill_worker             SIGKILLs one pg_llmeval worker (recorded as an
#                           expected kill) and waits for the server to be back
#   restart_immediate       restarts the cluster with pg_ctl -m immediate
# A test ends with `exit $status`.
status=0
q() { psql -X -At -v ON_ERROR_STOP=1 -d "${TAP_DB:-postgres}" -c "$1"; }
expect() {
  if [ "$2" = "$3" ]; then echo "ok - $1"; else echo "not ok - $1: got '$2', want '$3'"; status=1; fi
}
check() {
  local got
  got=$(q "$2")
  expect "$1" "$got" "$3"
}
check_true() { check "$1" "SELECT ($2)::boolean" t; }
wait_server() {
  for _ in $(seq 120); do pg_isready -q && q "SELECT 1" >/dev/null 2>&1 && return 0; sleep 0.5; done
  return 1
}
kill_worker() {
  local victim
  victim=$(q "SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_llmeval worker' LIMIT 1")
  echo "$victim" >> "$LLMEVAL_EXPECTED_KILLS"
  kill -9 "$victim"
  sleep 1
  wait_server
}
restart_immediate() {
  runuser -u postgres -- env LLMEVAL_MOCK_API_KEY="$LLMEVAL_MOCK_API_KEY" \
    pg_ctl -D "$LLMEVAL_CLUSTER_DATA" -l "$LLMEVAL_CLUSTER_LOG" -m immediate -w restart >/dev/null
  wait_server
}
