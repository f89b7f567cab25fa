-- Structured-output assertions (is a model's output JSON, does it follow a
-- JSON Schema) and the embedding call behind semantic similarity.

CREATE FUNCTION llmeval.json_valid(doc text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'llmeval_json_valid'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION llmeval.json_valid(text) IS
  'whether doc is exactly one JSON value (RFC 8259; no code fences or surrounding prose)';

CREATE FUNCTION llmeval.json_schema_errors(doc text, schema jsonb)
RETURNS text[]
AS 'MODULE_PATHNAME', 'llmeval_json_schema_errors'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION llmeval.json_schema_errors(text, jsonb) IS
  'why doc does not follow the JSON Schema, at most 10 errors each naming its JSON pointer '
  '("/items/2/price: 12 is less than minimum 100"); empty when it does, one "not JSON: ..." '
  'error when doc is not JSON. Keywords: type, enum, const, properties, required, '
  'additionalProperties, patternProperties, min/maxProperties, items, prefixItems, '
  'min/maxItems, uniqueItems, min/maxLength, pattern, minimum, maximum, exclusiveMinimum, '
  'exclusiveMaximum, multipleOf, allOf, anyOf, oneOf, not, local $ref; others are ignored. '
  'An invalid schema is an error (22023)';

CREATE FUNCTION llmeval.json_schema_valid(doc text, schema jsonb)
RETURNS boolean
AS 'MODULE_PATHNAME', 'llmeval_json_schema_valid'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION llmeval.json_schema_valid(text, jsonb) IS
  'whether doc is JSON that follows the JSON Schema (see json_schema_errors for the keywords '
  'and the reasons); an invalid schema is an error (22023)';

-- Internal: one blocking request from the calling backend. It takes the key
-- as an argument, so only the extension's SECURITY DEFINER functions call it.
CREATE FUNCTION llmeval._embed(kind text, base_url text, api_key text, api_key_env text,
                               api_model text, texts text[])
RETURNS jsonb
AS 'MODULE_PATHNAME', 'llmeval_embed'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE;
COMMENT ON FUNCTION llmeval._embed(text, text, text, text, text, text[]) IS
  'internal: {"vectors": [[...], ...], "input_tokens": n} for texts, in order, from one '
  'embeddings request (openai or gemini kind) with up to 3 attempts; the key is api_key, '
  'else the server''s environment variable api_key_env, else none. Errors: 08000 for '
  'transport failures, 429 and 5xx, 22023 for other 4xx, 38000 for an unreadable reply';
REVOKE ALL ON FUNCTION llmeval._embed(text, text, text, text, text, text[]) FROM PUBLIC;
