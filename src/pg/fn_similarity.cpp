// SQL entry points for the answer-level similarities: exact_match and
// token_f1 (SQuAD), levenshtein_ratio and cosine_similarity.
#include "core/error.hpp"
#include "core/metrics/cosine.hpp"
#include "core/metrics/levenshtein.hpp"
#include "core/metrics/squad.hpp"
#include "pg/args.hpp"

namespace core = llmeval::core;
namespace metrics = llmeval::core::metrics;
using llmeval::pg::TextArg;

// exact_match(candidate, reference, normalize DEFAULT true): CALLED ON NULL
// INPUT so that a NULL normalize means the default.
LLMEVAL_PG_FUNCTION(llmeval_exact_match) {
  if (PG_ARGISNULL(0) || PG_ARGISNULL(1)) PG_RETURN_NULL();
  const bool normalize = llmeval::pg::BoolArgOr(fcinfo, 2, true);
  PG_RETURN_BOOL(metrics::ExactMatch(TextArg(fcinfo, 0), TextArg(fcinfo, 1), normalize));
}

LLMEVAL_PG_FUNCTION(llmeval_token_f1) {
  PG_RETURN_FLOAT8(metrics::TokenF1(TextArg(fcinfo, 0), TextArg(fcinfo, 1)));
}

LLMEVAL_PG_FUNCTION(llmeval_levenshtein_ratio) {
  PG_RETURN_FLOAT8(metrics::LevenshteinRatio(TextArg(fcinfo, 0), TextArg(fcinfo, 1)));
}

// NULL when the similarity is undefined (empty vectors or a zero vector).
LLMEVAL_PG_FUNCTION(llmeval_cosine_similarity) {
  const llmeval::pg::Float4Array a = llmeval::pg::Float4ArrayArg(fcinfo, 0, "a");
  const llmeval::pg::Float4Array b = llmeval::pg::Float4ArrayArg(fcinfo, 1, "b");
  if (a.size != b.size)
    throw core::Error(core::ErrorKind::kArraySubscriptError,
                      "vectors must have the same number of dimensions",
                      "a has " + std::to_string(a.size) + " and b has " + std::to_string(b.size) +
                          ".");
  const std::optional<double> similarity = metrics::CosineSimilarity(a.data, b.data, a.size);
  if (!similarity) PG_RETURN_NULL();
  PG_RETURN_FLOAT8(*similarity);
}
