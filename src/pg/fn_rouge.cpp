// SQL entry points for ROUGE: llmeval.rouge returning the composite
// llmeval.rouge_score (precision, recall, fmeasure) for one variant, and
// llmeval.rouge(..., variants => text[]) returning a row per variant from
// one tokenisation, as rouge-score's RougeScorer(variants).score does.
#include "core/metrics/rouge.hpp"
#include "pg/aggregate.hpp"
#include "pg/args.hpp"

#include "core/error.hpp"

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

// The variants (argument 2) and their scores for the row, shared by the
// row-per-variant and the array forms. Returns false for a NULL candidate or
// reference. `names` are views into the argument, valid for the call.
bool ScoreVariants(FunctionCallInfo fcinfo, bool references_array,
                   std::vector<std::string_view>& names,
                   std::vector<metrics::RougeScore>& scores) {
  if (PG_ARGISNULL(0) || PG_ARGISNULL(1)) return false;
  if (PG_ARGISNULL(2))
    throw llmeval::core::Error(llmeval::core::ErrorKind::kInvalidParameterValue,
                               "variants must not be NULL");
  llmeval::pg::TextArrayArg(fcinfo, 2, "variants", names);
  if (names.empty())
    throw llmeval::core::Error(llmeval::core::ErrorKind::kInvalidParameterValue,
                               "variants must not be empty", {},
                               "Name one or more of rouge1 .. rouge9, rougeL and rougeLsum.");
  static std::vector<metrics::RougeVariant> variants;  // backends are single-threaded
  variants.clear();
  for (std::string_view name : names) variants.push_back(metrics::ParseRougeVariant(name));
  const bool use_stemmer = llmeval::pg::BoolArgOr(fcinfo, 3, false);
  static std::vector<std::string_view> refs;
  llmeval::pg::ReferencesArg(fcinfo, 1, references_array, refs);
  const std::string_view candidate = llmeval::pg::TextArg(fcinfo, 0);
  metrics::RougeMultiScores(candidate, refs, variants, use_stemmer, scores);
  return true;
}

// rouge(candidate, reference text | text[], variants text[], use_stemmer):
// rows (variant, precision, recall, fmeasure) in the order of `variants`; no
// row for a NULL candidate or reference.
Datum RougeVariantRows(FunctionCallInfo fcinfo, bool references_array) {
  llmeval::pg::PgCall([&]() noexcept { InitMaterializedSRF(fcinfo, 0); });
  static std::vector<std::string_view> names;  // backends are single-threaded
  static std::vector<metrics::RougeScore> scores;
  if (!ScoreVariants(fcinfo, references_array, names, scores)) return (Datum)0;
  auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  for (std::size_t i = 0; i < scores.size(); ++i) {
    const std::string_view name = names[i];
    const metrics::RougeScore& score = scores[i];
    llmeval::pg::PgCall([&]() noexcept {
      Datum values[4] = {PointerGetDatum(cstring_to_text_with_len(name.data(),
                                                                  static_cast<int>(name.size()))),
                         Float8GetDatum(score.precision), Float8GetDatum(score.recall),
                         Float8GetDatum(score.fmeasure)};
      bool nulls[4] = {false, false, false, false};
      tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
    });
  }
  return (Datum)0;
}

// What rouge_scores keeps in fn_extra: the element type of its result and
// that type's blessed descriptor, looked up once per query.
struct RougeArrayCache {
  Oid element_type;
  int16 element_length;
  bool element_by_value;
  char element_align;
  TupleDesc element_desc;
};

// rouge_scores(candidate, reference text | text[], variants text[],
// use_stemmer): llmeval.rouge_score[] in the order of `variants`, NULL for a
// NULL candidate or reference. A scalar: Postgres builds a tuplestore per
// row for a set-returning function in FROM, which costs more than the
// scoring itself.
Datum RougeVariantArray(FunctionCallInfo fcinfo, bool references_array) {
  static std::vector<std::string_view> names;  // backends are single-threaded
  static std::vector<metrics::RougeScore> scores;
  if (!ScoreVariants(fcinfo, references_array, names, scores)) PG_RETURN_NULL();
  auto* cache = llmeval::pg::FnCache<RougeArrayCache>(fcinfo);
  if (cache->element_desc == nullptr) {
    llmeval::pg::PgCall([&]() noexcept {
      const Oid array_type = get_fn_expr_rettype(fcinfo->flinfo);
      cache->element_type = get_element_type(array_type);
      if (cache->element_type == InvalidOid)
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                        errmsg("llmeval.rouge_scores must return an array of a composite type")));
      get_typlenbyvalalign(cache->element_type, &cache->element_length,
                           &cache->element_by_value, &cache->element_align);
      MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
      TupleDesc desc = lookup_rowtype_tupdesc_copy(cache->element_type, -1);
      cache->element_desc = BlessTupleDesc(desc);
      MemoryContextSwitchTo(old);
    });
  }
  const std::size_t n = scores.size();
  return llmeval::pg::PgCall([&]() noexcept {
    Datum* elements = static_cast<Datum*>(palloc(sizeof(Datum) * n));
    for (std::size_t i = 0; i < n; ++i) {
      Datum values[3] = {Float8GetDatum(scores[i].precision), Float8GetDatum(scores[i].recall),
                         Float8GetDatum(scores[i].fmeasure)};
      bool nulls[3] = {false, false, false};
      elements[i] = HeapTupleGetDatum(heap_form_tuple(cache->element_desc, values, nulls));
    }
    return PointerGetDatum(construct_array(elements, static_cast<int>(n), cache->element_type,
                                           cache->element_length, cache->element_by_value,
                                           cache->element_align));
  });
}

}  // namespace

LLMEVAL_PG_FUNCTION(llmeval_rouge) { return SentenceRouge(fcinfo, false); }
LLMEVAL_PG_FUNCTION(llmeval_rouge_multi) { return SentenceRouge(fcinfo, true); }
LLMEVAL_PG_FUNCTION(llmeval_rouge_variants) { return RougeVariantRows(fcinfo, false); }
LLMEVAL_PG_FUNCTION(llmeval_rouge_variants_multi) { return RougeVariantRows(fcinfo, true); }
LLMEVAL_PG_FUNCTION(llmeval_rouge_scores) { return RougeVariantArray(fcinfo, false); }
LLMEVAL_PG_FUNCTION(llmeval_rouge_scores_multi) { return RougeVariantArray(fcinfo, true); }
