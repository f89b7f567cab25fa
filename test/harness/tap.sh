# Sourced by the integration tests: TAP-style checks against the cluster.
#   q SQL                   runs SQL in $TAP_DB (default postgres), unaligned
#   expect NAME GOT WANT    "ok - NAME" when GOT = WANT, else "not ok" and status=1
#   check NAME SQL WANT     expect on the result of SQL
#   check_true NAME EXPR    check that EXPR (SQL) is true
#   wait_server             waits for the server to accept queries again
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
