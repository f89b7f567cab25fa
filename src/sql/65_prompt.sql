-- Prompt templates: "{{field}}" placeholders filled from a test case's input.

CREATE FUNCTION llmeval.render_prompt(template text, input jsonb)
RETURNS text
AS 'MODULE_PATHNAME', 'llmeval_render_prompt'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION llmeval.render_prompt(text, jsonb) IS
  'the template with each {{field}} replaced by input->>field; a missing field is an error';

CREATE FUNCTION llmeval.prompt_fields(template text)
RETURNS text[]
AS 'MODULE_PATHNAME', 'llmeval_prompt_fields'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION llmeval.prompt_fields(text) IS
  'the distinct {{field}} names a template uses, in order of first use';
