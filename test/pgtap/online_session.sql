-- Session scope: with a session column and idle_seconds, a conversation is
-- scored once, as a whole (its turns in order), when no turn has arrived
-- for it for idle_seconds. The workers' step (llmeval._online_ingest) is
-- called directly; time passing is simulated by dating turns back.
BEGIN;
SELECT plan(11);

CREATE ROLE tap_salice2 IN ROLE llmeval_user;
GRANT ALL ON ALL TABLES IN SCHEMA pg_temp TO PUBLIC;
CREATE TABLE public.tap_turns (id serial PRIMARY KEY, conversation text NOT NULL, question text, answer text,
                               at timestamptz NOT NULL DEFAULT now());
ALTER TABLE public.tap_turns OWNER TO tap_salice2;
GRANT USAGE ON SEQUENCE public.tap_turns_id_seq TO tap_salice2;

SET ROLE tap_salice2;
SELECT llmeval.create_assertion('mentions_refund', 'contains', '"refund"');
SELECT throws_ok($$ SELECT llmeval.create_online_rule('c', 'public.tap_turns', '{"output": "answer", "question": "question"}',
                    ARRAY['mentions_refund'], '{"idle_seconds": 60}') $$, '22023', NULL,
                 'session scope needs the session and timestamp columns');
SELECT throws_ok($$ SELECT llmeval.create_online_rule('c', 'public.tap_turns',
                    '{"output": "answer", "question": "question", "session": "conversation", "timestamp": "at"}',
                    ARRAY['mentions_refund'], '{"idle_seconds": 0}') $$, '22023', NULL, 'idle_seconds is at least 1');
SELECT throws_ok($$ SELECT llmeval.create_online_rule('c', 'public.tap_turns',
                    '{"output": "answer", "question": "question", "session": "conversation", "timestamp": "at", "expected": "answer"}',
                    ARRAY['token_f1'], '{"idle_seconds": 60}') $$, '22023', NULL,
                 'a session is not compared with an expected answer');
SELECT ok(llmeval.create_online_rule('c', 'public.tap_turns',
            '{"output": "answer", "question": "question", "session": "conversation", "timestamp": "at"}',
            ARRAY['mentions_refund'], '{"idle_seconds": 60}') > 0, 'a session-scoped rule');
-- s1: three turns, the last three minutes ago; s2: two turns, the last ten seconds ago
INSERT INTO public.tap_turns (conversation, question, answer, at) VALUES
  ('s1', 'hello', 'hi, how can I help?', now() - interval '5 minutes'),
  ('s1', 'my order is late', 'sorry about that', now() - interval '4 minutes'),
  ('s1', 'can I get my money back?', 'yes, a refund is on its way', now() - interval '3 minutes'),
  ('s2', 'where is my parcel?', 'on its way', now() - interval '20 seconds'),
  ('s2', 'thanks', 'you are welcome', now() - interval '10 seconds');
RESET ROLE;
SELECT is((SELECT count(*) FROM llmeval.online_pending), 5::bigint, 'the trigger queues each turn''s session');
SELECT llmeval._online_ingest();
SET ROLE tap_salice2;
SELECT is((SELECT string_agg(row_key || ':' || status, ' ' ORDER BY row_key) FROM llmeval.online_items),
          's1:ingested s2:pending', 'one item per session; the idle one is read, the active one waits');
SELECT is((SELECT r.output FROM llmeval.results r JOIN llmeval.online_items i ON i.task_id = r.task_id WHERE i.row_key = 's1'),
          E'User: hello\nAssistant: hi, how can I help?\n\nUser: my order is late\nAssistant: sorry about that\n\n'
          'User: can I get my money back?\nAssistant: yes, a refund is on its way',
          'the judged output is the whole conversation, its turns in order');
SELECT is((SELECT value FROM llmeval.online_scores WHERE row_key = 's1'), 1::float8, 'and it is scored once, as a whole');
RESET ROLE;
-- a minute passes for s2
UPDATE public.tap_turns SET at = at - interval '2 minutes' WHERE conversation = 's2';
UPDATE llmeval.online_items SET not_before = now() - interval '1 second' WHERE row_key = 's2';
SELECT llmeval._online_ingest();
SET ROLE tap_salice2;
SELECT is((SELECT string_agg(row_key || ':' || status || ':' || s.value, ' ' ORDER BY row_key)
           FROM llmeval.online_items i JOIN llmeval.online_scores s USING (row_key)),
          's1:ingested:1 s2:ingested:0', 'once idle, the other session is scored');
-- a late turn of a scored session does not score it again
INSERT INTO public.tap_turns (conversation, question, answer) VALUES ('s1', 'one more thing', 'refund again');
RESET ROLE;
SELECT llmeval._online_ingest();
SET ROLE tap_salice2;
SELECT is((SELECT count(*) FROM llmeval.online_scores), 2::bigint, 'each session is scored once');
SELECT is((SELECT count(*) FROM llmeval.online_items), 2::bigint, 'and is one item');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
