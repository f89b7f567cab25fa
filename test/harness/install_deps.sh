#!/usr/bin/env bash
# Installs the Debian packages pg_llmeval needs to build, test and benchmark,
# and only those that are missing (so a second run costs a dpkg query).
#
# LLMEVAL_DEPS chooses the set: all (the default: build, test, benchmark,
# demo) or build (only what `make && make install` needs; docker/Dockerfile's
# build stage runs this script so). Options: --list prints the set's packages,
# --dry-run prints the missing ones; neither installs anything.
set -euo pipefail

build_packages=(
  g++ make
  postgresql-15 postgresql-server-dev-15
  libicu-dev libcurl4-openssl-dev nlohmann-json3-dev libboost-math-dev libre2-dev
)
test_packages=(
  cmake pkg-config clang libclang-rt-14-dev
  postgresql-15-cron postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl
  libgtest-dev libgmock-dev libbenchmark-dev bc gzip python3 python3-yaml chromium
  prometheus prometheus-postgres-exporter
)

case ${LLMEVAL_DEPS:-all} in
  all) packages=("${build_packages[@]}" "${test_packages[@]}") ;;
  build) packages=("${build_packages[@]}") ;;
  *) echo "install_deps.sh: LLMEVAL_DEPS must be all or build, not '$LLMEVAL_DEPS'" >&2; exit 2 ;;
esac

action=install
case ${1:-} in
  '') ;;
  --list) action=list ;;
  --dry-run) action=dry-run ;;
  *) echo "usage: [LLMEVAL_DEPS=all|build] $0 [--list|--dry-run]" >&2; exit 2 ;;
esac

if [ $action = list ]; then
  printf '%s\n' "${packages[@]}"
  exit 0
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = installed ] || missing+=("$p")
done

if [ $action = dry-run ]; then
  echo "missing: ${missing[*]:-none}"
  exit 0
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "installing: ${missing[*]}"
sudo=
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian's postgresql package starts a cluster on 5432, and on a host with
# systemd the prometheus and prometheus-postgres-exporter packages start their
# services on 9090 and 9187; the tests never use them (they run their own, on
# free ports).
