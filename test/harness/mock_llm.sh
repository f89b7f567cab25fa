# Sourced by the engine tests: starts test/mock_llm/server.py on a free
# loopback port (accepting $LLMEVAL_MOCK_API_KEY, which the workers find in
# the server's environment), stops it on exit, and gives helpers:
#   mock_url           http://127.0.0.1:PORT
#   mock_config JSON   POST /_admin/config
#   mock_reset         zero the counters and restore the start settings
#   mock_stat EXPR     a value of GET /_admin/stats (a Python expression on s)
mock_dir=$(mktemp -d)
python3 test/mock_llm/server.py --port 0 --key-env LLMEVAL_MOCK_API_KEY \
  --answers test/mock_llm/answers.json --port-file "$mock_dir/port" > "$mock_dir/log" 2>&1 &
mock_pid=$!
trap 'kill "$mock_pid" 2>/dev/null; rm -rf "$mock_dir"' EXIT
for _ in $(seq 100); do [ -s "$mock_dir/port" ] && break; sleep 0.1; done
mock_url="http://127.0.0.1:$(cat "$mock_dir/port")"

mock_admin() {  # METHOD PATH [JSON]
  python3 - "$mock_url" "$1" "$2" "${3:-}" <<'PY'
import json, sys, urllib.request
url, method, path, body = sys.argv[1:]
req = urllib.request.Request(url + path, method=method, data=body.encode() if body else None,
                             headers={"Content-Type": "application/json"})
print(urllib.request.urlopen(req, timeout=10).read().decode())
PY
}
mock_config() { mock_admin POST /_admin/config "$1" > /dev/null; }
mock_reset() { mock_admin POST /_admin/reset '{"config": true}' > /dev/null; }
mock_stat() {
  mock_admin GET /_admin/stats | python3 -c "import json, sys; s = json.load(sys.stdin); print($1)"
}
