#!/usr/bin/env bash
# Report pages as a browser shows them: a real job on the mock provider (four
# models, some tasks failing with a 400, an input and an output that are
# scripts), its page from llmeval.report_html and the daily report's from
# llmeval.report_html_for, rendered by headless Chromium. Checks that the
# screenshot is a picture (the right size, many colours, not one background),
# that the DOM names the job's models and holds the SVG charts expected, that
# no script element came through and that nothing is fetched from elsewhere.
# Needs the throwaway cluster (test/harness/with_cluster.sh): the workers run
# in database postgres. LLMEVAL_REPORT_SCREENSHOT=path keeps the job's
# screenshot (docs/report-example.png is made that way); LLMEVAL_REPORT_KEEP=dir
# keeps the pages and screenshots.
set -euo pipefail
cd "$(dirname "$0")/../.."

browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  echo "ok - skipped: chromium not installed"
  exit 0
fi

. test/harness/mock_llm.sh
work=$(mktemp -d)
chmod 755 "$work"
cleanup() {
  kill "$mock_pid" 2>/dev/null || true
  if [ -n "${LLMEVAL_REPORT_KEEP:-}" ]; then cp "$work"/*.html "$work"/*.png "$LLMEVAL_REPORT_KEEP"/ 2>/dev/null || true; fi
  rm -rf "$mock_dir" "$work"
}
trap cleanup EXIT

. test/harness/tap.sh
pass() { echo "ok - $1"; }
fail() { echo "not ok - $1"; status=1; }

psql -X -q -v ON_ERROR_STOP=1 -d postgres > /dev/null <<SQL
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS pg_llmeval CASCADE;
CREATE EXTENSION pg_llmeval;
SELECT llmeval.create_provider('mock-openai', 'openai', '$mock_url/v1', 'LLMEVAL_MOCK_API_KEY');
SELECT llmeval.create_provider('mock-anthropic', 'anthropic', '$mock_url', 'LLMEVAL_MOCK_API_KEY');
SELECT llmeval.create_provider('mock-gemini', 'gemini', '$mock_url', 'LLMEVAL_MOCK_API_KEY');
SELECT llmeval.create_model('mock-openai/gpt-good', 0.15, 0.60);
SELECT llmeval.create_model('mock-anthropic/claude-good', 3, 15);
SELECT llmeval.create_model('mock-gemini/gemini-sloppy', 0.1, 0.4);
SELECT llmeval.create_model('mock-openai/gpt-echo', 0.05, 0.2);
SELECT llmeval.create_prompt('one-word', 'Answer in one word: {{question}}');
-- The mock's 20 questions, after one whose text is a script (the echo
-- model says it back).
SELECT llmeval.import_dataset('facts', (
  SELECT jsonb_build_array(jsonb_build_object(
           'input', jsonb_build_object('question', 'What is the capital of Italy? <script>alert("x")</script>'),
           'expected', 'Rome'))
         || jsonb_agg(jsonb_build_object('input', jsonb_build_object('question', q), 'expected', a) ORDER BY q)
  FROM jsonb_each_text(pg_read_file('$PWD/test/mock_llm/answers.json')::jsonb) AS x(q, a)));
SQL

# Latency with some spread, and one request in ten refused with a 400 (not
# retried: the task fails with the provider's message).
mock_config '{"latency_ms": 60, "jitter_ms": 50, "fault_rate": 0.1, "faults": ["400"], "seed": 11}'
job=$(q "SELECT llmeval.submit_job('one-word', 'facts',
           ARRAY['mock-openai/gpt-good', 'mock-anthropic/claude-good', 'mock-gemini/gemini-sloppy', 'mock-openai/gpt-echo'],
           ARRAY['exact_match', 'token_f1', 'chrf'], '{\"cache\": false}')")
expect "the job completes" "$(q "SELECT llmeval.wait_job($job, '120 s')")" completed
expect "some tasks failed, most completed" \
  "$(q "SELECT failed BETWEEN 1 AND 30 AND completed >= 50 FROM llmeval.jobs WHERE id = $job")" t
expect "the echo model said the script back" \
  "$(q "SELECT count(*) > 0 FROM llmeval.results WHERE job_id = $job AND output LIKE '%<script>%'")" t

# The charts a page should hold: a bar chart per metric with scores, a
# histogram per model and metric with scores, a latency chart.
expected_svgs=$(q "SELECT (SELECT count(DISTINCT metric) FROM llmeval.scores WHERE job_id = $job)
                        + (SELECT count(DISTINCT (model, metric)) FROM llmeval.scores WHERE job_id = $job)
                        + (SELECT (count(*) > 0)::int FROM llmeval.results WHERE job_id = $job AND status = 'completed')")
models=$(q "SELECT array_to_string(models, ' ') FROM llmeval.jobs WHERE id = $job")

q "SELECT llmeval.report_html($job)" > "$work/job.html"
report=$(q "SELECT llmeval.generate_report('daily')")
q "SELECT llmeval.report_html_for($report)" > "$work/report.html"

chrome() {
  timeout 300 "$browser" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --hide-scrollbars \
    --no-first-run --no-default-browser-check --disable-extensions --user-data-dir="$work/profile" \
    "$@" 2>>"$work/chromium.log"
}

for page in job report; do
  html=$work/$page.html
  if grep -Eq 'https?://' "$html"; then fail "$page page: refers to no other resource"; else pass "$page page: refers to no other resource"; fi
  if ! chrome --screenshot="$work/$page.png" --window-size=1200,1600 "file://$html" >/dev/null; then
    fail "$page page: chromium took a screenshot"; tail -n 20 "$work/chromium.log"; continue
  fi
  if ! chrome --dump-dom "file://$html" > "$work/$page.dom"; then
    fail "$page page: chromium dumped the DOM"; tail -n 20 "$work/chromium.log"; continue
  fi

  # The PNG, decoded with the standard library: size, colours, background.
  picture=$(python3 - "$work/$page.png" <<'PY'
import collections, struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat = 8, []
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    chunk = data[pos + 8:pos + 8 + n]
    pos += 12 + n
    if kind == b"IHDR":
        w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
    elif kind == b"IDAT":
        idat.append(chunk)
    elif kind == b"IEND":
        break
assert depth == 8 and ctype in (2, 6) and interlace == 0, (depth, ctype, interlace)
bpp = 3 if ctype == 2 else 4
raw = zlib.decompress(b"".join(idat))
stride = w * bpp
prev = bytearray(stride)
counts = collections.Counter()
i = 0
for _ in range(h):
    kind, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
    i += 1 + stride
    if kind == 1:
        for x in range(bpp, stride):
            line[x] = (line[x] + line[x - bpp]) & 255
    elif kind == 2:
        for x in range(stride):
            line[x] = (line[x] + prev[x]) & 255
    elif kind == 3:
        for x in range(stride):
            left = line[x - bpp] if x >= bpp else 0
            line[x] = (line[x] + ((left + prev[x]) >> 1)) & 255
    elif kind == 4:
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    row = bytes(line)
    counts.update(row[x:x + 3] for x in range(0, stride, bpp))
    prev = line
top = counts.most_common(1)[0][1] / (w * h)
print(f"{w}x{h} {len(counts)} {top:.3f}")
PY
) || { fail "$page page: the screenshot decodes"; continue; }
  read -r size colours background <<< "$picture"
  bytes=$(stat -c %s "$work/$page.png")
  expect "$page page: a 1200x1600 screenshot" "$size" 1200x1600
  if [ "$bytes" -gt 30000 ] && [ "$colours" -gt 200 ] && python3 -c "import sys; sys.exit(not $background < 0.9)"; then
    pass "$page page: the screenshot is a picture ($bytes bytes, $colours colours, background $background)"
  else
    fail "$page page: the screenshot is a picture ($bytes bytes, $colours colours, background $background)"
  fi

  dom=$work/$page.dom
  missing=
  for m in $models; do grep -qF "$m" "$dom" || missing="$missing $m"; done
  expect "$page page: the DOM names every model" "${missing:-none}" none
  expect "$page page: the DOM holds the charts" "$(grep -o '<svg' "$dom" | wc -l)" "$expected_svgs"
  expect "$page page: one histogram per model and metric" "$(grep -o 'class="chart hist"' "$dom" | wc -l)" \
    "$(q "SELECT count(DISTINCT (model, metric)) FROM llmeval.scores WHERE job_id = $job")"
  expect "$page page: no script element in the DOM" "$(grep -c '<script' "$dom" || true)" 0
done

expect "the job page shows the script input and output as text" \
  "$(grep -c '&lt;script&gt;alert' "$work/job.dom" | awk '{print ($1 > 0)}')" 1
expect "the job page lists the failures" "$(grep -c 'HTTP 400' "$work/job.dom" | awk '{print ($1 > 0)}')" 1

if [ -n "${LLMEVAL_REPORT_SCREENSHOT:-}" ] && [ -s "$work/job.png" ]; then
  cp "$work/job.png" "$LLMEVAL_REPORT_SCREENSHOT"
  chmod 644 "$LLMEVAL_REPORT_SCREENSHOT"
fi
exit $status
