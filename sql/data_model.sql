-- The evaluation data model as a user meets it: an administrator registers
-- a provider and a model; a tenant loads a dataset from CSV, writes a prompt,
-- submits a job and follows it; another tenant sees none of it.
\set SHOW_CONTEXT never
SELECT llmeval.create_provider('local', 'openai', 'http://127.0.0.1:8089/v1', 'LOCAL_API_KEY') > 0 AS provider;
SELECT llmeval.create_model('local/echo', 0.15, 0.60, '{"requests_per_minute": 600}') > 0 AS model;
SELECT name, api_model, input_price, output_price, requests_per_minute FROM llmeval.models;
CREATE ROLE regress_tenant_a IN ROLE llmeval_user;
CREATE ROLE regress_tenant_b IN ROLE llmeval_user;

SET ROLE regress_tenant_a;
SELECT llmeval.import_dataset_csv('capitals', $csv$question,expected,metadata
What is the capital of France?,Paris,"{""region"": ""Europe""}"
"Japan's capital, in one word?",Tokyo,
$csv$) > 0 AS imported;
SELECT position, input, expected, metadata FROM llmeval.test_cases ORDER BY position;
SELECT llmeval.create_prompt('short-answer', 'Answer in one word: {{question}}') AS prompt_version;
SELECT llmeval.submit_job('short-answer', 'capitals', ARRAY['local/echo'], ARRAY['exact_match', 'bleu']) AS job_id \gset
SELECT status, total, done, percent FROM llmeval.job_progress(:job_id);
SELECT position, model, status, input ->> 'question' AS question, expected FROM llmeval.results ORDER BY position;
SELECT llmeval.export_dataset('capitals', 'csv');
-- mistakes
SELECT llmeval.submit_job('short-answer', 'capitals', ARRAY['local/gpt-9'], ARRAY['bleu']);
SELECT llmeval.create_prompt('with-context', 'Context: {{context}} Q: {{question}}');
SELECT llmeval.submit_job('with-context', 'capitals', ARRAY['local/echo'], ARRAY['bleu']);
SELECT llmeval.import_dataset_csv('broken', E'question,expected\n"What?,x\n');
SELECT llmeval.cancel_job(:job_id) AS cancelled;
SELECT status, total, done, percent FROM llmeval.job_progress(:job_id);
RESET ROLE;

SET ROLE regress_tenant_b;
SELECT count(*) AS jobs_b_sees FROM llmeval.jobs;
SELECT * FROM llmeval.job_progress(:job_id);
SELECT llmeval.create_provider('mine', 'openai', 'http://localhost/v1');
RESET ROLE;

DROP ROLE regress_tenant_a;
DROP ROLE regress_tenant_b;
