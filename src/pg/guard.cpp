#include <cstdio>
#include <cstring>
#include <new>

#include "core/error.hpp"
// Postgres headers after core headers (see core/cpp_only.hpp).
#include "pg/guard.hpp"

namespace llmeval::pg {

PgError::PgError(ErrorData* edata)
    : edata_(edata),
      message_(std::make_shared<const std::string>(edata && edata->message ? edata->message
                                                                           : "postgres error")),
      sqlerrcode_(edata ? edata->sqlerrcode : 0) {}

const char* PgError::what() const noexcept { return message_->c_str(); }

namespace detail {

void ThrowCaughtPgError(MemoryContext context) {
  // CopyErrorData must not run in ErrorContext, which FlushErrorState resets.
  MemoryContextSwitchTo(context);
  ErrorData* edata = CopyErrorData();
  FlushErrorState();
  throw PgError(edata);
}

}  // namespace detail

namespace {

int SqlStateFor(core::ErrorKind kind) {
  switch (kind) {
    case core::ErrorKind::kInvalidParameterValue: return ERRCODE_INVALID_PARAMETER_VALUE;
    case core::ErrorKind::kInvalidTextRepresentation: return ERRCODE_INVALID_TEXT_REPRESENTATION;
    case core::ErrorKind::kNullValueNotAllowed: return ERRCODE_NULL_VALUE_NOT_ALLOWED;
    case core::ErrorKind::kArraySubscriptError: return ERRCODE_ARRAY_SUBSCRIPT_ERROR;
    case core::ErrorKind::kProgramLimitExceeded: return ERRCODE_PROGRAM_LIMIT_EXCEEDED;
    case core::ErrorKind::kDataException: return ERRCODE_DATA_EXCEPTION;
    case core::ErrorKind::kBadFileFormat: return ERRCODE_BAD_COPY_FILE_FORMAT;
    case core::ErrorKind::kInternal: return ERRCODE_INTERNAL_ERROR;
  }
  return ERRCODE_INTERNAL_ERROR;
}

// Fixed-size buffers: copying the message must neither allocate (which can
// fail) nor leave an object whose destructor the ereport would skip.
// Filled only when impl throws. The buffers are left uninitialised: every
// SQL function call passes through here, and zeroing 5 kB per call was a
// measurable share of a metric's per-row cost. A catch writes all three.
struct PendingError {
  int sqlstate = 0;
  ErrorData* pg_error = nullptr;
  char message[2048];
  char detail[2048];
  char hint[1024];
};

void CopyTruncated(char* dst, std::size_t cap, const char* src) noexcept {
  snprintf(dst, cap, "%s", src ? src : "");  // Postgres maps this to pg_snprintf
}

}  // namespace

Datum InvokeCpp(Datum (*impl)(FunctionCallInfo), FunctionCallInfo fcinfo) noexcept {
  PendingError pending;
  try {
    return impl(fcinfo);
  } catch (const PgError& e) {
    pending.pg_error = e.edata();
  } catch (const core::Error& e) {
    pending.sqlstate = SqlStateFor(e.kind());
    CopyTruncated(pending.message, sizeof pending.message, e.what());
    CopyTruncated(pending.detail, sizeof pending.detail, e.detail().c_str());
    CopyTruncated(pending.hint, sizeof pending.hint, e.hint().c_str());
  } catch (const std::bad_alloc&) {
    pending.sqlstate = ERRCODE_OUT_OF_MEMORY;
    CopyTruncated(pending.message, sizeof pending.message, "out of memory");
    pending.detail[0] = pending.hint[0] = '\0';
  } catch (const std::exception& e) {
    pending.sqlstate = ERRCODE_INTERNAL_ERROR;
    CopyTruncated(pending.message, sizeof pending.message, e.what());
    pending.detail[0] = pending.hint[0] = '\0';
  } catch (...) {
    pending.sqlstate = ERRCODE_INTERNAL_ERROR;
    CopyTruncated(pending.message, sizeof pending.message, "unknown C++ exception");
    pending.detail[0] = pending.hint[0] = '\0';
  }
  // Every C++ object of impl and the exception itself are gone: ereport is safe.
  if (pending.pg_error) ReThrowError(pending.pg_error);
  ereport(ERROR, (errcode(pending.sqlstate), errmsg("%s", pending.message),
                  pending.detail[0] ? errdetail("%s", pending.detail) : 0,
                  pending.hint[0] ? errhint("%s", pending.hint) : 0));
  pg_unreachable();
}

}  // namespace llmeval::pg
