// Tenant code under the tenant's rights, in a sandbox, under a clock.
//
// The workers' session user is a superuser, so tenant code runs the way
// Postgres runs code it does not trust during maintenance (index expressions
// in VACUUM, REFRESH MATERIALIZED VIEW): as the tenant's role, inside a
// security-restricted operation with its own GUC nest level. There SET ROLE,
// RESET ROLE, SET SESSION AUTHORIZATION and temporary objects are refused,
// and every setting the code changes is undone when it returns. For a JWT
// role (Supabase's authenticated) the tenant is the "sub" claim, which
// row-level security reads from request.jwt.claims: it is set for the call.
//
// The call is under a clock: when timeout_ms passes, the call is cancelled
// like a statement timeout, and the error is turned into a catchable one
// (54000) so the caller records the reason. Code that catches the cancel
// and goes on is stopped for good a second later: the backend exits
// (FATAL; a worker's claims come back to the queue), rather than serving
// one tenant's loop forever.
#include "pg/tenant_code.hpp"

extern "C" {
#include "storage/lock.h"
#include "utils/json.h"
}

namespace {

constexpr int kGraceMs = 1000;  // after the cancel, before the backend gives up on the call

volatile sig_atomic_t timeout_fired = 0;  // 1: cancelled; 2: cancel ignored, terminating
TimeoutId call_timeout = MAX_TIMEOUTS;    // registered on first use

void OnCallTimeout() {
  if (timeout_fired == 0) {
    timeout_fired = 1;
    QueryCancelPending = true;
    // re-armed: code that catches the cancel gets no further
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

namespace llmeval::pg {

void RunAsTenant(Oid role, const char* jwt_sub, const char* kind, const char* subject,
                 int timeout_ms, void (*work)(void*), void* arg) {
  if (!SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(role)))
    ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT),
                    errmsg("the role that registered this %s no longer exists", kind)));
  const char* claims = jwt_sub == nullptr ? nullptr : JwtClaims(jwt_sub, role);

  Oid saved_user;
  int saved_context;
  GetUserIdAndSecContext(&saved_user, &saved_context);
  const int nest_level = NewGUCNestLevel();
  if (claims != nullptr)
    (void)set_config_option("request.jwt.claims", claims, PGC_USERSET, PGC_S_SESSION,
                            GUC_ACTION_SET, true, 0, false);
  SetUserIdAndSecContext(role, saved_context | SECURITY_LOCAL_USERID_CHANGE |
                                   SECURITY_RESTRICTED_OPERATION);
  // What the backend is doing, for llmeval.worker_status and pg_stat_activity.
  pgstat_report_activity(STATE_RUNNING,
                         psprintf("pg_llmeval worker: %s %s as %s (limit %d ms)", kind, subject,
                                  GetUserNameFromId(role, false), timeout_ms));
  if (call_timeout == MAX_TIMEOUTS) call_timeout = RegisterTimeout(USER_TIMEOUT, OnCallTimeout);
  timeout_fired = 0;
  enable_timeout_after(call_timeout, timeout_ms);

  MemoryContext caller_context = CurrentMemoryContext;
  PG_TRY();
  {
    work(arg);
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
                      errmsg("%s timeout: %s ran longer than %d ms and was cancelled", kind,
                             subject, timeout_ms),
                      errhint("The limit is the setting llmeval.sql_metric_timeout_ms.")));
    }
    // The errors a PL/pgSQL "WHEN OTHERS" does not catch (query_canceled,
    // assert_failure) are the tenant's to raise too: re-raised as they
    // are, they would abort the worker's whole write-back, again and again.
    // They become the code's own error, like any other.
    MemoryContextSwitchTo(caller_context);
    ErrorData* raised = CopyErrorData();
    if (raised->sqlerrcode == ERRCODE_QUERY_CANCELED || raised->sqlerrcode == ERRCODE_ASSERT_FAILURE) {
      FlushErrorState();
      ereport(ERROR, (errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
                      errmsg("%s %s raised: %s", kind, subject,
                             raised->message ? raised->message : "(no message)")));
    }
    FreeErrorData(raised);
    PG_RE_THROW();
  }
  PG_END_TRY();
  disable_timeout(call_timeout, false);
  // false even on success, as Postgres's own sandboxes do: every setting
  // the tenant's code changed, SET (session) included, is undone; kept, it
  // would be the worker's (a search_path of the tenant's schema, for its
  // next statement as superuser).
  AtEOXact_GUC(false, nest_level);
  SetUserIdAndSecContext(saved_user, saved_context);
  // Session-level advisory locks taken by the code would outlive it in the
  // worker's session.
  LockReleaseSession(USER_LOCKMETHOD);
  if (timeout_fired != 0) {
    // The timer fired as the code returned: its cancel is not for whatever
    // the backend does next.
    timeout_fired = 0;
    QueryCancelPending = false;
  }
}

}  // namespace llmeval::pg
