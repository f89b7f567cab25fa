// SQL entry points for structured-output assertions: llmeval.json_valid,
// json_schema_errors and json_schema_valid.
//
// A schema is checked and its patterns compiled once per query, not per row:
// the compiled schema is kept in fn_extra with the jsonb bytes it came from.
// It is a C++ object on the heap, which the memory context cannot free, so a
// reset callback on fn_mcxt deletes it when the query's context goes.
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/metrics/json_schema.hpp"
// Postgres headers after core headers (see core/cpp_only.hpp).
#include "pg/aggregate.hpp"
#include "pg/args.hpp"
#include "pg/options_cache.hpp"

namespace core = llmeval::core;
namespace metrics = llmeval::core::metrics;

namespace {

const metrics::JsonSchema& CachedSchema(FunctionCallInfo fcinfo, int n) {
  auto* cache = llmeval::pg::FnCache<llmeval::pg::CompiledCache<metrics::JsonSchema>>(fcinfo);
  return llmeval::pg::CachedCompiled(fcinfo, n, cache, [&] {
    nlohmann::json parsed;
    try {
      parsed = nlohmann::json::parse(llmeval::pg::JsonbArgAsText(fcinfo, n));
    } catch (const nlohmann::json::exception& e) {
      // jsonb numbers can exceed a double's range, which nlohmann refuses.
      throw core::Error(core::ErrorKind::kInvalidParameterValue, "invalid JSON schema",
                        std::string("The schema cannot be read: ") + e.what() + ".");
    }
    return std::make_unique<metrics::JsonSchema>(parsed);
  });
}

}  // namespace

LLMEVAL_PG_FUNCTION(llmeval_json_valid) {
  PG_RETURN_BOOL(metrics::IsJson(llmeval::pg::TextArg(fcinfo, 0)));
}

// The schema is read before the document, so a bad schema is an error
// whatever the document.
LLMEVAL_PG_FUNCTION(llmeval_json_schema_errors) {
  const metrics::JsonSchema& schema = CachedSchema(fcinfo, 1);
  return llmeval::pg::TextArrayResult(schema.Errors(llmeval::pg::TextArg(fcinfo, 0)));
}

LLMEVAL_PG_FUNCTION(llmeval_json_schema_valid) {
  const metrics::JsonSchema& schema = CachedSchema(fcinfo, 1);
  PG_RETURN_BOOL(schema.Errors(llmeval::pg::TextArg(fcinfo, 0), 1).empty());
}
