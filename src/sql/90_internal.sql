-- Internal: the C++/Postgres boundary self-test used by the test suites.
CREATE FUNCTION llmeval._boundary_selftest(kind text) RETURNS text
AS 'MODULE_PATHNAME', 'llmeval_boundary_selftest' LANGUAGE C STRICT VOLATILE;
CREATE FUNCTION llmeval._boundary_destructor_count() RETURNS bigint
AS 'MODULE_PATHNAME', 'llmeval_boundary_destructor_count' LANGUAGE C STRICT VOLATILE;
REVOKE ALL ON FUNCTION llmeval._boundary_selftest(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION llmeval._boundary_destructor_count() FROM PUBLIC;
