#!/usr/bin/env bash
# make deploy-check: what can be checked of docker/ without a Docker engine.
#
#  - every YAML and JSON file under docker/ parses;
#  - promtool checks the alert rules and the Prometheus configuration, and
#    runs the rules' unit tests; every alert has a test where it fires and
#    one where it does not;
#  - the metric names the rules and the dashboard use are ones
#    postgres-exporter/queries.yaml produces (<query>_<column>); those names
#    use base units, and the counters and histograms read llmeval.counters;
#  - the Dockerfile builds with test/harness/install_deps.sh (whose build
#    mode is listed and dry-run here: known packages, no test-only ones) and
#    `make install`, and the files it copies exist; `make install
#    DESTDIR=...` stages exactly the extension's files (when the tree is
#    built); the entrypoint wrapper passes the database to the server;
#  - compose.yaml: the four services, healthchecks, mounted files exist,
#    every ${VARIABLE} documented in env.example;
#  - Grafana: every panel and query names a provisioned data source of its
#    type, and the provisioned dashboard directory is the one mounted;
#  - Kubernetes: kustomization lists existing files, the PrometheusRule
#    carries the same groups as prometheus/rules/llmeval.yml and the
#    ConfigMap the same queries as postgres-exporter/queries.yaml, every
#    Secret key used exists in the example Secret;
#  - docs/DEPLOYMENT.md names every alert.
set -euo pipefail
cd "$(dirname "$0")/../.."
status=0
ok() { echo "ok - $1"; }
not_ok() { echo "not ok - $1"; status=1; }

for tool in promtool python3; do
  command -v "$tool" >/dev/null || { echo "not ok - $tool is not installed (make deps installs it)"; exit 1; }
done
python3 -c 'import yaml' 2>/dev/null || { echo "not ok - python3-yaml is not installed (make deps installs it)"; exit 1; }

# ---- promtool ----
if out=$(promtool check rules docker/prometheus/rules/llmeval.yml 2>&1); then
  ok "promtool check rules: $(grep -o '[0-9]* rules found' <<< "$out")"
else
  not_ok "promtool check rules: $out"
fi
if out=$(promtool test rules docker/prometheus/rules/llmeval_test.yml 2>&1); then
  ok "promtool test rules docker/prometheus/rules/llmeval_test.yml"
else
  not_ok "promtool test rules: $out"
fi
# rule_files are relative to the configuration file, so this also checks
# that rules/llmeval.yml is found where Compose mounts it.
if out=$(promtool check config docker/prometheus/prometheus.yml 2>&1); then
  ok "promtool check config docker/prometheus/prometheus.yml"
else
  not_ok "promtool check config: $out"
fi

# ---- install_deps.sh's build mode, as docker/Dockerfile runs it ----
all=$(test/harness/install_deps.sh --list)
build=$(LLMEVAL_DEPS=build test/harness/install_deps.sh --list)
extra=$(comm -13 <(sort <<< "$all") <(sort <<< "$build"))
test_only=$(grep -xE 'chromium|libgtest-dev|libgmock-dev|libbenchmark-dev|prometheus|postgresql-15-pgtap|clang' <<< "$build" || true)
if [ -z "$extra" ] && [ -z "$test_only" ] && grep -qx postgresql-server-dev-15 <<< "$build"; then
  ok "install_deps.sh build mode: $(wc -l <<< "$build") packages, a subset of the full list, no test-only ones"
else
  not_ok "install_deps.sh build mode lists: $(tr '\n' ' ' <<< "$build") (not in the full list: '$extra'; test-only: '$test_only')"
fi
unknown=
for p in $build; do
  candidate=$(apt-cache policy "$p" 2>/dev/null | sed -n 's/^ *Candidate: //p')
  [ -n "$candidate" ] && [ "$candidate" != "(none)" ] || unknown+=" $p"
done
if [ -z "$unknown" ]; then ok "apt knows every package of the build mode"
else not_ok "apt has no candidate for:$unknown"; fi
if out=$(LLMEVAL_DEPS=build test/harness/install_deps.sh --dry-run 2>&1); then
  ok "install_deps.sh build mode, dry run: $out"
else
  not_ok "install_deps.sh --dry-run: $out"
fi
rc=0; out=$(LLMEVAL_DEPS=nonsense test/harness/install_deps.sh --list 2>&1) || rc=$?
if [ $rc = 2 ]; then ok "install_deps.sh refuses an unknown LLMEVAL_DEPS"
else not_ok "install_deps.sh with LLMEVAL_DEPS=nonsense: exit $rc: $out"; fi

# ---- the install the Dockerfile's build stage copies ----
if make -s -q all 2>/dev/null; then
  stage=$(mktemp -d)
  make -s install DESTDIR="$stage" >/dev/null
  got=$(cd "$stage" && find . -type f | sed 's|^\.||' | sort)
  version=$(sed -n "s/^default_version = '\(.*\)'/\1/p" pg_llmeval.control)
  want=$(printf '%s\n' "$(pg_config --pkglibdir)/pg_llmeval.so" \
           "$(pg_config --sharedir)/extension/pg_llmeval--$version.sql" \
           "$(pg_config --sharedir)/extension/pg_llmeval.control" \
           $(ls src/sql/pg_llmeval--*--*.sql 2>/dev/null | sed "s|^src/sql|$(pg_config --sharedir)/extension|") | sort)
  rm -rf "$stage"
  if [ "$got" = "$want" ]; then ok "make install DESTDIR= stages exactly: $(tr '\n' ' ' <<< "$got")"
  else not_ok "make install DESTDIR= stages: $(tr '\n' ' ' <<< "$got"); want $(tr '\n' ' ' <<< "$want")"; fi
else
  echo "ok - make install DESTDIR= not checked: the tree is not built (make all first) # SKIP"
fi

# ---- the entrypoint wrapper, with a stand-in for docker-entrypoint.sh ----
stub=$(mktemp -d)
printf '#!/bin/sh\nprintf "%%s|" "$@"\n' > "$stub/docker-entrypoint.sh"
chmod +x "$stub/docker-entrypoint.sh"
printf 'evals_from_file' > "$stub/db_name"
wrapper() { env -i PATH="$stub:/usr/bin:/bin" "$@"; }
entry=$PWD/docker/postgres/docker-entrypoint-llmeval.sh
check_args() {
  local name=$1 want=$2 got
  shift 2
  got=$(wrapper "$@" 2>&1) || true
  if [ "$got" = "$want" ]; then ok "entrypoint: $name"; else not_ok "entrypoint: $name: got '$got', want '$want'"; fi
}
check_args "database postgres by default" \
  "postgres|-c|cron.database_name=postgres|-c|llmeval.database_name=postgres|" "$entry" postgres
check_args "POSTGRES_DB, before the command's own settings" \
  "postgres|-c|cron.database_name=evals|-c|llmeval.database_name=evals|-c|llmeval.workers=4|" \
  POSTGRES_DB=evals "$entry" postgres -c llmeval.workers=4
check_args "POSTGRES_USER when POSTGRES_DB is unset" \
  "postgres|-c|cron.database_name=alice|-c|llmeval.database_name=alice|" POSTGRES_USER=alice "$entry" postgres
check_args "POSTGRES_DB_FILE" \
  "postgres|-c|cron.database_name=evals_from_file|-c|llmeval.database_name=evals_from_file|" \
  POSTGRES_DB_FILE="$stub/db_name" "$entry" postgres
check_args "flags only" "postgres|-c|cron.database_name=postgres|-c|llmeval.database_name=postgres|-c|a=b|" \
  "$entry" -c a=b
check_args "another command unchanged" "bash|-c|true|" "$entry" bash -c true
rm -rf "$stub"

# ---- the files themselves ----
python3 - <<'PY' || status=1
import glob, json, os, re, sys
import yaml

failures = 0
def check(name, cond, detail=""):
    global failures
    print(("ok - " if cond else "not ok - ") + name + ("" if cond else ": " + str(detail)))
    failures += 0 if cond else 1

# Every YAML and JSON file parses.
docs = {}
bad = []
files = sorted(f for ext in ("yml", "yaml", "json") for f in glob.glob(f"docker/**/*.{ext}", recursive=True))
for f in files:
    try:
        with open(f, encoding="utf-8") as fh:
            docs[f] = json.load(fh) if f.endswith(".json") else [d for d in yaml.safe_load_all(fh) if d is not None]
    except Exception as e:  # noqa: BLE001
        bad.append(f"{f}: {e}")
check(f"all {len(files)} YAML and JSON files under docker/ parse", not bad and len(files) >= 15, bad or files)
if bad:
    sys.exit(1)
one = lambda f: docs[f][0]

# The exporter's metric names: <query>_<column>; a histogram adds
# _bucket, _sum and _count.
queries = one("docker/postgres-exporter/queries.yaml")
exported = set()
problems = []
for qname, q in queries.items():
    if not re.fullmatch(r"llmeval(_[a-z0-9]+)*", qname):
        problems.append(f"query name {qname}")
    if not isinstance(q.get("query"), str) or q.get("master") is not True or not q.get("metrics"):
        problems.append(f"{qname}: needs query, master: true and metrics")
        continue
    for entry in q["metrics"]:
        (col, spec), = entry.items()
        usage = spec.get("usage")
        if usage not in ("LABEL", "GAUGE", "COUNTER", "HISTOGRAM") or not spec.get("description"):
            problems.append(f"{qname}.{col}: usage {usage}")
        if usage == "HISTOGRAM":
            for suffix in ("_bucket", "_sum", "_count"):
                if col + suffix not in q["query"]:
                    problems.append(f"{qname}.{col}: no {col + suffix} column")
                exported.add(f"{qname}_{col}{suffix}")
        elif usage in ("GAUGE", "COUNTER"):
            exported.add(f"{qname}_{col}")
        if usage == "COUNTER" and not col.endswith("total"):
            problems.append(f"{qname}.{col}: a counter whose name does not end in _total")
check(f"queries.yaml: {len(queries)} queries in the exporter's format, {len(exported)} metric names",
      not problems, problems)
# Prometheus conventions: base units (promtool check metrics rejects
# milliseconds), and counters that never decrease: the cumulative series
# read llmeval.counters, not rows that maintenance() deletes or
# retry_failed() rewrites (the llmeval_last_* windows are gauges).
units = sorted(n for n in exported
               if re.search(r"_(ms|milliseconds|microseconds|minutes|hours|days|kilobytes|megabytes)(_|$)", n))
check("exported metric names use base units (seconds)", not units, units)
cumulative = [qname for qname, q in queries.items()
              if not qname.startswith("llmeval_last_")
              and any(spec.get("usage") in ("COUNTER", "HISTOGRAM") for e in q["metrics"] for spec in e.values())]
check(f"the {len(cumulative)} counter and histogram queries read llmeval.counters",
      cumulative and all("llmeval.counters" in queries[qname]["query"] for qname in cumulative),
      [qname for qname in cumulative if "llmeval.counters" not in queries[qname]["query"]])

# Rules: well formed, tested firing and silent, on exported series.
rules = one("docker/prometheus/rules/llmeval.yml")
alerts = [r for g in rules["groups"] for r in g["rules"] if "alert" in r]
tests = one("docker/prometheus/rules/llmeval_test.yml")
fires, silent = set(), set()
for t in tests["tests"]:
    for a in t.get("alert_rule_test", []):
        (fires if a.get("exp_alerts") else silent).add(a["alertname"])
names = {a["alert"] for a in alerts}
check(f"every one of the {len(alerts)} alerts has a severity, a summary and a description",
      all(a.get("labels", {}).get("severity") in ("warning", "critical") and
          {"summary", "description"} <= set(a.get("annotations", {})) for a in alerts))
check("every alert is unit-tested firing and not firing",
      names <= fires and names <= silent, f"never firing: {names - fires}, never silent: {names - silent}")
used = {m for a in alerts for m in re.findall(r"\bllmeval_[a-z0-9_]+", a["expr"])}
check(f"the rules use only exported series ({len(used)})", used <= exported, sorted(used - exported))

# Prometheus scrapes the exporter under the job name the docs and the
# ServiceMonitor's Service use.
prom = one("docker/prometheus/prometheus.yml")
jobs = {j["job_name"]: j for j in prom["scrape_configs"]}
check("prometheus.yml scrapes postgres-exporter:9187 as job llmeval-postgres-exporter",
      jobs.get("llmeval-postgres-exporter", {}).get("static_configs", [{}])[0].get("targets") == ["postgres-exporter:9187"])
check("prometheus.yml loads rules/llmeval.yml and not the tests", prom["rule_files"] == ["rules/llmeval.yml"])

# Compose.
compose = one("docker/compose.yaml")
services = compose["services"]
check("compose.yaml has db, postgres-exporter, prometheus and grafana, each with a healthcheck",
      set(services) == {"db", "postgres-exporter", "prometheus", "grafana"} and
      all("healthcheck" in s for s in services.values()), sorted(services))
check("compose.yaml builds db from docker/Dockerfile with the repository as context",
      services["db"]["build"] == {"context": "..", "dockerfile": "docker/Dockerfile"})
missing = []
for name, s in services.items():
    for v in s.get("volumes", []):
        src = v.split(":")[0]
        if src.startswith("./") and not os.path.exists(os.path.join("docker", src)):
            missing.append(f"{name}: {src}")
check("every file compose.yaml mounts exists", not missing, missing)
exp = services["postgres-exporter"]
qpath = [a.split("=", 1)[1] for a in exp["command"] if a.startswith("--extend.query-path=")]
check("the exporter reads the queries.yaml it mounts",
      qpath and any(v.startswith("./postgres-exporter/queries.yaml:" + qpath[0]) for v in exp["volumes"]))
check("the exporter connects as llmeval_exporter to the database POSTGRES_DB",
      exp["environment"]["DATA_SOURCE_USER"] == "llmeval_exporter" and
      "${POSTGRES_DB:-llmeval}" in exp["environment"]["DATA_SOURCE_URI"])
text = open("docker/compose.yaml", encoding="utf-8").read()
variables = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", text))
documented = set(re.findall(r"^([A-Z_][A-Z0-9_]*)=", open("docker/env.example", encoding="utf-8").read(), re.M))
check(f"every variable compose.yaml reads ({len(variables)}) is in env.example", variables <= documented,
      sorted(variables - documented))

# Grafana: data sources and dashboard.
ds = one("docker/grafana/provisioning/datasources/prometheus.yml")["datasources"]
uids = {d["uid"]: d["type"] for d in ds}
check("Grafana provisions a Prometheus and a PostgreSQL data source",
      sorted(uids.values()) == ["postgres", "prometheus"], uids)
provider = one("docker/grafana/provisioning/dashboards/llmeval.yml")["providers"][0]
mount = [v.split(":")[1] for v in services["grafana"]["volumes"] if v.startswith("./grafana/dashboards:")]
check("the dashboard provider reads the directory compose.yaml mounts the dashboards at",
      mount == [provider["options"]["path"]], (mount, provider["options"]["path"]))
dash = docs["docker/grafana/dashboards/llmeval.json"]
def walk(ps):
    for p in ps:
        yield p
        yield from walk(p.get("panels", []))
panels = [p for p in walk(dash["panels"]) if p["type"] != "row"]
problems = []
for p in panels:
    d = p.get("datasource") or {}
    if uids.get(d.get("uid")) != d.get("type"):
        problems.append(f"{p['title']}: data source {d}")
    if not p.get("targets"):
        problems.append(f"{p['title']}: no query")
    for t in p.get("targets", []):
        td = t.get("datasource", d)
        if uids.get(td.get("uid")) != td.get("type"):
            problems.append(f"{p['title']}/{t.get('refId')}: data source {td}")
        if td.get("type") == "prometheus" and not t.get("expr"):
            problems.append(f"{p['title']}: a Prometheus query without expr")
        if td.get("type") == "postgres" and not (t.get("rawSql") and t.get("format") in ("table", "time_series")):
            problems.append(f"{p['title']}: a SQL query without rawSql or format")
ids = [p["id"] for p in walk(dash["panels"])]
check(f"the dashboard's {len(panels)} panels use provisioned data sources of their type", not problems, problems)
check("panel ids are unique and the dashboard has a uid", len(ids) == len(set(ids)) and dash.get("uid"))
kinds = {t.get("datasource", p["datasource"])["type"] for p in panels for t in p["targets"]}
check("the dashboard reads both Prometheus and PostgreSQL", kinds == {"prometheus", "postgres"}, kinds)
titles = " ".join(p["title"].lower() for p in walk(dash["panels"]))
check("the dashboard covers jobs, queue, scores, latency, cost and errors",
      all(w in titles for w in ("jobs", "queue", "score", "latency", "cost", "error")))
used = {m for p in panels for t in p["targets"] for m in re.findall(r"\bllmeval_[a-z0-9_]+", t.get("expr", ""))}
check(f"the dashboard uses only exported series ({len(used)})", used <= exported, sorted(used - exported))

# Kubernetes.
kdir = "docker/kubernetes"
kust = one(f"{kdir}/kustomization.yaml")
check("kustomization.yaml lists existing files",
      all(os.path.exists(os.path.join(kdir, r)) for r in kust["resources"]), kust["resources"])
objects = {}
for f in glob.glob(f"{kdir}/*.yaml"):
    for d in docs[f]:
        if "kind" in d and d["kind"] != "Kustomization":
            objects[(d["kind"], d["metadata"]["name"])] = d
for kind in ("StatefulSet", "Service", "Secret", "Deployment", "ConfigMap", "ServiceMonitor", "PrometheusRule", "Cluster"):
    check(f"kubernetes/ has a {kind}", any(k == kind for k, _ in objects))
rule = objects[("PrometheusRule", "pg-llmeval")]
check("the PrometheusRule carries the groups of prometheus/rules/llmeval.yml",
      rule["spec"]["groups"] == rules["groups"], "run docker/kubernetes/sync_from_compose.py")
cm = objects[("ConfigMap", "llmeval-postgres-exporter-queries")]
check("the exporter's ConfigMap carries postgres-exporter/queries.yaml",
      cm["data"]["queries.yaml"] == open("docker/postgres-exporter/queries.yaml", encoding="utf-8").read(),
      "run docker/kubernetes/sync_from_compose.py")
secret = objects[("Secret", "pg-llmeval")]
keys = set(secret["stringData"])
refs = set(re.findall(r"secretKeyRef: \{name: pg-llmeval, key: ([A-Z_]+)",
                      "".join(open(f, encoding="utf-8").read() for f in glob.glob(f"{kdir}/*.yaml"))))
check(f"every Secret key the manifests use ({len(refs)}) is in secret.example.yaml", refs and refs <= keys,
      sorted(refs - keys))
sts = objects[("StatefulSet", "pg-llmeval")]
svc = objects[("Service", "pg-llmeval-headless")]
check("the StatefulSet's serviceName is a headless Service",
      sts["spec"]["serviceName"] == "pg-llmeval-headless" and svc["spec"].get("clusterIP") == "None")
sm = objects[("ServiceMonitor", "llmeval-postgres-exporter")]
esvc = objects[("Service", "llmeval-postgres-exporter")]
check("the ServiceMonitor selects the exporter's Service (job label llmeval-postgres-exporter) by a port it has",
      all(esvc["metadata"]["labels"].get(k) == v for k, v in sm["spec"]["selector"]["matchLabels"].items()) and
      sm["spec"]["endpoints"][0]["port"] in {p["name"] for p in esvc["spec"]["ports"]})
dep = objects[("Deployment", "llmeval-postgres-exporter")]
image = dep["spec"]["template"]["spec"]["containers"][0]["image"]
check("Compose and Kubernetes run the same exporter image", image == exp["image"], (image, exp["image"]))
cluster = objects[("Cluster", "pg-llmeval")]
check("the CloudNativePG Cluster preloads pg_cron and pg_llmeval",
      cluster["spec"]["postgresql"]["shared_preload_libraries"] == ["pg_cron", "pg_llmeval"])

# The Dockerfile: the harness's install script, make install, files that exist.
dockerfile = open("docker/Dockerfile", encoding="utf-8").read()
runs = re.findall(r"^RUN ((?:[^\n]*\\\n)*[^\n]*)", dockerfile, re.M)
check("the Dockerfile installs the build dependencies with test/harness/install_deps.sh",
      any("LLMEVAL_DEPS=build test/harness/install_deps.sh" in r for r in runs))
check("the Dockerfile builds with make and stages make install",
      any("make install DESTDIR=/staging" in r for r in runs) and "COPY --from=build /staging/ /" in dockerfile)
check("the Dockerfile's final stage installs pg_cron", "postgresql-${PG_MAJOR:-15}-cron" in dockerfile)
sources = [s for line in re.findall(r"^COPY (?!--from)(.*)$", dockerfile, re.M) for s in line.split()[:-1]]
check("the files the Dockerfile copies exist", sources and all(os.path.exists(s) for s in sources),
      [s for s in sources if not os.path.exists(s)])
conf = open("docker/postgres/pg_llmeval.conf", encoding="utf-8").read()
check("the image preloads pg_cron and pg_llmeval",
      re.search(r"^shared_preload_libraries = 'pg_cron,pg_llmeval'$", conf, re.M) is not None)

# The guide names every alert.
guide = open("docs/DEPLOYMENT.md", encoding="utf-8").read()
check("docs/DEPLOYMENT.md describes every alert", all(n in guide for n in names), sorted(n for n in names if n not in guide))
sys.exit(1 if failures else 0)
PY

# Executable scripts the image and the tests run.
for f in docker/postgres/docker-entrypoint-llmeval.sh docker/postgres/initdb-pg_llmeval.sh \
         docker/postgres/llmeval-health docker/kubernetes/sync_from_compose.py; do
  [ -x "$f" ] || not_ok "$f is not executable"
done
for f in docker/postgres/*.sh docker/postgres/llmeval-health; do
  bash -n "$f" || not_ok "$f: bash -n"
done

[ $status = 0 ] && echo "deploy-check: all checks passed"
exit $status
