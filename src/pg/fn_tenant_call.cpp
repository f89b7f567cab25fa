// Tenant-scoped calls into privileged SQL functions.
//
// Functions such as llmeval.submit_job write rows a tenant may only read (jobs,
// the task queue), so the work runs in an internal SECURITY DEFINER function
// llmeval._<name>(tenant text, <the same arguments>), which only the extension
// owner may execute. The public llmeval.<name> is this C function, run with
// the caller's rights: it evaluates llmeval.current_tenant() as the caller
// (current_user, or the Supabase user of request.jwt.claims for JWT roles)
// and passes the result as the first argument. Calling through fmgr skips the
// EXECUTE check on the internal function, which is the point: callers reach
// it only through here, with their own tenant. A SECURITY DEFINER function
// inside would see its owner as current_user, which is why the tenant cannot
// be computed there.
//
// An internal function that also needs the caller's role (to check what the
// caller itself may execute, or to run code later as that role) is declared
// llmeval._<name>(tenant text, caller regrole, <the same arguments>) and gets
// GetUserId() as its second argument.
#include <string>

#include "core/error.hpp"
#include "pg/args.hpp"

namespace {

Oid LookupFunction(const char* name, int nargs, const Oid* argtypes, bool missing_ok = false) {
  return llmeval::pg::PgCall([&]() noexcept {
    List* qualified = list_make2(makeString(pstrdup("llmeval")), makeString(pstrdup(name)));
    return LookupFuncName(qualified, nargs, argtypes, missing_ok);
  });
}

}  // namespace

LLMEVAL_PG_FUNCTION(llmeval_tenant_call) {
  using llmeval::pg::PgCall;
  const Oid self = fcinfo->flinfo->fn_oid;
  const int nargs = PG_NARGS();
  if (nargs > FUNC_MAX_ARGS - 2)
    throw llmeval::core::Error(llmeval::core::ErrorKind::kInternal, "too many arguments");

  // The internal function: "_" + this function's name, (text, own argument types).
  Oid argtypes[FUNC_MAX_ARGS];
  argtypes[0] = TEXTOID;
  const char* own_name = PgCall([&]() noexcept {
    HeapTuple tuple = SearchSysCache1(PROCOID, ObjectIdGetDatum(self));
    if (!HeapTupleIsValid(tuple)) elog(ERROR, "cache lookup failed for function %u", self);
    auto* proc = reinterpret_cast<Form_pg_proc>(GETSTRUCT(tuple));
    for (int i = 0; i < nargs; ++i) argtypes[i + 1] = proc->proargtypes.values[i];
    char* name = pstrdup(NameStr(proc->proname));
    ReleaseSysCache(tuple);
    return static_cast<const char*>(name);
  });
  const std::string internal_name = std::string("_") + own_name;
  // (text, regrole, arguments) first: the form that wants the caller's role
  Oid with_role[FUNC_MAX_ARGS];
  with_role[0] = TEXTOID;
  with_role[1] = REGROLEOID;
  for (int i = 0; i < nargs; ++i) with_role[i + 2] = argtypes[i + 1];
  Oid target = LookupFunction(internal_name.c_str(), nargs + 2, with_role, true);
  const bool pass_role = OidIsValid(target);
  if (!pass_role) target = LookupFunction(internal_name.c_str(), nargs + 1, argtypes);
  const Oid tenant_fn = LookupFunction("current_tenant", 0, argtypes);
  const int shift = pass_role ? 2 : 1;

  return PgCall([&]() noexcept -> Datum {
    LOCAL_FCINFO(tenant_call, 0);
    FmgrInfo tenant_info;
    fmgr_info(tenant_fn, &tenant_info);
    InitFunctionCallInfoData(*tenant_call, &tenant_info, 0, InvalidOid, nullptr, nullptr);
    const Datum tenant = FunctionCallInvoke(tenant_call);
    if (tenant_call->isnull)
      ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                      errmsg("no tenant for the current user"),
                      errdetail("A JWT role needs a \"sub\" claim in request.jwt.claims.")));

    FmgrInfo info;
    fmgr_info(target, &info);
    LOCAL_FCINFO(call, FUNC_MAX_ARGS);
    InitFunctionCallInfoData(*call, &info, nargs + shift, fcinfo->fncollation, nullptr, nullptr);
    call->args[0].value = tenant;
    call->args[0].isnull = false;
    if (pass_role) {
      call->args[1].value = ObjectIdGetDatum(GetUserId());
      call->args[1].isnull = false;
    }
    for (int i = 0; i < nargs; ++i) call->args[i + shift] = fcinfo->args[i];
    const Datum result = FunctionCallInvoke(call);
    fcinfo->isnull = call->isnull;
    return result;
  });
}
