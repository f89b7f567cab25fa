// llmeval._call_sql_metric(fn, run_as, jwt_sub, output, tc, timeout_ms):
// one call of a tenant's SQL metric, from the workers' write-back.
//
// The worker's session user is a superuser, so tenant code runs the way
// Postgres runs code it does not trust during maintenance (index expressions
// in VACUUM, REFRESH MATERIALIZED VIEW): as the tenant's role, inside a
// security-restricted operation with its own GUC nest level. There SET ROLE,
// RESET ROLE, SET SESSION AUTHORIZATION and temporary objects are refused,
// and every setting the function changes is undone when it returns. For a
// JWT role (Supabase's authenticated) the tenant is the "sub" claim, which
// row-level security reads from request.jwt.claims: it is set for the call.
//
// Whatever the call does to settings (SET, SET LOCAL, set_config) or
// session advisory locks is undone when it returns or fails.
//
// The call is under a clock: when timeout_ms passes, the call is cancelled
// like a statement timeout, and the error is turned into a catchable one
// (54000) so the caller stores a NULL score with the reason. A function that
// catches the cancel and goes on is stopped for good a second later: the
// worker exits (FATAL), and its claims come back to the queue, rather than
// serving one tenant's loop forever.
//
// The function is resolved by OID and checked at every call: it may have
// been replaced, or the tenant's EXECUTE right revoked, since the metric was
// registered.
#include "core/error.hpp"
#include "pg/guard.hpp"

extern "C" {
#include "utils/json.h"
#include "storage/lock.h"
#include "utils/regproc.h"
}

namespace {

constexpr int kGraceMs = 1000;  // after the cancel, before the worker gives up on the call

volatile sig_atomic_t timeout_fired = 0;  // 1: cancelled; 2: cancel ignored, terminating
TimeoutId call_timeout = MAX_TIMEOUTS;    // registered on first use

void OnCallTimeout() {
  if (timeout_fired == 0) {
    timeout_fired = 1;
    QueryCancelPending = true;
    // re-armed: a function that catches the cancel gets no further
    enable_timeout_after(call_timeout, kGraceMs);
  } else {
    timeout_fired = 2;
    ProcDiePending = true;
  }
  InterruptPending = true;
  SetLatch(MyLatch);
}

// {"sub": sub, "role": role} as JSON, in the current memory context.
char* JwtClaims(const char* sub, Oid role) {
  StringInfoData json;
  initStringInfo(&json);
  appendStringInfoString(&json, "{\"sub\": ");
  escape_json(&json, sub);
  appendStringInfoString(&json, ", \"role\": ");
  escape_json(&json, GetUserNameFromId(role, false));
  appendStringInfoChar(&json, '}');
  return json.data;
}

}  // namespace

LLMEVAL_PG_FUNCTION(llmeval_call_sql_metric) {
  if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(5))
    throw llmeval::core::Error(llmeval::core::ErrorKind::kInvalidParameterValue,
                               "a SQL metric call needs its function, role and timeout");
  if (PG_GETARG_INT32(5) <= 0)
    throw llmeval::core::Error(llmeval::core::ErrorKind::kInvalidParameterValue,
                               "the timeout of a SQL metric call must be positive");
  return llmeval::pg::PgCall([&]() noexcept -> Datum {
    const Oid fn = PG_GETARG_OID(0);
    const Oid role = PG_GETARG_OID(1);
    const int timeout_ms = PG_GETARG_INT32(5);

    HeapTuple tuple = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn));
    if (!HeapTupleIsValid(tuple))
      ereport(ERROR, (errcode(ERRCODE_UNDEFINED_FUNCTION),
                      errmsg("the function of this SQL metric no longer exists")));
    auto* proc = reinterpret_cast<Form_pg_proc>(GETSTRUCT(tuple));
    const bool signature_ok = proc->pronargs == 2 && proc->proargtypes.values[0] == TEXTOID &&
                              proc->proargtypes.values[1] == get_fn_expr_argtype(fcinfo->flinfo, 4) &&
                              proc->prorettype == FLOAT8OID && !proc->proretset &&
                              proc->prokind == PROKIND_FUNCTION;
    ReleaseSysCache(tuple);
    if (!signature_ok)
      ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
                      errmsg("function %s no longer takes (text, llmeval.test_cases) and returns float8",
                             format_procedure(fn))));
    if (!SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(role)))
      ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT),
                      errmsg("the role that registered this SQL metric no longer exists")));
    if (pg_proc_aclcheck(fn, role, ACL_EXECUTE) != ACLCHECK_OK)
      ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                      errmsg("role %s may no longer execute function %s",
                             GetUserNameFromId(role, false), format_procedure(fn))));

    FmgrInfo flinfo;
    fmgr_info(fn, &flinfo);
    LOCAL_FCINFO(call, 2);
    InitFunctionCallInfoData(*call, &flinfo, 2, InvalidOid, nullptr, nullptr);
    call->args[0].value = PG_GETARG_DATUM(3);
    call->args[0].isnull = PG_ARGISNULL(3);
    call->args[1].value = PG_GETARG_DATUM(4);
    call->args[1].isnull = PG_ARGISNULL(4);
    if (flinfo.fn_strict && (call->args[0].isnull || call->args[1].isnull)) {
      fcinfo->isnull = true;
      return Datum(0);
    }
    const char* claims = PG_ARGISNULL(2) ? nullptr : JwtClaims(TextDatumGetCString(PG_GETARG_DATUM(2)), role);

    Oid saved_user;
    int saved_context;
    GetUserIdAndSecContext(&saved_user, &saved_context);
    const int nest_level = NewGUCNestLevel();
    if (claims != nullptr)
      (void)set_config_option("request.jwt.claims", claims, PGC_USERSET, PGC_S_SESSION,
                              GUC_ACTION_SET, true, 0, false);
    SetUserIdAndSecContext(role, saved_context | SECURITY_LOCAL_USERID_CHANGE |
                                     SECURITY_RESTRICTED_OPERATION);
    // What the worker is doing, for llmeval.worker_status and pg_stat_activity.
    pgstat_report_activity(STATE_RUNNING,
                           psprintf("pg_llmeval worker: SQL metric %s as %s (limit %d ms)",
                                    format_procedure(fn), GetUserNameFromId(role, false), timeout_ms));
    if (call_timeout == MAX_TIMEOUTS) call_timeout = RegisterTimeout(USER_TIMEOUT, OnCallTimeout);
    timeout_fired = 0;
    enable_timeout_after(call_timeout, timeout_ms);

    MemoryContext caller_context = CurrentMemoryContext;
    volatile Datum result = Datum(0);
    volatile bool result_null = false;
    PG_TRY();
    {
      result = FunctionCallInvoke(call);
      result_null = call->isnull;
    }
    PG_CATCH();
    {
      disable_timeout(call_timeout, false);
      AtEOXact_GUC(false, nest_level);
      SetUserIdAndSecContext(saved_user, saved_context);
      if (timeout_fired != 0) {
        timeout_fired = 0;
        MemoryContextSwitchTo(caller_context);
        FlushErrorState();
        ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                        errmsg("SQL metric timeout: %s ran longer than %d ms and was cancelled",
                               format_procedure(fn), timeout_ms),
                        errhint("The limit is the setting llmeval.sql_metric_timeout_ms.")));
      }
      // The errors a PL/pgSQL "WHEN OTHERS" does not catch (query_canceled,
      // assert_failure) are the tenant's to raise too: re-raised as they
      // are, they would abort the worker's whole write-back, again and again.
      // They become the metric's own error, like any other.
      MemoryContextSwitchTo(caller_context);
      ErrorData* raised = CopyErrorData();
      if (raised->sqlerrcode == ERRCODE_QUERY_CANCELED || raised->sqlerrcode == ERRCODE_ASSERT_FAILURE) {
        FlushErrorState();
        ereport(ERROR, (errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
                        errmsg("SQL metric %s raised: %s", format_procedure(fn),
                               raised->message ? raised->message : "(no message)")));
      }
      FreeErrorData(raised);
      PG_RE_THROW();
    }
    PG_END_TRY();
    disable_timeout(call_timeout, false);
    // false even on success, as Postgres's own sandboxes do: every setting
    // the tenant's function changed, SET (session) included, is undone; kept,
    // it would be the worker's (a search_path of the tenant's schema, for
    // its next statement as superuser).
    AtEOXact_GUC(false, nest_level);
    SetUserIdAndSecContext(saved_user, saved_context);
    // Session-level advisory locks taken by the function would outlive it in
    // the worker's session.
    LockReleaseSession(USER_LOCKMETHOD);
    if (timeout_fired != 0) {
      // The timer fired as the function returned: its cancel is not for
      // whatever the worker does next.
      timeout_fired = 0;
      QueryCancelPending = false;
    }
    if (result_null) {
      fcinfo->isnull = true;
      return Datum(0);
    }
    return result;
  });
}
