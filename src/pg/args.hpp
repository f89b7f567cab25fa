// Reading SQL arguments into C++ values and building results, every
// Postgres call inside PgCall. Text is handed to the core as UTF-8
// string_views into detoasted (palloc'd) memory, valid for the call.
#pragma once

#include <optional>
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

// The text of a jsonb argument (for options parsed by the core).
std::string_view JsonbArgAsText(FunctionCallInfo fcinfo, int n);

// Builds a jsonb Datum from JSON text.
Datum JsonbFromText(std::string_view json);

// Returns a text Datum holding `s` (UTF-8, converted to the server encoding).
Datum TextResult(std::string_view s);

}  // namespace llmeval::pg
