-- A LATIN1 database: text reaches the core as UTF-8 and results are the same
-- as in a UTF8 database.
CREATE DATABASE llmeval_latin1 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;
\c llmeval_latin1
SET client_encoding = 'UTF8';
CREATE EXTENSION pg_llmeval;
SELECT llmeval.bleu('Le café crème coûte 3,50 £', 'Le café crème coûte 3,50 £') AS identical;
SELECT round(llmeval.bleu('ÉCOLE ÉTÉ', 'école été', lowercase => true)::numeric, 6) AS lowercased;
SELECT round(llmeval.bleu('«Bonjour», dit-il', '« Bonjour » , dit - il', tokenize => 'none')::numeric, 6) AS untokenized,
       round(llmeval.bleu('«Bonjour», dit-il', '« Bonjour » , dit - il', tokenize => 'intl')::numeric, 6) AS intl;
\c contrib_regression
DROP DATABASE llmeval_latin1;
