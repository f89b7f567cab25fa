#!/usr/bin/env bash
# Online rules end to end, through the workers and the local mock provider
# (lexical, judge, assertion, embedding and SQL metrics):
# an application table, a rule with lexical, judge and assertion metrics,
# rows scored as they are inserted; the sample's size within a binomial
# bound and its keys exactly those llmeval.online_sampled picks; each row
# and metric scored once, through workers killed mid-way and an immediate
# restart; deleted rows skipped; an alert heard by a listener; a poll rule;
# two Supabase users each scoring only the rows they can see.
# Needs the throwaway cluster (test/harness/with_cluster.sh): the workers run
# in database postgres.
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/harness/mock_llm.sh
. test/harness/tap.sh

psql -X -q -v ON_ERROR_STOP=1 -d postgres <<SQL
ALTER SYSTEM SET llmeval.lease_seconds = 10;
SELECT pg_reload_conf();
DROP EXTENSION IF EXISTS pg_llmeval CASCADE;
CREATE EXTENSION pg_llmeval;
SELECT llmeval.create_provider('mock-openai', 'openai', '$mock_url/v1', 'LLMEVAL_MOCK_API_KEY');
SELECT llmeval.create_model('mock-openai/gpt-judge', 10, 30);
CREATE ROLE app_owner LOGIN IN ROLE llmeval_user;
CREATE TABLE public.support_log (
  id bigserial PRIMARY KEY, question text NOT NULL, answer text, reference text,
  created_at timestamptz NOT NULL DEFAULT now());
ALTER TABLE public.support_log OWNER TO app_owner;
SQL

# 1. A rule on the application's table, rows scored as they are inserted.
q "SET ROLE app_owner;
   SELECT llmeval.create_assertion('mentions_refund', 'contains', '\"refund\"');
   SELECT llmeval.create_online_rule('support', 'public.support_log',
     '{\"output\": \"answer\", \"question\": \"question\", \"expected\": \"reference\"}',
     ARRAY['token_f1', 'relevance', 'mentions_refund'],
     '{\"sampling_rate\": 0.1, \"seed\": 5, \"judge_model\": \"mock-openai/gpt-judge\"}')" >/dev/null
# 3,000 rows: in batches of 1,000, then 50 single-row inserts
for batch in 1 2 3; do
  q "SET ROLE app_owner;
     INSERT INTO public.support_log (question, answer, reference)
     SELECT 'How do I get a refund for order ' || g || '?',
            CASE WHEN g % 2 = 0 THEN 'Ask for a refund for order ' || g ELSE 'I cannot help' END,
            'Ask for a refund for order ' || g
     FROM generate_series(($batch - 1) * 1000 + 1, $batch * 1000) g" >/dev/null
done
for i in $(seq 50); do
  q "SET ROLE app_owner; INSERT INTO public.support_log (question, answer, reference)
     VALUES ('single $i', 'refund single $i', 'refund single $i')" >/dev/null
done
# kill the workers while they work: their claims come back, nothing is lost or doubled
sleep 1
q "SELECT count(pg_terminate_backend(pid)) >= 0 FROM pg_stat_activity WHERE backend_type = 'pg_llmeval worker'" >/dev/null
# rows deleted before they are read: most of them are, the step runs about once a second
q "SET ROLE app_owner; INSERT INTO public.support_log (id, question, answer, reference)
   SELECT g, 'gone', 'gone', 'gone' FROM generate_series(1000001, 1000400) g;
   DELETE FROM public.support_log WHERE id > 1000000" >/dev/null

wait_scored() {  # rule: every key moved from the triggers' queue, every item read, every judge call done
  for _ in $(seq 240); do
    if [ "$(q "SELECT NOT EXISTS (SELECT 1 FROM llmeval.online_pending p JOIN llmeval.online_rules r ON r.id = p.rule_id
                                  WHERE r.name = '$1')
                AND NOT EXISTS (SELECT 1 FROM llmeval.online_items i JOIN llmeval.online_rules r ON r.id = i.rule_id
                                  WHERE r.name = '$1' AND i.status = 'pending')
                AND NOT EXISTS (SELECT 1 FROM llmeval.tasks t JOIN llmeval.online_rules r ON r.job_id = t.job_id
                                WHERE r.name = '$1' AND t.status IN ('pending', 'running'))")" = t ]; then
      return 0
    fi
    sleep 0.5
  done
  echo "# timed out waiting for rule $1"
  return 1
}
wait_scored support || status=1

n_rows=3050
check "the sampled keys are exactly those online_sampled picks" \
  "SELECT count(*) FROM llmeval.online_items i FULL JOIN
     (SELECT id::text AS k FROM public.support_log WHERE llmeval.online_sampled(id::text, 5, 0.1)
      UNION ALL SELECT g::text FROM generate_series(1000001, 1000400) g WHERE llmeval.online_sampled(g::text, 5, 0.1)) s
   ON s.k = i.row_key WHERE s.k IS NULL OR i.row_key IS NULL" 0
# n = 3,450 rows at p = 0.1: mean 345, sd 17.6; 5 sd either side
check_true "the sample's size is within a binomial bound" \
  "(SELECT count(*) FROM llmeval.online_items) BETWEEN 257 AND 433"
check "deleted rows are skipped, not failed or scored" \
  "SELECT count(*) FILTER (WHERE status = 'skipped') = count(*) FILTER (WHERE row_key::bigint > 1000000)
          AND count(*) FILTER (WHERE status = 'skipped' AND task_id IS NOT NULL) = 0
   FROM llmeval.online_items" t
check "every ingested row has its three scores, once each" \
  "SELECT count(*) FILTER (WHERE n <> 3) FROM (
     SELECT i.row_key, count(s.metric) AS n FROM llmeval.online_items i
     LEFT JOIN llmeval.online_scores s ON s.rule_id = i.rule_id AND s.row_key = i.row_key
     WHERE i.status = 'ingested' GROUP BY 1) x" 0
check "no (rule, row, metric) twice" \
  "SELECT count(*) - count(DISTINCT (rule_id, row_key, metric)) FROM llmeval.online_scores" 0
check "the judge scored every sampled row through the queue" \
  "SELECT count(*) FILTER (WHERE value BETWEEN 0 AND 1) = (SELECT count(*) FROM llmeval.online_items WHERE status = 'ingested')
   FROM llmeval.online_scores WHERE metric = 'relevance'" t
check "the assertion told the refund answers from the others" \
  "SELECT bool_and((s.value = 1) = (c.answer LIKE '%refund%')) FROM llmeval.online_scores s
   JOIN public.support_log c ON c.id::text = s.row_key WHERE s.metric = 'mentions_refund'" t
check "token_f1 is 1 exactly where the answer is the reference" \
  "SELECT bool_and((s.value = 1) = (c.answer = c.reference)) FROM llmeval.online_scores s
   JOIN public.support_log c ON c.id::text = s.row_key WHERE s.metric = 'token_f1'" t
check "the judge calls are priced and attributed to the rule's tenant" \
  "SELECT count(*) > 0 AND bool_and(t.tenant = 'app_owner' AND j.cost > 0) FROM llmeval.judge_calls j
   JOIN llmeval.tasks t ON t.id = j.task_id JOIN llmeval.online_rules r ON r.job_id = j.job_id" t

# 2. Idempotent: the workers' step again, then the same rule's sample again
#    from another rule with the same seed and rate: the same keys.
q "SELECT llmeval._online_ingest()" >/dev/null
check "a further pass adds no score" \
  "SELECT count(*) - count(DISTINCT (rule_id, row_key, metric)) FROM llmeval.online_scores" 0

# 2b. Embedding and SQL metrics: every metric kind through a rule.
psql -X -q -v ON_ERROR_STOP=1 -d postgres <<'SQL' >/dev/null
SELECT llmeval.create_model('mock-openai/text-embed', 0.02, 0);
CREATE FUNCTION public.length_ratio(output text, tc llmeval.test_cases) RETURNS float8
  LANGUAGE sql AS 'SELECT length(output)::float8 / greatest(length(tc.expected), 1)';
ALTER FUNCTION public.length_ratio(text, llmeval.test_cases) OWNER TO app_owner;
SET ROLE app_owner;
SELECT llmeval.create_sql_metric('length_ratio', 'public.length_ratio(text, llmeval.test_cases)');
SELECT llmeval.create_online_rule('kinds', 'public.support_log',
  '{"output": "answer", "question": "question", "expected": "reference"}',
  ARRAY['semantic_similarity', 'length_ratio'], '{"embedding_model": "mock-openai/text-embed"}');
INSERT INTO public.support_log (question, answer, reference)
SELECT 'kinds ' || g, 'same words ' || g, 'same words ' || g FROM generate_series(1, 10) g;
SQL
wait_scored kinds || status=1
check "an embedding metric and a tenant's SQL metric score every row" \
  "SELECT string_agg(metric || ':' || count || ':' || round(avg::numeric, 3), ' ' ORDER BY metric)
   FROM (SELECT metric, count(value), avg(value) FROM llmeval.online_scores WHERE rule = 'kinds' GROUP BY 1) x" \
  "length_ratio:10:1.000 semantic_similarity:10:1.000"

# 3. An alert: a rule's metric drops below its level; a listener hears it.
q "SET ROLE app_owner;
   SELECT llmeval.create_online_rule('watch', 'public.support_log', '{\"output\": \"answer\", \"expected\": \"reference\"}',
     ARRAY['exact_match'], '{\"alert_below\": {\"exact_match\": 0.5}}')" >/dev/null
listen_log=$(mktemp)
psql -X -d postgres -c "LISTEN llmeval_online_alert" -c "SELECT pg_sleep(6)" -c "SELECT 1" > "$listen_log" 2>&1 &
listener=$!
sleep 0.5
q "SET ROLE app_owner; INSERT INTO public.support_log (question, answer, reference)
   SELECT 'q', 'wrong', 'right' FROM generate_series(1, 30)" >/dev/null
wait_scored watch || status=1
wait "$listener" || true
check "the drop is an online_alert event with the window's mean" \
  "SELECT string_agg((detail ->> 'metric') || ' ' || (detail ->> 'mean'), ',') FROM llmeval.events WHERE kind = 'online_alert'" \
  "exact_match 0"
expect "a listener on llmeval_online_alert is notified" \
  "$(grep -c 'Asynchronous notification "llmeval_online_alert" with payload .*"rule" : "watch".*"alerting" : true' "$listen_log")" 1
rm -f "$listen_log"

# 3b. A tenant's open transaction holding a rule (pause not committed)
#     holds no worker: the rule whose alert would clear is passed over, the
#     table's other rules go on, and no worker waits on a lock meanwhile.
psql -X -q -d postgres -c "SET ROLE app_owner" -c "BEGIN" -c "SELECT llmeval.pause_online_rule('watch')" \
  -c "SELECT pg_sleep(6)" -c "ROLLBACK" >/dev/null 2>&1 &
holder=$!
sleep 0.5
first=$(q "SELECT coalesce(max(id), 0) + 1 FROM public.support_log")
q "SET ROLE app_owner; INSERT INTO public.support_log (question, answer, reference)
   SELECT 'held', 'right', 'right' FROM generate_series(1, 100)" >/dev/null
waiting=0
for _ in $(seq 25); do
  n=$(q "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
         WHERE NOT l.granted AND a.backend_type = 'pg_llmeval worker'")
  waiting=$((waiting + n))
  sleep 0.1
done
expect "no worker waits on the held rule" "$waiting" 0
check "the other rules' rows of those inserts are read meanwhile" \
  "SELECT count(*) FROM llmeval.online_items i JOIN llmeval.online_rules r ON r.id = i.rule_id
   WHERE r.name = 'support' AND i.row_key::bigint >= $first AND i.status = 'ingested'" \
  "$(q "SELECT count(*) FROM generate_series($first, $first + 99) g WHERE llmeval.online_sampled(g::text, 5, 0.1)")"
check "the held rule's rows wait" \
  "SELECT count(*) FROM llmeval.online_items i JOIN llmeval.online_rules r ON r.id = i.rule_id
   WHERE r.name = 'watch' AND i.row_key::bigint >= $first AND i.status = 'ingested'" 0
wait "$holder" || true
wait_scored watch || status=1
check "after the transaction, its alert clears (the mean is back above its level)" \
  "SELECT count(*) FROM llmeval.events WHERE kind = 'online_alert_cleared' AND detail ->> 'rule' = 'watch'" 1

# 4. Poll mode: no trigger; the workers walk the table by its timestamp,
#    ten seconds behind, in committed batches.
q "SET ROLE app_owner;
   SELECT llmeval.create_online_rule('polled', 'public.support_log',
     '{\"output\": \"answer\", \"expected\": \"reference\", \"timestamp\": \"created_at\"}',
     ARRAY['exact_match'], '{\"mode\": \"poll\"}')" >/dev/null
q "SET ROLE app_owner; INSERT INTO public.support_log (question, answer, reference)
   SELECT 'p', 'same', 'same' FROM generate_series(1, 25)" >/dev/null
for _ in $(seq 60); do
  [ "$(q "SELECT count(*) FROM llmeval.online_items i JOIN llmeval.online_rules r ON r.id = i.rule_id
          WHERE r.name = 'polled' AND i.status = 'ingested'")" = 25 ] && break
  sleep 0.5
done
check "the poll rule read and scored the 25 new rows, once each" \
  "SELECT count(*) || ' ' || sum(value) FROM llmeval.online_scores WHERE rule = 'polled'" "25 25"

# 5. An immediate restart while rows are being read and judged (the judge
#    at 300 ms a call): nothing sampled is lost, nothing scored twice.
mock_config '{"latency_ms": 300}'
q "SET ROLE app_owner;
   SELECT llmeval.create_online_rule('crash', 'public.support_log',
     '{\"output\": \"answer\", \"question\": \"question\", \"expected\": \"reference\"}',
     ARRAY['token_f1', 'relevance'], '{\"judge_model\": \"mock-openai/gpt-judge\", \"cache\": false}')" >/dev/null
q "SET ROLE app_owner; INSERT INTO public.support_log (question, answer, reference)
   SELECT 'crash ' || g, 'answer ' || g, 'answer ' || g FROM generate_series(1, 200) g" >/dev/null
sleep 1.5
restart_immediate
wait_scored crash || status=1
check "after an immediate restart every sampled row is read, and scored once per metric" \
  "SELECT count(*) FILTER (WHERE i.status = 'ingested') || ' ' ||
          (SELECT count(*) FROM llmeval.online_scores s WHERE s.rule = 'crash') || ' ' ||
          (SELECT count(DISTINCT (s.row_key, s.metric)) FROM llmeval.online_scores s WHERE s.rule = 'crash')
   FROM llmeval.online_items i JOIN llmeval.online_rules r ON r.id = i.rule_id WHERE r.name = 'crash'" "200 400 400"
mock_config '{"latency_ms": 0}'

# 6. Two Supabase users on one table, each seeing its own rows.
psql -X -q -v ON_ERROR_STOP=1 -d postgres <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN
    CREATE ROLE authenticated NOLOGIN NOINHERIT;
  END IF;
END $$;
SELECT llmeval.grant_tenant_access('authenticated');
CREATE TABLE public.sb_messages (
  id bigserial PRIMARY KEY, user_id text NOT NULL DEFAULT (current_setting('request.jwt.claims', true)::json ->> 'sub'),
  prompt text, reply text, gold text);
ALTER TABLE public.sb_messages ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON public.sb_messages
  USING (user_id = current_setting('request.jwt.claims', true)::json ->> 'sub')
  WITH CHECK (user_id = current_setting('request.jwt.claims', true)::json ->> 'sub');
GRANT SELECT, INSERT, TRIGGER ON public.sb_messages TO authenticated;
GRANT USAGE ON SEQUENCE public.sb_messages_id_seq TO authenticated;
SQL
as_user() {  # SUB SQL
  psql -X -At -q -v ON_ERROR_STOP=1 -d postgres \
    -c "SET ROLE authenticated; SET request.jwt.claims = '{\"sub\": \"$1\", \"role\": \"authenticated\"}'; $2"
}
as_user user-a "SELECT llmeval.create_online_rule('mine', 'public.sb_messages',
  '{\"output\": \"reply\", \"expected\": \"gold\"}', ARRAY['exact_match'], '{\"seed\": 1}')" >/dev/null
as_user user-b "SELECT llmeval.create_online_rule('mine', 'public.sb_messages',
  '{\"output\": \"reply\", \"expected\": \"gold\"}', ARRAY['exact_match'], '{\"seed\": 1}')" >/dev/null
as_user user-a "INSERT INTO public.sb_messages (prompt, reply, gold) SELECT 'a', 'x', 'x' FROM generate_series(1, 30)" >/dev/null
as_user user-b "INSERT INTO public.sb_messages (prompt, reply, gold) SELECT 'b', 'x', 'y' FROM generate_series(1, 20)" >/dev/null
wait_scored mine || status=1
expect "user a's rule scores her 30 rows and skips b's 20" \
  "$(as_user user-a "SELECT count(*) FILTER (WHERE status = 'ingested') || ' ' || count(*) FILTER (WHERE status = 'skipped') FROM llmeval.online_items")" "30 20"
expect "user b's rule scores his 20 rows and skips a's 30" \
  "$(as_user user-b "SELECT count(*) FILTER (WHERE status = 'ingested') || ' ' || count(*) FILTER (WHERE status = 'skipped') FROM llmeval.online_items")" "20 30"
expect "each sees only the scores of their own rule" \
  "$(as_user user-a "SELECT count(*) || ' ' || sum(value) FROM llmeval.online_scores") / $(as_user user-b "SELECT count(*) || ' ' || sum(value) FROM llmeval.online_scores")" \
  "30 30 / 20 0"
expect "user b cannot drop user a's rule by its id or name: only his own" \
  "$(as_user user-b "SELECT llmeval.drop_online_rule('mine')") $(as_user user-a "SELECT count(*) FROM llmeval.online_rules")" "t 1"

exit $status
