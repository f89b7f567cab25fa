#!/usr/bin/env bash
# make demo: a real evaluation end to end on a throwaway cluster (see
# test/harness/with_cluster.sh): the bundled mock provider
# (test/mock_llm/server.py) plays an OpenAI-compatible server with 100 ms of
# latency; a dataset of questions, a prompt and two models are evaluated by
# the background workers; progress is shown while it runs, then the
# comparison and the lexical metrics over the benchmark workload.
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/harness/mock_llm.sh
mock_config '{"latency_ms": 100, "jitter_ms": 50}'

psql -X -q -v ON_ERROR_STOP=1 -d postgres <<SQL
DROP EXTENSION IF EXISTS pg_llmeval CASCADE;
CREATE EXTENSION pg_llmeval;
SELECT llmeval.create_provider('local', 'openai', '$mock_url/v1', 'LLMEVAL_MOCK_API_KEY');
SELECT llmeval.create_model('local/gpt-good', 0.15, 0.60);
SELECT llmeval.create_model('local/gpt-sloppy', 0.05, 0.20);
SELECT llmeval.import_dataset('capitals', (
  SELECT jsonb_agg(jsonb_build_object('input', jsonb_build_object('question', q), 'expected', a))
  FROM jsonb_each_text(pg_read_file('$PWD/test/mock_llm/answers.json')::jsonb) AS x(q, a)));
SELECT llmeval.create_prompt('one-word', 'Answer in one word: {{question}}');
SQL
job=$(psql -X -At -v ON_ERROR_STOP=1 -d postgres -c \
  "SELECT llmeval.submit_job('one-word', 'capitals', ARRAY['local/gpt-good', 'local/gpt-sloppy'], ARRAY['exact_match', 'token_f1', 'chrf'])")

echo
echo "== pg_llmeval demo: job $job, 2 models on a local OpenAI-compatible server =="
echo
while :; do
  line=$(psql -X -At -F ' ' -d postgres -c "SELECT status, done, total, percent FROM llmeval.job_progress($job)")
  set -- $line
  printf '  %-9s %3s/%s tasks (%s%%)\n' "$1" "$2" "$3" "$4"
  case $1 in completed|failed|cancelled) break ;; esac
  sleep 0.3
done

psql -X -v ON_ERROR_STOP=1 -d postgres <<SQL
\pset footer off
\echo
\echo 'Model comparison:'
SELECT r.model,
       count(*) AS tasks,
       (SELECT round(avg(s.value)::numeric, 3) FROM llmeval.scores s
        WHERE s.job_id = r.job_id AND s.model = r.model AND s.metric = 'exact_match') AS exact_match,
       (SELECT round(avg(s.value)::numeric, 3) FROM llmeval.scores s
        WHERE s.job_id = r.job_id AND s.model = r.model AND s.metric = 'token_f1') AS token_f1,
       (SELECT round(avg(s.value)::numeric, 1) FROM llmeval.scores s
        WHERE s.job_id = r.job_id AND s.model = r.model AND s.metric = 'chrf') AS chrf,
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY r.latency_ms)::numeric) AS p50_ms,
       sum(r.input_tokens + r.output_tokens) AS tokens,
       round(sum(r.cost), 6) AS cost_usd
FROM llmeval.results r
WHERE r.job_id = $job
GROUP BY r.job_id, r.model ORDER BY r.model;

\echo 'Where the models disagree:'
SELECT r.input ->> 'question' AS question, r.expected, string_agg(r.model || ': ' || r.output, ' | ' ORDER BY r.model) AS outputs
FROM llmeval.results r
WHERE r.job_id = $job
GROUP BY r.input, r.expected
HAVING count(DISTINCT r.output) > 1
ORDER BY 1 LIMIT 5;

\echo 'Lexical metrics on 2,000 pairs of the benchmark workload:'
CREATE TEMP TABLE pairs (id serial PRIMARY KEY, candidate text NOT NULL, reference text NOT NULL);
\copy pairs(candidate, reference) FROM PROGRAM 'gzip -dc test/data/workload_100k.tsv.gz | head -n 2000' WITH (FORMAT csv, DELIMITER E'\t', QUOTE E'\x01')
SELECT count(*)                                                                  AS pairs,
       round(llmeval.corpus_bleu(candidate, reference)::numeric, 2)              AS corpus_bleu,
       round(llmeval.corpus_chrf(candidate, reference)::numeric, 2)              AS corpus_chrf,
       round(llmeval.corpus_ter(candidate, reference)::numeric, 2)               AS corpus_ter,
       round(avg((llmeval.rouge(candidate, reference, 'rougeL')).fmeasure)::numeric, 4) AS rouge_l
FROM pairs;
SQL
