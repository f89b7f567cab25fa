// llmeval._boundary_selftest(kind): exercises the C++/Postgres boundary from
// SQL so the test suites can prove it works in a real backend. Superuser-only
// (EXECUTE is revoked from PUBLIC); not part of the public interface.
//
// Every case builds C++ objects whose destructors count into
// destructor_count, then raises an error in one of the ways the extension
// can meet one. llmeval._boundary_destructor_count() tells the tests whether
// the destructors ran before control returned to Postgres.
#include <new>
#include <stdexcept>
#include <string>

#include "core/error.hpp"
#include "pg/args.hpp"

namespace {

int64_t destructor_count = 0;

struct CountsDestruction {
  std::string payload = std::string(64, 'x');  // heap memory that must be freed
  ~CountsDestruction() { ++destructor_count; }
};

[[noreturn]] void ThrowDeep(int depth) {
  CountsDestruction guard;
  if (depth == 0)
    throw llmeval::core::Error(llmeval::core::ErrorKind::kInvalidParameterValue,
                               "selftest: core error", "Thrown five frames deep.");
  ThrowDeep(depth - 1);
}

void RaiseDivisionByZero() {
  llmeval::pg::PgCall([]() noexcept {
    ereport(ERROR, (errcode(ERRCODE_DIVISION_BY_ZERO), errmsg("selftest: postgres error")));
  });
}

}  // namespace

LLMEVAL_PG_FUNCTION(llmeval_boundary_selftest) {
  const std::string kind(llmeval::pg::TextArg(fcinfo, 0));
  CountsDestruction outer;
  if (kind == "core_error") ThrowDeep(4);
  if (kind == "std_exception") throw std::runtime_error("selftest: std exception");
  if (kind == "bad_alloc") throw std::bad_alloc();
  if (kind == "pg_error") RaiseDivisionByZero();  // propagates: re-raised as is
  if (kind == "pg_error_caught") {
    // A Postgres error becomes a C++ exception that C++ can handle; the
    // transaction stays usable because PgCall flushed the error state.
    std::string report;
    try {
      CountsDestruction inner;
      RaiseDivisionByZero();
    } catch (const llmeval::pg::PgError& e) {
      report = std::string("caught ") + unpack_sql_state(e.sqlerrcode()) + ": " + e.what();
    }
    return llmeval::pg::TextResult(report);
  }
  if (kind == "ok") return llmeval::pg::TextResult("ok");
  throw llmeval::core::Error(llmeval::core::ErrorKind::kInvalidParameterValue,
                             "unknown selftest \"" + kind + "\"");
}

LLMEVAL_PG_FUNCTION(llmeval_boundary_destructor_count) {
  (void)fcinfo;
  PG_RETURN_INT64(destructor_count);
}
