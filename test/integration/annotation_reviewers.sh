#!/usr/bin/env bash
# Two reviewers working one annotation queue at once, a Postgres role and a
# Supabase user: every item is labelled once, no item goes to both, and a
# tenant the queue is not granted to claims nothing.
# Needs the throwaway cluster (test/harness/with_cluster.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/harness/tap.sh

psql -X -q -v ON_ERROR_STOP=1 -d postgres <<'SQL' >/dev/null
DROP EXTENSION IF EXISTS pg_llmeval CASCADE;
CREATE EXTENSION pg_llmeval;
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN
    CREATE ROLE authenticated NOLOGIN NOINHERIT;
  END IF;
END $$;
SELECT llmeval.grant_tenant_access('authenticated');
CREATE ROLE queue_owner IN ROLE llmeval_user;
CREATE ROLE reviewer_a IN ROLE llmeval_user;
CREATE ROLE outsider IN ROLE llmeval_user;
SELECT llmeval.create_provider('rev', 'openai', 'http://127.0.0.1:9/v1');
SELECT llmeval.create_model('rev/m');
SET ROLE queue_owner;
SELECT llmeval.create_prompt('p', 'Q: {{q}}');
SELECT llmeval.import_dataset('d', (SELECT jsonb_agg(jsonb_build_object('input', jsonb_build_object('q', 'q' || g),
                                                                          'expected', 'a' || g)) FROM generate_series(1, 200) g));
SELECT llmeval.submit_job('p', 'd', ARRAY['rev/m'], ARRAY['exact_match']);
RESET ROLE;
-- the job's outputs, written as a worker would (a worker's own claim on
-- them, against a provider that does not answer, is revoked)
UPDATE llmeval.tasks SET status = 'completed', claim_token = NULL, lease_expires_at = NULL, worker_pid = NULL;
INSERT INTO llmeval.responses (task_id, tenant, output) SELECT t.id, t.tenant, 'answer' FROM llmeval.tasks t
ON CONFLICT (task_id) DO UPDATE SET output = EXCLUDED.output, error = NULL;
SET ROLE queue_owner;
SELECT llmeval.create_annotation_queue('review', '[{"key": "correct", "type": "boolean", "required": true}]');
SELECT llmeval.add_to_queue('review', (SELECT max(id) FROM llmeval.jobs));
SELECT llmeval.grant_annotation_queue('review', 'reviewer_a');
SELECT llmeval.grant_annotation_queue('review', 'user-b');
SQL

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Claim and label in one statement until the queue has nothing left for the reviewer.
review() {  # NAME SETUP-SQL
  while :; do
    got=$(psql -X -At -q -v ON_ERROR_STOP=1 -d postgres -c "$2" \
            -c "SELECT c.item_id FROM llmeval.claim_annotation('review') c,
                       LATERAL llmeval.submit_annotation(c.item_id, '{\"correct\": true}') s
                WHERE c.item_id IS NOT NULL") || { echo "error" >> "$work/$1"; return; }
    [ -z "$got" ] && return
    echo "$got" >> "$work/$1"
  done
}
review a "SET ROLE reviewer_a" &
pid_a=$!
review b "SET ROLE authenticated; SET request.jwt.claims = '{\"sub\": \"user-b\", \"role\": \"authenticated\"}'" &
pid_b=$!
wait "$pid_a" "$pid_b"

expect "no reviewer hit an error" "$(cat "$work/a" "$work/b" | grep -c error || true)" 0
expect "the two reviewers labelled 200 items between them" "$(cat "$work/a" "$work/b" | wc -l)" 200
expect "no item went to both" "$(sort "$work/a" "$work/b" | uniq -d | wc -l)" 0
expect "both worked" "$( [ -s "$work/a" ] && [ -s "$work/b" ] && echo yes)" yes
check "every item is done, labelled by the one who claimed it" \
  "SELECT count(*) FILTER (WHERE status = 'done' AND reviewed_by IN ('reviewer_a', 'user-b')) FROM llmeval.annotation_items" 200
check "the database agrees on who did how many" \
  "SELECT string_agg(reviewed_by || ':' || n, ' ' ORDER BY reviewed_by) FROM (SELECT reviewed_by, count(*) AS n FROM llmeval.annotation_items GROUP BY 1) x" \
  "reviewer_a:$(wc -l < "$work/a") user-b:$(wc -l < "$work/b")"
expect "a tenant the queue is not granted to claims nothing" \
  "$(psql -X -At -q -d postgres -c "SET ROLE outsider" -c "SELECT * FROM llmeval.claim_annotation('review')" 2>&1 | grep -o 'does not exist')" \
  "does not exist"
exit $status
