-- on_update: an application that writes a row first and its answer later
-- (streamed) has the row scored when the answer arrives, once. The workers'
-- step (llmeval._online_ingest) is called directly, as a superuser.
BEGIN;
SELECT plan(9);

CREATE ROLE tap_ualice IN ROLE llmeval_user;
GRANT ALL ON ALL TABLES IN SCHEMA pg_temp TO PUBLIC;
CREATE TABLE public.tap_stream (id int PRIMARY KEY, question text, answer text, reference text, note text);
ALTER TABLE public.tap_stream OWNER TO tap_ualice;

SET ROLE tap_ualice;
SELECT throws_ok($$ SELECT llmeval.create_online_rule('s', 'public.tap_stream', '{"output": "answer", "expected": "reference"}',
                    ARRAY['exact_match'], '{"on_update": "yes"}') $$, '22023', NULL, 'on_update must be a boolean');
SELECT ok(llmeval.create_online_rule('s', 'public.tap_stream', '{"output": "answer", "expected": "reference"}',
            ARRAY['exact_match'], '{"on_update": true}') > 0, 'a rule that also samples updates of the output');
INSERT INTO public.tap_stream (id, question, reference) SELECT g, 'q' || g, 'a' || g FROM generate_series(1, 10) g;
RESET ROLE;
SELECT llmeval._online_ingest();
SELECT is((SELECT count(*) FROM llmeval.online_items WHERE status = 'no_output'), 10::bigint,
          'rows read before their answer are waiting for it, not scored');
SET ROLE tap_ualice;
UPDATE public.tap_stream SET note = 'seen' WHERE id <= 5;
RESET ROLE;
SELECT llmeval._online_ingest();
SELECT is((SELECT count(*) FROM llmeval.online_items WHERE status = 'no_output'), 10::bigint,
          'an update of another column changes nothing');
SET ROLE tap_ualice;
UPDATE public.tap_stream SET answer = CASE WHEN id <= 6 THEN 'a' || id ELSE 'wrong' END;
RESET ROLE;
SELECT llmeval._online_ingest();
SELECT is((SELECT count(*) FROM llmeval.online_items WHERE status = 'ingested'), 10::bigint,
          'the answers written later are read');
SELECT is((SELECT count(*) || ' ' || sum(value) FROM llmeval.online_scores), '10 6', 'and scored');
SET ROLE tap_ualice;
UPDATE public.tap_stream SET answer = 'a' || id;
INSERT INTO public.tap_stream (id, question, answer, reference) VALUES (11, 'q11', 'a11', 'a11');
RESET ROLE;
SELECT llmeval._online_ingest();
SELECT is((SELECT count(*) || ' ' || sum(value) FROM llmeval.online_scores), '11 7',
          'a row scored is not scored again when its answer changes');
SET ROLE tap_ualice;
SELECT ok(llmeval.drop_online_rule('s'), 'drop');
RESET ROLE;
SELECT is((SELECT count(*) FROM pg_trigger WHERE tgrelid = 'public.tap_stream'::regclass AND NOT tgisinternal),
          0::bigint, 'both its triggers go');

SELECT * FROM finish();
ROLLBACK;
