-- Online rules: validation, hostile filters, the trigger's sampling, the
-- read as the rule's owner (row-level security, filter rights), deleted
-- rows, pause and resume, idempotency, and tenant isolation. The workers'
-- step (llmeval._online_ingest) is called directly, as a superuser, as a
-- worker would; test/integration/online_rules.sh runs it through the workers.
BEGIN;
SELECT plan(64);

CREATE ROLE tap_oalice IN ROLE llmeval_user;
CREATE ROLE tap_obob IN ROLE llmeval_user;
GRANT ALL ON ALL TABLES IN SCHEMA pg_temp TO PUBLIC;
GRANT ALL ON ALL SEQUENCES IN SCHEMA pg_temp TO PUBLIC;

-- Sampling ----------------------------------------------------------------------

SELECT is((SELECT count(*) FROM generate_series(1, 1000) g
           WHERE llmeval.online_sampled(g::text, 7, 0.3) <> llmeval.online_sampled(g::text, 7, 0.3)),
          0::bigint, 'sampling is a function of key, seed and rate');
SELECT ok(NOT llmeval.online_sampled('k', 0, 0) AND llmeval.online_sampled('k', 0, 1),
          'rate 0 samples nothing, rate 1 everything');
-- 20,000 keys at 0.1: mean 2,000, sd 42.4; 5 sd either side
SELECT ok((SELECT count(*) FROM generate_series(1, 20000) g WHERE llmeval.online_sampled(g::text, 0, 0.1))
            BETWEEN 1788 AND 2212, 'rate 0.1 samples 10% of 20,000 keys within 5 standard deviations');
SELECT ok((SELECT count(*) FROM generate_series(1, 20000) g WHERE llmeval.online_sampled(g::text, 0, 0.1)
                                                              AND llmeval.online_sampled(g::text, 1, 0.1))
            BETWEEN 120 AND 280, 'another seed samples other keys (about 1% in both)');
SELECT ok((SELECT bool_and(NOT llmeval.online_sampled(g::text, 3, 0.05) OR llmeval.online_sampled(g::text, 3, 0.2))
           FROM generate_series(1, 5000) g), 'with one seed, a lower rate samples a subset');

-- The application's table: alice owns it; row-level security shows each
-- role its own rows; bob may insert and read his.
CREATE TABLE public.tap_chat (
  id bigserial PRIMARY KEY, question text, answer text, reference text,
  author name NOT NULL DEFAULT current_user, topic text);
CREATE TABLE public.tap_nokey (question text, answer text);
CREATE TABLE public.tap_secret (id int PRIMARY KEY, answer text);
ALTER TABLE public.tap_chat OWNER TO tap_oalice;
ALTER TABLE public.tap_nokey OWNER TO tap_oalice;
ALTER TABLE public.tap_chat ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.tap_chat FORCE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON public.tap_chat USING (author = current_user) WITH CHECK (author = current_user);
GRANT SELECT, INSERT ON public.tap_chat TO tap_obob;
GRANT USAGE ON SEQUENCE public.tap_chat_id_seq TO tap_obob;

-- Validation ---------------------------------------------------------------------

SET ROLE tap_oalice;
SELECT throws_ok($$ SELECT llmeval.create_online_rule('r', 'public.tap_chat', '{"output": "answer", "expected": "reference"}',
                    ARRAY['exact_match'], '{"sampling_rate": 2}') $$,
                 '22023', NULL, 'sampling_rate above 1 is refused');
SELECT throws_ok($$ SELECT llmeval.create_online_rule('r', 'public.tap_chat', '{"output": "answer", "expected": "reference"}',
                    ARRAY['exact_match'], '{"seed": "x"}') $$, '22023', NULL, 'a seed that is not an integer is refused');
SELECT throws_ok($$ SELECT llmeval.create_online_rule('r', 'public.tap_chat', '{"output": "answer", "expected": "reference"}',
                    ARRAY['exact_match'], '{"sampling": 0.1}') $$, '22023', 'unknown online rule option "sampling"',
                 'an unknown option is refused by name');
SELECT throws_ok($$ SELECT llmeval.create_online_rule('r', 'public.tap_chat', '{"output": "answer", "expected": "reference"}',
                    ARRAY['exact_match'], '{"mode": "poll"}') $$, '22023', NULL, 'poll mode needs a timestamp column');
SELECT throws_ok($$ SELECT llmeval.create_online_rule('r', 'public.tap_chat', '{"output": "answer", "expected": "reference"}',
                    ARRAY['exact_match'], '{"on_update": true, "mode": "poll"}') $$, '22023', NULL,
                 'on_update goes with mode trigger');
SELECT throws_ok($$ SELECT llmeval.create_online_rule('r', 'public.tap_chat', '{"output": "answer", "expected": "reference"}',
                    ARRAY['exact_match'], '{"temperature": 1}') $$, '22023', NULL, 'a generation option is refused');
SELECT throws_ok($$ SELECT llmeval.create_online_rule('r', 'public.tap_chat', '{"input": "question"}',
                    ARRAY['exact_match']) $$, '22023', 'columns must map output', 'the output column is required');
SELECT throws_ok($$ SELECT llmeval.create_online_rule('r', 'public.tap_chat', '{"output": "nope", "expected": "reference"}',
                    ARRAY['exact_match']) $$, '42703', NULL, 'an unknown column is refused');
SELECT throws_ok($$ SELECT llmeval.create_online_rule('r', 'public.tap_chat', '{"output": "answer", "colour": "topic"}',
                    ARRAY['exact_match']) $$, '22023', 'unknown column role "colour"', 'an unknown column role is refused');
SELECT throws_ok($$ SELECT llmeval.create_online_rule('r', 'public.tap_nokey', '{"output": "answer"}',
                    ARRAY['json_valid_x']) $$, '22023', NULL, 'a table without a primary key needs a mapped key');
SELECT throws_ok($$ SELECT llmeval.create_online_rule('r', 'public.tap_nokey', '{"key": "question", "output": "answer"}',
                    ARRAY['exact_match']) $$, '22023', NULL, 'a key that is not unique is refused');
SELECT throws_ok($$ SELECT llmeval.create_online_rule('r', 'public.tap_chat', '{"output": "answer"}',
                    ARRAY['bleu']) $$, '22023', NULL, 'a lexical metric without an expected column is refused');
SELECT throws_ok($$ SELECT llmeval.create_online_rule('r', 'public.tap_chat', '{"output": "answer", "expected": "reference"}',
                    ARRAY['nope']) $$, '42704', NULL, 'an unknown metric is refused');
SELECT throws_ok($$ SELECT llmeval.create_online_rule('bad name!', 'public.tap_chat', '{"output": "answer", "expected": "reference"}',
                    ARRAY['bleu']) $$, '22023', NULL, 'a bad rule name is refused');

-- Hostile filters: the filter is spliced into the read; it must be one
-- expression, and it runs with the creator's rights.
SELECT throws_ok($$ SELECT llmeval.create_online_rule('r', 'public.tap_chat', '{"output": "answer", "expected": "reference"}',
                    ARRAY['bleu'], '{"filter": "true) UNION SELECT rolpassword::text, true FROM pg_authid WHERE (true"}') $$,
                 '42601', NULL, 'a filter that closes its parenthesis to add a query is refused');
SELECT throws_ok($$ SELECT llmeval.create_online_rule('r', 'public.tap_chat', '{"output": "answer", "expected": "reference"}',
                    ARRAY['bleu'], '{"filter": "true); DROP TABLE public.tap_chat; SELECT (true"}') $$,
                 '42601', NULL, 'a filter with a second statement is refused');
SELECT throws_ok($$ SELECT llmeval.create_online_rule('r', 'public.tap_chat', '{"output": "answer", "expected": "reference"}',
                    ARRAY['bleu'], '{"filter": "true --"}') $$,
                 '42601', NULL, 'a filter that comments out the rest is refused');
SELECT throws_ok($$ SELECT llmeval.create_online_rule('r', 'public.tap_chat', '{"output": "answer", "expected": "reference"}',
                    ARRAY['bleu'], '{"filter": "no_such_column = 1"}') $$,
                 '42703', NULL, 'a filter on an unknown column is refused at creation');
SELECT throws_ok($$ SELECT llmeval.create_online_rule('r', 'public.tap_chat', '{"output": "answer", "expected": "reference"}',
                    ARRAY['bleu'], '{"filter": "count(*) > 0"}') $$,
                 '42803', NULL, 'an aggregate filter is refused at creation');
SELECT throws_ok($$ SELECT llmeval.create_online_rule('r', 'public.tap_chat', '{"output": "answer", "expected": "reference"}',
                    ARRAY['bleu'], '{"filter": "42"}') $$,
                 '42804', NULL, 'a filter that is not boolean is refused');
SELECT throws_ok($$ SELECT llmeval.create_online_rule('r', 'public.tap_chat', '{"output": "answer", "expected": "reference"}',
                    ARRAY['bleu'], '{"filter": "(SELECT count(*) FROM public.tap_secret) >= 0"}') $$,
                 '42501', NULL, 'a filter reading a table its creator cannot read is refused');
RESET ROLE;

-- Tables a tenant may not use.
SET ROLE tap_obob;
SELECT throws_ok($$ SELECT llmeval.create_online_rule('r', 'public.tap_secret', '{"output": "answer"}', ARRAY['json_valid_x']) $$,
                 '42501', NULL, 'a tenant cannot create a rule on a table it cannot read');
SELECT throws_ok($$ SELECT llmeval.create_online_rule('r', 'public.tap_chat', '{"output": "answer", "expected": "reference"}',
                    ARRAY['exact_match']) $$, '42501', NULL, 'nor a trigger rule on a table it may read but not trigger on');
SELECT throws_ok($$ SELECT llmeval.create_online_rule('r', 'llmeval.tasks', '{"key": "id", "output": "metric"}',
                    ARRAY['json_valid_x']) $$, '42501', NULL, 'nor a rule on the extension''s own tables');
RESET ROLE;

-- A rule, its trigger, and what the trigger samples ----------------------------

SET ROLE tap_oalice;
SELECT llmeval.create_assertion('tap_is_json', 'json_valid');
SELECT ok(llmeval.create_online_rule('chat', 'public.tap_chat',
            '{"output": "answer", "question": "question", "expected": "reference"}',
            ARRAY['exact_match', 'token_f1', 'tap_is_json'],
            '{"sampling_rate": 0.5, "seed": 11, "filter": "topic IS DISTINCT FROM ''private'' AND author = current_user"}') > 0,
          'alice creates a rule on her table');
SELECT throws_ok($$ SELECT llmeval.create_online_rule('chat', 'public.tap_chat', '{"output": "answer", "expected": "reference"}',
                    ARRAY['exact_match']) $$, '42710', NULL, 'rule names are unique per tenant');
INSERT INTO public.tap_chat (question, answer, reference, topic)
SELECT 'q' || g, CASE WHEN g % 3 = 0 THEN 'right ' || g ELSE 'wrong' END, 'right ' || g,
       CASE WHEN g % 10 = 0 THEN 'private' END
FROM generate_series(1, 400) g;
RESET ROLE;
SELECT is((SELECT count(*) FROM llmeval.online_pending p FULL JOIN
             (SELECT id::text AS k FROM public.tap_chat WHERE llmeval.online_sampled(id::text, 11, 0.5)) s
           ON s.k = p.row_key WHERE s.k IS NULL OR p.row_key IS NULL),
          0::bigint, 'the trigger enqueues exactly the keys online_sampled picks');
SELECT ok((SELECT count(*) FROM llmeval.online_pending) BETWEEN 150 AND 250, 'about half of 400 rows are sampled');

-- bob's rows in alice's table: alice's rule must not read them
SET ROLE tap_obob;
INSERT INTO public.tap_chat (question, answer, reference) SELECT 'bq' || g, 'b', 'b' FROM generate_series(1, 60) g;
RESET ROLE;
-- rows deleted before they are scored
SELECT ok((SELECT count(*) FROM llmeval.online_pending i JOIN public.tap_chat c ON c.id::text = i.row_key
           WHERE c.id BETWEEN 1 AND 40) > 0, 'some of the first 40 rows are sampled');
DELETE FROM public.tap_chat WHERE id BETWEEN 1 AND 40;

SELECT is(llmeval._online_ingest(), (SELECT ARRAY[job_id] FROM llmeval.online_rules WHERE name = 'chat'),
          'the workers'' step queues the rule''s rows in its job');
SELECT is((SELECT count(*) FROM llmeval.online_items WHERE status = 'pending'), 0::bigint, 'no row is left pending');
SELECT is((SELECT count(*) FROM llmeval.online_items i WHERE status = 'skipped'),
          (SELECT count(*) FROM llmeval.online_items i WHERE NOT EXISTS (
             SELECT 1 FROM public.tap_chat c WHERE c.id::text = i.row_key AND c.author = 'tap_oalice')),
          'deleted rows and rows alice cannot see are skipped, not failed');
SELECT ok((SELECT count(*) FROM llmeval.online_items WHERE status = 'skipped' AND row_key::bigint > 400) > 0,
          'bob''s rows, sampled by the trigger, are among the skipped');
SELECT is((SELECT count(*) FROM llmeval.online_items i WHERE status = 'filtered'),
          (SELECT count(*) FROM llmeval.online_items i JOIN public.tap_chat c ON c.id::text = i.row_key
           WHERE c.topic = 'private'),
          'rows the filter refuses are filtered (the filter saw current_user as alice)');
SELECT is((SELECT count(*) FROM llmeval.online_scores WHERE metric = 'exact_match' AND value = 1),
          (SELECT count(*) FROM llmeval.online_items i JOIN public.tap_chat c ON c.id::text = i.row_key
           WHERE i.status = 'ingested' AND c.id % 3 = 0),
          'exact_match scores the application''s output against its reference');
SELECT is((SELECT count(*) FROM llmeval.online_scores WHERE metric = 'tap_is_json' AND value = 0),
          (SELECT count(*) FROM llmeval.online_items WHERE status = 'ingested'),
          'the tenant''s assertion scores every ingested row');
SELECT is((SELECT count(DISTINCT (row_key, metric)) FROM llmeval.online_scores), (SELECT count(*) FROM llmeval.online_scores),
          'each row and metric is scored once');

-- Idempotency: the same rows again, and the workers' step again.
SELECT is(llmeval._online_ingest(), '{}'::bigint[], 'a second pass finds nothing to do');
CREATE TEMP TABLE scored_before AS SELECT count(*) AS n FROM llmeval.online_scores;
SET ROLE tap_oalice;
-- a row deleted and written again under the same key is not sampled twice
INSERT INTO public.tap_chat (id, question, answer, reference)
SELECT i.row_key::bigint, 'again', 'again', 'again' FROM llmeval.online_items i
WHERE i.status = 'skipped' AND i.row_key::bigint <= 40;
RESET ROLE;
SELECT is(llmeval._online_ingest(), '{}'::bigint[], 'keys sampled before are not queued again');
SELECT is((SELECT count(*) FROM llmeval.online_scores), (SELECT n FROM scored_before), 'no score was added');

-- The filter runs with alice's rights even though a superuser calls the step.
SELECT is((SELECT count(*) FROM llmeval.online_items i JOIN public.tap_chat c ON c.id::text = i.row_key
           WHERE i.status = 'filtered' AND c.author = 'tap_oalice' AND c.topic IS NULL),
          0::bigint, 'current_user in the filter is the rule''s owner');

-- Pause and resume: sampled meanwhile, scored after.
SET ROLE tap_oalice;
SELECT is(llmeval.pause_online_rule('chat'), 'paused', 'pause');
INSERT INTO public.tap_chat (question, answer, reference) SELECT 'p' || g, 'x', 'x' FROM generate_series(1, 100) g;
RESET ROLE;
SELECT is(llmeval._online_ingest(), '{}'::bigint[], 'a paused rule''s rows wait');
SELECT ok((SELECT count(*) FROM llmeval.online_items WHERE status = 'pending') > 0, 'they are sampled meanwhile');
SET ROLE tap_oalice;
SELECT is(llmeval.resume_online_rule('chat'), 'active', 'resume');
RESET ROLE;
SELECT is(cardinality(llmeval._online_ingest()), 1, 'after resume they are read');
SELECT is((SELECT count(*) FROM llmeval.online_items WHERE status = 'pending'), 0::bigint, 'none left pending');

-- A rule whose filter times out keeps its rows pending and says why.
SET ROLE tap_oalice;
SELECT ok(llmeval.create_online_rule('slow', 'public.tap_chat', '{"output": "answer", "expected": "reference"}',
            ARRAY['exact_match'], '{"filter": "pg_sleep(0.3) IS NOT NULL"}') > 0, 'a rule with a slow filter');
INSERT INTO public.tap_chat (question, answer, reference) SELECT 's' || g, 'x', 'x' FROM generate_series(1, 3) g;
RESET ROLE;
SET LOCAL llmeval.sql_metric_timeout_ms = 100;
SELECT llmeval._online_ingest();
SELECT matches((SELECT last_error FROM llmeval.online_rules WHERE name = 'slow'), 'timeout',
               'the timeout is the rule''s last error');
SELECT is((SELECT count(*) FROM llmeval.online_items i JOIN llmeval.online_rules r ON r.id = i.rule_id
           WHERE r.name = 'slow' AND i.status = 'pending'), 3::bigint, 'its rows stay pending');
RESET llmeval.sql_metric_timeout_ms;

-- The application's insert never fails because of a rule.
ALTER TABLE public.tap_chat RENAME COLUMN id TO chat_id;
SET ROLE tap_oalice;
SELECT lives_ok($$ INSERT INTO public.tap_chat (question, answer) VALUES ('after', 'rename') $$,
                'an insert whose rule cannot sample it still succeeds (a warning)');
RESET ROLE;
ALTER TABLE public.tap_chat RENAME COLUMN chat_id TO id;

-- Tenants: bob sees none of it and cannot touch it; nobody writes items.
SET ROLE tap_obob;
SELECT is((SELECT count(*) FROM llmeval.online_rules) + (SELECT count(*) FROM llmeval.online_items)
          + (SELECT count(*) FROM llmeval.online_scores), 0::bigint, 'bob sees no rule, item or score of alice''s');
SELECT throws_ok($$ SELECT llmeval.pause_online_rule('chat') $$, '42704', NULL, 'bob cannot pause alice''s rule');
SELECT throws_ok($$ SELECT llmeval.drop_online_rule('chat') $$, '42704', NULL, 'nor drop it');
SELECT throws_ok($$ INSERT INTO llmeval.online_items (rule_id, tenant, row_key) VALUES (1, 'tap_obob', '1') $$,
                 '42501', NULL, 'tenants cannot write items');
SELECT throws_ok($$ INSERT INTO llmeval.online_pending (rule_id, row_key) VALUES (1, '1') $$,
                 '42501', NULL, 'nor the triggers'' queue');
RESET ROLE;
SET ROLE tap_oalice;
SELECT ok((SELECT count(*) FROM llmeval.online_scores) > 0, 'alice sees her scores');
SELECT ok(llmeval.drop_online_rule('chat') AND llmeval.drop_online_rule('slow'), 'alice drops her rules');
RESET ROLE;
SELECT is((SELECT count(*) FROM pg_trigger WHERE tgrelid = 'public.tap_chat'::regclass AND NOT tgisinternal),
          0::bigint, 'dropping a rule drops its trigger');

SELECT * FROM finish();
ROLLBACK;
