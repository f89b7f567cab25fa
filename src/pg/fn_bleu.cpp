// SQL entry points for BLEU: llmeval.bleu (one or several references) and
// the corpus_bleu / corpus_bleu_stats aggregates.
#include <nlohmann/json.hpp>

#include "core/metrics/bleu.hpp"
#include "pg/aggregate.hpp"
#include "pg/args.hpp"
#include "pg/options_cache.hpp"

namespace core = llmeval::core;
namespace metrics = llmeval::core::metrics;
using llmeval::pg::PgCall;

namespace {

// Arguments 2..5 of llmeval.bleu: tokenize, smooth_method, smooth_value,
// lowercase; a NULL option means its default.
metrics::BleuOptions SentenceOptions(FunctionCallInfo fcinfo) {
  metrics::BleuOptions options;
  if (auto name = llmeval::pg::OptionalTextArg(fcinfo, 2))
    options.tokenizer = metrics::ParseBleuTokenizer(*name);
  if (auto name = llmeval::pg::OptionalTextArg(fcinfo, 3))
    options.smooth_method = metrics::ParseSmoothMethod(*name);
  if (!PG_ARGISNULL(4)) options.smooth_value = PG_GETARG_FLOAT8(4);
  if (!PG_ARGISNULL(5)) options.lowercase = PG_GETARG_BOOL(5);
  metrics::ValidateBleuOptions(options);
  return options;
}

// Reads the reference argument (text or text[]) into refs.
void ReferencesArg(FunctionCallInfo fcinfo, int n, bool is_array,
                   std::vector<std::string_view>& refs) {
  if (is_array) {
    llmeval::pg::TextArrayArg(fcinfo, n, "reference", refs);
  } else {
    refs.assign(1, llmeval::pg::TextArg(fcinfo, n));
  }
}

Datum SentenceBleu(FunctionCallInfo fcinfo, bool references_array) {
  if (PG_ARGISNULL(0) || PG_ARGISNULL(1)) PG_RETURN_NULL();
  const metrics::BleuOptions options = SentenceOptions(fcinfo);
  static std::vector<std::string_view> refs;  // backends are single-threaded
  ReferencesArg(fcinfo, 1, references_array, refs);
  const std::string_view candidate = llmeval::pg::TextArg(fcinfo, 0);
  PG_RETURN_FLOAT8(metrics::SentenceBleu(candidate, refs, options).score);
}

struct CorpusBleuState {
  metrics::BleuOptions options;
  metrics::BleuStats stats;
  int64_t rows;
  bool has_rows;
};

// What corpus_bleu's transition function keeps in fn_extra across rows.
struct CorpusBleuCache {
  bool known;
  bool references_array;
  llmeval::pg::OptionsCache<metrics::BleuOptions> options;
};

bool ReferencesAreArray(FunctionCallInfo fcinfo, CorpusBleuCache* cache) {
  if (!cache->known) {
    const Oid type = PgCall([&]() noexcept { return get_fn_expr_argtype(fcinfo->flinfo, 2); });
    cache->references_array = type == TEXTARRAYOID;
    cache->known = true;
  }
  return cache->references_array;
}

void RequireSameOptions(const CorpusBleuState& state, const metrics::BleuOptions& options) {
  if (state.has_rows && !(state.options == options))
    throw core::Error(core::ErrorKind::kInvalidParameterValue,
                      "corpus_bleu options must be the same for every row");
}

Datum CorpusBleuFinal(FunctionCallInfo fcinfo, bool detailed) {
  const auto* state = llmeval::pg::StateArg<CorpusBleuState>(fcinfo, 0);
  if (state == nullptr || !state->has_rows) PG_RETURN_NULL();
  const metrics::BleuScore score =
      metrics::BleuFromStats(state->stats, state->options, /*effective_order=*/false);
  if (!detailed) PG_RETURN_FLOAT8(score.score);
  nlohmann::json j = {
      {"score", score.score},
      {"precisions", score.precisions},
      {"bp", score.bp},
      {"ratio", score.ratio},
      {"sys_len", score.sys_len},
      {"ref_len", score.ref_len},
      {"counts", state->stats.correct},
      {"totals", state->stats.total},
      {"rows", state->rows},
      {"tokenize", metrics::BleuTokenizerName(state->options.tokenizer)},
      {"smooth_method", metrics::SmoothMethodName(state->options.smooth_method)},
      {"lowercase", state->options.lowercase},
  };
  return llmeval::pg::JsonbFromText(j.dump());
}

}  // namespace

LLMEVAL_PG_FUNCTION(llmeval_bleu) { return SentenceBleu(fcinfo, false); }
LLMEVAL_PG_FUNCTION(llmeval_bleu_multi) { return SentenceBleu(fcinfo, true); }

// corpus_bleu(candidate, reference [, options]) transition. Rows where the
// candidate or the reference is NULL are skipped, as aggregates skip NULLs.
LLMEVAL_PG_FUNCTION(llmeval_corpus_bleu_transfn) {
  auto* state = llmeval::pg::GetOrCreateState<CorpusBleuState>(fcinfo, "corpus_bleu");
  if (PG_ARGISNULL(1) || PG_ARGISNULL(2)) PG_RETURN_POINTER(state);
  auto* cache = llmeval::pg::FnCache<CorpusBleuCache>(fcinfo);
  metrics::BleuOptions options;
  if (PG_NARGS() > 3 && !PG_ARGISNULL(3))
    options = llmeval::pg::CachedOptions(fcinfo, 3, &cache->options, metrics::ParseBleuOptionsJson);
  RequireSameOptions(*state, options);
  static std::vector<std::string_view> refs;  // backends are single-threaded
  ReferencesArg(fcinfo, 2, ReferencesAreArray(fcinfo, cache), refs);
  const std::string_view candidate = llmeval::pg::TextArg(fcinfo, 1);
  state->stats.Add(metrics::BleuSegmentStats(candidate, refs, options));
  state->options = options;
  state->has_rows = true;
  ++state->rows;
  PG_RETURN_POINTER(state);
}

LLMEVAL_PG_FUNCTION(llmeval_corpus_bleu_combinefn) {
  const auto* right = llmeval::pg::StateArg<CorpusBleuState>(fcinfo, 1);
  auto* left = llmeval::pg::StateArg<CorpusBleuState>(fcinfo, 0);
  if (right == nullptr || !right->has_rows) {
    if (left == nullptr) PG_RETURN_NULL();
    PG_RETURN_POINTER(left);
  }
  auto* state = llmeval::pg::GetOrCreateState<CorpusBleuState>(fcinfo, "corpus_bleu");
  RequireSameOptions(*state, right->options);
  state->stats.Add(right->stats);
  state->options = right->options;
  state->rows += right->rows;
  state->has_rows = true;
  PG_RETURN_POINTER(state);
}

LLMEVAL_PG_FUNCTION(llmeval_corpus_bleu_serialfn) {
  return llmeval::pg::SerializeState<CorpusBleuState>(fcinfo);
}

LLMEVAL_PG_FUNCTION(llmeval_corpus_bleu_deserialfn) {
  return llmeval::pg::DeserializeState<CorpusBleuState>(fcinfo, "corpus_bleu");
}

LLMEVAL_PG_FUNCTION(llmeval_corpus_bleu_finalfn) { return CorpusBleuFinal(fcinfo, false); }
LLMEVAL_PG_FUNCTION(llmeval_corpus_bleu_stats_finalfn) { return CorpusBleuFinal(fcinfo, true); }
