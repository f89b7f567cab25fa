-- Online rules' daily budgets: a rule whose judge calls have cost its
-- max_cost_usd_per_day today is deferred, its rows kept pending, and reads
-- them again when the day's spending no longer reaches the budget. The
-- workers' step (llmeval._online_ingest) is called directly and the judge
-- calls' completion written as a worker would; a day passing is simulated
-- by dating the calls a day back.
BEGIN;
SELECT plan(14);

CREATE ROLE tap_balice IN ROLE llmeval_user;
GRANT ALL ON ALL TABLES IN SCHEMA pg_temp TO PUBLIC;
SELECT llmeval.create_provider('tapb', 'openai', 'http://127.0.0.1:9/v1');
SELECT llmeval.create_model('tapb/judge', 10, 30);
CREATE TABLE public.tap_budget (id serial PRIMARY KEY, question text, answer text);
ALTER TABLE public.tap_budget OWNER TO tap_balice;

SET ROLE tap_balice;
SELECT throws_ok($$ SELECT llmeval.create_online_rule('b', 'public.tap_budget', '{"output": "answer", "question": "question"}',
                    ARRAY['relevance'], '{"judge_model": "tapb/judge", "max_cost_usd_per_day": 0}') $$,
                 '22023', NULL, 'a budget of 0 is refused');
SELECT throws_ok($$ SELECT llmeval.create_online_rule('b', 'public.tap_budget', '{"output": "answer", "question": "question"}',
                    ARRAY['relevance'], '{"judge_model": "tapb/judge", "max_cost_usd_per_day": "cheap"}') $$,
                 '22023', NULL, 'a budget that is not a number is refused');
SELECT ok(llmeval.create_online_rule('b', 'public.tap_budget', '{"output": "answer", "question": "question"}',
            ARRAY['relevance'], '{"judge_model": "tapb/judge", "max_cost_usd_per_day": 0.01}') > 0,
          'a rule with a daily budget');
INSERT INTO public.tap_budget (question, answer) SELECT 'q' || g, 'a' || g FROM generate_series(1, 5) g;
RESET ROLE;
SELECT llmeval._online_ingest();
SELECT is((SELECT count(*) FROM llmeval.tasks t JOIN llmeval.online_rules r ON r.job_id = t.job_id
           WHERE t.kind = 'judge' AND t.status = 'pending'), 5::bigint, 'the first rows'' judge calls are queued');

SET ROLE tap_balice;
INSERT INTO public.tap_budget (question, answer) SELECT 'q' || g, 'a' || g FROM generate_series(6, 10) g;
RESET ROLE;
SELECT llmeval._online_ingest();
SELECT is((SELECT count(*) FROM llmeval.online_items WHERE status = 'pending'), 5::bigint,
          'a budgeted rule reads no more rows while its last batch''s calls run');

-- The five calls end, at 0.003 each: 0.015 spent of 0.01.
CREATE TEMP TABLE judged AS
  SELECT t.id FROM llmeval.tasks t WHERE t.kind = 'judge';
UPDATE llmeval.tasks t SET status = 'completed' WHERE t.id IN (SELECT id FROM judged);
INSERT INTO llmeval.responses (task_id, tenant, output, cost)
SELECT id, 'tap_balice', '{"score": 4, "reason": "ok"}', 0.003 FROM judged;
SELECT llmeval._online_ingest();
SET ROLE tap_balice;
SELECT is((SELECT status FROM llmeval.online_rules WHERE name = 'b'), 'deferred', 'the spent budget defers the rule');
SELECT is((SELECT deferred_until FROM llmeval.online_rules WHERE name = 'b'),
          date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' + interval '1 day',
          'until the next UTC day');
SELECT is((SELECT count(*) FROM llmeval.online_items WHERE status = 'pending'), 5::bigint, 'its rows wait, none dropped');
SELECT is((SELECT (detail ->> 'spent') || ' ' || (detail ->> 'pending') FROM llmeval.events WHERE kind = 'online_budget_deferred'),
          '0.015 5', 'an event says what was spent and what waits');
RESET ROLE;
SELECT llmeval._online_ingest();
SELECT is((SELECT count(*) FROM llmeval.events WHERE kind = 'online_budget_deferred'), 1::bigint, 'deferred once');

-- The next day: yesterday's calls no longer count.
UPDATE llmeval.responses r SET created_at = r.created_at - interval '1 day' WHERE r.task_id IN (SELECT id FROM judged);
SELECT llmeval._online_ingest();
SET ROLE tap_balice;
SELECT is((SELECT status FROM llmeval.online_rules WHERE name = 'b'), 'active', 'the rule resumes the next day');
SELECT is((SELECT count(*) FROM llmeval.events WHERE kind = 'online_budget_resumed'), 1::bigint, 'an event says so');
SELECT is((SELECT count(*) FROM llmeval.online_items WHERE status = 'ingested'), 10::bigint,
          'the deferred rows are read');
SELECT is((SELECT count(*) FROM llmeval.tasks WHERE kind = 'judge' AND status = 'pending'), 5::bigint,
          'and their judge calls queued');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
