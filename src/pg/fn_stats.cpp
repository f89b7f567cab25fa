// SQL entry points for the statistics: the two-sample tests (welch_t_test,
// paired_t_test, mann_whitney_u, wilcoxon_signed_rank,
// two_proportion_z_test) and bootstrap_ci. Each returns one row, declared
// with OUT parameters in src/sql/80_stats.sql; the core computes, this file
// only reads float8[] arguments and forms the row.
#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "core/error.hpp"
#include "core/stats/bootstrap.hpp"
#include "core/stats/hypothesis.hpp"
// Postgres headers after core headers (see core/cpp_only.hpp).
#include "pg/aggregate.hpp"
#include "pg/args.hpp"

namespace core = llmeval::core;
namespace stats = llmeval::core::stats;
using llmeval::pg::PgCall;

namespace {

// A one-dimensional float8[] with no NULL element, as a pointer into the
// (detoasted) array and its length; `what` names the argument in errors.
struct Float8Array {
  const double* data;
  std::size_t size;
};

Float8Array Float8ArrayArg(FunctionCallInfo fcinfo, int n, const char* what) {
  ArrayType* array = PgCall([&]() noexcept { return PG_GETARG_ARRAYTYPE_P(n); });
  if (ARR_ELEMTYPE(array) != FLOAT8OID)
    throw core::Error(core::ErrorKind::kInternal, std::string(what) + " must be a float8[]");
  if (ARR_NDIM(array) > 1)
    throw core::Error(core::ErrorKind::kArraySubscriptError,
                      std::string(what) + " must be a one-dimensional array");
  const int count = ARR_NDIM(array) == 0 ? 0 : ARR_DIMS(array)[0];
  if (const bits8* bitmap = ARR_NULLBITMAP(array)) {
    for (int i = 0; i < count; ++i) {
      if ((bitmap[i / 8] & (1 << (i % 8))) == 0)
        throw core::Error(core::ErrorKind::kNullValueNotAllowed,
                          std::string(what) + " must not contain NULL elements",
                          "Element " + std::to_string(i + 1) + " is NULL.");
    }
  }
  // Without NULLs the elements are contiguous, MAXALIGNed doubles.
  return {reinterpret_cast<const double*>(ARR_DATA_PTR(array)), static_cast<std::size_t>(count)};
}

// One column of a result row. Datums of float8 and bigint are passed by
// value on 64-bit servers, so forming them cannot ereport.
struct Cell {
  Oid type;
  Datum value;
  bool isnull;
};

Cell Float8Cell(const std::optional<double>& v) {
  return v ? Cell{FLOAT8OID, Float8GetDatum(*v), false} : Cell{FLOAT8OID, Datum(0), true};
}
Cell Float8Cell(double v) { return {FLOAT8OID, Float8GetDatum(v), false}; }
Cell Int8Cell(std::int64_t v) { return {INT8OID, Int64GetDatum(v), false}; }
Cell Int4Cell(std::int32_t v) { return {INT4OID, Int32GetDatum(v), false}; }

// The blessed row descriptor, found once per query and checked against the
// cells this file produces, so that a script and library out of step give
// an error instead of a malformed row.
struct ResultCache {
  TupleDesc desc;
};

template <std::size_t N>
Datum ResultRow(FunctionCallInfo fcinfo, const char* fn, const std::array<Cell, N>& cells) {
  auto* cache = llmeval::pg::FnCache<ResultCache>(fcinfo);
  if (cache->desc == nullptr) {
    TupleDesc desc = PgCall([&]() noexcept -> TupleDesc {
      TupleDesc found;
      if (get_call_result_type(fcinfo, nullptr, &found) != TYPEFUNC_COMPOSITE)
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                        errmsg("%s must return a composite type", fn)));
      MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
      TupleDesc blessed = BlessTupleDesc(CreateTupleDescCopy(found));
      MemoryContextSwitchTo(old);
      return blessed;
    });
    bool matches = desc->natts == static_cast<int>(N);
    for (std::size_t i = 0; matches && i < N; ++i)
      matches = TupleDescAttr(desc, static_cast<int>(i))->atttypid == cells[i].type;
    if (!matches)
      throw core::Error(core::ErrorKind::kInternal,
                        std::string(fn) + " is declared with other result columns than the library",
                        "", "Run ALTER EXTENSION pg_llmeval UPDATE.");
    cache->desc = desc;
  }
  TupleDesc desc = cache->desc;
  std::array<Datum, N> values{};
  std::array<bool, N> nulls{};
  for (std::size_t i = 0; i < N; ++i) {
    values[i] = cells[i].value;
    nulls[i] = cells[i].isnull;
  }
  return PgCall([&]() noexcept {
    return HeapTupleGetDatum(heap_form_tuple(desc, values.data(), nulls.data()));
  });
}

// statistic, p_value, effect_size, ci_low, ci_high, df, n_a, n_b, mean_a,
// mean_b, mean_diff.
Datum TTestRow(FunctionCallInfo fcinfo, const char* fn, const stats::TTestResult& r) {
  return ResultRow<11>(
      fcinfo, fn,
      {Float8Cell(r.statistic), Float8Cell(r.p_value), Float8Cell(r.effect_size),
       Float8Cell(r.ci_low), Float8Cell(r.ci_high), Float8Cell(r.df), Int8Cell(r.n_a),
       Int8Cell(r.n_b), Float8Cell(r.mean_a), Float8Cell(r.mean_b), Float8Cell(r.mean_diff)});
}

}  // namespace

LLMEVAL_PG_FUNCTION(llmeval_welch_t_test) {
  const Float8Array a = Float8ArrayArg(fcinfo, 0, "a");
  const Float8Array b = Float8ArrayArg(fcinfo, 1, "b");
  return TTestRow(fcinfo, "llmeval.welch_t_test",
                  stats::WelchTTest(a.data, a.size, b.data, b.size));
}

LLMEVAL_PG_FUNCTION(llmeval_paired_t_test) {
  const Float8Array a = Float8ArrayArg(fcinfo, 0, "a");
  const Float8Array b = Float8ArrayArg(fcinfo, 1, "b");
  return TTestRow(fcinfo, "llmeval.paired_t_test",
                  stats::PairedTTest(a.data, a.size, b.data, b.size));
}

// statistic, p_value, effect_size, ci_low, ci_high (always NULL), z, n_a, n_b.
LLMEVAL_PG_FUNCTION(llmeval_mann_whitney_u) {
  const Float8Array a = Float8ArrayArg(fcinfo, 0, "a");
  const Float8Array b = Float8ArrayArg(fcinfo, 1, "b");
  const stats::MannWhitneyResult r = stats::MannWhitneyU(a.data, a.size, b.data, b.size);
  return ResultRow<8>(fcinfo, "llmeval.mann_whitney_u",
                      {Float8Cell(r.statistic), Float8Cell(r.p_value), Float8Cell(r.effect_size),
                       Float8Cell(std::nullopt), Float8Cell(std::nullopt), Float8Cell(r.z),
                       Int8Cell(r.n_a), Int8Cell(r.n_b)});
}

// statistic, p_value, effect_size, ci_low, ci_high (always NULL), z, n,
// n_nonzero, w_plus, w_minus.
LLMEVAL_PG_FUNCTION(llmeval_wilcoxon_signed_rank) {
  const Float8Array a = Float8ArrayArg(fcinfo, 0, "a");
  const Float8Array b = Float8ArrayArg(fcinfo, 1, "b");
  const stats::WilcoxonResult r = stats::WilcoxonSignedRank(a.data, a.size, b.data, b.size);
  return ResultRow<10>(
      fcinfo, "llmeval.wilcoxon_signed_rank",
      {Float8Cell(r.statistic), Float8Cell(r.p_value), Float8Cell(r.effect_size),
       Float8Cell(std::nullopt), Float8Cell(std::nullopt), Float8Cell(r.z), Int8Cell(r.n),
       Int8Cell(r.n_nonzero), Float8Cell(r.w_plus), Float8Cell(r.w_minus)});
}

// statistic, p_value, effect_size, ci_low, ci_high, prop_a, prop_b, prop_diff.
LLMEVAL_PG_FUNCTION(llmeval_two_proportion_z_test) {
  const stats::ProportionTestResult r = stats::TwoProportionZTest(
      PG_GETARG_INT64(0), PG_GETARG_INT64(1), PG_GETARG_INT64(2), PG_GETARG_INT64(3));
  return ResultRow<8>(fcinfo, "llmeval.two_proportion_z_test",
                      {Float8Cell(r.statistic), Float8Cell(r.p_value), Float8Cell(r.effect_size),
                       Float8Cell(r.ci_low), Float8Cell(r.ci_high), Float8Cell(r.prop_a),
                       Float8Cell(r.prop_b), Float8Cell(r.prop_diff)});
}

// bootstrap_ci(x, confidence, resamples, seed): CALLED ON NULL INPUT so that
// a NULL option means its default; a NULL x gives NULL.
LLMEVAL_PG_FUNCTION(llmeval_bootstrap_ci) {
  if (PG_ARGISNULL(0)) PG_RETURN_NULL();
  const Float8Array x = Float8ArrayArg(fcinfo, 0, "x");
  const double confidence =
      PG_ARGISNULL(1) ? stats::kBootstrapDefaultConfidence : PG_GETARG_FLOAT8(1);
  const std::int32_t resamples =
      llmeval::pg::IntArgOr(fcinfo, 2, stats::kBootstrapDefaultResamples);
  // Two's complement: every bigint is a distinct 64-bit seed.
  const std::uint64_t seed = PG_ARGISNULL(3) ? 0 : static_cast<std::uint64_t>(PG_GETARG_INT64(3));
  const stats::BootstrapResult r = stats::BootstrapMeanCi(
      x.data, x.size, confidence, resamples, seed, [] { llmeval::pg::CheckForInterrupts(); });
  return ResultRow<4>(
      fcinfo, "llmeval.bootstrap_ci",
      {Float8Cell(r.estimate), Float8Cell(r.ci_low), Float8Cell(r.ci_high), Int4Cell(r.resamples)});
}
