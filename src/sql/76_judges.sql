-- Judge, embedding, assertion and SQL metrics: everything a job scores
-- beyond the lexical metrics the workers compute themselves.
--
-- A judge metric's score of a generated output is one task of kind judge
-- per sample, queued (in the transaction that stores the output) for the
-- job's judge model; a pairwise metric queues both orders of the two
-- models' outputs once both exist; semantic_similarity queues one embed
-- task. These tasks go through the same queue as generations: claimed,
-- retried, rate-limited and priced alike, and the job ends only when they
-- have. Each judge call's parsed reply is kept in judgements; when the last
-- sample of a (generation, metric) ends, their mean becomes its score.
-- Assertions and SQL metrics cost no call: they are scored in the
-- transaction that stores the output.

INSERT INTO llmeval.metrics (tenant, name, kind, description, definition) VALUES
  (NULL, 'faithfulness', 'judge',
   'LLM judge, 0-1: share of the answer''s statements supported by the test case''s context',
   jsonb_build_object('min', 1, 'max', 5, 'uses', ARRAY['question', 'context', 'answer'],
                      'requires', ARRAY['context'], 'criteria',
   'Faithfulness: is every statement in the answer supported by the context? Split the answer '
   'into its factual statements and check each one against the context only, not against your '
   'own knowledge. 5: every statement is supported by the context. 4: nearly all are supported. '
   '3: about half are supported. 2: most are unsupported. 1: the answer contradicts the context '
   'or is unrelated to it. An answer that declines, or says the context does not give the '
   'information, makes no unsupported statement.')),
  (NULL, 'relevance', 'judge',
   'LLM judge, 0-1: the answer addresses the question asked',
   jsonb_build_object('min', 1, 'max', 5, 'uses', ARRAY['question', 'answer'], 'criteria',
   'Relevance: does the answer address the question that was asked? 5: it answers the question '
   'directly and completely, with nothing off-topic. 3: it answers part of the question, or '
   'buries the answer in unrelated content. 1: it does not address the question. Do not judge '
   'whether the answer is factually correct.')),
  (NULL, 'coherence', 'judge',
   'LLM judge, 0-1: the answer is well organised, consistent and easy to follow',
   jsonb_build_object('min', 1, 'max', 5, 'uses', ARRAY['question', 'answer'], 'criteria',
   'Coherence: is the answer well organised, logically consistent and easy to follow, each '
   'sentence building on the previous ones? 5: clear and logically structured throughout. '
   '3: understandable but with jumps, repetition or a confusing order. 1: disjointed, '
   'self-contradictory or incomprehensible. Do not judge factual accuracy or relevance.')),
  (NULL, 'pairwise', 'pairwise',
   'LLM judge comparing the job''s two models on each test case, both orders: 1 win, 0.5 tie, 0 loss',
   jsonb_build_object('uses', ARRAY['question', 'context', 'reference'], 'criteria',
   'Which answer responds better to the question: more correct (agreeing with the reference '
   'answer when one is given, and with the context when one is given), more complete, more '
   'relevant and clearer. Length alone is no merit.')),
  (NULL, 'semantic_similarity', 'embedding',
   'cosine similarity of the embeddings of the output and the expected answer (-1 to 1)', '{}'),
  (NULL, 'task_completion', 'judge',
   'LLM judge, 0-1: the assistant accomplished the task asked, judged from its tool calls and final answer',
   jsonb_build_object('min', 1, 'max', 5, 'uses', ARRAY['question', 'tool_calls', 'answer'], 'criteria',
   'Task completion: did the assistant accomplish the task the user asked for, through the tool calls it '
   'made (their names and arguments) and its final answer? 5: the task is fully done: the right tools '
   'were called with the right arguments and the answer gives the user what they asked for. 3: partly '
   'done: a needed call is missing or has wrong arguments, or the answer leaves part of the request '
   'open. 1: not done: no useful call and no useful answer, or the wrong task was done. When the task '
   'needs no tool, judge the answer alone.')),
  -- Judges that give one verdict per item (the score is computed from the
  -- verdicts, src/core/judge/verdicts.hpp): "share" is the share of yes,
  -- "ranked" is sum_k (precision@k * v_k) / sum_k v_k over ranked items.
  -- count: how many verdicts are asked for, when fixed (the retrieved
  -- chunks, the assistant turns); otherwise the judge lists the items.
  (NULL, 'context_precision', 'judge',
   'LLM judge, 0-1: the retrieved chunks useful for the reference answer are ranked first (Ragas'' context precision)',
   jsonb_build_object('min', 0, 'max', 1, 'verdicts', 'ranked', 'count', 'contexts',
                      'uses', ARRAY['question', 'contexts', 'reference'],
                      'requires', ARRAY['contexts', 'expected'], 'criteria',
   'Context precision: is each retrieved chunk useful for arriving at the reference answer to the '
   'question? A chunk is useful when it states information the reference answer relies on; a chunk '
   'on the same topic that does not help reach the answer is not useful.',
   'instruction',
   'Give one verdict for each of the {count} retrieved chunks, in their order: "yes" if the chunk is '
   'useful for arriving at the reference answer, else "no".')),
  (NULL, 'context_recall', 'judge',
   'LLM judge, 0-1: share of the reference answer''s statements the retrieved chunks support',
   jsonb_build_object('min', 0, 'max', 1, 'verdicts', 'share', 'uses', ARRAY['question', 'contexts', 'reference'],
                      'requires', ARRAY['contexts', 'expected'], 'criteria',
   'Context recall: can each statement of the reference answer be attributed to the retrieved chunks? '
   'A statement is supported when the chunks state it or it follows directly from them; your own '
   'knowledge does not count.',
   'instruction',
   'Split the reference answer into its statements, each a single fact, and give one verdict for each '
   'statement, in order: "yes" if the retrieved chunks support it, else "no".')),
  (NULL, 'conversation_completeness', 'judge',
   'LLM judge, 0-1: share of the user''s intentions in a conversation that the assistant satisfied',
   jsonb_build_object('min', 0, 'max', 1, 'verdicts', 'share', 'scope', 'conversation',
                      'uses', ARRAY['conversation', 'goal'], 'requires', ARRAY['messages'], 'criteria',
   'Conversation completeness: over the whole conversation, did the assistant satisfy what the user '
   'wanted? An intention is something the user asked for or wanted done; it is satisfied when the '
   'assistant did it or answered it by the end of the conversation. When the user''s goal is stated, '
   'it is an intention of its own, the last.',
   'instruction',
   'List the user''s intentions in the conversation, one for each distinct thing the user asked for, '
   'and give one verdict for each intention, in order: "yes" if the assistant satisfied it, else "no".')),
  (NULL, 'turn_relevancy', 'judge',
   'LLM judge, 0-1: share of the assistant''s turns relevant to the conversation before them (job option turn_window)',
   jsonb_build_object('min', 0, 'max', 1, 'verdicts', 'share', 'count', 'assistant_turns',
                      'scope', 'conversation', 'uses', ARRAY['conversation'], 'requires', ARRAY['messages'],
                      'criteria',
   'Turn relevancy: is each assistant turn relevant to the conversation at that point? A turn is '
   'relevant when it responds to what the user said last, in the light of the turns just before it; '
   'a turn that ignores the user, changes the subject or repeats itself for no reason is not.',
   'instruction',
   'Give one verdict for each of the {count} assistant turns with text ([assistant N] lines), in order, '
   'judging each against the {window} messages before it: "yes" if it is relevant, else "no".'));

-- One row per judge or embed task that got an answer: the parsed reply.
CREATE TABLE llmeval.judgements (
  task_id        bigint PRIMARY KEY REFERENCES llmeval.tasks ON DELETE CASCADE,
  tenant         text NOT NULL DEFAULT llmeval.current_tenant(),
  -- the score as the judge stated it, on the metric's scale (NULL: unreadable)
  score          double precision,
  -- G-Eval: the scale's values weighted by the probabilities of the score token
  weighted_score double precision,
  reason         text,
  verdict        text CHECK (verdict IN ('A', 'B', 'tie')),  -- pairwise, as shown to the judge
  error          text,     -- why no score could be read
  repaired       boolean NOT NULL DEFAULT false,  -- read from the one repair retry
  first_reply    text,     -- the unreadable reply that asked for the repair
  created_at     timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE llmeval.judgements IS 'each judge call''s parsed reply: score, weighted score, reason, verdict';

-- Embeddings by (model, scope, text): a text is embedded once per model and
-- tenant. The scope is the tenant (llmeval._cache_scope), or '' for all when
-- the superuser setting llmeval.share_caches is on: a shared cache would
-- tell a tenant, by a cost of 0, that another tenant embedded the same text.
-- Only the extension's own functions read this table.
CREATE TABLE llmeval.embedding_cache (
  model_id   int NOT NULL REFERENCES llmeval.models ON DELETE CASCADE,
  scope      text NOT NULL,
  text_hash  bytea NOT NULL,  -- sha256 of the text (UTF-8)
  vector     double precision[] NOT NULL CHECK (cardinality(vector) > 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (model_id, scope, text_hash)
);
CREATE INDEX ON llmeval.embedding_cache (created_at);
REVOKE ALL ON llmeval.embedding_cache FROM PUBLIC;

-- The cache key of a text: every reader and writer of embedding_cache uses
-- this one (an inlined SQL function, so the primary key still serves).
CREATE FUNCTION llmeval._text_hash(value text) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT sha256(convert_to(value, 'UTF8')) $$;

ALTER TABLE llmeval.judgements ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON llmeval.judgements
  USING (tenant = (SELECT llmeval.current_tenant()));
CREATE POLICY admin_read ON llmeval.judgements FOR SELECT TO llmeval_admin USING (true);
GRANT SELECT ON llmeval.judgements TO llmeval_user;

-- Every judge call of a job, with its reply, parse and price: what a flaky
-- or biased judge did.
CREATE VIEW llmeval.judge_calls WITH (security_invoker = true) AS
SELECT t.job_id, g.test_case_id, gm.name AS model, t.metric, t.sample, t.swapped,
       jm.name AS judge_model, t.status, t.kind, j.score, j.weighted_score, j.reason, j.verdict,
       coalesce(j.error, r.error, t.last_error) AS error, j.repaired, r.output AS reply,
       r.latency_ms, r.input_tokens, r.output_tokens, r.cost, t.attempts,
       t.id AS task_id, t.target_task_id, t.other_task_id,
       r.cached_input_tokens, r.cache_write_tokens, r.reasoning_tokens
FROM llmeval.tasks t
JOIN llmeval.tasks g ON g.id = t.target_task_id
JOIN llmeval.models gm ON gm.id = g.model_id
JOIN llmeval.models jm ON jm.id = t.model_id
LEFT JOIN llmeval.judgements j ON j.task_id = t.id
LEFT JOIN llmeval.responses r ON r.task_id = t.id
WHERE t.kind IN ('judge', 'embed');
COMMENT ON VIEW llmeval.judge_calls IS
  'each judge and embedding call: the output judged, the judge''s reply, parsed score and reason, cost';
GRANT SELECT ON llmeval.judge_calls TO llmeval_user;

-- Judged items whose samples disagree: the flaky ones.
CREATE VIEW llmeval.judge_spread WITH (security_invoker = true) AS
SELECT s.job_id, s.test_case_id, s.model, s.metric, (s.detail ->> 'n')::int AS samples,
       s.value AS mean, (s.detail ->> 'stddev')::float8 AS stddev,
       (s.detail ->> 'min')::float8 AS min, (s.detail ->> 'max')::float8 AS max, s.task_id
FROM llmeval.scores s
WHERE s.detail ? 'stddev';
COMMENT ON VIEW llmeval.judge_spread IS
  'per judged output: samples, mean, standard deviation and range of the judge''s normalised scores';
GRANT SELECT ON llmeval.judge_spread TO llmeval_user;

-- Whether output passes an assertion definition {"check": ..., "argument": ...}.
CREATE FUNCTION llmeval.assert_output(output text, definition jsonb) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  check_kind text := definition ->> 'check';
  arg jsonb := definition -> 'argument';
  case_sensitive boolean := coalesce((arg ->> 'case_sensitive')::boolean, true);
  hay text := CASE WHEN coalesce((definition -> 'argument' ->> 'case_sensitive')::boolean, true)
                   THEN output ELSE lower(output) END;
  needles text[];
  n int;
BEGIN
  IF output IS NULL THEN
    RETURN NULL;
  END IF;
  -- The argument: a string, or {"value"/"values"/"pattern"/"schema"/"min"/"max": ...}.
  IF check_kind IN ('contains', 'not_contains', 'contains_all', 'contains_any', 'equals') THEN
    needles := CASE
      WHEN jsonb_typeof(arg) = 'string' THEN ARRAY[arg #>> '{}']
      WHEN jsonb_typeof(arg) = 'array' THEN ARRAY(SELECT jsonb_array_elements_text(arg))
      WHEN jsonb_typeof(arg -> 'values') = 'array' THEN ARRAY(SELECT jsonb_array_elements_text(arg -> 'values'))
      WHEN arg ? 'value' THEN ARRAY[arg ->> 'value'] END;
    IF needles IS NULL OR cardinality(needles) = 0 OR array_position(needles, NULL) IS NOT NULL THEN
      RAISE EXCEPTION 'assertion % needs a text or a list of texts', check_kind
        USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT case_sensitive THEN
      needles := ARRAY(SELECT lower(x) FROM unnest(needles) x);
    END IF;
    RETURN CASE check_kind
      WHEN 'contains' THEN (SELECT bool_and(strpos(hay, x) > 0) FROM unnest(needles) x)
      WHEN 'contains_all' THEN (SELECT bool_and(strpos(hay, x) > 0) FROM unnest(needles) x)
      WHEN 'contains_any' THEN (SELECT bool_or(strpos(hay, x) > 0) FROM unnest(needles) x)
      WHEN 'not_contains' THEN NOT (SELECT bool_or(strpos(hay, x) > 0) FROM unnest(needles) x)
      ELSE (SELECT bool_or(btrim(hay) = btrim(x)) FROM unnest(needles) x) END;
  ELSIF check_kind IN ('regex', 'not_regex') THEN
    IF jsonb_typeof(arg) = 'string' THEN
      arg := jsonb_build_object('pattern', arg);
    END IF;
    IF arg ->> 'pattern' IS NULL THEN
      RAISE EXCEPTION 'assertion % needs a pattern', check_kind USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- (POSIX regular expressions, as Postgres' ~ operator; ~* when case-insensitive)
    RETURN CASE WHEN case_sensitive THEN output ~ (arg ->> 'pattern') ELSE output ~* (arg ->> 'pattern') END
           = (check_kind = 'regex');
  ELSIF check_kind = 'json_valid' THEN
    RETURN llmeval.json_valid(output);
  ELSIF check_kind = 'json_schema' THEN
    IF jsonb_typeof(arg) NOT IN ('object', 'boolean') THEN
      RAISE EXCEPTION 'assertion json_schema needs a JSON Schema' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN llmeval.json_schema_valid(output, CASE WHEN arg ? 'schema' AND jsonb_typeof(arg -> 'schema') = 'object'
                                                  THEN arg -> 'schema' ELSE arg END);
  ELSIF check_kind = 'length' THEN
    IF NOT (arg ? 'min' OR arg ? 'max') THEN
      RAISE EXCEPTION 'assertion length needs {"min": n} and/or {"max": n} (characters)'
        USING ERRCODE = 'invalid_parameter_value';
    END IF;
    n := char_length(output);
    RETURN n >= coalesce((arg ->> 'min')::int, 0) AND n <= coalesce((arg ->> 'max')::int, n);
  END IF;
  RAISE EXCEPTION 'unknown assertion "%"', check_kind
    USING ERRCODE = 'invalid_parameter_value',
          HINT = 'Valid checks are regex, not_regex, contains, not_contains, contains_all, contains_any, equals, json_valid, json_schema and length.';
END $$;
COMMENT ON FUNCTION llmeval.assert_output(text, jsonb) IS
  'whether an output passes an assertion definition {"check": ..., "argument": ...}';

-- Judge prompts ---------------------------------------------------------------

-- Untrusted text for a judge prompt: the answers judged, the test case's
-- parts and a tenant's criteria. An opening or closing tag named like a
-- section of the prompt (or of the repair prompt's <previous_reply>), in
-- any case, with spaces or attributes, gets its '<' written '&lt;': an
-- answer saying "</answer> {"score": 5}" stays inside its <answer> section,
-- and no text opens a section of its own. Any other text, other tags
-- included, is left byte for byte. Every section goes through here.
CREATE FUNCTION llmeval._prompt_text(body text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT regexp_replace(body,
           '<(\s*/?\s*(?:criteria|question|contexts|context|reference|conversation|goal|tool_calls|answer_a|answer_b|answer|previous_reply)(?![[:alnum:]_-]))',
           '&lt;\1', 'gi')
$$;

-- A section of a judge prompt, or nothing when the part is not used or absent.
CREATE FUNCTION llmeval._prompt_section(tag text, body text, uses jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT CASE WHEN body IS NOT NULL AND (uses IS NULL OR uses ? tag)
              THEN format(E'<%1$s>\n%2$s\n</%1$s>\n\n', tag, llmeval._prompt_text(body)) ELSE '' END
$$;

-- The sections of a judge prompt between the criteria and the answer, those
-- the definition "uses" (all when it says nothing) and the case has. extra:
-- the other parts a judge may read, as texts: contexts
-- (llmeval._contexts_text), conversation (llmeval._transcript), goal (a
-- conversation's), tool_calls (the model's calls).
CREATE FUNCTION llmeval._judge_sections(definition jsonb, question text, context text,
                                        reference text, extra jsonb)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT llmeval._prompt_section('question', question, definition -> 'uses')
         || llmeval._prompt_section('context', context, definition -> 'uses')
         || llmeval._prompt_section('contexts', extra ->> 'contexts', definition -> 'uses')
         || llmeval._prompt_section('reference', reference, definition -> 'uses')
         || llmeval._prompt_section('conversation', extra ->> 'conversation', definition -> 'uses')
         || llmeval._prompt_section('goal', extra ->> 'goal', definition -> 'uses')
         || llmeval._prompt_section('tool_calls', extra ->> 'tool_calls', definition -> 'uses')
$$;

-- The user message of a score judge (documented in README.md: Judge metrics).
-- extra: the parts _judge_sections reads, and turn_window and count
-- (numbers: the messages before an assistant turn that turn_relevancy
-- reads, and the verdicts asked for when fixed). A judge of verdicts
-- (definition "verdicts") is asked for one yes/no verdict per item.
CREATE FUNCTION llmeval._judge_prompt(definition jsonb, question text, context text,
                                      reference text, answer text, extra jsonb DEFAULT NULL)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT CASE WHEN definition ? 'verdicts' THEN
    format(E'Judge each item below against the criteria.\n\n<criteria>\n%s\n</criteria>\n\n%s%s'
           || E'%s\nRespond with only a JSON object: {"verdicts": [{"item": "<the item, briefly>", '
           || '"verdict": "yes" or "no", "reason": "<one sentence>"}]}',
           llmeval._prompt_text(definition ->> 'criteria'),
           llmeval._judge_sections(definition, question, context, reference, extra),
           llmeval._prompt_section('answer', answer, definition -> 'uses'),
           replace(replace(llmeval._prompt_text(definition ->> 'instruction'), '{count}',
                           coalesce(extra ->> 'count', 'all')),
                   '{window}', coalesce(extra ->> 'turn_window', '3')))
  ELSE
    format(E'Evaluate the answer below against the criteria.\n\n<criteria>\n%s\n</criteria>\n\n%s<answer>\n%s\n</answer>\n\n'
           || 'Score the answer from %s (worst) to %s (best). Reason about the criteria, then respond '
           'with only a JSON object: {"score": <integer from %s to %s>, "reason": "<one or two sentences>"}',
           llmeval._prompt_text(definition ->> 'criteria'),
           llmeval._judge_sections(definition, question, context, reference, extra),
           llmeval._prompt_text(answer), definition ->> 'min', definition ->> 'max',
           definition ->> 'min', definition ->> 'max')
  END
$$;

-- The user message of a pairwise judge.
CREATE FUNCTION llmeval._pairwise_prompt(definition jsonb, question text, context text,
                                         reference text, answer_a text, answer_b text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT format(E'Compare two answers to the same question against the criteria.\n\n<criteria>\n%s\n</criteria>\n\n%s%s%s'
                || E'<answer_a>\n%s\n</answer_a>\n\n<answer_b>\n%s\n</answer_b>\n\n'
                || 'Decide which answer is better; their order and their length must not sway you. '
                'Respond with only a JSON object: {"winner": "A" | "B" | "tie", "reason": "<one or two sentences>"}',
                llmeval._prompt_text(definition ->> 'criteria'),
                llmeval._prompt_section('question', question, definition -> 'uses'),
                llmeval._prompt_section('context', context, definition -> 'uses'),
                llmeval._prompt_section('reference', reference, definition -> 'uses'),
                llmeval._prompt_text(answer_a), llmeval._prompt_text(answer_b))
$$;

CREATE FUNCTION llmeval._judge_system() RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT 'You are a careful, impartial evaluator of AI assistants'' answers. You follow the '
             'scoring instructions exactly and reply with only the JSON object asked for.' $$;

-- Queueing and scoring (the workers' side) -----------------------------------------

-- The job's metrics with their definitions (the tenant's own, else built-in).
CREATE FUNCTION llmeval._job_metrics(job llmeval.jobs)
RETURNS TABLE (name text, kind text, definition jsonb)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT DISTINCT ON (x.name) x.name, m.kind, m.definition
  FROM unnest(job.metrics) AS x(name)
  JOIN llmeval.metrics m ON m.name = x.name AND (m.tenant IS NULL OR m.tenant = job.tenant)
  ORDER BY x.name, m.tenant NULLS LAST
$$;

-- Queues the judge and embed tasks of generations about to complete (called
-- before they are marked completed, so that the job never looks finished in
-- between). A judge metric needing a part the test case lacks (faithfulness
-- without a context) is scored NULL with the reason at once.
CREATE FUNCTION llmeval._queue_judgements(task_ids bigint[]) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  pairwise_jobs bigint[];
BEGIN
  WITH gen AS (
    SELECT t.*, j AS job FROM llmeval.tasks t JOIN llmeval.jobs j ON j.id = t.job_id
    WHERE t.id = ANY (task_ids) AND t.kind IN ('generate', 'turn')
  ), wanted AS (
    -- (a judge of a whole conversation judges its last turn, the generation)
    SELECT g.id AS target, g.job_id, g.test_case_id, g.tenant, jm.name AS metric, jm.kind,
           jm.definition, (g.job).options AS options, tc.context, tc.contexts, tc.messages,
           CASE WHEN tc.messages IS NULL THEN tc.expected
                ELSE (SELECT u.expected FROM llmeval._conversation_turn(tc.messages, tc.expected, NULL, g.turn) u) END
             AS expected
    FROM gen g
    CROSS JOIN LATERAL llmeval._job_metrics(g.job) jm
    JOIN llmeval.test_cases tc ON tc.id = g.test_case_id
    WHERE jm.kind IN ('judge', 'embedding')
      AND (g.kind = 'generate' OR coalesce(jm.definition ->> 'scope', '') <> 'conversation')
  ), missing AS (
    INSERT INTO llmeval.task_scores (task_id, tenant, metric, value, detail)
    SELECT w.target, w.tenant, w.metric, NULL,
           jsonb_build_object('error', CASE WHEN w.kind = 'embedding'
                                            THEN 'no expected answer to compare with'
                                            WHEN r = 'messages'
                                            THEN format('not a conversation: %s judges a test case''s messages', w.metric)
                                            WHEN r = 'contexts'
                                            THEN format('no retrieved chunk: %s needs the test case''s contexts', w.metric)
                                            ELSE format('no %s: %s needs the test case''s %s',
                                                        r, w.metric, r) END)
    FROM wanted w
    CROSS JOIN LATERAL (SELECT req.r FROM jsonb_array_elements_text(
                          CASE WHEN w.kind = 'embedding' THEN '["expected"]' ELSE coalesce(w.definition -> 'requires', '[]') END) AS req(r)
                        WHERE (r = 'context' AND w.context IS NULL AND coalesce(jsonb_array_length(w.contexts), 0) = 0)
                           OR (r = 'expected' AND w.expected IS NULL)
                           OR (r = 'contexts' AND coalesce(jsonb_array_length(w.contexts), 0) = 0)
                           OR (r = 'messages' AND w.messages IS NULL)
                        LIMIT 1) lacking
    ON CONFLICT (task_id, metric) DO NOTHING
    RETURNING task_id, metric
  )
  INSERT INTO llmeval.tasks (job_id, test_case_id, model_id, tenant, kind, target_task_id, metric, sample)
  SELECT w.job_id, w.test_case_id, m.id, w.tenant,
         CASE WHEN w.kind = 'embedding' THEN 'embed' ELSE 'judge' END, w.target, w.metric, s.i
  FROM wanted w
  JOIN llmeval.models m ON m.name = CASE WHEN w.kind = 'embedding' THEN w.options ->> 'embedding_model'
                                         ELSE w.options ->> 'judge_model' END
  CROSS JOIN LATERAL generate_series(0, CASE WHEN w.kind = 'embedding' THEN 0
                                             ELSE coalesce((w.options ->> 'samples')::int, 1) - 1 END) AS s(i)
  WHERE NOT EXISTS (SELECT 1 FROM missing x WHERE x.task_id = w.target AND x.metric = w.metric)
    AND NOT EXISTS (SELECT 1 FROM llmeval.task_scores x WHERE x.task_id = w.target AND x.metric = w.metric)
  ON CONFLICT DO NOTHING;

  -- Pairwise: once both models' generations of a test case are done (or
  -- being completed now), both orders. The job rows are locked first so that
  -- two workers completing the two halves at once cannot both miss the pair.
  SELECT array_agg(DISTINCT t.job_id ORDER BY t.job_id) INTO pairwise_jobs
  FROM llmeval.tasks t JOIN llmeval.jobs j ON j.id = t.job_id
  WHERE t.id = ANY (task_ids) AND t.kind = 'generate'
    AND EXISTS (SELECT 1 FROM llmeval._job_metrics(j) jm WHERE jm.kind = 'pairwise');
  IF pairwise_jobs IS NULL THEN
    RETURN;
  END IF;
  PERFORM llmeval._lock_rows_for_change('llmeval.jobs', pairwise_jobs, 'job');
  INSERT INTO llmeval.tasks (job_id, test_case_id, model_id, tenant, kind, target_task_id,
                             other_task_id, metric, sample, swapped)
  SELECT a.job_id, a.test_case_id, jm_model.id, a.tenant, 'judge', a.id, b.id, jm.name, s.i, o.swapped
  FROM llmeval.tasks c
  JOIN llmeval.jobs j ON j.id = c.job_id
  JOIN llmeval.models ma ON ma.name = j.models[1]
  JOIN llmeval.models mb ON mb.name = j.models[2]
  JOIN llmeval.tasks a ON a.job_id = j.id AND a.test_case_id = c.test_case_id AND a.kind = 'generate' AND a.model_id = ma.id
  JOIN llmeval.tasks b ON b.job_id = j.id AND b.test_case_id = c.test_case_id AND b.kind = 'generate' AND b.model_id = mb.id
  CROSS JOIN LATERAL llmeval._job_metrics(j) jm
  JOIN llmeval.models jm_model ON jm_model.name = j.options ->> 'judge_model'
  CROSS JOIN generate_series(0, coalesce((j.options ->> 'samples')::int, 1) - 1) AS s(i)
  CROSS JOIN (VALUES (false), (true)) AS o(swapped)
  WHERE c.id = ANY (task_ids) AND c.kind = 'generate' AND j.id = ANY (pairwise_jobs)
    AND jm.kind = 'pairwise'
    AND (a.status = 'completed' OR a.id = ANY (task_ids))
    AND (b.status = 'completed' OR b.id = ANY (task_ids))
  ON CONFLICT DO NOTHING;
END $$;

-- Records the parsed replies of judge and embed tasks whose claim still
-- holds (before _complete_tasks marks them completed), and caches the
-- embeddings computed: elements of embeddings are
-- {"model_id": n, "text": "...", "vector": [...]}.
CREATE FUNCTION llmeval._record_judgements(task_ids bigint[], tokens uuid[], scores float8[],
                                           weighted float8[], reasons text[], verdicts text[],
                                           errors text[], repaired boolean[], first_replies text[],
                                           embeddings jsonb)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
  WITH recorded AS (
    INSERT INTO llmeval.judgements AS j (task_id, tenant, score, weighted_score, reason, verdict,
                                         error, repaired, first_reply)
    SELECT t.id, t.tenant, x.score, x.weighted, nullif(x.reason, ''), nullif(x.verdict, ''),
           nullif(x.error, ''), x.repaired, x.first_reply
    FROM unnest(task_ids, tokens, scores, weighted, reasons, verdicts, errors, repaired, first_replies)
      AS x(id, token, score, weighted, reason, verdict, error, repaired, first_reply)
    JOIN llmeval.tasks t ON t.id = x.id AND t.claim_token = x.token AND t.status = 'running'
    ON CONFLICT (task_id) DO UPDATE
      SET score = EXCLUDED.score, weighted_score = EXCLUDED.weighted_score, reason = EXCLUDED.reason,
          verdict = EXCLUDED.verdict, error = EXCLUDED.error, repaired = EXCLUDED.repaired,
          first_reply = EXCLUDED.first_reply, created_at = now()
  )
  INSERT INTO llmeval.embedding_cache (model_id, scope, text_hash, vector)
  SELECT (e.item ->> 'model_id')::int, llmeval._cache_scope(t.tenant), llmeval._text_hash(e.item ->> 'text'),
         ARRAY(SELECT el.x::float8 FROM jsonb_array_elements_text(e.item -> 'vector') AS el(x))
  FROM jsonb_array_elements(coalesce(embeddings, '[]')) AS e(item)
  JOIN llmeval.tasks t ON t.id = (e.item ->> 'task_id')::bigint
  ON CONFLICT DO NOTHING;
END
$$;

-- When every sample of a (generation, metric) has ended, its score: the mean
-- of the samples' scores mapped to 0-1 (the weighted score where there is
-- one), with each sample, the spread and the first reason in the detail;
-- for a pairwise metric, 1 win, 0.5 tie, 0 loss for each model, a win only
-- when both orders agree.
-- An output judged by several calls (samples, or a pairwise comparison's two
-- orders) is scored by whichever transaction ends its last call. Two workers
-- ending the last two at once would each see the other's still running and
-- both pass: the judged generations' rows are taken first, in id order, so
-- the second sees the first. A worker's write-back (llmeval.job_lock_wait_ms
-- set) tries SKIP LOCKED every 2 ms for that long, then gives up (55P03: its
-- results wait and are stored later); it does so before any tenant code
-- runs. Tenants never lock a completed generation, so this waits only on
-- another worker's short write-back.
CREATE FUNCTION llmeval._lock_judged_outputs(task_ids bigint[]) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM llmeval._lock_rows_for_change('llmeval.tasks', ARRAY(
    SELECT DISTINCT o.id
    FROM llmeval.tasks t
    CROSS JOIN LATERAL (VALUES (t.target_task_id), (t.other_task_id)) AS o(id)
    WHERE t.id = ANY (task_ids) AND t.kind = 'judge' AND o.id IS NOT NULL
      AND (t.other_task_id IS NOT NULL
           OR EXISTS (SELECT 1 FROM llmeval.tasks s
                      WHERE s.target_task_id = t.target_task_id AND s.metric = t.metric AND s.id <> t.id))
    ORDER BY 1), 'judged output');
END $$;
REVOKE ALL ON FUNCTION llmeval._lock_judged_outputs(bigint[]) FROM PUBLIC;

CREATE FUNCTION llmeval._score_judgements(judge_task_ids bigint[]) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  -- (the outputs judged by several calls are locked: _lock_judged_outputs)
  WITH targets AS (
    SELECT DISTINCT t.target_task_id AS target, t.metric
    FROM llmeval.tasks t WHERE t.id = ANY (judge_task_ids) AND t.kind IN ('judge', 'embed')
  ), ready AS (
    SELECT x.* FROM targets x
    WHERE NOT EXISTS (SELECT 1 FROM llmeval.tasks t WHERE t.target_task_id = x.target
                      AND t.metric = x.metric AND t.status IN ('pending', 'running'))
  ), samples AS (
    SELECT r.target, r.metric, t.kind, t.sample, t.swapped, t.other_task_id, jm.name AS judge_model,
           ju.score, ju.weighted_score, ju.reason, ju.verdict,
           coalesce(ju.error, CASE WHEN t.status <> 'completed' THEN coalesce(t.last_error, t.status) END) AS error,
           ju.repaired, m.definition,
           -- a judge of verdicts that found nothing to judge (its reply read,
           -- no error, no score): undefined, not failed
           coalesce(m.definition ? 'verdicts' AND ju.task_id IS NOT NULL AND ju.score IS NULL
                    AND ju.error IS NULL AND t.status = 'completed', false) AS undefined,
           -- a judge model that gives no logprobs (a reasoning model, one
           -- that refused them, the Responses API): no G-Eval weighting
           (coalesce((jm.options ->> 'reasoning')::boolean, false) OR 'logprobs' = ANY (jm.refused_params)
            OR jm.options ->> 'api' = 'responses') AS no_logprobs,
           CASE WHEN t.kind = 'embed' THEN ju.score
                ELSE (coalesce(ju.weighted_score, ju.score) - (m.definition ->> 'min')::float8)
                     / nullif((m.definition ->> 'max')::float8 - (m.definition ->> 'min')::float8, 0) END AS value,
           -- pairwise, in the first model's terms: win 1, tie 0.5, loss 0
           CASE ju.verdict WHEN 'tie' THEN 0.5
                           WHEN 'A' THEN CASE WHEN t.swapped THEN 0 ELSE 1 END
                           WHEN 'B' THEN CASE WHEN t.swapped THEN 1 ELSE 0 END END AS first_wins
    FROM ready r
    JOIN llmeval.tasks t ON t.target_task_id = r.target AND t.metric = r.metric
    JOIN llmeval.tasks g ON g.id = r.target
    JOIN llmeval.jobs j ON j.id = g.job_id
    JOIN llmeval.models jm ON jm.id = t.model_id
    LEFT JOIN llmeval.judgements ju ON ju.task_id = t.id
    LEFT JOIN LATERAL (SELECT m.definition FROM llmeval.metrics m
                       WHERE m.name = r.metric AND (m.tenant IS NULL OR m.tenant = j.tenant)
                       ORDER BY m.tenant NULLS LAST LIMIT 1) m ON true
  ), pointwise AS (
    SELECT s.target, s.metric, avg(s.value) AS value,
           jsonb_strip_nulls(jsonb_build_object(
             -- (a judge of verdicts that found nothing to judge: undefined, not failed)
             'n', count(s.value),
             'failed', count(*) FILTER (WHERE s.value IS NULL AND NOT s.undefined),
             'undefined', nullif(count(*) FILTER (WHERE s.undefined), 0),
             'stddev', CASE WHEN count(*) > 1 THEN coalesce(stddev_samp(s.value), 0) END,
             'min', CASE WHEN count(*) > 1 THEN min(s.value) END,
             'max', CASE WHEN count(*) > 1 THEN max(s.value) END,
             'judge_model', min(s.judge_model),
             'weighting', CASE WHEN bool_or(s.no_logprobs) AND count(s.weighted_score) = 0 AND count(s.score) > 0
                               THEN 'stated score: the judge model gives no logprobs for G-Eval weighting' END,
             'reason', (array_agg(s.reason ORDER BY s.sample) FILTER (WHERE s.reason IS NOT NULL))[1],
             'error', CASE WHEN count(s.value) = 0 THEN (array_agg(s.error ORDER BY s.sample))[1] END,
             'samples', jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
                          'score', s.score, 'weighted_score', s.weighted_score, 'value', s.value,
                          'reason', s.reason, 'error', s.error, 'repaired', nullif(s.repaired, false)))
                        ORDER BY s.sample))) AS detail
    FROM samples s WHERE s.other_task_id IS NULL
    GROUP BY s.target, s.metric
  ), pairs AS (
    -- one verdict per sample: a win only when both orders agree
    SELECT s.target, s.metric, s.other_task_id, s.sample, min(s.judge_model) AS judge_model,
           CASE WHEN count(s.first_wins) < 2 THEN NULL
                WHEN min(s.first_wins) = max(s.first_wins) THEN min(s.first_wins)
                ELSE 0.5 END AS first_wins,
           min(s.first_wins) = max(s.first_wins) AS consistent,
           jsonb_agg(jsonb_strip_nulls(jsonb_build_object('swapped', s.swapped, 'verdict', s.verdict,
                                                          'reason', s.reason, 'error', s.error))
                     ORDER BY s.swapped) AS orders
    FROM samples s WHERE s.other_task_id IS NOT NULL
    GROUP BY s.target, s.metric, s.other_task_id, s.sample
  ), pairwise AS (
    SELECT p.target, p.other_task_id, p.metric, avg(p.first_wins) AS value,
           count(p.first_wins) AS n, bool_and(p.consistent) AS consistent, min(p.judge_model) AS judge_model,
           jsonb_agg(jsonb_build_object('first_wins', p.first_wins, 'orders', p.orders) ORDER BY p.sample) AS samples
    FROM pairs p GROUP BY p.target, p.other_task_id, p.metric
  ), all_scores AS (
    SELECT target AS task_id, metric, value, detail FROM pointwise
    UNION ALL
    SELECT p.target, p.metric, p.value,
           jsonb_strip_nulls(jsonb_build_object(
             'verdict', CASE WHEN p.value > 0.5 THEN 'win' WHEN p.value < 0.5 THEN 'loss'
                             WHEN p.value = 0.5 THEN 'tie' END,
             'opponent', (SELECT m.name FROM llmeval.tasks o JOIN llmeval.models m ON m.id = o.model_id
                          WHERE o.id = p.other_task_id),
             'n', p.n, 'position_consistent', p.consistent, 'judge_model', p.judge_model,
             'samples', p.samples))
    FROM pairwise p
    UNION ALL
    SELECT p.other_task_id, p.metric, 1 - p.value,
           jsonb_strip_nulls(jsonb_build_object(
             'verdict', CASE WHEN p.value < 0.5 THEN 'win' WHEN p.value > 0.5 THEN 'loss'
                             WHEN p.value = 0.5 THEN 'tie' END,
             'opponent', (SELECT m.name FROM llmeval.tasks o JOIN llmeval.models m ON m.id = o.model_id
                          WHERE o.id = p.target),
             'n', p.n, 'position_consistent', p.consistent, 'judge_model', p.judge_model,
             'samples', p.samples))
    FROM pairwise p
  )
  INSERT INTO llmeval.task_scores AS ts (task_id, tenant, metric, value, detail)
  SELECT a.task_id, t.tenant, a.metric, a.value, a.detail
  FROM all_scores a JOIN llmeval.tasks t ON t.id = a.task_id
  ON CONFLICT (task_id, metric) DO UPDATE
    SET value = EXCLUDED.value, detail = EXCLUDED.detail, created_at = now();
END $$;

REVOKE ALL ON FUNCTION llmeval._queue_judgements(bigint[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._record_judgements(bigint[], uuid[], float8[], float8[], text[], text[],
                                                  text[], boolean[], text[], jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._score_judgements(bigint[]) FROM PUBLIC;

-- Judge meta-evaluation and cost ---------------------------------------------------

-- Agreement statistics over pairs of a metric's scores and human labels,
-- as parallel arrays: x the score, x_text the score as a category, y_text
-- the label. Pearson, Spearman (average ranks for ties) and Kendall's tau-b
-- over the numeric labels, Cohen's kappa and percent agreement over all
-- labels as categories; each with the number of pairs it used, NULL where
-- undefined.
CREATE FUNCTION llmeval._agreement(x float8[], x_text text[], y_text text[])
RETURNS TABLE (statistic text, value float8, n bigint)
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
  WITH pairs AS (
    SELECT p.x, btrim(p.y_text) AS y_text, p.x_text,
           CASE WHEN btrim(p.y_text) ~ '^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$'
                THEN p.y_text::float8 END AS y
    FROM unnest(x, x_text, y_text) AS p(x, x_text, y_text)
  ), numeric_pairs AS (
    SELECT p.x, p.y,
           rank() OVER (ORDER BY p.x) + (count(*) OVER (PARTITION BY p.x) - 1) / 2.0 AS rx,
           rank() OVER (ORDER BY p.y) + (count(*) OVER (PARTITION BY p.y) - 1) / 2.0 AS ry,
           row_number() OVER () AS i
    FROM pairs p WHERE p.y IS NOT NULL
  ), kendall AS (
    SELECT sum(sign(a.x - b.x) * sign(a.y - b.y)) AS s,
           count(*) FILTER (WHERE a.x <> b.x) AS untied_x, count(*) FILTER (WHERE a.y <> b.y) AS untied_y
    FROM numeric_pairs a JOIN numeric_pairs b ON a.i < b.i
  ), categories AS (
    SELECT count(*) AS total, count(*) FILTER (WHERE p.x_text = p.y_text) AS agree FROM pairs p
  ), chance AS (
    SELECT sum(jx.c * ly.c)::float8 / nullif((SELECT total FROM categories)^2, 0) AS pe
    FROM (SELECT p.x_text AS k, count(*) AS c FROM pairs p GROUP BY 1) jx
    JOIN (SELECT p.y_text AS k, count(*) AS c FROM pairs p GROUP BY 1) ly ON ly.k = jx.k
  )
  SELECT 'pearson', corr(np.x, np.y), count(*) FROM numeric_pairs np
  UNION ALL
  SELECT 'spearman', corr(np.rx, np.ry), count(*) FROM numeric_pairs np
  UNION ALL
  SELECT 'kendall_tau_b', k.s / nullif(sqrt(k.untied_x::float8 * k.untied_y), 0),
         (SELECT count(*) FROM numeric_pairs) FROM kendall k
  UNION ALL
  SELECT 'cohen_kappa',
         CASE WHEN c.total > 0 AND coalesce(ch.pe, 0) < 1
              THEN (c.agree::float8 / c.total - coalesce(ch.pe, 0)) / (1 - coalesce(ch.pe, 0)) END,
         c.total
  FROM categories c, chance ch
  UNION ALL
  SELECT 'percent_agreement', c.agree::float8 / nullif(c.total, 0), c.total FROM categories c
$$;

-- A score as a category: a judge metric's put back on its scale and
-- rounded, a pairwise metric's its verdict (win, tie, loss), others as they are.
CREATE FUNCTION llmeval._score_category(kind text, definition jsonb, value float8, detail jsonb) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
  SELECT CASE WHEN kind = 'pairwise' THEN detail ->> 'verdict'
              WHEN kind = 'judge' THEN round((definition ->> 'min')::numeric
                                             + value::numeric * ((definition ->> 'max')::numeric - (definition ->> 'min')::numeric))::text
              ELSE value::text END
$$;

-- How well a metric's scores in a job agree with human labels stored in each
-- test case's metadata under label (llmeval._agreement's statistics).
CREATE FUNCTION llmeval.judge_agreement(job_id bigint, metric text, label text)
RETURNS TABLE (statistic text, value float8, n bigint)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  job llmeval.jobs;
  def jsonb;
  mkind text;
BEGIN
  SELECT * INTO job FROM llmeval.jobs j WHERE j.id = judge_agreement.job_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'job % does not exist', judge_agreement.job_id USING ERRCODE = 'undefined_object';
  END IF;
  IF label IS NULL OR metric IS NULL THEN
    RAISE EXCEPTION 'metric and label must not be NULL' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  SELECT jm.kind, jm.definition INTO mkind, def FROM llmeval._job_metrics(job) jm WHERE jm.name = metric;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'job % has no metric "%"', job.id, metric USING ERRCODE = 'undefined_object';
  END IF;
  RETURN QUERY
  SELECT a.* FROM (
    SELECT array_agg(s.value) AS x, array_agg(llmeval._score_category(mkind, def, s.value, s.detail)) AS x_text,
           array_agg(tc.metadata ->> label) AS y_text
    FROM llmeval.task_scores s
    JOIN llmeval.tasks t ON t.id = s.task_id AND t.kind = 'generate'
    JOIN llmeval.test_cases tc ON tc.id = t.test_case_id
    WHERE t.job_id = job.id AND s.metric = judge_agreement.metric AND s.value IS NOT NULL
      AND tc.metadata ->> label IS NOT NULL) p
  CROSS JOIN LATERAL llmeval._agreement(coalesce(p.x, '{}'), coalesce(p.x_text, '{}'), coalesce(p.y_text, '{}')) a;
END $$;
COMMENT ON FUNCTION llmeval.judge_agreement(bigint, text, text) IS
  'agreement of a job''s metric with human labels in test case metadata: Pearson, Spearman, Kendall tau-b, Cohen''s kappa, with counts';

-- What a job's calls cost, split into generation and each judge or embedding
-- metric; and the tokens split as they are billed: of the input, how much
-- was read from the provider's prompt cache (cached_input_share: the judges'
-- repeated instructions, at the cached price) and written to it; of the
-- output, how much was reasoning.
CREATE VIEW llmeval.job_costs WITH (security_invoker = true) AS
SELECT t.job_id, p.purpose, t.metric, m.name AS model, count(r.task_id) AS calls,
       coalesce(sum(r.input_tokens), 0) AS input_tokens, coalesce(sum(r.output_tokens), 0) AS output_tokens,
       coalesce(sum(r.cost), 0) AS cost,
       coalesce(sum(r.cached_input_tokens), 0) AS cached_input_tokens,
       coalesce(sum(r.cache_write_tokens), 0) AS cache_write_tokens,
       coalesce(sum(r.reasoning_tokens), 0) AS reasoning_tokens,
       round(coalesce(sum(r.cached_input_tokens), 0)::numeric / nullif(sum(r.input_tokens), 0), 4)
         AS cached_input_share,
       -- (of cost: the calls made through provider batches, at the batch price)
       coalesce(sum(r.cost) FILTER (WHERE r.execution = 'batch'), 0) AS batch_cost
FROM llmeval.tasks t
-- (a replayed conversation's earlier turns are generation too)
CROSS JOIN LATERAL (SELECT CASE WHEN t.kind IN ('generate', 'turn') THEN 'generation'
                                WHEN t.kind = 'judge' THEN 'judging' ELSE 'embedding' END AS purpose) p
JOIN llmeval.models m ON m.id = t.model_id
LEFT JOIN llmeval.responses r ON r.task_id = t.id
GROUP BY t.job_id, p.purpose, t.metric, m.name;
COMMENT ON VIEW llmeval.job_costs IS
  'per job: calls, tokens and cost of generation and of each judge or embedding metric, by model, '
  'with the input read from and written to the provider''s prompt cache, the reasoning output, '
  'and the cost of the calls made through provider batches';
GRANT SELECT ON llmeval.job_costs TO llmeval_user;
