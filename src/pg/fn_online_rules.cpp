// The C side of online rules (src/sql/83_online.sql):
//
// llmeval._check_filter_expression(filter text): the filter a tenant gives a
// rule is spliced into the query that reads the rule's rows, so it must be
// one expression and nothing else. It is parsed as "SELECT (filter)", and
// anything but a single target with no FROM, WHERE, set operation or other
// clause (text that closes the parenthesis to go on with a query of its own,
// a second statement, a comment swallowing the rest) is refused (42601).
// What the expression may do is then only what its owner may do: it is read
// with the owner's rights (below).
//
// llmeval._query_as(run_as, jwt_sub, sql, keys, timeout_ms): runs a query
// that returns one jsonb value, as the rule's owner, sandboxed and under a
// clock (RunAsTenant), keys as $1.
//
// llmeval._lexical_score(metric, output, reference): the workers' lexical
// score (core::metrics::LexicalScore), for rows whose output the
// application wrote.
#include <optional>
#include <string>

#include "core/error.hpp"
#include "core/metrics/lexical_score.hpp"
#include "pg/guard.hpp"
#include "pg/tenant_code.hpp"

extern "C" {
#include "nodes/parsenodes.h"
#include "parser/parser.h"
}

namespace {

bool IsSingleExpression(List* statements) {
  if (list_length(statements) != 1) return false;
  Node* statement = linitial_node(RawStmt, statements)->stmt;
  if (!IsA(statement, SelectStmt)) return false;
  auto* select = reinterpret_cast<SelectStmt*>(statement);
  return select->op == SETOP_NONE && list_length(select->targetList) == 1 &&
         select->fromClause == NIL && select->whereClause == nullptr &&
         select->groupClause == NIL && select->havingClause == nullptr &&
         select->windowClause == NIL && select->valuesLists == NIL &&
         select->sortClause == NIL && select->limitCount == nullptr &&
         select->limitOffset == nullptr && select->lockingClause == NIL &&
         select->withClause == nullptr && select->intoClause == nullptr &&
         select->distinctClause == NIL &&
         reinterpret_cast<ResTarget*>(linitial(select->targetList))->name == nullptr;
}

struct TenantQuery {
  const char* sql;
  Datum keys;
  Datum result;
  bool result_null;
};

void RunTenantQuery(void* arg) {
  auto* query = static_cast<TenantQuery*>(arg);
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "SPI_connect failed");
  Oid argtypes[1] = {TEXTARRAYOID};
  Datum values[1] = {query->keys};
  // read only: a rule's query reads its rows, it changes nothing
  const int rc = SPI_execute_with_args(query->sql, 1, argtypes, values, nullptr, true, 2);
  if (rc != SPI_OK_SELECT || SPI_processed != 1 || SPI_tuptable->tupdesc->natts != 1 ||
      SPI_gettypeid(SPI_tuptable->tupdesc, 1) != JSONBOID)
    ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
                    errmsg("an online rule's query must return one jsonb value")));
  bool isnull = false;
  const Datum value = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
  query->result_null = isnull;
  // copied out of SPI's memory into the caller's before SPI_finish frees it
  if (!isnull) query->result = SPI_datumTransfer(value, false, -1);
  SPI_finish();
}

}  // namespace

LLMEVAL_PG_FUNCTION(llmeval_check_filter_expression) {
  if (PG_ARGISNULL(0)) PG_RETURN_VOID();
  return llmeval::pg::PgCall([&]() noexcept -> Datum {
    const char* filter = TextDatumGetCString(PG_GETARG_DATUM(0));
    List* statements = raw_parser(psprintf("SELECT (%s)", filter), RAW_PARSE_DEFAULT);
    if (!IsSingleExpression(statements))
      ereport(ERROR, (errcode(ERRCODE_SYNTAX_ERROR),
                      errmsg("filter must be a single SQL expression: \"%s\"", filter),
                      errdetail("The filter is evaluated as WHERE (filter) over the source's rows; "
                                "it cannot close the parenthesis or add clauses or statements.")));
    PG_RETURN_VOID();
  });
}

LLMEVAL_PG_FUNCTION(llmeval_query_as) {
  if (PG_ARGISNULL(0) || PG_ARGISNULL(2) || PG_ARGISNULL(3) || PG_ARGISNULL(4))
    throw llmeval::core::Error(llmeval::core::ErrorKind::kInvalidParameterValue,
                               "a query as a tenant needs its role, query, keys and timeout");
  if (PG_GETARG_INT32(4) <= 0)
    throw llmeval::core::Error(llmeval::core::ErrorKind::kInvalidParameterValue,
                               "the timeout of a query as a tenant must be positive");
  return llmeval::pg::PgCall([&]() noexcept -> Datum {
    TenantQuery query{TextDatumGetCString(PG_GETARG_DATUM(2)), PG_GETARG_DATUM(3), Datum(0), true};
    llmeval::pg::RunAsTenant(PG_GETARG_OID(0),
                             PG_ARGISNULL(1) ? nullptr : TextDatumGetCString(PG_GETARG_DATUM(1)),
                             "online rule", "filter and read", PG_GETARG_INT32(4), RunTenantQuery,
                             &query);
    if (query.result_null) {
      fcinfo->isnull = true;
      return Datum(0);
    }
    return query.result;
  });
}

LLMEVAL_PG_FUNCTION(llmeval_lexical_score) {
  if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2)) PG_RETURN_NULL();
  const std::string metric = llmeval::pg::PgCall(
      [&]() noexcept { return TextDatumGetCString(PG_GETARG_DATUM(0)); });
  const char* output = llmeval::pg::PgCall([&]() noexcept { return TextDatumGetCString(PG_GETARG_DATUM(1)); });
  const char* reference = llmeval::pg::PgCall([&]() noexcept { return TextDatumGetCString(PG_GETARG_DATUM(2)); });
  if (!llmeval::core::metrics::IsLexicalMetric(metric))
    throw llmeval::core::Error(llmeval::core::ErrorKind::kInvalidParameterValue,
                               "\"" + metric + "\" is not a lexical metric");
  const std::optional<double> value = llmeval::core::metrics::LexicalScore(metric, output, reference);
  if (!value) PG_RETURN_NULL();
  PG_RETURN_FLOAT8(*value);
}
