// SQL entry points for BLEU: llmeval.bleu (one or several references) and
// the corpus_bleu / corpus_bleu_stats aggregates.
#include <nlohmann/json.hpp>

#include "core/metrics/bleu.hpp"
#include "pg/corpus_aggregate.hpp"

namespace metrics = llmeval::core::metrics;

namespace {

// Arguments 2..7 of llmeval.bleu: tokenize, smooth_method, smooth_value,
// lowercase, use_effective_order and max_ngram_order (a NULL one means its
// default).
metrics::BleuOptions SentenceOptions(FunctionCallInfo fcinfo) {
  metrics::BleuOptions options;
  if (auto name = llmeval::pg::OptionalTextArg(fcinfo, 2))
    options.tokenizer = metrics::ParseBleuTokenizer(*name);
  if (auto name = llmeval::pg::OptionalTextArg(fcinfo, 3))
    options.smooth_method = metrics::ParseSmoothMethod(*name);
  if (!PG_ARGISNULL(4)) options.smooth_value = PG_GETARG_FLOAT8(4);
  options.lowercase = llmeval::pg::BoolArgOr(fcinfo, 5, false);
  if (!PG_ARGISNULL(6)) options.use_effective_order = PG_GETARG_BOOL(6);
  options.max_ngram_order = llmeval::pg::IntArgOr(fcinfo, 7, metrics::kBleuDefaultNgramOrder);
  metrics::ValidateBleuOptions(options);
  return options;
}

Datum SentenceBleu(FunctionCallInfo fcinfo, bool references_array) {
  if (PG_ARGISNULL(0) || PG_ARGISNULL(1)) PG_RETURN_NULL();
  const metrics::BleuOptions options = SentenceOptions(fcinfo);
  static std::vector<std::string_view> refs;  // backends are single-threaded
  llmeval::pg::ReferencesArg(fcinfo, 1, references_array, refs);
  const std::string_view candidate = llmeval::pg::TextArg(fcinfo, 0);
  PG_RETURN_FLOAT8(metrics::SentenceBleu(candidate, refs, options).score);
}

struct CorpusBleu {
  using Options = metrics::BleuOptions;
  using Totals = metrics::BleuStats;
  static constexpr const char* kName = "corpus_bleu";
  static Options ParseOptions(std::string_view json) { return metrics::ParseBleuOptionsJson(json); }
  static void AddSegment(Totals& totals, std::string_view candidate,
                         const std::vector<std::string_view>& refs, const Options& options) {
    totals.Add(metrics::BleuSegmentStats(candidate, refs, options));
  }
  static void AddTotals(Totals& into, const Totals& from) { into.Add(from); }
};

Datum CorpusBleuFinal(FunctionCallInfo fcinfo, bool detailed) {
  const auto* state = llmeval::pg::CorpusFinalState<CorpusBleu>(fcinfo);
  if (state == nullptr) PG_RETURN_NULL();
  const metrics::BleuScore score = metrics::CorpusBleuFromStats(state->totals, state->options);
  if (!detailed) PG_RETURN_FLOAT8(score.score);
  const auto orders = static_cast<std::ptrdiff_t>(score.max_ngram_order);
  // counts and totals as sacrebleu reports them: add-k's addition included,
  // integers unless a fractional smooth_value was added.
  auto numbers = [orders](const auto& values) {
    nlohmann::json out = nlohmann::json::array();
    for (auto it = values.begin(); it != values.begin() + orders; ++it) {
      const double v = *it;
      if (v == static_cast<double>(static_cast<int64_t>(v))) {
        out.push_back(static_cast<int64_t>(v));
      } else {
        out.push_back(v);
      }
    }
    return out;
  };
  nlohmann::json j = {
      {"score", score.score},
      {"precisions", std::vector<double>(score.precisions.begin(),
                                         score.precisions.begin() + orders)},
      {"bp", score.bp},
      {"ratio", score.ratio},
      {"sys_len", score.sys_len},
      {"ref_len", score.ref_len},
      {"counts", numbers(score.counts)},
      {"totals", numbers(score.totals)},
      {"rows", state->rows},
      {"tokenize", metrics::BleuTokenizerName(state->options.tokenizer)},
      {"smooth_method", metrics::SmoothMethodName(state->options.smooth_method)},
      {"lowercase", state->options.lowercase},
      {"use_effective_order", score.effective_order},
      {"max_ngram_order", score.max_ngram_order},
  };
  if (state->options.smooth_value) j["smooth_value"] = *state->options.smooth_value;
  return llmeval::pg::JsonbFromText(j.dump());
}

}  // namespace

LLMEVAL_PG_FUNCTION(llmeval_bleu) { return SentenceBleu(fcinfo, false); }
LLMEVAL_PG_FUNCTION(llmeval_bleu_multi) { return SentenceBleu(fcinfo, true); }

LLMEVAL_CORPUS_AGGREGATE(llmeval_corpus_bleu, CorpusBleu)
LLMEVAL_PG_FUNCTION(llmeval_corpus_bleu_finalfn) { return CorpusBleuFinal(fcinfo, false); }
LLMEVAL_PG_FUNCTION(llmeval_corpus_bleu_stats_finalfn) { return CorpusBleuFinal(fcinfo, true); }
