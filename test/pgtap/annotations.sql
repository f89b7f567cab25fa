-- Annotation queues: rubric and label validation, add_to_queue's filter,
-- reviewers granted per queue, claims (one reviewer per item, expiry),
-- skip, promote_annotations, and what each tenant sees.
BEGIN;
SELECT plan(40);

CREATE ROLE tap_aalice IN ROLE llmeval_user;
CREATE ROLE tap_abob IN ROLE llmeval_user;
CREATE ROLE tap_acarol IN ROLE llmeval_user;
GRANT ALL ON ALL TABLES IN SCHEMA pg_temp TO PUBLIC;
CREATE TEMP TABLE seen (what text, v bigint);
GRANT ALL ON seen TO PUBLIC;
SELECT llmeval.create_provider('tapa', 'openai', 'http://127.0.0.1:9/v1');
SELECT llmeval.create_model('tapa/m');

-- alice's job: six outputs, three of them wrong (exact_match 0), written as a worker would
SET ROLE tap_aalice;
SELECT llmeval.create_prompt('p', 'Q: {{q}}');
SELECT llmeval.import_dataset('d', (SELECT jsonb_agg(jsonb_build_object('input', jsonb_build_object('q', 'q' || g),
                                                                          'expected', 'a' || g)) FROM generate_series(1, 6) g));
CREATE TEMP TABLE job AS SELECT llmeval.submit_job('p', 'd', ARRAY['tapa/m'], ARRAY['exact_match']) AS id;
GRANT SELECT ON job TO PUBLIC;
RESET ROLE;
UPDATE llmeval.tasks SET status = 'completed' WHERE job_id = (SELECT id FROM job);
INSERT INTO llmeval.responses (task_id, tenant, output)
SELECT t.id, t.tenant, CASE WHEN tc.position % 2 = 0 THEN 'a' || tc.position ELSE 'wrong' END
FROM llmeval.tasks t JOIN llmeval.test_cases tc ON tc.id = t.test_case_id WHERE t.job_id = (SELECT id FROM job);
INSERT INTO llmeval.task_scores (task_id, tenant, metric, value)
SELECT r.task_id, r.tenant, 'exact_match', (r.output <> 'wrong')::int FROM llmeval.responses r;

SET ROLE tap_aalice;
SELECT throws_ok($$ SELECT llmeval.create_annotation_queue('q', '{}') $$, '22023', NULL, 'a rubric is an array');
SELECT throws_ok($$ SELECT llmeval.create_annotation_queue('q', '[{"key": "x", "type": "text"}]') $$, '22023', NULL,
                 'an unknown item type is refused');
SELECT throws_ok($$ SELECT llmeval.create_annotation_queue('q', '[{"key": "x", "type": "numeric", "min": 5, "max": 1}]') $$,
                 '22023', NULL, 'numeric needs min < max');
SELECT throws_ok($$ SELECT llmeval.create_annotation_queue('q', '[{"key": "x", "type": "categorical", "categories": []}]') $$,
                 '22023', NULL, 'categorical needs categories');
SELECT throws_ok($$ SELECT llmeval.create_annotation_queue('q', '[{"key": "x", "type": "boolean"}, {"key": "x", "type": "boolean"}]') $$,
                 '22023', NULL, 'keys do not repeat');
SELECT throws_ok($$ SELECT llmeval.create_annotation_queue('q', '[{"key": "1x", "type": "boolean"}]') $$,
                 '22023', NULL, 'a key is an identifier');
SELECT ok(llmeval.create_annotation_queue('q',
  '[{"key": "correct", "type": "boolean", "required": true},
    {"key": "quality", "type": "numeric", "min": 1, "max": 5, "required": true},
    {"key": "issue", "type": "categorical", "categories": ["wrong fact", "off topic", "tone"]}]',
  'Is the answer right? Rate it; name the issue if any.') > 0, 'alice creates a queue');
SELECT throws_ok($$ SELECT llmeval.create_annotation_queue('q', '[{"key": "x", "type": "boolean"}]') $$, '42710', NULL,
                 'queue names are unique per tenant');
SELECT throws_ok($$ SELECT llmeval.add_to_queue('q', (SELECT id FROM job), '{"colour": "red"}') $$, '22023', NULL,
                 'an unknown filter key is refused');
SELECT throws_ok($$ SELECT llmeval.add_to_queue('q', (SELECT id FROM job), '{"below": 1}') $$, '22023', NULL,
                 'below needs a metric');
SELECT is(llmeval.add_to_queue('q', (SELECT id FROM job), '{"metric": "exact_match", "below": 1}'), 3::bigint,
          'the three wrong outputs are added');
SELECT is(llmeval.add_to_queue('q', (SELECT id FROM job)), 3::bigint, 'then the rest; none twice');
RESET ROLE;

SET ROLE tap_abob;
SELECT throws_ok($$ SELECT llmeval.add_to_queue('q', (SELECT id FROM job)) $$, '42704', NULL,
                 'another tenant cannot fill the queue');
SELECT throws_ok($$ SELECT * FROM llmeval.claim_annotation('q') $$, '42704', NULL, 'nor review it ungranted');
RESET ROLE;
SET ROLE tap_aalice;
SELECT ok(llmeval.grant_annotation_queue('q', 'tap_abob'), 'alice grants bob the queue');
RESET ROLE;

SET ROLE tap_abob;
INSERT INTO seen SELECT 'bob1', item_id FROM llmeval.claim_annotation('q');
SELECT ok((SELECT v FROM seen WHERE what = 'bob1') IS NOT NULL, 'bob claims an item');
SELECT is((SELECT output FROM llmeval.results r JOIN llmeval.annotation_items i ON i.task_id = r.task_id
           WHERE i.id = (SELECT v FROM seen WHERE what = 'bob1')), NULL,
          'bob sees the queue''s items, not alice''s results');
SELECT throws_ok($$ SELECT llmeval.submit_annotation((SELECT v FROM seen WHERE what = 'bob1'), '{"correct": true}') $$,
                 '22023', 'label "quality" is required', 'a required label is required');
SELECT throws_ok($$ SELECT llmeval.submit_annotation((SELECT v FROM seen WHERE what = 'bob1'), '{"correct": true, "quality": 9}') $$,
                 '22023', NULL, 'a number out of range is refused');
SELECT throws_ok($$ SELECT llmeval.submit_annotation((SELECT v FROM seen WHERE what = 'bob1'),
                    '{"correct": true, "quality": 3, "issue": "typo"}') $$, '22023', NULL, 'an unknown category is refused');
SELECT throws_ok($$ SELECT llmeval.submit_annotation((SELECT v FROM seen WHERE what = 'bob1'),
                    '{"correct": "yes", "quality": 3}') $$, '22023', NULL, 'a boolean must be one');
SELECT throws_ok($$ SELECT llmeval.submit_annotation((SELECT v FROM seen WHERE what = 'bob1'),
                    '{"correct": true, "quality": 3, "mood": "ok"}') $$, '22023', NULL, 'a label outside the rubric is refused');
RESET ROLE;

-- alice reviews too: never bob's claimed item
SET ROLE tap_aalice;
INSERT INTO seen SELECT 'alice1', item_id FROM llmeval.claim_annotation('q');
SELECT isnt((SELECT v FROM seen WHERE what = 'alice1'), (SELECT v FROM seen WHERE what = 'bob1'),
            'a second reviewer gets another item');
SELECT throws_ok($$ SELECT llmeval.submit_annotation((SELECT v FROM seen WHERE what = 'bob1'), '{"correct": true, "quality": 3}') $$,
                 '55000', NULL, 'nobody submits an item another reviewer holds');
RESET ROLE;

SET ROLE tap_abob;
SELECT ok(llmeval.submit_annotation((SELECT v FROM seen WHERE what = 'bob1'),
                                    '{"correct": false, "quality": 2, "issue": "wrong fact"}'), 'bob labels his item');
INSERT INTO seen SELECT 'bob2', item_id FROM llmeval.claim_annotation('q');
SELECT ok(llmeval.skip_annotation((SELECT v FROM seen WHERE what = 'bob2')), 'bob skips the next');
INSERT INTO seen SELECT 'bob3', item_id FROM llmeval.claim_annotation('q');
SELECT ok((SELECT v FROM seen WHERE what = 'bob3') NOT IN ((SELECT v FROM seen WHERE what = 'bob2'),
                                                           (SELECT v FROM seen WHERE what = 'alice1')),
          'a skipped item is not offered to its skipper again');
RESET ROLE;

-- alice's claim expires: it goes to bob; alice's late submit is refused
UPDATE llmeval.annotation_items SET claim_expires_at = now() - interval '1 second'
WHERE id = (SELECT v FROM seen WHERE what = 'alice1');
SET ROLE tap_abob;
SELECT ok(llmeval.submit_annotation((SELECT v FROM seen WHERE what = 'bob3'), '{"correct": true, "quality": 5}'), 'bob labels');
INSERT INTO seen SELECT 'bob4', item_id FROM llmeval.claim_annotation('q');
SELECT is((SELECT v FROM seen WHERE what = 'bob4'), (SELECT v FROM seen WHERE what = 'alice1'),
          'an expired claim comes back to the queue');
RESET ROLE;
SET ROLE tap_aalice;
SELECT throws_ok($$ SELECT llmeval.submit_annotation((SELECT v FROM seen WHERE what = 'alice1'), '{"correct": true, "quality": 4}') $$,
                 '55000', NULL, 'a reviewer whose claim expired cannot submit');
INSERT INTO seen SELECT 'alice2', item_id FROM llmeval.claim_annotation('q');
SELECT is((SELECT v FROM seen WHERE what = 'alice2'), (SELECT v FROM seen WHERE what = 'bob2'),
          'the item bob skipped goes to someone else');
SELECT ok(llmeval.submit_annotation((SELECT v FROM seen WHERE what = 'alice2'), '{"correct": true, "quality": 4}'), 'alice labels it');
RESET ROLE;

-- what each tenant sees
SET ROLE tap_acarol;
SELECT is((SELECT count(*) FROM llmeval.annotation_queues) + (SELECT count(*) FROM llmeval.annotation_items), 0::bigint,
          'an ungranted tenant sees no queue or item');
SELECT throws_ok($$ SELECT * FROM llmeval.claim_annotation('q') $$, '42704', NULL, 'and claims nothing');
RESET ROLE;
SET ROLE tap_abob;
SELECT is((SELECT count(*) FROM llmeval.annotation_items), 6::bigint, 'a reviewer sees the queue''s items');
RESET ROLE;

-- the labels as the human side of judge_agreement: exact_match 0, 1, 0
-- against correct false, true, true
SELECT is((SELECT round(value::numeric, 6) || ' ' || n FROM llmeval.judge_agreement('q', 'exact_match', 'correct')
           WHERE statistic = 'percent_agreement'), '0.666667 3', 'judge_agreement with the queue''s labels: agreement');
SELECT is((SELECT round(value::numeric, 6) FROM llmeval.judge_agreement('q', 'exact_match', 'correct')
           WHERE statistic = 'pearson'), 0.5, 'and Pearson''s r');
SELECT throws_ok($$ SELECT * FROM llmeval.judge_agreement('q', 'exact_match', 'mood') $$, '42704', NULL,
                 'a label outside the rubric is refused');

-- promote: the three labelled items become a dataset version
SET ROLE tap_aalice;
SELECT ok(llmeval.promote_annotations('q', 'reviewed') > 0, 'alice promotes the reviewed items');
SELECT is((SELECT count(*) || ' ' || count(*) FILTER (WHERE tc.metadata -> 'labels' ? 'quality')
           FROM llmeval.test_cases tc JOIN llmeval.dataset_versions v ON v.id = tc.dataset_version_id
           JOIN llmeval.datasets d ON d.id = v.dataset_id WHERE d.name = 'reviewed'),
          '3 3', 'a test case per reviewed item, with its labels');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
