// SQL entry point for ROUGE: llmeval.rouge returning the composite
// llmeval.rouge_score (precision, recall, fmeasure).
#include "core/metrics/rouge.hpp"
#include "pg/aggregate.hpp"
#include "pg/args.hpp"

namespace metrics = llmeval::core::metrics;

namespace {

// What llmeval.rouge keeps in fn_extra: the blessed result descriptor (found
// once per query) and the last variant name parsed.
struct RougeCache {
  TupleDesc result_type;
  metrics::RougeVariant variant;
  char variant_name[16];
  bool variant_valid;
};

TupleDesc ResultType(FunctionCallInfo fcinfo, RougeCache* cache) {
  if (cache->result_type == nullptr) {
    cache->result_type = llmeval::pg::PgCall([&]() noexcept -> TupleDesc {
      TupleDesc desc;
      if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                        errmsg("llmeval.rouge must return a composite type")));
      MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
      TupleDesc blessed = BlessTupleDesc(CreateTupleDescCopy(desc));
      MemoryContextSwitchTo(old);
      return blessed;
    });
  }
  return cache->result_type;
}

metrics::RougeVariant Variant(FunctionCallInfo fcinfo, RougeCache* cache) {
  const std::string_view name =
      llmeval::pg::OptionalTextArg(fcinfo, 2).value_or(std::string_view("rougeL"));
  if (cache->variant_valid && name == cache->variant_name) return cache->variant;
  const metrics::RougeVariant variant = metrics::ParseRougeVariant(name);
  // Every valid name ("rouge1".."rouge9", "rougeL", "rougeLsum") fits.
  cache->variant_valid = name.size() < sizeof(cache->variant_name);
  if (cache->variant_valid) {
    name.copy(cache->variant_name, name.size());
    cache->variant_name[name.size()] = '\0';
    cache->variant = variant;
  }
  return variant;
}

Datum SentenceRouge(FunctionCallInfo fcinfo, bool references_array) {
  if (PG_ARGISNULL(0) || PG_ARGISNULL(1)) PG_RETURN_NULL();
  auto* cache = llmeval::pg::FnCache<RougeCache>(fcinfo);
  const metrics::RougeVariant variant = Variant(fcinfo, cache);
  const bool use_stemmer = llmeval::pg::BoolArgOr(fcinfo, 3, false);
  static std::vector<std::string_view> refs;  // backends are single-threaded
  llmeval::pg::ReferencesArg(fcinfo, 1, references_array, refs);
  const std::string_view candidate = llmeval::pg::TextArg(fcinfo, 0);
  const metrics::RougeScore score = metrics::RougeMulti(candidate, refs, variant, use_stemmer);
  TupleDesc desc = ResultType(fcinfo, cache);
  return llmeval::pg::PgCall([&]() noexcept {
    Datum values[3] = {Float8GetDatum(score.precision), Float8GetDatum(score.recall),
                       Float8GetDatum(score.fmeasure)};
    bool nulls[3] = {false, false, false};
    return HeapTupleGetDatum(heap_form_tuple(desc, values, nulls));
  });
}

}  // namespace

LLMEVAL_PG_FUNCTION(llmeval_rouge) { return SentenceRouge(fcinfo, false); }
LLMEVAL_PG_FUNCTION(llmeval_rouge_multi) { return SentenceRouge(fcinfo, true); }
