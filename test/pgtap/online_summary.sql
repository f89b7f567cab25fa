-- online_summary (n, mean, 95 % CI, share below alert_below) and the
-- alerts of online rules: an event and a NOTIFY when a metric's last hour
-- drops below its level, another when it recovers. The workers' step
-- (llmeval._online_ingest) is called directly, as a superuser.
BEGIN;
SELECT plan(33);

CREATE ROLE tap_salice IN ROLE llmeval_user;
CREATE ROLE tap_sbob IN ROLE llmeval_user;
GRANT ALL ON ALL TABLES IN SCHEMA pg_temp TO PUBLIC;
CREATE TABLE public.tap_answers (id serial PRIMARY KEY, answer text, reference text);
ALTER TABLE public.tap_answers OWNER TO tap_salice;

SET ROLE tap_salice;
SELECT throws_ok($$ SELECT llmeval.create_online_rule('s', 'public.tap_answers', '{"output": "answer", "expected": "reference"}',
                    ARRAY['exact_match'], '{"alert_below": 0.5}') $$, '22023', NULL, 'alert_below must be an object');
SELECT throws_ok($$ SELECT llmeval.create_online_rule('s', 'public.tap_answers', '{"output": "answer", "expected": "reference"}',
                    ARRAY['exact_match'], '{"alert_below": {"exact_match": "low"}}') $$, '22023', NULL,
                 'alert_below levels must be numbers');
SELECT throws_ok($$ SELECT llmeval.create_online_rule('s', 'public.tap_answers', '{"output": "answer", "expected": "reference"}',
                    ARRAY['exact_match'], '{"alert_below": {"bleu": 10}}') $$, '22023', NULL,
                 'alert_below names only the rule''s metrics');
SELECT ok(llmeval.create_online_rule('s', 'public.tap_answers', '{"output": "answer", "expected": "reference"}',
            ARRAY['exact_match', 'token_f1'], '{"alert_below": {"exact_match": 0.5}}') > 0, 'a rule with an alert');
-- The alert window and the least number of scores, a rule's options.
SELECT throws_ok($$ SELECT llmeval.create_online_rule('w', 'public.tap_answers', '{"output": "answer", "expected": "reference"}',
                    ARRAY['exact_match'], '{"alert_window": "soon"}') $$, '22023',
                 'online rule option "alert_window" must be an interval from 1 minute to 30 days', 'alert_window must be an interval');
SELECT throws_ok($$ SELECT llmeval.create_online_rule('w', 'public.tap_answers', '{"output": "answer", "expected": "reference"}',
                    ARRAY['exact_match'], '{"alert_window": "10 seconds"}') $$, '22023', NULL, 'alert_window of 10 seconds is too short');
SELECT throws_ok($$ SELECT llmeval.create_online_rule('w', 'public.tap_answers', '{"output": "answer", "expected": "reference"}',
                    ARRAY['exact_match'], '{"alert_window": "1 year"}') $$, '22023', NULL, 'alert_window of a year is too long');
SELECT throws_ok($$ SELECT llmeval.create_online_rule('w', 'public.tap_answers', '{"output": "answer", "expected": "reference"}',
                    ARRAY['exact_match'], '{"alert_min_scores": 1.5}') $$, '22023',
                 'online rule option "alert_min_scores" must be an integer from 1 to 1000000', 'alert_min_scores must be an integer');
SELECT throws_ok($$ SELECT llmeval.create_online_rule('w', 'public.tap_answers', '{"output": "answer", "expected": "reference"}',
                    ARRAY['exact_match'], '{"alert_min_scores": 0}') $$, '22023', NULL, 'alert_min_scores must be positive');
-- the same level, over 10 minutes and with at least 50 scores
SELECT ok(llmeval.create_online_rule('s50', 'public.tap_answers', '{"output": "answer", "expected": "reference"}',
            ARRAY['exact_match'], '{"alert_below": {"exact_match": 0.5}, "alert_window": "10 minutes", "alert_min_scores": 50}') > 0,
          'a rule with its own alert window and least number of scores');
-- 10 right answers and 10 wrong ones
INSERT INTO public.tap_answers (answer, reference)
SELECT CASE WHEN g <= 10 THEN 'yes' ELSE 'no' END, 'yes' FROM generate_series(1, 20) g;
RESET ROLE;
SELECT llmeval._online_ingest();

SET ROLE tap_salice;
SELECT is((SELECT n || ' ' || mean FROM llmeval.online_summary('s') WHERE metric = 'exact_match'), '20 0.5',
          'n and mean of the bucket');
-- sd = sqrt(20 * 0.25 / 19) = 0.5129892; t(0.975, 19) = 2.0930240544; half-width 0.2400863
SELECT ok((SELECT abs(ci_low - 0.2599137) < 1e-6 AND abs(ci_high - 0.7400863) < 1e-6
           FROM llmeval.online_summary('s') WHERE metric = 'exact_match'), 'the 95% CI by Student''s t');
SELECT is((SELECT alert_below || ' ' || share_below FROM llmeval.online_summary('s') WHERE metric = 'exact_match'),
          '0.5 0.5', 'the share of scores below the level');
SELECT is((SELECT alert_below FROM llmeval.online_summary('s') WHERE metric = 'token_f1'), NULL,
          'no level, no share, for a metric without an alert');
SELECT is((SELECT count(*) FROM llmeval.online_summary('s', '1 minute')), 2::bigint, 'one bucket per metric');
SELECT is((SELECT count(*) FROM llmeval.events WHERE kind = 'online_alert'), 0::bigint,
          'a mean at the level is not an alert');

-- a drop: 20 wrong answers (mean 10 / 40 = 0.25)
INSERT INTO public.tap_answers (answer, reference) SELECT 'no', 'yes' FROM generate_series(1, 20);
RESET ROLE;
SELECT llmeval._online_ingest();
SET ROLE tap_salice;
SELECT is((SELECT (detail ->> 'metric') || ' ' || (detail ->> 'mean') || ' ' || (detail ->> 'n') FROM llmeval.events
           WHERE kind = 'online_alert'), 'exact_match 0.25 40', 'the drop raises one alert event, with the mean');
SELECT is((SELECT alerting FROM llmeval.online_rules WHERE name = 's'), ARRAY['exact_match'], 'the rule says it alerts');
SELECT is((SELECT n || ' ' || mean || ' ' || alert_window || ' ' || alert_min_scores || ' ' || alerting
           FROM llmeval.online_gauges WHERE rule = 's50'), '40 0.25 00:10:00 50 false',
          'the same drop over 40 scores is no alert for a rule that needs 50');
SELECT ok(llmeval.prometheus_metrics() LIKE '%llmeval_online_alert_state{tenant="tap_salice",rule="s",metric="exact_match"} 1%'
          AND llmeval.prometheus_metrics() LIKE '%llmeval_online_score_mean{tenant="tap_salice",rule="s",metric="exact_match"} 0.25%',
          'the Prometheus gauges show the alert and the mean');
RESET ROLE;
SET ROLE tap_sbob;
SELECT is((SELECT count(*) FROM llmeval.online_gauges), 0::bigint, 'another tenant sees none of the rule''s gauges');
RESET ROLE;
SET ROLE tap_salice;
RESET ROLE;
SELECT llmeval._online_ingest();
SELECT is((SELECT count(*) FROM llmeval.events WHERE kind = 'online_alert'), 1::bigint, 'an alert is raised once');

-- recovery: 60 right answers (70 / 100)
SET ROLE tap_salice;
INSERT INTO public.tap_answers (answer, reference) SELECT 'yes', 'yes' FROM generate_series(1, 60);
RESET ROLE;
SELECT llmeval._online_ingest();
SET ROLE tap_salice;
SELECT is((SELECT count(*) FROM llmeval.events WHERE kind = 'online_alert_cleared'), 1::bigint, 'recovery clears it');
-- scores 20 minutes old: out of a 10-minute window, within the hour
RESET ROLE;
UPDATE llmeval.task_scores s SET created_at = now() - interval '20 minutes'
FROM llmeval.online_items i WHERE i.task_id = s.task_id;
SET ROLE tap_salice;
SELECT is((SELECT string_agg(rule || ' ' || n, ', ' ORDER BY rule) FROM llmeval.online_gauges WHERE metric = 'exact_match'),
          's 100, s50 0', 'a rule''s alert window bounds the scores its gauges and alerts count');
SELECT is((SELECT detail ->> 'window' FROM llmeval.events WHERE kind = 'online_alert'), '01:00:00',
          'the alert event names its window');

-- the rule's report page, with an output that is markup
INSERT INTO public.tap_answers (answer, reference) VALUES ('<script>alert(1)</script>', 'yes');
RESET ROLE;
SELECT llmeval._online_ingest();
SET ROLE tap_salice;
CREATE TEMP TABLE page AS SELECT llmeval.report_html_online('s', '1 minute', 3) AS html;
SELECT is((SELECT (length(html) - length(replace(html, '<svg class="chart line"', ''))) / length('<svg class="chart line"') FROM page),
          2, 'the report page has a line chart per metric');
SELECT ok((SELECT html LIKE '%stroke-dasharray%alert_below 0.5%' FROM page), 'with the alert level dashed');
SELECT ok((SELECT html LIKE '%&lt;script&gt;alert(1)&lt;/script&gt;%' AND html NOT LIKE '%<script>%' FROM page),
          'the worst rows are listed, their text escaped');
SELECT throws_ok($$ SELECT llmeval.report_html_online('s', '1 hour', -1) $$, '22023', NULL, 'worst is checked');
RESET ROLE;
SET ROLE tap_sbob;
SELECT throws_ok($$ SELECT llmeval.report_html_online('s') $$, '42704', NULL, 'another tenant''s rule has no page');
RESET ROLE;
SET ROLE tap_salice;

SELECT throws_ok($$ SELECT * FROM llmeval.online_summary('s', '0 seconds') $$, '22023', NULL, 'a bucket of 0 is refused');
SELECT throws_ok($$ SELECT * FROM llmeval.online_summary('s', '1 month') $$, '22023', NULL, 'a bucket in months is refused');
RESET ROLE;
SET ROLE tap_sbob;
SELECT throws_ok($$ SELECT * FROM llmeval.online_summary('s') $$, '42704', NULL, 'another tenant''s rule is not found');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
