// Aggregate states for the corpus metrics. A state is a trivially copyable
// struct in the aggregate's memory context: Postgres frees that context
// without running destructors, and parallel aggregation ships states between
// processes of the same server binary as raw bytes (serialize/deserialize).
#pragma once

#include <cstring>
#include <string>
#include <type_traits>

#include "core/error.hpp"
// Postgres headers after core headers (see core/cpp_only.hpp).
#include "pg/guard.hpp"

namespace llmeval::pg {

inline MemoryContext AggregateContext(FunctionCallInfo fcinfo, const char* fn) {
  MemoryContext context = nullptr;
  if (!AggCheckCallContext(fcinfo, &context))
    throw core::Error(core::ErrorKind::kInternal,
                      std::string(fn) + " called in non-aggregate context");
  return context;
}

// The state in argument 0, created zeroed on the first row.
template <typename State>
State* GetOrCreateState(FunctionCallInfo fcinfo, const char* fn) {
  static_assert(std::is_trivially_copyable_v<State> && std::is_trivially_destructible_v<State>);
  if (!PG_ARGISNULL(0)) return reinterpret_cast<State*>(PG_GETARG_POINTER(0));
  MemoryContext context = AggregateContext(fcinfo, fn);
  void* memory = PgCall([&]() noexcept { return MemoryContextAllocZero(context, sizeof(State)); });
  return new (memory) State();
}

template <typename State>
const State* StateArg(FunctionCallInfo fcinfo, int n) {
  return PG_ARGISNULL(n) ? nullptr : reinterpret_cast<const State*>(PG_GETARG_POINTER(n));
}

template <typename State>
Datum SerializeState(FunctionCallInfo fcinfo) {
  const State* state = reinterpret_cast<const State*>(PG_GETARG_POINTER(0));
  return PgCall([&]() noexcept {
    bytea* out = static_cast<bytea*>(palloc(VARHDRSZ + sizeof(State)));
    SET_VARSIZE(out, VARHDRSZ + sizeof(State));
    std::memcpy(VARDATA(out), state, sizeof(State));
    return PointerGetDatum(out);
  });
}

template <typename State>
Datum DeserializeState(FunctionCallInfo fcinfo, const char* fn) {
  MemoryContext context = AggregateContext(fcinfo, fn);
  bytea* in = PgCall([&]() noexcept { return PG_GETARG_BYTEA_PP(0); });
  if (VARSIZE_ANY_EXHDR(in) != sizeof(State))
    throw core::Error(core::ErrorKind::kInvalidTextRepresentation,
                      std::string("invalid serialized state for ") + fn);
  void* memory = PgCall([&]() noexcept { return MemoryContextAlloc(context, sizeof(State)); });
  std::memcpy(memory, VARDATA_ANY(in), sizeof(State));
  return PointerGetDatum(memory);
}

// Per-call cache in fn_extra, allocated in fn_mcxt: survives across the rows
// of one query. T must be trivially destructible for the same reason.
template <typename T>
T* FnCache(FunctionCallInfo fcinfo) {
  static_assert(std::is_trivially_destructible_v<T>);
  if (fcinfo->flinfo->fn_extra == nullptr) {
    void* memory = PgCall([&]() noexcept {
      return MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(T));
    });
    fcinfo->flinfo->fn_extra = new (memory) T();
  }
  return static_cast<T*>(fcinfo->flinfo->fn_extra);
}

}  // namespace llmeval::pg
