-- Internal: the dataset CSV conversion behind llmeval.import_dataset_csv and
-- llmeval.export_dataset(..., 'csv'). Columns expected, context and goal hold text;
-- metadata (an object), expected_tool_calls, messages, contexts (arrays) and
-- relevant_ids (an array or object) hold JSON text. An unquoted empty CSV
-- field is absent (NULL), a quoted one ("") the empty string, as with
-- COPY ... CSV.

CREATE FUNCTION llmeval._dataset_from_csv(csv text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'llmeval_dataset_from_csv'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION llmeval._dataset_from_csv(text) IS
  'internal: RFC 4180 CSV with a header row as a dataset JSON array (columns expected, context, metadata, expected_tool_calls, messages, goal, contexts, relevant_ids are those fields, metadata and the arrays JSON; the rest input fields); malformed CSV raises 22P04 naming the line';

-- columns: a preferred column order (the header the dataset was imported
-- with); NULL for the default order.
CREATE FUNCTION llmeval._dataset_to_csv(cases jsonb, columns text[] DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'llmeval_dataset_to_csv'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION llmeval._dataset_to_csv(jsonb, text[]) IS
  'internal: a dataset JSON array as RFC 4180 CSV (columns in the given order, then input columns in order of first appearance, expected, context, metadata, expected_tool_calls, messages, goal, contexts, relevant_ids; CRLF line ends)';

CREATE FUNCTION llmeval._csv_header(csv text)
RETURNS text[]
AS 'MODULE_PATHNAME', 'llmeval_csv_header'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION llmeval._csv_header(text) IS
  'internal: the column names of a CSV document''s header row';
