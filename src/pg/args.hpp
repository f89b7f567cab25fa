// Reading SQL arguments into C++ values and building results, every
// Postgres call inside PgCall. Text is handed to the core as UTF-8
// string_views into detoasted (palloc'd) memory, valid for the call.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pg/guard.hpp"

namespace llmeval::pg {

inline bool ArgIsNull(FunctionCallInfo fcinfo, int n) { return PG_ARGISNULL(n); }

// A non-NULL text argument as UTF-8.
std::string_view TextArg(FunctionCallInfo fcinfo, int n);

// A text option: NULL means the default.
std::optional<std::string_view> OptionalTextArg(FunctionCallInfo fcinfo, int n);

// A one-dimensional text[] with no NULL element (errors otherwise);
// `what` names the argument in error messages.
void TextArrayArg(FunctionCallInfo fcinfo, int n, const char* what,
                  std::vector<std::string_view>& out);

// The reference argument of a metric: text (one reference) or text[].
void ReferencesArg(FunctionCallInfo fcinfo, int n, bool is_array,
                   std::vector<std::string_view>& refs);

// Whether argument n is declared text[] (for C functions bound to both the
// text and the text[] SQL signatures).
bool ArgIsTextArray(FunctionCallInfo fcinfo, int n);

// A non-NULL boolean option, or `fallback` when NULL.
inline bool BoolArgOr(FunctionCallInfo fcinfo, int n, bool fallback) {
  return PG_ARGISNULL(n) ? fallback : PG_GETARG_BOOL(n);
}

// A non-NULL int4 option, or `fallback` when NULL.
inline int IntArgOr(FunctionCallInfo fcinfo, int n, int fallback) {
  return PG_ARGISNULL(n) ? fallback : PG_GETARG_INT32(n);
}

// A boolean option that has no "NULL means the default" meaning (the
// sacrebleu options added after that rule: their SQL defaults are already
// sacrebleu's); NULL is an error (22023) naming the option.
bool RequiredBoolArg(FunctionCallInfo fcinfo, int n, const char* name);

// The same for an int4 option.
int RequiredIntArg(FunctionCallInfo fcinfo, int n, const char* name);

// A one-dimensional float4[] with no NULL element, as a pointer to its
// elements and their count; `what` names the argument in errors.
struct Float4Array {
  const float* data;
  std::size_t size;
};
Float4Array Float4ArrayArg(FunctionCallInfo fcinfo, int n, const char* what);

// The text of a jsonb argument (for options parsed by the core).
std::string_view JsonbArgAsText(FunctionCallInfo fcinfo, int n);

// Builds a jsonb Datum from JSON text.
Datum JsonbFromText(std::string_view json);

// Returns a text[] Datum of the strings (UTF-8, converted to the server
// encoding).
Datum TextArrayResult(const std::vector<std::string>& values);

// Returns a text Datum holding `s` (UTF-8, converted to the server encoding).
Datum TextResult(std::string_view s);

}  // namespace llmeval::pg
