// Parsing a jsonb argument (an aggregate's `options`, a JSON Schema, tool
// definitions) once per query rather than once per row: the raw jsonb bytes
// of the last row are kept in fn_extra with what was built from them, and a
// row whose bytes match reuses it.
#pragma once

#include <cstring>
#include <memory>
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

// The same for a value that owns C++ memory (a compiled schema, a set of
// tools): kept by pointer, and deleted when fn_mcxt goes.
template <typename T>
struct CompiledCache {
  char* bytes;  // the jsonb it was built from, palloc'd in fn_mcxt
  std::size_t length;
  std::size_t capacity;
  T* value;  // owned
  bool callback_registered;
  MemoryContextCallback callback;
};

// What build() makes (a std::unique_ptr<T>) of argument n, or what it made of
// the same bytes at an earlier row. `cache` lives in fn_extra (see FnCache).
template <typename T, typename Build>
const T& CachedCompiled(FunctionCallInfo fcinfo, int n, CompiledCache<T>* cache, Build build) {
  Jsonb* jb = PgCall([&]() noexcept { return PG_GETARG_JSONB_P(n); });
  const std::size_t length = VARSIZE(jb);
  if (cache->value && cache->length == length && std::memcmp(cache->bytes, jb, length) == 0)
    return *cache->value;

  MemoryContext context = fcinfo->flinfo->fn_mcxt;
  if (!cache->callback_registered) {
    cache->callback.func = [](void* arg) {
      auto* owner = static_cast<CompiledCache<T>*>(arg);
      delete owner->value;
      owner->value = nullptr;
    };
    cache->callback.arg = cache;
    PgCall([&]() noexcept { MemoryContextRegisterResetCallback(context, &cache->callback); });
    cache->callback_registered = true;
  }
  delete cache->value;
  cache->value = nullptr;

  std::unique_ptr<T> built = build();
  if (cache->capacity < length) {
    cache->bytes = static_cast<char*>(
        PgCall([&]() noexcept { return MemoryContextAlloc(context, length); }));
    cache->capacity = length;
  }
  std::memcpy(cache->bytes, jb, length);
  cache->length = length;
  cache->value = built.release();
  return *cache->value;
}

}  // namespace llmeval::pg
