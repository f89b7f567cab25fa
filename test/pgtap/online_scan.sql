-- Rules that read their table themselves: backfill_from (rows written
-- before the rule, under a trigger rule) and mode poll (no trigger; a
-- watermark on (timestamp, key) moved in committed batches of 1,000). The
-- workers' step (llmeval._online_ingest) is called directly, as a superuser.
BEGIN;
SELECT plan(16);

CREATE ROLE tap_walice IN ROLE llmeval_user;
CREATE ROLE tap_wbob IN ROLE llmeval_user;
GRANT ALL ON ALL TABLES IN SCHEMA pg_temp TO PUBLIC;
CREATE TABLE public.tap_log (id int PRIMARY KEY, answer text, reference text, created_at timestamptz NOT NULL DEFAULT now());
ALTER TABLE public.tap_log OWNER TO tap_walice;
GRANT SELECT ON public.tap_log TO tap_wbob;
-- 3,000 rows over the last three days (one a minute and a half), written before any rule
INSERT INTO public.tap_log (id, answer, reference, created_at)
SELECT g, 'a' || g, 'a' || g, now() - interval '3 days' + g * interval '86.4 seconds' FROM generate_series(1, 2999) g;
-- two rows with the same timestamp: the key orders them
INSERT INTO public.tap_log VALUES (5001, 'x', 'x', now() - interval '12 hours'), (5000, 'y', 'y', now() - interval '12 hours');
CREATE TEMP TABLE since AS SELECT now() - interval '1 day' AS t;
GRANT SELECT ON since TO PUBLIC;

SET ROLE tap_walice;
SELECT throws_ok($$ SELECT llmeval.create_online_rule('b', 'public.tap_log', '{"output": "answer", "expected": "reference"}',
                    ARRAY['exact_match'], '{"backfill_from": "2026-01-01"}') $$, '22023', NULL,
                 'backfill_from needs a timestamp column');
SELECT throws_ok($$ SELECT llmeval.create_online_rule('b', 'public.tap_log',
                    '{"output": "answer", "expected": "reference", "timestamp": "created_at"}',
                    ARRAY['exact_match'], '{"backfill_from": "yesterday-ish"}') $$, '22023', NULL,
                 'backfill_from must be a timestamp');
SELECT throws_ok($$ SELECT llmeval.create_online_rule('b', 'public.tap_log',
                    '{"output": "answer", "expected": "reference", "timestamp": "answer"}',
                    ARRAY['exact_match'], '{"backfill_from": "2026-01-01"}') $$, '22007', NULL,
                 'a timestamp column that is not a timestamp is refused at creation');
SELECT ok(llmeval.create_online_rule('b', 'public.tap_log',
            '{"output": "answer", "expected": "reference", "timestamp": "created_at"}', ARRAY['exact_match'],
            jsonb_build_object('sampling_rate', 0.5, 'seed', 3, 'backfill_from', (SELECT t FROM since))) > 0,
          'a trigger rule with a backfill of the last day');
RESET ROLE;
SELECT llmeval._online_ingest();
SELECT is((SELECT count(*) FROM llmeval.online_items i FULL JOIN
             (SELECT id::text AS k FROM public.tap_log, since
              WHERE created_at >= since.t AND llmeval.online_sampled(id::text, 3, 0.5)) s
           ON s.k = i.row_key WHERE s.k IS NULL OR i.row_key IS NULL),
          0::bigint, 'the backfill adds exactly the sampled rows since backfill_from');
SELECT is((SELECT scan_ts = scan_until FROM llmeval.online_rules WHERE name = 'b'), true,
          'the backfill ends where the trigger starts');
SET ROLE tap_walice;
INSERT INTO public.tap_log (id, answer, reference) SELECT g, 'n', 'n' FROM generate_series(10001, 10100) g;
RESET ROLE;
SELECT is((SELECT count(*) FROM llmeval.online_pending), 
          (SELECT count(*) FROM generate_series(10001, 10100) g WHERE llmeval.online_sampled(g::text, 3, 0.5)),
          'new rows come through the trigger');

-- Poll: no trigger, only SELECT needed; as if created an hour ago.
SET ROLE tap_wbob;
SELECT ok(llmeval.create_online_rule('p', 'public.tap_log',
            '{"output": "answer", "expected": "reference", "timestamp": "created_at"}', ARRAY['exact_match'],
            '{"mode": "poll"}') > 0, 'a tenant that may only read the table creates a poll rule');
RESET ROLE;
SELECT is((SELECT count(*) FROM pg_trigger WHERE tgrelid = 'public.tap_log'::regclass AND tgname LIKE 'llmeval_online_%'),
          1::bigint, 'a poll rule adds no trigger');
UPDATE llmeval.online_rules SET scan_ts = now() - interval '36 hours' - interval '1 microsecond' WHERE name = 'p';
SELECT llmeval._online_ingest();
SELECT is((SELECT count(*) FROM llmeval.online_items i JOIN llmeval.online_rules r ON r.id = i.rule_id WHERE r.name = 'p'),
          1000::bigint, 'a poll reads a batch of 1,000 keys at a time');
SELECT llmeval._online_ingest();
SELECT llmeval._online_ingest();
SELECT is((SELECT array_agg(i.row_key ORDER BY i.id) FILTER (WHERE i.row_key IN ('5000', '5001'))
           FROM llmeval.online_items i JOIN llmeval.online_rules r ON r.id = i.rule_id WHERE r.name = 'p'),
          ARRAY['5000', '5001'], 'rows with one timestamp are read in key order, none missed');
SELECT is((SELECT count(*) FROM llmeval.online_items i JOIN llmeval.online_rules r ON r.id = i.rule_id WHERE r.name = 'p'),
          (SELECT count(*) FROM public.tap_log WHERE created_at >= now() - interval '36 hours'
                                                AND created_at < now() - interval '10 seconds'),
          'the poll read every row of its window once');
SELECT is((SELECT scan_ts FROM llmeval.online_rules WHERE name = 'p'), now() - interval '10 seconds',
          'the watermark stops ten seconds before now');
-- (the rows are read 500 at a time: 1,502 take four passes)
SELECT llmeval._online_ingest();
SELECT is((SELECT count(*) FROM llmeval.online_items i JOIN llmeval.online_rules r ON r.id = i.rule_id
           WHERE r.name = 'p' AND i.status = 'pending'), 0::bigint, 'and every row found was then read and scored');
SELECT llmeval._online_ingest();
SELECT is((SELECT count(*) FROM llmeval.online_items i JOIN llmeval.online_rules r ON r.id = i.rule_id WHERE r.name = 'p'),
          (SELECT count(*) FROM public.tap_log WHERE created_at >= now() - interval '36 hours'
                                                AND created_at < now() - interval '10 seconds'),
          'another pass adds nothing');
SET ROLE tap_wbob;
SELECT is((SELECT count(*) FROM llmeval.online_scores WHERE rule = 'p' AND value = 1),
          (SELECT count(*) FROM llmeval.online_items WHERE status = 'ingested'), 'bob''s poll rule scores the rows it read');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
