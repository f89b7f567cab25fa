// llmeval._call_sql_metric(fn, run_as, jwt_sub, output, tc, timeout_ms):
// one call of a tenant's SQL metric, from the workers' write-back, as the
// role that registered it, sandboxed and under a clock (RunAsTenant,
// src/pg/tenant_code.cpp).
//
// The function is resolved by OID and checked at every call: it may have
// been replaced, or the tenant's EXECUTE right revoked, since the metric was
// registered.
#include "core/error.hpp"
#include "pg/guard.hpp"
#include "pg/tenant_code.hpp"

extern "C" {
#include "utils/regproc.h"
}

namespace {

struct MetricCall {
  FunctionCallInfo call;
  Datum result;
  bool result_null;
};

void InvokeMetric(void* arg) {
  auto* metric = static_cast<MetricCall*>(arg);
  metric->result = FunctionCallInvoke(metric->call);
  metric->result_null = metric->call->isnull;
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
    MetricCall metric{call, Datum(0), false};
    llmeval::pg::RunAsTenant(role, PG_ARGISNULL(2) ? nullptr : TextDatumGetCString(PG_GETARG_DATUM(2)),
                             "SQL metric", format_procedure(fn), timeout_ms, InvokeMetric, &metric);
    const bool result_null = metric.result_null;
    const Datum result = metric.result;
    if (result_null) {
      fcinfo->isnull = true;
      return Datum(0);
    }
    return result;
  });
}
