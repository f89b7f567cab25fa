#!/usr/bin/env bash
# make demo: loads 2,000 pairs of the benchmark workload into a throwaway
# cluster (see test/harness/with_cluster.sh) and prints per-row and corpus
# metrics computed by pg_llmeval.
set -euo pipefail
cd "$(dirname "$0")/../.."
db=llmeval_demo
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" <<'SQL'
CREATE EXTENSION pg_llmeval;
CREATE TABLE pairs (id serial PRIMARY KEY, candidate text NOT NULL, reference text NOT NULL);
SQL
psql -X -q -v ON_ERROR_STOP=1 -d "$db" \
  -c "\\copy pairs(candidate, reference) FROM PROGRAM 'gzip -dc test/data/workload_100k.tsv.gz | head -n 2000' WITH (FORMAT csv, DELIMITER E'\\t', QUOTE E'\\x01')"

psql -X -v ON_ERROR_STOP=1 -d "$db" <<'SQL'
\pset footer off
\echo
\echo '== pg_llmeval demo: 2,000 candidate/reference pairs =='
\echo
\echo 'Per-row metrics (first 5 rows):'
SELECT id,
       left(candidate, 40) AS candidate,
       round(llmeval.bleu(candidate, reference)::numeric, 2)                     AS bleu,
       round(llmeval.chrf(candidate, reference)::numeric, 2)                     AS chrf,
       round(llmeval.ter(candidate, reference)::numeric, 2)                      AS ter,
       round((llmeval.rouge(candidate, reference, 'rougeL')).fmeasure::numeric, 4) AS rouge_l,
       round(llmeval.token_f1(candidate, reference)::numeric, 4)                 AS token_f1,
       llmeval.exact_match(candidate, reference)                                 AS exact
FROM pairs ORDER BY id LIMIT 5;

\echo 'Corpus scores:'
SELECT count(*)                                                                  AS pairs,
       round(llmeval.corpus_bleu(candidate, reference)::numeric, 2)              AS corpus_bleu,
       round(llmeval.corpus_chrf(candidate, reference)::numeric, 2)              AS corpus_chrf,
       round(avg(llmeval.bleu(candidate, reference))::numeric, 2)                AS mean_sentence_bleu,
       round(avg((llmeval.rouge(candidate, reference, 'rouge1')).fmeasure)::numeric, 4) AS rouge1,
       round(avg((llmeval.rouge(candidate, reference, 'rouge2')).fmeasure)::numeric, 4) AS rouge2,
       round(avg((llmeval.rouge(candidate, reference, 'rougeL')).fmeasure)::numeric, 4) AS rouge_l,
       round(avg(llmeval.ter(candidate, reference))::numeric, 2)                 AS mean_ter
FROM pairs;

\echo 'BLEU detail (corpus_bleu_stats):'
SELECT jsonb_pretty(llmeval.corpus_bleu_stats(candidate, reference, '{"tokenize": "13a"}')) AS detail FROM pairs;
SQL
