// Running code a tenant wrote (SQL metrics, online rules' filters) with that
// tenant's rights only: see src/pg/tenant_code.cpp.
#pragma once

#include "pg/postgres.hpp"

namespace llmeval::pg {

// Runs work(arg) as `role`, inside a security-restricted operation with its
// own GUC nest level, under a clock of timeout_ms. jwt_sub, when not NULL,
// is set as the "sub" claim of request.jwt.claims for the call (a JWT role
// such as Supabase's authenticated). kind and subject name the code in
// errors and in pg_stat_activity ("SQL metric", "f(text, ...)").
//
// Postgres-style code: call it inside PgCall. On timeout it raises 54000
// "<kind> timeout: <subject> ran longer than N ms and was cancelled"; a
// cancel or assertion failure raised by the tenant's code becomes 38000;
// any other error is re-raised as it is. Settings changed and session
// advisory locks taken by the code are undone in every case.
void RunAsTenant(Oid role, const char* jwt_sub, const char* kind, const char* subject,
                 int timeout_ms, void (*work)(void*), void* arg);

}  // namespace llmeval::pg
