#!/usr/bin/env bash
# with_cluster.sh COMMAND [ARGS...]
#
# Starts a throwaway PostgreSQL 15 cluster as the OS user postgres (the
# server refuses to run as root) in a fresh temporary directory, on a free
# loopback port, with shared_preload_libraries = 'pg_cron,pg_llmeval' (or
# $LLMEVAL_PRELOAD when set, even empty); runs
# COMMAND with PGHOST/PGPORT/PGUSER/PGDATABASE pointing at it; stops it and
# removes it. Exits with COMMAND's status, or non-zero if the server log shows
# a backend crash. Clusters left behind by killed runs are stopped first.
set -euo pipefail

PGBIN=$(pg_config --bindir)
RUN_AS=postgres
prefix=/tmp/pg_llmeval_cluster.

as_postgres() {
  if [ "$(id -un)" = "$RUN_AS" ]; then "$@"; else runuser -u "$RUN_AS" -- "$@"; fi
}

# A directory is stale when the harness process that created it is gone.
for dir in "$prefix"*; do
  [ -d "$dir" ] || continue
  owner=$(cat "$dir/owner" 2>/dev/null || echo 0)
  if [ "$owner" != 0 ] && kill -0 "$owner" 2>/dev/null; then continue; fi
  echo "with_cluster: removing stale cluster $dir"
  as_postgres "$PGBIN/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
done

# The API key the workers find in their environment for the local mock
# provider (test/mock_llm); a test value, not a secret.
export LLMEVAL_MOCK_API_KEY=${LLMEVAL_MOCK_API_KEY:-mock-key-5f1c}

workdir=$(mktemp -d "${prefix}XXXXXX")
echo $$ > "$workdir/owner"
chmod 755 "$workdir"
chown "$RUN_AS" "$workdir"
log="$workdir/server.log"

cleanup() {
  as_postgres "$PGBIN/pg_ctl" -D "$workdir/data" -m fast -w stop >/dev/null 2>&1 ||
    as_postgres "$PGBIN/pg_ctl" -D "$workdir/data" -m immediate stop >/dev/null 2>&1 || true
  if [ -n "${KEEP_CLUSTER_LOG:-}" ]; then cp "$log" "$KEEP_CLUSTER_LOG" 2>/dev/null || true; fi
  rm -rf "$workdir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

as_postgres "$PGBIN/initdb" -D "$workdir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
  --no-sync >/dev/null

. "$(dirname "$0")/free_port.sh"

started=
for attempt in 1 2 3 4 5; do
  port=$(free_port)
  cat > "$workdir/data/postgresql.auto.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$workdir'
shared_preload_libraries = '${LLMEVAL_PRELOAD-pg_cron,pg_llmeval}'
cron.database_name = 'postgres'
fsync = off
synchronous_commit = off
full_page_writes = off
max_worker_processes = 16
max_parallel_workers_per_gather = 2
log_min_messages = warning
log_line_prefix = '%m [%p] %q%a '
CONF
  if as_postgres env LLMEVAL_MOCK_API_KEY="$LLMEVAL_MOCK_API_KEY" \
       "$PGBIN/pg_ctl" -D "$workdir/data" -l "$log" -w -t 60 start >/dev/null; then
    started=1
    break
  fi
  echo "with_cluster: start on port $port failed (attempt $attempt)" >&2
  tail -n 5 "$log" >&2 || true
done
[ -n "$started" ] || exit 1

export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PGDATABASE=postgres
export LLMEVAL_CLUSTER_LOG=$log LLMEVAL_CLUSTER_DATA=$workdir/data
# Tests that kill a backend on purpose list its PID here, so that its end is
# not reported as a crash.
export LLMEVAL_EXPECTED_KILLS=$workdir/expected_kills
: > "$LLMEVAL_EXPECTED_KILLS"
chmod 666 "$LLMEVAL_EXPECTED_KILLS"
status=0
"$@" || status=$?

unexpected_crashes() {
  { grep -E "terminated by signal|PANIC" "$log" || true; } | while read -r line; do
    pid=$(echo "$line" | sed -n 's/.*(PID \([0-9]*\)) was terminated by signal 9.*/\1/p')
    if [ -n "$pid" ] && grep -qx "$pid" "$LLMEVAL_EXPECTED_KILLS"; then continue; fi
    echo "$line"
  done
}
crashes=$(unexpected_crashes)
if [ -n "$crashes" ]; then
  echo "with_cluster: the server log shows a crash:" >&2
  echo "$crashes" >&2
  [ $status -ne 0 ] || status=1
fi
if [ $status -ne 0 ]; then
  echo "---- last lines of the server log ----" >&2
  tail -n 40 "$log" >&2 || true
fi
exit $status
