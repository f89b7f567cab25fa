-- Conversations and retrieval in test cases: what a conversation may hold,
-- its user turns and what each expects, the messages sent for a turn, and
-- the texts judges read (a transcript, the retrieved chunks).
--
-- A conversation (test_cases.messages) is a list of messages in one form for
-- every provider (src/core/provider/history.hpp turns it into each API's):
--   {"role": "user", "content": "...", "expected": "...", "expected_tool_calls": [...]}
--   {"role": "assistant", "content": "...", "tool_calls": [{"id", "name", "arguments"}]}
--   {"role": "tool", "tool_call_id": "...", "name": "...", "content": ...}
-- A job runs it in one of two ways (job option "conversation"):
--   final_turn (the default): one call, the model answering the last user
--     turn (or the tool results after it) given the scripted history;
--   replay: one call per user turn, each sent with the model's own earlier
--     answers instead of the scripted ones; turn k + 1 is queued when turn k
--     completes, so a crash resumes at the next turn.
-- What turn k expects: its user message's "expected" (and
-- "expected_tool_calls"), else for the last turn the test case's expected,
-- else the scripted assistant reply that follows it.

-- Why the tool calls and results of a conversation do not pair up as every
-- provider requires (NULL: they do): each tool message answers a call made
-- in the assistant messages since the last user or assistant text (by
-- tool_call_id, else the first call not yet answered), and every call is
-- answered before the next user or assistant message or the end; but the
-- calls of a last assistant message that no result follows are a scripted
-- reply, never sent (what the last turn expects).
-- (src/core/provider/history.cpp reads them the same way.)
CREATE FUNCTION llmeval._tool_pairing_problem(messages jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  m jsonb;
  k int := 0;
  open_ids text[] := '{}';    -- calls not answered yet, in order
  open_names text[] := '{}';
  n_calls int := 0;
  c jsonb;
  id text;
  at int;
  answered boolean := false;  -- a result followed the last calls made
BEGIN
  FOR m IN SELECT x FROM jsonb_array_elements(messages) x LOOP
    k := k + 1;
    IF m ->> 'role' = 'tool' THEN
      id := m ->> 'tool_call_id';
      at := CASE WHEN id IS NULL THEN CASE WHEN cardinality(open_ids) > 0 THEN 1 END
                 ELSE array_position(open_ids, id) END;
      IF at IS NULL THEN
        RETURN format('message %s: a tool result answers no call%s', k,
                      CASE WHEN id IS NOT NULL THEN format(' (no open call has the id "%s")', id) ELSE '' END);
      END IF;
      IF m ->> 'name' IS NOT NULL AND m ->> 'name' <> open_names[at] THEN
        RETURN format('message %s: the tool result is named "%s", its call "%s"', k, m ->> 'name', open_names[at]);
      END IF;
      answered := true;
      open_ids := open_ids[:at - 1] || open_ids[at + 1:];
      open_names := open_names[:at - 1] || open_names[at + 1:];
      CONTINUE;
    END IF;
    IF cardinality(open_ids) > 0 THEN
      RETURN format('message %s: the tool call "%s" before it has no result', k, open_names[1]);
    END IF;
    answered := false;
    IF m ->> 'role' = 'assistant' AND jsonb_typeof(m -> 'tool_calls') = 'array' THEN
      FOR c IN SELECT x FROM jsonb_array_elements(m -> 'tool_calls') x LOOP
        open_ids := open_ids || coalesce(c ->> 'id', 'call_' || n_calls);
        open_names := open_names || (c ->> 'name');
        n_calls := n_calls + 1;
      END LOOP;
    END IF;
  END LOOP;
  IF cardinality(open_ids) > 0 AND answered THEN
    RETURN format('the tool call "%s" has no result', open_names[1]);
  END IF;
  RETURN NULL;
END $$;

-- Why messages is not a conversation (NULL: it is one). Unknown keys are
-- refused, so that a misspelt "expected" is not silently ignored.
CREATE FUNCTION llmeval._conversation_problem(messages jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT CASE
    WHEN jsonb_typeof(messages) <> 'array' OR jsonb_array_length(messages) = 0
      THEN 'a non-empty array of messages'
    WHEN jsonb_array_length(messages) > 1000
      THEN format('%s messages; a conversation holds at most 1000', jsonb_array_length(messages))
    WHEN octet_length(messages::text) > 1048576
      THEN 'larger than 1 MB; a conversation holds at most 1 MB of messages'
    WHEN NOT EXISTS (SELECT 1 FROM jsonb_array_elements(messages) m WHERE m ->> 'role' = 'user')
      THEN 'no message of role "user"'
    ELSE coalesce((
      SELECT format('message %s: %s', ord, problem) FROM (
        SELECT ord, CASE
          WHEN jsonb_typeof(m) <> 'object' THEN 'not a JSON object'
          WHEN coalesce(m ->> 'role', '') NOT IN ('user', 'assistant', 'tool')
            THEN 'role must be "user", "assistant" or "tool"'
          WHEN m ->> 'role' = 'user' AND jsonb_typeof(m -> 'content') IS DISTINCT FROM 'string'
            THEN 'a user message''s content must be a string'
          WHEN m ->> 'role' = 'user' AND btrim(m ->> 'content') = ''
            THEN 'a user message must not be empty'
          WHEN m ->> 'role' = 'user' AND jsonb_typeof(m -> 'expected') NOT IN ('string', 'null')
            THEN '"expected" must be a string'
          WHEN m ->> 'role' = 'user' AND jsonb_typeof(m -> 'expected_tool_calls') NOT IN ('array', 'null')
            THEN '"expected_tool_calls" must be an array of calls'
          WHEN m ->> 'role' = 'assistant' AND jsonb_typeof(m -> 'content') NOT IN ('string', 'null')
            THEN 'an assistant message''s content must be a string'
          WHEN m ->> 'role' = 'assistant' AND jsonb_typeof(m -> 'tool_calls') NOT IN ('array', 'null')
            THEN '"tool_calls" must be an array'
          WHEN m ->> 'role' = 'assistant' AND EXISTS (
                 SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(m -> 'tool_calls') = 'array'
                                                         THEN m -> 'tool_calls' ELSE '[]' END) c
                 WHERE jsonb_typeof(c) <> 'object' OR jsonb_typeof(c -> 'name') IS DISTINCT FROM 'string'
                    OR jsonb_typeof(c -> 'id') NOT IN ('string', 'null')
                    OR NOT (jsonb_typeof(c -> 'arguments') IN ('object', 'null')
                            OR (jsonb_typeof(c -> 'arguments') = 'string'
                                AND llmeval.json_valid(c ->> 'arguments')
                                AND jsonb_typeof((c ->> 'arguments')::jsonb) = 'object')))
            THEN 'each tool call needs a "name" and "arguments" that are a JSON object'
          WHEN m ->> 'role' = 'assistant' AND coalesce(m ->> 'content', '') = ''
               AND coalesce(jsonb_array_length(CASE WHEN jsonb_typeof(m -> 'tool_calls') = 'array'
                                                    THEN m -> 'tool_calls' END), 0) = 0
            THEN 'an assistant message needs content or tool calls'
          WHEN m ->> 'role' = 'tool' AND coalesce(m -> 'content', 'null') = 'null'
            THEN 'a tool message needs content (the tool''s result)'
          WHEN m ->> 'role' = 'tool' AND jsonb_typeof(m -> 'tool_call_id') NOT IN ('string', 'null')
            THEN '"tool_call_id" must be a string'
          WHEN m ->> 'role' = 'tool' AND jsonb_typeof(m -> 'name') NOT IN ('string', 'null')
            THEN '"name" must be a string'
          ELSE (SELECT format('unknown key "%s" for a %s message', k, m ->> 'role')
                FROM jsonb_object_keys(m) k
                WHERE k <> ALL (CASE m ->> 'role'
                                  WHEN 'user' THEN ARRAY['role', 'content', 'expected', 'expected_tool_calls']
                                  WHEN 'assistant' THEN ARRAY['role', 'content', 'tool_calls']
                                  ELSE ARRAY['role', 'content', 'tool_call_id', 'name'] END)
                ORDER BY k LIMIT 1)
        END AS problem
        FROM jsonb_array_elements(messages) WITH ORDINALITY AS a(m, ord)) p
      WHERE problem IS NOT NULL ORDER BY ord LIMIT 1),
      llmeval._tool_pairing_problem(messages))
  END
$$;

-- Why contexts or relevant_ids are not what retrieval metrics read (NULL: fine).
CREATE FUNCTION llmeval._retrieval_problem(contexts jsonb, relevant_ids jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT CASE
    WHEN contexts IS NOT NULL AND jsonb_typeof(contexts) <> 'array'
      THEN '"contexts" must be an array of chunks'
    WHEN contexts IS NOT NULL AND jsonb_array_length(contexts) > 1000
      THEN '"contexts" holds at most 1000 chunks'
    WHEN contexts IS NOT NULL AND EXISTS (SELECT 1 FROM jsonb_array_elements(contexts) c WHERE jsonb_typeof(c) = 'object' AND c ? 'id')
         AND EXISTS (SELECT 1 FROM jsonb_array_elements(contexts) c WHERE NOT (jsonb_typeof(c) = 'object' AND c ? 'id'))
      THEN 'either every chunk of "contexts" has an id or none has (a chunk without one is known by its rank)'
    WHEN contexts IS NOT NULL AND EXISTS (
           SELECT 1 FROM jsonb_array_elements(contexts) c
           WHERE NOT (jsonb_typeof(c) = 'string'
                      OR (jsonb_typeof(c) = 'object' AND jsonb_typeof(c -> 'text') IS NOT DISTINCT FROM 'string'
                          AND coalesce(jsonb_typeof(c -> 'id'), 'null') IN ('string', 'number', 'null'))))
      THEN 'each of "contexts" must be a string or {"id": ..., "text": "..."}'
    WHEN relevant_ids IS NOT NULL AND jsonb_typeof(relevant_ids) = 'array' AND EXISTS (
           SELECT 1 FROM jsonb_array_elements(relevant_ids) x WHERE jsonb_typeof(x) NOT IN ('string', 'number'))
      THEN '"relevant_ids" must hold ids (strings or numbers)'
    WHEN relevant_ids IS NOT NULL AND jsonb_typeof(relevant_ids) = 'object' AND EXISTS (
           SELECT 1 FROM jsonb_each(relevant_ids) g WHERE jsonb_typeof(g.value) <> 'number')
      THEN 'graded "relevant_ids" must map ids to numbers ({"id": grade})'
    WHEN relevant_ids IS NOT NULL AND jsonb_typeof(relevant_ids) NOT IN ('array', 'object')
      THEN '"relevant_ids" must be an array of ids or an object {"id": grade}'
  END
$$;

-- The user turns of a conversation, in order: where each is, what it says,
-- and what it expects. case_expected and case_tool_calls are the test
-- case's, which the last turn falls back on.
CREATE FUNCTION llmeval._conversation_turns(messages jsonb, case_expected text DEFAULT NULL,
                                            case_tool_calls jsonb DEFAULT NULL)
RETURNS TABLE (turn int, message_index int, content text, expected text, expected_tool_calls jsonb)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  -- (one pass: each message numbered by the user turn it follows, then one
  -- group per turn; it runs for every claim of a conversation's task)
  WITH msgs AS (
    SELECT (a.ord - 1)::int AS idx, a.m,
           count(*) FILTER (WHERE a.m ->> 'role' = 'user') OVER (ORDER BY a.ord) AS turn
    FROM jsonb_array_elements(messages) WITH ORDINALITY AS a(m, ord)
  ), turns AS (
    SELECT m.turn, max(m.turn) OVER () AS last,
           (array_agg(m.m ORDER BY m.idx) FILTER (WHERE m.m ->> 'role' = 'user'))[1] AS u,
           min(m.idx) FILTER (WHERE m.m ->> 'role' = 'user') AS idx,
           (array_agg(m.m ->> 'content' ORDER BY m.idx DESC)
              FILTER (WHERE m.m ->> 'role' = 'assistant' AND coalesce(m.m ->> 'content', '') <> ''))[1] AS reply,
           (array_agg(m.m -> 'tool_calls' ORDER BY m.idx)
              FILTER (WHERE m.m ->> 'role' = 'assistant' AND jsonb_typeof(m.m -> 'tool_calls') = 'array'))[1] AS calls
    FROM msgs m WHERE m.turn > 0
    GROUP BY m.turn
  )
  SELECT t.turn::int, t.idx, t.u ->> 'content',
         coalesce(t.u ->> 'expected', CASE WHEN t.turn = t.last THEN case_expected END, t.reply),
         coalesce(nullif(t.u -> 'expected_tool_calls', 'null'), CASE WHEN t.turn = t.last THEN case_tool_calls END,
                  t.calls)
  FROM turns t
  ORDER BY t.turn
$$;

-- How many user turns a conversation has (a call each when replayed).
CREATE FUNCTION llmeval._user_turns(messages jsonb) RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT count(*)::int FROM jsonb_array_elements(messages) x WHERE x ->> 'role' = 'user' $$;

-- The user turn a task answers or judges: turn `turn`, or the last when
-- NULL (a final-turn run); one row of _conversation_turns.
CREATE FUNCTION llmeval._conversation_turn(messages jsonb, case_expected text, case_tool_calls jsonb, turn int)
RETURNS TABLE (turn int, message_index int, content text, expected text, expected_tool_calls jsonb)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT u.* FROM llmeval._conversation_turns(messages, case_expected, case_tool_calls) u
  WHERE u.turn <= coalesce(_conversation_turn.turn, 2147483647)
  ORDER BY u.turn DESC LIMIT 1
$$;

-- A message as sent: the keys the providers' forms read, nothing a test
-- case adds for scoring.
CREATE FUNCTION llmeval._message_as_sent(m jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT m - 'expected' - 'expected_tool_calls' $$;

-- What a final-turn call sends: the messages through the last user or tool
-- message (a scripted reply after it is what the turn expects, not sent).
CREATE FUNCTION llmeval._final_turn_messages(messages jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT coalesce(jsonb_agg(llmeval._message_as_sent(a.m) ORDER BY a.ord), '[]')
  FROM jsonb_array_elements(messages) WITH ORDINALITY AS a(m, ord)
  WHERE a.ord <= (SELECT max(b.ord) FROM jsonb_array_elements(messages) WITH ORDINALITY AS b(m, ord)
                  WHERE b.m ->> 'role' IN ('user', 'tool'))
$$;

-- What turn `turn` of a replayed conversation sends (with_calls false), or
-- what it was (with_calls true, for a judge's transcript): each earlier
-- user turn followed by the model's own answer to it, then this turn's user
-- message. The workers do not run tools, so the calls a model made are not
-- sent back (no result could follow them); an answer of calls alone is sent
-- as "[no text reply]", since providers refuse an empty assistant message.
CREATE FUNCTION llmeval._replay_messages(messages jsonb, job_id bigint, test_case_id bigint,
                                         model_id int, turn int, with_calls boolean)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$
  -- (the turns read once: each user message, and after it, for the turns
  -- before this one, the answer of its task)
  SELECT coalesce(jsonb_agg(x.msg ORDER BY u.turn, x.part), '[]')
  FROM llmeval._conversation_turns(messages) u
  LEFT JOIN llmeval.tasks t ON u.turn < _replay_messages.turn
                           AND t.job_id = _replay_messages.job_id AND t.test_case_id = _replay_messages.test_case_id
                           AND t.model_id = _replay_messages.model_id AND t.kind = 'turn' AND t.turn = u.turn
  LEFT JOIN llmeval.responses r ON r.task_id = t.id
  CROSS JOIN LATERAL (
    SELECT 0 AS part, jsonb_build_object('role', 'user', 'content', u.content) AS msg
    UNION ALL
    SELECT 1, jsonb_strip_nulls(jsonb_build_object(
                'role', 'assistant',
                'content', CASE WHEN with_calls THEN coalesce(r.output, '')
                                ELSE coalesce(nullif(r.output, ''), '[no text reply]') END,
                'tool_calls', CASE WHEN with_calls THEN r.tool_calls END))
    WHERE t.id IS NOT NULL
  ) x
  WHERE u.turn <= _replay_messages.turn
$$;

-- Text put in a judge's list of lines: every line break followed by "["
-- (after any spaces) gets a space before the "[", so no text can start a
-- line that looks like another entry's (LF, CR, NEL, LS and PS alike).
CREATE FUNCTION llmeval._unfakeable_lines(body text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT regexp_replace(body, E'([\n\r\u0085\u2028\u2029])(\\s*)\\[', E'\\1\\2 [', 'g') $$;

-- A conversation as a judge reads it: a line per message, numbered by user
-- turn ("[user 2] ...", "[assistant 2] ...", "[assistant 2 calls] name
-- {arguments}", "[tool 2] name: result"). A line of a message that starts
-- with "[" (after any line break: LF, CR, NEL, LS, PS) gets a space first,
-- so no message can fake another's line.
CREATE FUNCTION llmeval._transcript(messages jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  WITH msgs AS (
    SELECT a.ord, a.m,
           greatest(count(*) FILTER (WHERE a.m ->> 'role' = 'user') OVER (ORDER BY a.ord), 1) AS turn
    FROM jsonb_array_elements(messages) WITH ORDINALITY AS a(m, ord)
  ), lines AS (
    SELECT m.ord, 0 AS part,
           format('[%s %s] %s', m.m ->> 'role', m.turn,
                  CASE WHEN m.m ->> 'role' = 'tool' AND m.m ->> 'name' IS NOT NULL
                       THEN (m.m ->> 'name') || ': ' ELSE '' END
                  || CASE WHEN jsonb_typeof(m.m -> 'content') = 'string' THEN m.m ->> 'content'
                          ELSE (m.m -> 'content')::text END) AS line
    FROM msgs m
    WHERE m.m ->> 'role' <> 'assistant' OR coalesce(m.m ->> 'content', '') <> ''
    UNION ALL
    SELECT m.ord, c.k, format('[assistant %s calls] %s %s', m.turn, c.call ->> 'name',
                              coalesce(CASE WHEN jsonb_typeof(c.call -> 'arguments') = 'string'
                                            THEN c.call ->> 'arguments' ELSE (c.call -> 'arguments')::text END, '{}'))
    FROM msgs m
    CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(m.m -> 'tool_calls') = 'array'
                                                 THEN m.m -> 'tool_calls' ELSE '[]' END)
      WITH ORDINALITY AS c(call, k)
    WHERE m.m ->> 'role' = 'assistant'
  )
  SELECT string_agg(llmeval._unfakeable_lines(l.line), E'\n' ORDER BY l.ord, l.part)
  FROM lines l
$$;

-- The retrieved chunks as a judge reads them: "[1] text", "[2] text", ...
-- in rank order (ids are not shown: the judge reads the texts).
CREATE FUNCTION llmeval._contexts_text(contexts jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT string_agg(format('[%s] %s', a.ord,
                           llmeval._unfakeable_lines(CASE WHEN jsonb_typeof(a.c) = 'string' THEN a.c #>> '{}'
                                                          ELSE a.c ->> 'text' END)),
                    E'\n' ORDER BY a.ord)
  FROM jsonb_array_elements(contexts) WITH ORDINALITY AS a(c, ord)
$$;

-- The ids of the retrieved chunks in rank order (a chunk without an id is
-- known by its rank, "1", "2", ...), for the ranking metrics.
CREATE FUNCTION llmeval.context_ids(contexts jsonb) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT ARRAY(SELECT coalesce(a.c ->> 'id', a.ord::text)
               FROM jsonb_array_elements(CASE WHEN jsonb_typeof(contexts) = 'array' THEN contexts ELSE '[]' END)
                 WITH ORDINALITY AS a(c, ord)
               ORDER BY a.ord)
$$;
COMMENT ON FUNCTION llmeval.context_ids(jsonb) IS
  'the ids of a test case''s retrieved chunks in rank order (a chunk without an id: its rank), for precision_at_k and the other ranking metrics';

-- The relevant ids of a test case as text[] (graded: those with a grade above 0).
CREATE FUNCTION llmeval.relevant_id_list(relevant_ids jsonb) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT CASE jsonb_typeof(relevant_ids)
    WHEN 'array' THEN ARRAY(SELECT x #>> '{}' FROM jsonb_array_elements(relevant_ids) x)
    WHEN 'object' THEN ARRAY(SELECT g.key FROM jsonb_each(relevant_ids) g
                             WHERE jsonb_typeof(g.value) = 'number' AND g.value::text::numeric > 0 ORDER BY g.key)
  END
$$;
COMMENT ON FUNCTION llmeval.relevant_id_list(jsonb) IS
  'a test case''s relevant_ids as a list (graded relevance: the ids graded above 0)';

-- What pairs a test case of one job with the same case of another
-- (compare_jobs, reports): its input and expected answer, and a
-- conversation's messages and goal and the chunks retrieved when it has
-- them (a plain case keeps the key it always had).
CREATE FUNCTION llmeval._case_key(tc llmeval.test_cases) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT md5(tc.input::text || E'\x1f' || coalesce(tc.expected, '')
             || coalesce(E'\x1f' || tc.messages::text, '') || coalesce(E'\x1f' || tc.goal, '')
             || coalesce(E'\x1f' || tc.contexts::text, ''))
$$;
