// The corpus aggregates (corpus_bleu, corpus_chrf, corpus_ter) share one
// shape: each row adds its sufficient statistics to a running total, the
// totals of parallel workers are summed by the combine function, and the
// final function scores the total once. A Metric describes one of them:
//
//   struct Metric {
//     using Options = ...;  // trivially copyable, operator==
//     using Totals = ...;   // trivially copyable, zero-initialised = empty
//     static constexpr const char* kName = "corpus_x";
//     static Options ParseOptions(std::string_view json);
//     static void AddSegment(Totals&, std::string_view candidate,
//                            const std::vector<std::string_view>& refs, const Options&);
//     static void AddTotals(Totals& into, const Totals& from);
//   };
//
// The SQL signatures are (candidate text, reference text|text[] [, options
// jsonb]); rows with a NULL candidate or reference are skipped, as
// aggregates skip NULL input. A NULL options argument means the defaults.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
// Postgres headers after core headers (see core/cpp_only.hpp).
#include "pg/aggregate.hpp"
#include "pg/args.hpp"
#include "pg/options_cache.hpp"

namespace llmeval::pg {

template <typename Metric>
struct CorpusState {
  typename Metric::Options options;
  typename Metric::Totals totals;
  int64_t rows;
  bool has_rows;
};

// What the transition function keeps in fn_extra across rows.
template <typename Metric>
struct CorpusCache {
  bool arg_type_known;
  bool references_array;
  OptionsCache<typename Metric::Options> options;
};

template <typename Metric>
void RequireSameOptions(const CorpusState<Metric>& state,
                        const typename Metric::Options& options) {
  if (state.has_rows && !(state.options == options))
    throw core::Error(core::ErrorKind::kInvalidParameterValue,
                      std::string(Metric::kName) + " options must be the same for every row");
}

template <typename Metric>
Datum CorpusTransition(FunctionCallInfo fcinfo) {
  auto* state = GetOrCreateState<CorpusState<Metric>>(fcinfo, Metric::kName);
  if (PG_ARGISNULL(1) || PG_ARGISNULL(2)) PG_RETURN_POINTER(state);
  auto* cache = FnCache<CorpusCache<Metric>>(fcinfo);
  if (!cache->arg_type_known) {
    cache->references_array = ArgIsTextArray(fcinfo, 2);
    cache->arg_type_known = true;
  }
  typename Metric::Options options{};
  if (PG_NARGS() > 3 && !PG_ARGISNULL(3))
    options = CachedOptions(fcinfo, 3, &cache->options, Metric::ParseOptions);
  RequireSameOptions(*state, options);
  static std::vector<std::string_view> refs;  // backends are single-threaded
  ReferencesArg(fcinfo, 2, cache->references_array, refs);
  const std::string_view candidate = TextArg(fcinfo, 1);
  Metric::AddSegment(state->totals, candidate, refs, options);
  state->options = options;
  state->has_rows = true;
  ++state->rows;
  PG_RETURN_POINTER(state);
}

template <typename Metric>
Datum CorpusCombine(FunctionCallInfo fcinfo) {
  const auto* right = StateArg<CorpusState<Metric>>(fcinfo, 1);
  auto* left = StateArg<CorpusState<Metric>>(fcinfo, 0);
  if (right == nullptr || !right->has_rows) {
    if (left == nullptr) PG_RETURN_NULL();
    PG_RETURN_POINTER(left);
  }
  auto* state = GetOrCreateState<CorpusState<Metric>>(fcinfo, Metric::kName);
  RequireSameOptions(*state, right->options);
  Metric::AddTotals(state->totals, right->totals);
  state->options = right->options;
  state->rows += right->rows;
  state->has_rows = true;
  PG_RETURN_POINTER(state);
}

// The state the final function scores, or nullptr when no row was added
// (the aggregate then returns NULL, like avg() over no rows).
template <typename Metric>
const CorpusState<Metric>* CorpusFinalState(FunctionCallInfo fcinfo) {
  const auto* state = StateArg<CorpusState<Metric>>(fcinfo, 0);
  return state != nullptr && state->has_rows ? state : nullptr;
}

}  // namespace llmeval::pg

// Defines the transition, combine, serialize and deserialize entry points
// <prefix>_transfn, _combinefn, _serialfn, _deserialfn of a corpus metric.
#define LLMEVAL_CORPUS_AGGREGATE(prefix, Metric)                                      \
  LLMEVAL_PG_FUNCTION(prefix##_transfn) {                                             \
    return llmeval::pg::CorpusTransition<Metric>(fcinfo);                             \
  }                                                                                   \
  LLMEVAL_PG_FUNCTION(prefix##_combinefn) {                                           \
    return llmeval::pg::CorpusCombine<Metric>(fcinfo);                                \
  }                                                                                   \
  LLMEVAL_PG_FUNCTION(prefix##_serialfn) {                                            \
    return llmeval::pg::SerializeState<llmeval::pg::CorpusState<Metric>>(fcinfo);     \
  }                                                                                   \
  LLMEVAL_PG_FUNCTION(prefix##_deserialfn) {                                          \
    return llmeval::pg::DeserializeState<llmeval::pg::CorpusState<Metric>>(fcinfo,    \
                                                                          Metric::kName); \
  }
