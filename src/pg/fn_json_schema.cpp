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

namespace core = llmeval::core;
namespace metrics = llmeval::core::metrics;

namespace {

struct SchemaCache {
  char* bytes;  // the jsonb the schema was compiled from, palloc'd in fn_mcxt
  std::size_t length;
  std::size_t capacity;
  metrics::JsonSchema* schema;  // owned; deleted by DeleteSchema
  bool callback_registered;
  MemoryContextCallback callback;
};

void DeleteSchema(void* arg) {
  auto* cache = static_cast<SchemaCache*>(arg);
  delete cache->schema;
  cache->schema = nullptr;
}

const metrics::JsonSchema& CachedSchema(FunctionCallInfo fcinfo, int n) {
  auto* cache = llmeval::pg::FnCache<SchemaCache>(fcinfo);
  Jsonb* jb = llmeval::pg::PgCall([&]() noexcept { return PG_GETARG_JSONB_P(n); });
  const std::size_t length = VARSIZE(jb);
  if (cache->schema && cache->length == length && std::memcmp(cache->bytes, jb, length) == 0)
    return *cache->schema;

  MemoryContext context = fcinfo->flinfo->fn_mcxt;
  if (!cache->callback_registered) {
    cache->callback.func = DeleteSchema;
    cache->callback.arg = cache;
    llmeval::pg::PgCall(
        [&]() noexcept { MemoryContextRegisterResetCallback(context, &cache->callback); });
    cache->callback_registered = true;
  }
  delete cache->schema;
  cache->schema = nullptr;

  nlohmann::json parsed;
  try {
    parsed = nlohmann::json::parse(llmeval::pg::JsonbArgAsText(fcinfo, n));
  } catch (const nlohmann::json::exception& e) {
    // jsonb numbers can exceed a double's range, which nlohmann refuses.
    throw core::Error(core::ErrorKind::kInvalidParameterValue, "invalid JSON schema",
                      std::string("The schema cannot be read: ") + e.what() + ".");
  }
  auto schema = std::make_unique<metrics::JsonSchema>(parsed);

  if (cache->capacity < length) {
    cache->bytes = static_cast<char*>(
        llmeval::pg::PgCall([&]() noexcept { return MemoryContextAlloc(context, length); }));
    cache->capacity = length;
  }
  std::memcpy(cache->bytes, jb, length);
  cache->length = length;
  cache->schema = schema.release();
  return *cache->schema;
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
