-- sacrebleu's options through SQL: BLEU use_effective_order and
-- max_ngram_order, chrF eps_smoothing and remove_whitespace, in the sentence
-- functions (both reference forms) and the corpus aggregates' options, with
-- sacrebleu's defaults; a NULL argument means its default, invalid values are 22023. Expected values are
-- worked out from sacrebleu 2.6.0's code (see test/unit/bleu_test.cpp and
-- chrf_test.cpp, which check the same numbers in the core).
BEGIN;
SELECT plan(35);

-- BLEU: defaults are sacrebleu's sentence_bleu defaults.
SELECT is(llmeval.bleu('The cat sat on the mat.', 'The cat is on the mat.'),
          llmeval.bleu('The cat sat on the mat.', 'The cat is on the mat.',
                       use_effective_order => true, max_ngram_order => 4),
          'bleu: use_effective_order => true and max_ngram_order => 4 are the defaults');
SELECT ok(abs(llmeval.bleu('a b c', 'a b c d') - 71.65313105737896) < 1e-9,
          'bleu: effective order by default (a 3-token candidate has no 4-gram)');
SELECT is(llmeval.bleu('a b c', 'a b c d', use_effective_order => false), 0::float8,
          'bleu: use_effective_order => false counts the missing 4-gram order');
SELECT is(llmeval.bleu('a b c', ARRAY['a b c d'], use_effective_order => false), 0::float8,
          'bleu text[]: use_effective_order => false');
SELECT ok(abs(llmeval.bleu('the cat sat on the mat today', 'the cat sat on the red mat today',
                           max_ngram_order => 6) - 45.47273313876185) < 1e-9,
          'bleu: max_ngram_order => 6');
SELECT ok(abs(llmeval.bleu('the cat sat on the mat today', 'the cat sat on the red mat today',
                           max_ngram_order => 1) - 86.6877899750182) < 1e-9,
          'bleu: max_ngram_order => 1 (unigram precision and brevity penalty)');
SELECT ok(abs(llmeval.bleu('the cat sat on the mat today', ARRAY['the cat sat on the red mat today'],
                           max_ngram_order => 9) - 40.90458975488025) < 1e-9,
          'bleu text[]: max_ngram_order => 9 with effective order');
SELECT is(llmeval.bleu('the cat sat on the mat', 'the cat sat on the red mat', use_effective_order => NULL),
          llmeval.bleu('the cat sat on the mat', 'the cat sat on the red mat'),
          'bleu: a NULL use_effective_order means its default');
SELECT is(llmeval.bleu('the cat sat on the mat', ARRAY['the cat sat on the red mat'], max_ngram_order => NULL),
          llmeval.bleu('the cat sat on the mat', ARRAY['the cat sat on the red mat'], max_ngram_order => 4),
          'bleu text[]: a NULL max_ngram_order means 4');
SELECT throws_ok($$ SELECT llmeval.bleu('a', 'b', max_ngram_order => 0) $$, '22023',
                 'max_ngram_order must be between 1 and 9', 'bleu: max_ngram_order 0 is 22023');
SELECT throws_ok($$ SELECT llmeval.bleu('a', 'b', max_ngram_order => 10) $$, '22023',
                 'max_ngram_order must be between 1 and 9', 'bleu: max_ngram_order 10 is 22023');
SELECT is(llmeval.bleu(NULL, 'b', max_ngram_order => 10), NULL, 'bleu: a NULL text still gives NULL');

-- corpus_bleu: use_effective_order is off by default, as in sacrebleu's corpus_bleu.
CREATE TEMP TABLE short_rows (candidate text, reference text);
INSERT INTO short_rows VALUES ('a b c', 'a b c d');
SELECT is((SELECT llmeval.corpus_bleu(candidate, reference) FROM short_rows), 0::float8,
          'corpus_bleu: no effective order by default');
SELECT ok((SELECT abs(llmeval.corpus_bleu(candidate, reference, '{"use_effective_order": true}')
                      - 71.65313105737896) FROM short_rows) < 1e-9,
          'corpus_bleu: use_effective_order in the options');
SELECT is((SELECT llmeval.corpus_bleu_stats(candidate, reference, '{}') - 'score' - 'precisions' - 'bp'
                  - 'ratio' - 'counts' - 'totals' - 'sys_len' - 'ref_len' - 'rows' FROM short_rows),
          '{"tokenize": "13a", "lowercase": false, "smooth_method": "exp",
            "max_ngram_order": 4, "use_effective_order": false}'::jsonb,
          'corpus_bleu_stats reports the options in effect, sacrebleu''s defaults');
SELECT is((SELECT jsonb_build_array(s -> 'counts', s -> 'totals', jsonb_array_length(s -> 'precisions'),
                                    s -> 'max_ngram_order')
           FROM (SELECT llmeval.corpus_bleu_stats(c, r, '{"max_ngram_order": 6}') AS s
                 FROM (VALUES ('the cat sat on the mat today',
                               'the cat sat on the red mat today')) v(c, r)) x),
          '[[7, 5, 3, 2, 1, 0], [7, 6, 5, 4, 3, 2], 6, 6]'::jsonb,
          'corpus_bleu_stats: max_ngram_order => 6 gives 6 counts, totals and precisions');
SELECT throws_ok($$ SELECT llmeval.corpus_bleu(candidate, reference, '{"max_ngram_order": 10}')
                    FROM short_rows $$, '22023', NULL, 'corpus_bleu: max_ngram_order 10 is 22023');
SELECT throws_ok($$ SELECT llmeval.corpus_bleu(candidate, reference, '{"use_effective_order": null}')
                    FROM short_rows $$, '22023', NULL, 'corpus_bleu: a null option value is 22023');
SELECT throws_ok($$ SELECT llmeval.corpus_bleu(candidate, reference, '{"effective_order": true}')
                    FROM short_rows $$, '22023', NULL, 'corpus_bleu: a misspelt option is 22023');

-- Multi-stream corpora: a row with no k-th reference has '' there, which
-- sacrebleu 2.6.0 keeps as an empty reference (length 0 competes for the
-- closest reference length; public cases 1693 and 1698).
SELECT is((SELECT (llmeval.corpus_bleu_stats(c, r, '{}') ->> 'ref_len')::int
           FROM (VALUES ('the cat sat', ARRAY['the cat sat on the mat', '']),
                        ('a dog ran', ARRAY['', 'a dog ran off'])) v(c, r)),
          4, 'corpus_bleu: an empty reference counts for the closest length');
SELECT ok(abs((SELECT llmeval.corpus_ter(c, r)
               FROM (VALUES ('The cat sat on the mat.', ARRAY['', 'The cat sat on a mat.'])) v(c, r))
              - 100.0 / 3) < 1e-9,
          'corpus_ter: an empty reference counts in the mean reference length');

-- chrF: defaults are sacrebleu's.
SELECT is(llmeval.chrf('a b', 'ab'), 100::float8, 'chrf: whitespace removed by default');
SELECT is(llmeval.chrf('a b', 'ab'), llmeval.chrf('a b', 'ab', eps_smoothing => false,
                                                  remove_whitespace => true),
          'chrf: eps_smoothing => false and remove_whitespace => true are the defaults');
SELECT ok(abs(llmeval.chrf('a b', 'ab', remove_whitespace => false) - 500.0 / 11) < 1e-9,
          'chrf: remove_whitespace => false counts the space');
SELECT ok(abs(llmeval.chrf('a b', ARRAY['ab'], remove_whitespace => false) - 500.0 / 11) < 1e-9,
          'chrf text[]: remove_whitespace => false');
SELECT ok(abs(llmeval.chrf('ab', 'ab', eps_smoothing => true) - 100.0 / 3) < 1e-9,
          'chrf: eps_smoothing => true averages all 6 orders');
SELECT ok(abs(llmeval.chrf('ab', ARRAY['xy', 'ab'], eps_smoothing => true) - 100.0 / 3) < 1e-9,
          'chrf text[]: eps_smoothing => true');
SELECT is(llmeval.chrf('ab', 'ab', eps_smoothing => NULL), llmeval.chrf('ab', 'ab', eps_smoothing => false),
          'chrf: a NULL eps_smoothing means false');
SELECT is(llmeval.chrf('a b c', ARRAY['a bc'], remove_whitespace => NULL),
          llmeval.chrf('a b c', ARRAY['a bc'], remove_whitespace => true),
          'chrf text[]: a NULL remove_whitespace means true');

-- corpus_chrf options.
CREATE TEMP TABLE chrf_rows (candidate text, reference text);
INSERT INTO chrf_rows VALUES ('a b', 'ab'), ('ab', 'ab');
SELECT is((SELECT llmeval.corpus_chrf(candidate, reference, '{}') FROM chrf_rows), 100::float8,
          'corpus_chrf: whitespace removed by default');
SELECT ok((SELECT llmeval.corpus_chrf(candidate, reference, '{"remove_whitespace": false}')
           FROM chrf_rows) < 100, 'corpus_chrf: remove_whitespace in the options');
SELECT ok(abs((SELECT llmeval.corpus_chrf(candidate, reference, '{"eps_smoothing": true}')
               FROM chrf_rows) - 100.0 / 3) < 1e-9,
          'corpus_chrf: eps_smoothing in the options');
SELECT throws_ok($$ SELECT llmeval.corpus_chrf(candidate, reference, '{"eps_smoothing": "yes"}')
                    FROM chrf_rows $$, '22023', NULL, 'corpus_chrf: a non-boolean eps_smoothing is 22023');
SELECT throws_ok($$ SELECT llmeval.corpus_chrf(candidate, reference, '{"remove_whitespace": null}')
                    FROM chrf_rows $$, '22023', NULL, 'corpus_chrf: a null remove_whitespace is 22023');
SELECT throws_ok($$ SELECT llmeval.corpus_chrf(candidate, reference, '{"whitespace": true}')
                    FROM chrf_rows $$, '22023', NULL, 'corpus_chrf: sacrebleu''s class argument name is not an option');

SELECT * FROM finish();
ROLLBACK;
