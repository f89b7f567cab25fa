#!/usr/bin/env bash
# run_fuzzers.sh BUILD_DIR SECONDS
# Builds the libFuzzer targets (test/fuzz/*_fuzzer.cpp) with clang under
# ASan/UBSan and runs each for SECONDS, starting from its seed corpus in
# test/fuzz/corpus/<name> when there is one. Any crash, leak or UB fails.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(realpath -m "${1:-$root/build/fuzz}")
seconds=${2:-30}

CXX=clang++ cmake -S "$root" -B "$build" -DLLMEVAL_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ >/dev/null
cmake --build "$build" -j2

status=0
for src in "$root"/test/fuzz/*_fuzzer.cpp; do
  name=$(basename "$src" .cpp)
  work=$(mktemp -d)
  corpus=("$work")
  [ -d "$root/test/fuzz/corpus/$name" ] && corpus+=("$root/test/fuzz/corpus/$name")
  echo "== $name: ${seconds}s =="
  if ! (cd "$work" && "$build/$name" -max_total_time="$seconds" -max_len=4096 \
        -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "${corpus[@]}" 2>&1 | tail -n 12); then
    status=1
  fi
  # a crash leaves crash-*/leak-*/timeout-* files in the working directory
  if ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* >/dev/null 2>&1; then
    echo "$name found a failure:"; ls "$work"
    status=1
  fi
  rm -rf "$work"
done
exit $status
