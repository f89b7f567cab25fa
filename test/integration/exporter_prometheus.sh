#!/usr/bin/env bash
# The deployment's monitoring path with the real tools: Debian's
# prometheus-postgres-exporter runs docker/postgres-exporter/queries.yaml
# against a database set up by the image's init script
# (docker/postgres/initdb-pg_llmeval.sh, as role llmeval_exporter), and
# Prometheus scrapes it and evaluates docker/prometheus/rules/llmeval.yml.
#
#  - promtool check metrics passes the output of llmeval.prometheus_metrics()
#    and the exporter's llmeval_* series (units, _total counters, HELP);
#  - every series of llmeval.prometheus_metrics() is in the exporter's
#    /metrics with the same labels and value, and the figures are those of
#    the rows inserted here (queue by status, oldest due task, outcomes,
#    error codes, retries, latency histogram, tokens, cost, workers, and the
#    15-minute and 24-hour windows);
#  - every llmeval_* series the alert rules and the Grafana dashboard use
#    is exported;
#  - the monitoring roles read what they need and not provider_secrets, and
#    every SQL panel of the dashboard runs as llmeval_grafana;
#  - Prometheus loads the rules, evaluates them without error, and the cost
#    budget alert fires (154.25 over 24 hours) while the others stay quiet
#    (the error-rate alert's minimum of 10 calls is not reached);
#  - llmeval-health, the image's healthcheck, exits 0, 1 and 2 as documented.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
db=llmeval_exporter_test
exporter_password=exporter-test-pw
grafana_password=grafana-test-pw
status=0
ok() { echo "ok - $1"; }
not_ok() { echo "not ok - $1"; status=1; }

for tool in prometheus-postgres-exporter prometheus promtool curl python3; do
  command -v "$tool" >/dev/null || { echo "not ok - $tool is not installed (make deps installs it)"; exit 1; }
done

work=$(mktemp -d /tmp/llmeval_exporter.XXXXXX)
exporter_pid=
prometheus_pid=
cleanup() {
  for pid in $prometheus_pid $exporter_pid; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
  psql -X -q -d postgres -c "DROP ROLE IF EXISTS llmeval_exporter" -c "DROP ROLE IF EXISTS llmeval_grafana" \
    >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

. test/harness/free_port.sh

q() { psql -X -At -v ON_ERROR_STOP=1 -d "$db" -c "$1"; }

# ---- the database, as the container's first start sets it up ----
PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 -d postgres \
  -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
if out=$(POSTGRES_USER=postgres POSTGRES_DB=$db LLMEVAL_SHARE=docker/postgres \
           LLMEVAL_EXPORTER_PASSWORD=$exporter_password LLMEVAL_GRAFANA_PASSWORD=$grafana_password \
           docker/postgres/initdb-pg_llmeval.sh 2>&1); then
  ok "the image's init script installs pg_llmeval and creates the monitoring roles"
else
  not_ok "the image's init script failed: $out"
  exit 1
fi

# Two models; 20 tasks. exp/alpha: tasks 1-6 completed (task 6's response
# two days old), 7 failed after a 429 and a timeout an hour ago, 8 running,
# 9-10 pending. The model with quotes in its name checks label escaping:
# 2 completed, 2 retries (503), 8 pending, one due for 10 minutes, one not
# yet due.
psql -X -q -v ON_ERROR_STOP=1 -d "$db" >/dev/null <<'SQL'
SELECT llmeval.create_provider('exp', 'openai', 'http://127.0.0.1:9/v1');
SELECT llmeval.create_model('exp/alpha', 1, 2);
SELECT llmeval.create_model('exp/beta "v2"', 0, 0);
SELECT llmeval.create_prompt('p', 'Answer: {{q}}');
SELECT llmeval.import_dataset('d', (SELECT jsonb_agg(jsonb_build_object('input', jsonb_build_object('q', 'q' || g), 'expected', 'a'))
                                    FROM generate_series(1, 10) g));
SELECT llmeval.submit_job('p', 'd', ARRAY['exp/alpha', 'exp/beta "v2"'], ARRAY['bleu']);
-- (with a budget: its share spent is a gauge)
UPDATE llmeval.jobs SET options = options || '{"max_cost_usd": 2000}';
-- and a job of no task paused at its budget (the paused gauge, and its alert pending)
INSERT INTO llmeval.jobs (tenant, prompt_version_id, dataset_version_id, models, metrics, options, status, paused_reason)
SELECT j.tenant, j.prompt_version_id, j.dataset_version_id, j.models, j.metrics, '{"max_cost_usd": 1}', 'paused',
       'max_cost_usd 1 reached'
FROM llmeval.jobs j ORDER BY j.id LIMIT 1;
-- a tenant with a daily budget (its share spent today is a gauge)
INSERT INTO llmeval.tenant_budgets (tenant, daily_usd) SELECT tenant, 100000 FROM llmeval.jobs LIMIT 1;

CREATE TEMP TABLE numbered AS
SELECT t.id, t.tenant, t.job_id, m.name AS model, row_number() OVER (PARTITION BY m.name ORDER BY t.id) AS n
FROM llmeval.tasks t JOIN llmeval.models m ON m.id = t.model_id;

UPDATE llmeval.tasks t
SET status = CASE WHEN x.model = 'exp/alpha' AND x.n <= 6 THEN 'completed'
                  WHEN x.model = 'exp/alpha' AND x.n = 7 THEN 'failed'
                  WHEN x.model = 'exp/alpha' AND x.n = 8 THEN 'running'
                  WHEN x.n <= 2 THEN 'completed' ELSE 'pending' END,
    attempts = CASE WHEN x.model = 'exp/alpha' AND x.n = 7 THEN 3 WHEN x.n <= 8 THEN 1 ELSE 0 END,
    claim_token = CASE WHEN x.model = 'exp/alpha' AND x.n = 8 THEN gen_random_uuid() END,
    lease_expires_at = CASE WHEN x.model = 'exp/alpha' AND x.n = 8 THEN now() + interval '5 minutes' END,
    next_attempt_at = CASE WHEN x.model <> 'exp/alpha' AND x.n = 3 THEN now() - interval '10 minutes'
                           WHEN x.model <> 'exp/alpha' AND x.n = 4 THEN now() + interval '1 hour'
                           ELSE t.next_attempt_at END
FROM numbered x WHERE x.id = t.id;

INSERT INTO llmeval.responses (task_id, tenant, output, error, latency_ms, input_tokens, output_tokens, cost, attempt, created_at)
SELECT x.id, x.tenant, 'output ' || x.n, NULL,
       (ARRAY[50, 120, 300, 800, 3000, 20000])[x.n], 100 * x.n, 10 * x.n,
       (ARRAY[10, 20, 30, 40, 50.5, 1000])[x.n], 1,
       CASE WHEN x.n = 6 THEN now() - interval '2 days' ELSE now() END
FROM numbered x WHERE x.model = 'exp/alpha' AND x.n <= 6
UNION ALL
SELECT x.id, x.tenant, NULL, 'HTTP 400: bad request', 30, NULL, NULL, NULL, 3, now()
FROM numbered x WHERE x.model = 'exp/alpha' AND x.n = 7
UNION ALL
SELECT x.id, x.tenant, 'output ' || x.n, NULL, (ARRAY[90, 4000])[x.n], 50 + 10 * (x.n - 1), 5 + (x.n - 1),
       (ARRAY[1.25, 2.5])[x.n], 1, now()
FROM numbered x WHERE x.model <> 'exp/alpha' AND x.n <= 2;

INSERT INTO llmeval.events (tenant, job_id, task_id, kind, detail, created_at)
SELECT x.tenant, x.job_id, x.id, e.kind, jsonb_build_object('attempt', e.attempt, 'error', e.error), e.at
FROM numbered x
JOIN (VALUES ('exp/alpha', 7, 'task_retry', 1, 'timeout: operation timed out', now() - interval '1 hour'),
             ('exp/alpha', 7, 'task_retry', 2, 'HTTP 429: rate limited', now()),
             ('exp/alpha', 7, 'task_failed', 3, 'HTTP 400: bad request', now()),
             ('exp/beta "v2"', 3, 'task_retry', 1, 'HTTP 503: unavailable', now()),
             ('exp/beta "v2"', 4, 'task_retry', 1, 'HTTP 503: unavailable', now()))
  AS e(model, n, kind, attempt, error, at) ON e.model = x.model AND e.n = x.n;

INSERT INTO llmeval.task_scores (task_id, tenant, metric, value)
SELECT r.task_id, r.tenant, 'bleu', 40 + r.latency_ms / 1000 FROM llmeval.responses r WHERE r.output IS NOT NULL;

-- An online rule whose rows were scored like those outputs (its items point
-- at them), below its alert_below and alerting.
CREATE TABLE public.exp_log (id int PRIMARY KEY, answer text, reference text);
SELECT llmeval.create_online_rule('quality', 'public.exp_log', '{"output": "answer", "expected": "reference"}',
                                  ARRAY['bleu'], '{"alert_below": {"bleu": 50}}');
INSERT INTO llmeval.online_items (rule_id, tenant, row_key, status, task_id, ingested_at)
SELECT r.id, r.tenant, s.task_id::text, 'ingested', s.task_id, now()
FROM llmeval.online_rules r CROSS JOIN llmeval.task_scores s WHERE r.name = 'quality';
UPDATE llmeval.online_rules SET alerting = '{bleu}' WHERE name = 'quality';
SQL

# ---- the monitoring roles ----
as_role() {  # ROLE SQL: runs SQL as ROLE in the test database
  psql -X -At -v ON_ERROR_STOP=1 -U "$1" -d "$db" -c "$2"
}
if out=$(as_role llmeval_exporter "SELECT count(*) FROM llmeval.tasks" 2>&1) && [ "$out" = 20 ]; then
  ok "llmeval_exporter reads every tenant's tasks"
else
  not_ok "llmeval_exporter reads the tasks: $out"
fi
for role in llmeval_exporter llmeval_grafana; do
  if out=$(as_role $role "SELECT count(*) FROM llmeval.provider_secrets" 2>&1); then
    not_ok "$role can read provider_secrets: $out"
  elif grep -q "permission denied" <<< "$out"; then
    ok "$role cannot read provider_secrets"
  else
    not_ok "$role reading provider_secrets: $out"
  fi
done
if out=$(as_role llmeval_exporter "DELETE FROM llmeval.tasks" 2>&1); then
  not_ok "llmeval_exporter can delete tasks"
else
  ok "llmeval_exporter cannot change data"
fi

# ---- the exporter ----
# (A test before this one may have killed a worker: wait until all of them
# heartbeat again.)
workers=$(q "SHOW llmeval.workers")
max_inflight=$(q "SHOW llmeval.max_inflight")
for _ in $(seq 1 60); do
  [ "$(q "SELECT count(*) FROM llmeval.worker_status WHERE heartbeat_age < interval '30 seconds'")" = "$workers" ] && break
  sleep 0.5
done
exporter_port=$(free_port)
DATA_SOURCE_URI="$PGHOST:$PGPORT/$db?sslmode=disable" DATA_SOURCE_USER=llmeval_exporter \
DATA_SOURCE_PASS=$exporter_password \
  prometheus-postgres-exporter --extend.query-path=docker/postgres-exporter/queries.yaml \
  --web.listen-address="127.0.0.1:$exporter_port" --log.level=warn > "$work/exporter.log" 2>&1 &
exporter_pid=$!

metrics=
for _ in $(seq 1 60); do
  if metrics=$(curl -sf "http://127.0.0.1:$exporter_port/metrics" 2>/dev/null) &&
     grep -q '^llmeval_tasks{' <<< "$metrics"; then
    break
  fi
  metrics=
  sleep 0.5
done
if [ -z "$metrics" ]; then
  not_ok "the exporter serves llmeval metrics on /metrics"
  cat "$work/exporter.log"
  exit 1
fi
ok "the exporter serves llmeval metrics on /metrics"
printf '%s\n' "$metrics" > "$work/exporter.txt"
q "SELECT llmeval.prometheus_metrics()" > "$work/sql.txt"
# promtool's linter: counters end in _total, base units (seconds), HELP
# and TYPE for every family, well-formed histograms.
if out=$(promtool check metrics < "$work/sql.txt" 2>&1); then
  ok "promtool check metrics passes llmeval.prometheus_metrics()"
else
  not_ok "promtool check metrics on llmeval.prometheus_metrics(): $out"
fi
# (the exporter's own pg_* series are not ours to lint)
if out=$(awk '/^# (HELP|TYPE) llmeval_/ || /^llmeval_/' "$work/exporter.txt" | promtool check metrics 2>&1); then
  ok "promtool check metrics passes the exporter's llmeval_* series"
else
  not_ok "promtool check metrics on the exporter's llmeval_* series: $out"
fi
python3 -c 'import json,sys,yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))' \
  docker/prometheus/rules/llmeval.yml > "$work/rules.json"

cat > "$work/compare.py" <<'PY'
import json, math, re, sys

LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')

def unescape(v):
    return re.sub(r'\\(.)', lambda m: '\n' if m.group(1) == 'n' else m.group(1), v)

def parse(path, drop=("server",)):
    samples = {}
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)$', line)
        if not m:
            raise SystemExit(f"unparsable line in {path}: {line!r}")
        labels = tuple(sorted((k, unescape(v)) for k, v in LABEL.findall(m.group(3) or "")
                              if k not in drop))
        samples[(m.group(1), labels)] = float(m.group(4))
    return samples

exp = parse(sys.argv[1])
sql = parse(sys.argv[2])
rules = json.load(open(sys.argv[3]))
dashboard = json.load(open(sys.argv[4]))
workers, max_inflight = int(sys.argv[5]), int(sys.argv[6])
failures = 0

def check(name, cond, detail=""):
    global failures
    print(("ok - " if cond else "not ok - ") + name + ("" if cond else ": " + detail))
    failures += 0 if cond else 1

def key(name, **labels):
    return (name, tuple(sorted(labels.items())))

# 1. Every series of llmeval.prometheus_metrics() is exported, same value.
mirror = {n for n, _ in sql}
missing = [k for k in sql if k not in exp]
check(f"the exporter has all {len(sql)} series of llmeval.prometheus_metrics()", not missing,
      f"missing {missing[:5]}")
differ = []
for k, v in sql.items():
    if k in exp:
        tol = 5.0 if k[0].endswith("_seconds") else 1e-9 * max(1.0, abs(v))
        if not (abs(exp[k] - v) <= tol or (math.isnan(v) and math.isnan(exp[k]))):
            differ.append((k, v, exp[k]))
check("and the same values", not differ, f"{differ[:5]}")
extra = [k for k in exp if k[0] in mirror and k not in sql]
check("and no series of those names that prometheus_metrics() lacks", not extra, f"{extra[:5]}")

# 2. The figures of the rows inserted.
A, B = "exp/alpha", 'exp/beta "v2"'
want = {
    key("llmeval_tasks", status="pending"): 10, key("llmeval_tasks", status="running"): 1,
    key("llmeval_tasks", status="completed"): 8, key("llmeval_tasks", status="failed"): 1,
    key("llmeval_tasks", status="cancelled"): 0,
    key("llmeval_tasks_finished_total", model=A, outcome="completed"): 6,
    key("llmeval_tasks_finished_total", model=A, outcome="failed"): 1,
    key("llmeval_tasks_finished_total", model=B, outcome="completed"): 2,
    key("llmeval_provider_errors_total", code="400"): 1, key("llmeval_provider_errors_total", code="429"): 1,
    key("llmeval_provider_errors_total", code="503"): 2, key("llmeval_provider_errors_total", code="timeout"): 1,
    key("llmeval_retries_total"): 4,
    key("llmeval_request_latency_seconds_count", model=A): 6, key("llmeval_request_latency_seconds_sum", model=A): 24.27,
    key("llmeval_request_latency_seconds_count", model=B): 2, key("llmeval_request_latency_seconds_sum", model=B): 4.09,
    key("llmeval_tokens_total", model=A, direction="input"): 2100,
    key("llmeval_tokens_total", model=A, direction="output"): 210,
    key("llmeval_tokens_total", model=B, direction="input"): 110,
    key("llmeval_tokens_total", model=B, direction="output"): 11,
    key("llmeval_cost_total", model=A): 1150.5, key("llmeval_cost_total", model=B): 3.75,
    key("llmeval_workers_expected"): workers, key("llmeval_workers_max_inflight"): max_inflight,
    key("llmeval_last_15m_calls", model=A): 7, key("llmeval_last_15m_errors", model=A): 2,
    key("llmeval_last_15m_calls", model=B): 4, key("llmeval_last_15m_errors", model=B): 2,
    key("llmeval_last_15m_cost", model=A): 150.5, key("llmeval_last_15m_cost", model=B): 3.75,
    key("llmeval_last_15m_input_tokens", model=A): 1500, key("llmeval_last_15m_output_tokens", model=A): 150,
    key("llmeval_last_15m_latency_seconds_count", model=A): 5, key("llmeval_last_15m_latency_seconds_sum", model=A): 4.27,
    key("llmeval_last_24h_cost", model=A): 150.5, key("llmeval_last_24h_cost", model=B): 3.75,
    key("llmeval_online_alert_state", tenant="postgres", rule="quality", metric="bleu"): 1,
}
for w in range(1, workers + 1):
    want[key("llmeval_worker_up", worker=str(w))] = 1
for le, a, b in [("0.1", 1, 1), ("0.25", 2, 1), ("0.5", 3, 1), ("1", 4, 1), ("2.5", 4, 1),
                 ("5", 5, 2), ("10", 5, 2), ("+Inf", 6, 2)]:
    want[key("llmeval_request_latency_seconds_bucket", model=A, le=le)] = a
    want[key("llmeval_request_latency_seconds_bucket", model=B, le=le)] = b
wrong = [(k, v, exp.get(k)) for k, v in want.items() if exp.get(k) is None or abs(exp[k] - v) > 1e-9 * max(1, v)]
check(f"the exporter's {len(want)} figures are those of the rows inserted", not wrong, f"{wrong[:5]}")
age = exp.get(key("llmeval_oldest_pending_seconds"))
mean = exp.get(key("llmeval_online_score_mean", tenant="postgres", rule="quality", metric="bleu"))
check("the online rule's score mean is exported (the 8 outputs' bleu, 40 plus latency in seconds)",
      mean is not None and 40 < mean < 50, f"{mean}")
check("the oldest due pending task is 10 minutes old (the one not yet due does not count)",
      age is not None and 600 <= age < 660, f"{age}")
age = [v for (n, _), v in exp.items() if n == "llmeval_worker_heartbeat_age_seconds"]
check(f"all {workers} workers (llmeval.workers) heartbeat", workers > 0 and len(age) == workers and max(age) < 30,
      f"{age}")

# 3. The series the alerts and the dashboard use are exported.
used = set()
for group in rules["groups"]:
    for rule in group["rules"]:
        used |= set(re.findall(r"\bllmeval_[a-z0-9_]+", rule["expr"]))
def panels(ps):
    for p in ps:
        yield p
        yield from panels(p.get("panels", []))
for p in panels(dashboard["panels"]):
    for t in p.get("targets", []):
        used |= set(re.findall(r"\bllmeval_[a-z0-9_]+", t.get("expr", "")))
names = {n for n, _ in exp}
check(f"the {len(used)} llmeval_* series the rules and the dashboard use are exported",
      used <= names, f"missing {sorted(used - names)}")
sys.exit(1 if failures else 0)
PY
python3 "$work/compare.py" "$work/exporter.txt" "$work/sql.txt" "$work/rules.json" \
  docker/grafana/dashboards/llmeval.json "$workers" "$max_inflight" || status=1

# ---- the dashboard's SQL panels, as llmeval_grafana ----
python3 - docker/grafana/dashboards/llmeval.json > "$work/panels.tsv" <<'PY'
import json, re, sys
d = json.load(open(sys.argv[1]))
def panels(ps):
    for p in ps:
        yield p
        yield from panels(p.get("panels", []))
def seconds(s):
    return int(s[:-1]) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[s[-1]]
for p in panels(d["panels"]):
    for t in p.get("targets", []):
        if "rawSql" not in t:
            continue
        sql = re.sub(r"\$__timeGroupAlias\(([^,]+),\s*'(\w+)'\)",
                     lambda m: f'floor(extract(epoch from {m.group(1)}) / {seconds(m.group(2))}) * {seconds(m.group(2))} AS "time"',
                     t["rawSql"])
        sql = re.sub(r"\$__timeFilter\(([^)]+)\)", r"\1 BETWEEN now() - interval '6 hours' AND now()", sql)
        if "$__" in sql:
            raise SystemExit(f"panel {p['title']!r}: a Grafana macro this test does not know: {sql}")
        print(p["title"] + "\t" + sql.replace("\n", " "))
PY
while IFS=$'\t' read -r title sql; do
  if out=$(as_role llmeval_grafana "SELECT count(*) FROM ($sql) panel" 2>&1) && [ "$out" -gt 0 ]; then
    ok "dashboard panel '$title' runs as llmeval_grafana ($out rows)"
  else
    not_ok "dashboard panel '$title' as llmeval_grafana: $out"
  fi
done < "$work/panels.tsv"

# ---- Prometheus with the rules, scraping the exporter ----
prometheus_port=$(free_port)
cat > "$work/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - $root/docker/prometheus/rules/llmeval.yml
scrape_configs:
  - job_name: llmeval-postgres-exporter
    static_configs:
      - targets: ["127.0.0.1:$exporter_port"]
YAML
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
  --web.listen-address="127.0.0.1:$prometheus_port" --log.level=warn > "$work/prometheus.log" 2>&1 &
prometheus_pid=$!
api() { curl -sf "http://127.0.0.1:$prometheus_port/api/v1/$1" 2>/dev/null; }

cat > "$work/rules_state.py" <<'PY'
import json, sys
doc = json.load(sys.stdin)
rules = [r for g in doc["data"]["groups"] if g["name"] == "llmeval" for r in g["rules"]]
print(" ".join(f'{r["name"]}={r.get("state", "")}/{r["health"]}' for r in sorted(rules, key=lambda r: r["name"])))
PY
want_state="LlmevalCostBudget=firing/ok LlmevalHighErrorRate=inactive/ok LlmevalJobPausedAtBudget=pending/ok LlmevalMetricsAbsent=inactive/ok LlmevalNoWorkers=inactive/ok LlmevalOnlineScoreDrop=firing/ok LlmevalQueueStuck=inactive/ok LlmevalTenantBudgetNear=inactive/ok LlmevalWorkersDegraded=inactive/ok"
state=
for _ in $(seq 1 60); do
  if doc=$(api rules); then
    state=$(python3 "$work/rules_state.py" <<< "$doc")
    [ "$state" = "$want_state" ] && break
  fi
  sleep 0.5
done
if [ "$state" = "$want_state" ]; then
  ok "Prometheus loads the 9 rules and evaluates them: only the cost budget and online score alerts fire (the paused job's waits its minute)"
else
  not_ok "Prometheus rule states: got '$state', want '$want_state'"
  tail -n 20 "$work/prometheus.log"
fi
value() {  # QUERY: the single value of an instant query
  api "query?query=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$1")" |
    python3 -c 'import json, sys; r = json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if len(r) == 1 else len(r))'
}
got=$(value 'sum(llmeval_last_24h_cost)' || true)
if [ "$got" = 154.25 ]; then ok "Prometheus reads the cost of the last 24 hours: $got"
else not_ok "Prometheus sum(llmeval_last_24h_cost): got '$got', want 154.25"; fi
got=$(value 'llmeval_tasks{status="pending", job="llmeval-postgres-exporter"}' || true)
if [ "$got" = 10 ]; then ok "Prometheus reads the pending tasks: $got"
else not_ok "Prometheus pending tasks: got '$got', want 10"; fi

# ---- llmeval-health (the image's healthcheck) ----
health() { PGDATABASE=$db docker/postgres/llmeval-health "$@" >/dev/null 2>&1; }
rc=0; health workers || rc=$?
if [ $rc = 0 ]; then ok "llmeval-health workers: exit 0 with the workers heartbeating"
else not_ok "llmeval-health workers: exit $rc"; fi
q "UPDATE llmeval.tasks SET next_attempt_at = now() - interval '2 hours' WHERE id = (SELECT min(id) FROM llmeval.tasks WHERE status = 'pending')" >/dev/null
rc=0; health queue || rc=$?
if [ $rc = 1 ]; then ok "llmeval-health queue: exit 1 with a task due for 2 hours"
else not_ok "llmeval-health queue: exit $rc, want 1"; fi
rc=0; health workers || rc=$?
if [ $rc = 0 ]; then ok "llmeval-health workers: the queue's state does not count"
else not_ok "llmeval-health workers: exit $rc, want 0"; fi
rc=0; health no_such_check || rc=$?
if [ $rc = 2 ]; then ok "llmeval-health no_such_check: exit 2"
else not_ok "llmeval-health no_such_check: exit $rc, want 2"; fi
rc=0; PGPORT=1 health || rc=$?
if [ $rc = 2 ]; then ok "llmeval-health without a server: exit 2"
else not_ok "llmeval-health without a server: exit $rc, want 2"; fi

exit $status
