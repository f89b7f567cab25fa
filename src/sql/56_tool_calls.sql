-- Tool-call metrics: deterministic comparisons of a model's tool (function)
-- calls with the expected ones, and validity against the tools' schemas.
--
-- A call is {"name": ..., "arguments": {...}}, or as OpenAI, Anthropic or
-- Gemini send it; argument strings (OpenAI's) are parsed as JSON, and a
-- string that is not JSON matches nothing by its arguments. Arguments compare
-- as JSON values: keys in any order, 1 = 1.0. Bad input (a list that is not a
-- JSON array, a call without a name, an unknown option) is an error 22023.

CREATE FUNCTION llmeval.tool_call_f1(actual jsonb, expected jsonb, match text DEFAULT 'name')
RETURNS float8
AS 'MODULE_PATHNAME', 'llmeval_tool_call_f1'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION llmeval.tool_call_f1(jsonb, jsonb, text) IS
  'F1 of the actual calls against the expected ones as multisets, matched by name '
  '(match => ''name'') or by name and arguments (''name_args''); 1 when both lists are '
  'empty, 0 when one is; tool_call_scores gives precision and recall too';

CREATE FUNCTION llmeval.tool_call_scores(actual jsonb, expected jsonb, match text DEFAULT 'name',
                                         OUT "precision" float8, OUT recall float8, OUT f1 float8)
RETURNS record
AS 'MODULE_PATHNAME', 'llmeval_tool_call_scores'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION llmeval.tool_call_scores(jsonb, jsonb, text) IS
  'precision (matched / actual calls), recall (matched / expected calls) and F1 of the calls '
  'as multisets; all 1 when both lists are empty, all 0 when one is';

CREATE FUNCTION llmeval.tool_call_accuracy(actual jsonb, expected jsonb,
                                           ordered boolean DEFAULT true,
                                           match text DEFAULT 'name_args')
RETURNS float8
AS 'MODULE_PATHNAME', 'llmeval_tool_call_accuracy'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION llmeval.tool_call_accuracy(jsonb, jsonb, boolean, text) IS
  '1 when the actual calls are the expected ones (names and arguments; match => ''name'' for '
  'names only) in the same order, or with ordered => false as multisets; else 0';

CREATE FUNCTION llmeval.tool_args_match(call jsonb, expected jsonb, mode text DEFAULT 'exact',
                                        ignore text[] DEFAULT '{}')
RETURNS boolean
AS 'MODULE_PATHNAME', 'llmeval_tool_args_match'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION llmeval.tool_args_match(jsonb, jsonb, text, text[]) IS
  'whether call has the expected call''s name and arguments: equal (mode => ''exact'') or '
  'containing the expected ones (''partial'': objects recursively by key, arrays element by '
  'element with the same length); top-level argument keys in ignore are left out';

CREATE FUNCTION llmeval.tool_call_errors(call jsonb, tools jsonb)
RETURNS text[]
AS 'MODULE_PATHNAME', 'llmeval_tool_call_errors'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION llmeval.tool_call_errors(jsonb, jsonb) IS
  'why call is not a valid call of one of tools (OpenAI function tools, or Anthropic''s '
  'input_schema form): an unknown name, arguments that are not a JSON object, or the '
  'json_schema_errors of the arguments against the tool''s parameters (at most 10); '
  'empty when valid. Invalid tool definitions are an error (22023)';

CREATE FUNCTION llmeval.tool_call_valid(call jsonb, tools jsonb)
RETURNS boolean
AS 'MODULE_PATHNAME', 'llmeval_tool_call_valid'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION llmeval.tool_call_valid(jsonb, jsonb) IS
  'whether call names one of tools and its arguments follow that tool''s parameters JSON '
  'Schema (see tool_call_errors for the reasons)';
