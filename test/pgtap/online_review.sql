-- Online rules' option review: rows whose scores are all in go to the
-- owner's annotation queue when a score is below its level, when a judge
-- and an assertion disagree, or by a deterministic share; each row once.
-- The workers' step (llmeval._online_ingest) is called directly.
BEGIN;
SELECT plan(9);

CREATE ROLE tap_ralice IN ROLE llmeval_user;
GRANT ALL ON ALL TABLES IN SCHEMA pg_temp TO PUBLIC;
CREATE TABLE public.tap_reviewed (id int PRIMARY KEY, answer text, reference text);
ALTER TABLE public.tap_reviewed OWNER TO tap_ralice;

SET ROLE tap_ralice;
SELECT llmeval.create_annotation_queue('doubts', '[{"key": "correct", "type": "boolean", "required": true}]');
SELECT llmeval.create_assertion('says_yes', 'contains', '"yes"');
SELECT throws_ok($$ SELECT llmeval.create_online_rule('r', 'public.tap_reviewed', '{"output": "answer", "expected": "reference"}',
                    ARRAY['exact_match'], '{"review": {"queue": "nope"}}') $$, '42704', NULL, 'review names an existing queue');
SELECT throws_ok($$ SELECT llmeval.create_online_rule('r', 'public.tap_reviewed', '{"output": "answer", "expected": "reference"}',
                    ARRAY['exact_match'], '{"review": {"queue": "doubts", "below": {"bleu": 1}}}') $$, '22023', NULL,
                 'review''s levels are for the rule''s metrics');
SELECT throws_ok($$ SELECT llmeval.create_online_rule('r', 'public.tap_reviewed', '{"output": "answer", "expected": "reference"}',
                    ARRAY['exact_match'], '{"review": {"queue": "doubts", "often": true}}') $$, '22023', NULL,
                 'an unknown review key is refused');
SELECT ok(llmeval.create_online_rule('r', 'public.tap_reviewed', '{"output": "answer", "expected": "reference"}',
            ARRAY['exact_match', 'token_f1', 'says_yes'],
            '{"review": {"queue": "doubts", "below": {"exact_match": 1}, "disagree": ["token_f1", "says_yes"]}}') > 0,
          'a rule that sends doubtful rows to the queue');
-- 1-4 wrong (exact_match 0); all others right (token_f1 1), of which only
-- 7-8 say yes: for 5, 6, 9 and 10 token_f1 and the assertion disagree
INSERT INTO public.tap_reviewed
SELECT g, CASE WHEN g <= 4 THEN 'no' WHEN g IN (7, 8) THEN 'yes ' || g ELSE 'a ' || g END,
          CASE WHEN g <= 4 THEN 'yes' WHEN g IN (7, 8) THEN 'yes ' || g ELSE 'a ' || g END
FROM generate_series(1, 10) g;
RESET ROLE;
SELECT llmeval._online_ingest();
SET ROLE tap_ralice;
SELECT is((SELECT array_agg(tc.metadata ->> 'row_key' ORDER BY (tc.metadata ->> 'row_key')::int)
           FROM llmeval.annotation_items i JOIN llmeval.tasks t ON t.id = i.task_id
           JOIN llmeval.test_cases tc ON tc.id = t.test_case_id),
          ARRAY['1', '2', '3', '4', '5', '6', '9', '10'],
          'rows below the level and rows where the judge-like score and the assertion disagree are queued');
SELECT is((SELECT count(*) FROM llmeval.online_items WHERE reviewed), 10::bigint, 'every row was looked at once');
RESET ROLE;
SELECT llmeval._online_ingest();
SET ROLE tap_ralice;
SELECT is((SELECT count(*) FROM llmeval.annotation_items), 8::bigint, 'another pass adds nothing');

-- a share: with 1, every row
SELECT ok(llmeval.create_online_rule('all', 'public.tap_reviewed', '{"output": "answer", "expected": "reference"}',
            ARRAY['exact_match'], '{"review": {"queue": "doubts", "share": 1}}') > 0, 'a rule reviewing a share of its rows');
INSERT INTO public.tap_reviewed SELECT g, 'x', 'x' FROM generate_series(11, 15) g;
RESET ROLE;
SELECT llmeval._online_ingest();
SET ROLE tap_ralice;
SELECT is((SELECT count(*) FROM llmeval.annotation_items i JOIN llmeval.online_items o ON o.task_id = i.task_id
           JOIN llmeval.online_rules r ON r.id = o.rule_id WHERE r.name = 'all'), 5::bigint, 'share 1 queues every row');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
