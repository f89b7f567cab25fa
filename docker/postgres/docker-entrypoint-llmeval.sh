#!/usr/bin/env bash
# The image's entrypoint: the official image's docker-entrypoint.sh, with the
# database that holds pg_llmeval passed to the server as cron.database_name
# (pg_cron's jobs and metadata) and llmeval.database_name (where the workers
# run). That database is POSTGRES_DB (by default POSTGRES_USER, by default
# postgres), the one docker-entrypoint-initdb.d/initdb-pg_llmeval.sh installs
# the extensions in. They come first, so a -c given in the command wins.
set -Eeuo pipefail

env_or_file() {  # VAR: the value of $VAR, or of the file named by $VAR_FILE
  local var=$1 file_var="${1}_FILE"
  if [ -n "${!var:-}" ]; then
    printf '%s' "${!var}"
  elif [ -n "${!file_var:-}" ] && [ -r "${!file_var}" ]; then
    cat "${!file_var}"
  fi
}

if [ "${1:-}" = postgres ] || [ "${1:0:1}" = - ]; then
  [ "${1:-}" = postgres ] && shift
  user=$(env_or_file POSTGRES_USER)
  db=$(env_or_file POSTGRES_DB)
  db=${db:-${user:-postgres}}
  set -- postgres -c "cron.database_name=$db" -c "llmeval.database_name=$db" "$@"
fi
exec docker-entrypoint.sh "$@"
