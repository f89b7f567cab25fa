#!/usr/bin/env bash
# Installs the Debian packages pg_llmeval needs to build, test and benchmark,
# and only those that are missing (so a second run costs a dpkg query).
set -euo pipefail

packages=(
  g++ make cmake pkg-config clang libclang-rt-14-dev
  postgresql-15 postgresql-server-dev-15 postgresql-15-cron postgresql-15-pgtap
  libtap-parser-sourcehandler-pgtap-perl
  libicu-dev libcurl4-openssl-dev nlohmann-json3-dev libboost-math-dev
  libgtest-dev libgmock-dev libbenchmark-dev bc gzip python3 chromium
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = installed ] || missing+=("$p")
done

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
# Debian's postgresql package starts a cluster on 5432; the tests never use it.
