// SQL entry points for chrF / chrF++: llmeval.chrf (one or several
// references) and the corpus_chrf aggregates.
#include <algorithm>

#include "core/metrics/chrf.hpp"
#include "pg/corpus_aggregate.hpp"

namespace metrics = llmeval::core::metrics;

namespace {

// Arguments 2..6: char_order, word_order, beta, eps_smoothing,
// remove_whitespace (a NULL one means its default).
metrics::ChrfOptions SentenceOptions(FunctionCallInfo fcinfo) {
  const metrics::ChrfOptions defaults;
  metrics::ChrfOptions options;
  options.char_order = llmeval::pg::IntArgOr(fcinfo, 2, defaults.char_order);
  options.word_order = llmeval::pg::IntArgOr(fcinfo, 3, defaults.word_order);
  options.beta = llmeval::pg::IntArgOr(fcinfo, 4, defaults.beta);
  options.eps_smoothing = llmeval::pg::BoolArgOr(fcinfo, 5, defaults.eps_smoothing);
  options.remove_whitespace = llmeval::pg::BoolArgOr(fcinfo, 6, defaults.remove_whitespace);
  metrics::ValidateChrfOptions(options);
  return options;
}

Datum SentenceChrf(FunctionCallInfo fcinfo, bool references_array) {
  if (PG_ARGISNULL(0) || PG_ARGISNULL(1)) PG_RETURN_NULL();
  const metrics::ChrfOptions options = SentenceOptions(fcinfo);
  static std::vector<std::string_view> refs;  // backends are single-threaded
  llmeval::pg::ReferencesArg(fcinfo, 1, references_array, refs);
  const std::string_view candidate = llmeval::pg::TextArg(fcinfo, 0);
  PG_RETURN_FLOAT8(metrics::SentenceChrf(candidate, refs, options));
}

// chrF statistics in a fixed array, so the aggregate state stays trivially
// copyable: (hypothesis, reference, match) counts per order, character
// orders first, then word orders; the options say how many are in use.
struct ChrfTotals {
  int64_t values[3 * 2 * metrics::kChrfMaxOrder];
};

struct CorpusChrf {
  using Options = metrics::ChrfOptions;
  using Totals = ChrfTotals;
  static constexpr const char* kName = "corpus_chrf";
  static Options ParseOptions(std::string_view json) { return metrics::ParseChrfOptionsJson(json); }
  static void AddSegment(Totals& totals, std::string_view candidate,
                         const std::vector<std::string_view>& refs, const Options& options) {
    const metrics::ChrfStats stats = metrics::ChrfSegmentStats(candidate, refs, options);
    const std::size_t n = std::min(stats.values.size(), std::size(totals.values));
    for (std::size_t i = 0; i < n; ++i) totals.values[i] += stats.values[i];
  }
  static void AddTotals(Totals& into, const Totals& from) {
    for (std::size_t i = 0; i < std::size(into.values); ++i) into.values[i] += from.values[i];
  }
};

}  // namespace

LLMEVAL_PG_FUNCTION(llmeval_chrf) { return SentenceChrf(fcinfo, false); }
LLMEVAL_PG_FUNCTION(llmeval_chrf_multi) { return SentenceChrf(fcinfo, true); }

LLMEVAL_CORPUS_AGGREGATE(llmeval_corpus_chrf, CorpusChrf)

LLMEVAL_PG_FUNCTION(llmeval_corpus_chrf_finalfn) {
  const auto* state = llmeval::pg::CorpusFinalState<CorpusChrf>(fcinfo);
  if (state == nullptr) PG_RETURN_NULL();
  const int orders = state->options.char_order + state->options.word_order;
  metrics::ChrfStats stats;
  stats.values.assign(state->totals.values, state->totals.values + 3 * orders);
  PG_RETURN_FLOAT8(metrics::ChrfFromStats(stats, state->options));
}
