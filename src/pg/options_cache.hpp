// Parsing an aggregate's `options jsonb` once per query rather than once per
// row: the raw jsonb bytes of the last row are kept in fn_extra with the
// options parsed from them, and a row whose bytes match reuses them.
#pragma once

#include <cstring>
#include <string_view>

#include "pg/aggregate.hpp"
#include "pg/args.hpp"

namespace llmeval::pg {

template <typename Options>
struct OptionsCache {
  char* bytes;  // palloc'd in fn_mcxt
  std::size_t length;
  bool valid;
  Options options;
};

// Options of argument n, parsed by parse(std::string_view json) on a miss.
// `cache` lives in the function's fn_extra struct (see FnCache).
template <typename Options, typename Parse>
const Options& CachedOptions(FunctionCallInfo fcinfo, int n, OptionsCache<Options>* cache,
                             Parse parse) {
  Jsonb* jb = PgCall([&]() noexcept { return PG_GETARG_JSONB_P(n); });
  const std::size_t length = VARSIZE(jb);
  if (cache->valid && cache->length == length && std::memcmp(cache->bytes, jb, length) == 0)
    return cache->options;
  cache->valid = false;
  cache->options = parse(JsonbArgAsText(fcinfo, n));
  MemoryContext context = fcinfo->flinfo->fn_mcxt;
  if (cache->length < length) {
    cache->bytes = static_cast<char*>(
        PgCall([&]() noexcept { return MemoryContextAlloc(context, length); }));
  }
  std::memcpy(cache->bytes, jb, length);
  cache->length = length;
  cache->valid = true;
  return cache->options;
}

}  // namespace llmeval::pg
