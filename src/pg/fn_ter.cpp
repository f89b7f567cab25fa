// SQL entry points for TER: llmeval.ter (one or several references) and the
// corpus_ter aggregates.
#include "core/metrics/ter.hpp"
#include "pg/corpus_aggregate.hpp"

namespace metrics = llmeval::core::metrics;

namespace {

// Arguments 2..5: normalized, no_punct, asian_support, case_sensitive.
metrics::TerOptions SentenceOptions(FunctionCallInfo fcinfo) {
  const metrics::TerOptions defaults;
  metrics::TerOptions options;
  options.normalized = llmeval::pg::BoolArgOr(fcinfo, 2, defaults.normalized);
  options.no_punct = llmeval::pg::BoolArgOr(fcinfo, 3, defaults.no_punct);
  options.asian_support = llmeval::pg::BoolArgOr(fcinfo, 4, defaults.asian_support);
  options.case_sensitive = llmeval::pg::BoolArgOr(fcinfo, 5, defaults.case_sensitive);
  return options;
}

Datum SentenceTer(FunctionCallInfo fcinfo, bool references_array) {
  if (PG_ARGISNULL(0) || PG_ARGISNULL(1)) PG_RETURN_NULL();
  const metrics::TerOptions options = SentenceOptions(fcinfo);
  static std::vector<std::string_view> refs;  // backends are single-threaded
  llmeval::pg::ReferencesArg(fcinfo, 1, references_array, refs);
  const std::string_view candidate = llmeval::pg::TextArg(fcinfo, 0);
  PG_RETURN_FLOAT8(metrics::SentenceTer(candidate, refs, options));
}

struct CorpusTer {
  using Options = metrics::TerOptions;
  using Totals = metrics::TerStats;
  static constexpr const char* kName = "corpus_ter";
  static Options ParseOptions(std::string_view json) { return metrics::ParseTerOptionsJson(json); }
  static void AddSegment(Totals& totals, std::string_view candidate,
                         const std::vector<std::string_view>& refs, const Options& options) {
    metrics::TerStatsAdd(totals, metrics::TerSegmentStats(candidate, refs, options));
  }
  static void AddTotals(Totals& into, const Totals& from) { metrics::TerStatsAdd(into, from); }
};

}  // namespace

LLMEVAL_PG_FUNCTION(llmeval_ter) { return SentenceTer(fcinfo, false); }
LLMEVAL_PG_FUNCTION(llmeval_ter_multi) { return SentenceTer(fcinfo, true); }

LLMEVAL_CORPUS_AGGREGATE(llmeval_corpus_ter, CorpusTer)

LLMEVAL_PG_FUNCTION(llmeval_corpus_ter_finalfn) {
  const auto* state = llmeval::pg::CorpusFinalState<CorpusTer>(fcinfo);
  if (state == nullptr) PG_RETURN_NULL();
  PG_RETURN_FLOAT8(metrics::TerFromStats(state->totals));
}
