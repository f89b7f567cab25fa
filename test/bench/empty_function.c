/*
 * The SQL benchmark's baseline: a C function of (text, text) that returns 0
 * without reading its arguments. SELECT count(f(candidate, reference)) over
 * the workload then costs what Postgres itself spends per row (scan, tuple
 * deforming, the function call, the aggregate), which every metric pays too.
 * Built and loaded by test/bench/run_sql_bench.sh, never installed.
 */
#include "postgres.h"

#include "fmgr.h"

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(bench_empty_function);

Datum
bench_empty_function(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(0.0);
}
