#include <cstring>
#include <string>

#include "core/error.hpp"
// Postgres headers after core headers (see core/cpp_only.hpp).
#include "pg/args.hpp"

namespace llmeval::pg {

namespace {

// The core works on UTF-8. In a UTF8 (or SQL_ASCII) database the bytes are
// used as they are; otherwise they are converted, which may ereport.
std::string_view ToUtf8(const char* data, int len) {
  const int encoding = GetDatabaseEncoding();
  if (encoding == PG_UTF8 || encoding == PG_SQL_ASCII) return {data, static_cast<std::size_t>(len)};
  const char* converted = PgCall([&]() noexcept {
    return static_cast<const char*>(pg_server_to_any(data, len, PG_UTF8));
  });
  return converted == data ? std::string_view(data, len) : std::string_view(converted);
}

}  // namespace

std::string_view TextArg(FunctionCallInfo fcinfo, int n) {
  text* t = PgCall([&]() noexcept { return PG_GETARG_TEXT_PP(n); });
  return ToUtf8(VARDATA_ANY(t), static_cast<int>(VARSIZE_ANY_EXHDR(t)));
}

std::optional<std::string_view> OptionalTextArg(FunctionCallInfo fcinfo, int n) {
  if (PG_ARGISNULL(n)) return std::nullopt;
  return TextArg(fcinfo, n);
}

void TextArrayArg(FunctionCallInfo fcinfo, int n, const char* what,
                  std::vector<std::string_view>& out) {
  out.clear();
  ArrayType* array = PgCall([&]() noexcept { return PG_GETARG_ARRAYTYPE_P(n); });
  if (ARR_NDIM(array) > 1)
    throw core::Error(core::ErrorKind::kArraySubscriptError,
                      std::string(what) + " must be a one-dimensional array");
  Datum* elements;
  bool* nulls;
  int count;
  PgCall([&]() noexcept {
    deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT, &elements, &nulls, &count);
  });
  out.reserve(count);
  for (int i = 0; i < count; ++i) {
    if (nulls[i])
      throw core::Error(core::ErrorKind::kNullValueNotAllowed,
                        std::string(what) + " must not contain NULL elements",
                        "Element " + std::to_string(i + 1) + " is NULL.");
    text* t = PgCall([&]() noexcept { return DatumGetTextPP(elements[i]); });
    out.push_back(ToUtf8(VARDATA_ANY(t), static_cast<int>(VARSIZE_ANY_EXHDR(t))));
  }
}

void ReferencesArg(FunctionCallInfo fcinfo, int n, bool is_array,
                   std::vector<std::string_view>& refs) {
  if (is_array) {
    TextArrayArg(fcinfo, n, "reference", refs);
  } else {
    refs.assign(1, TextArg(fcinfo, n));
  }
}

bool ArgIsTextArray(FunctionCallInfo fcinfo, int n) {
  return PgCall([&]() noexcept { return get_fn_expr_argtype(fcinfo->flinfo, n); }) == TEXTARRAYOID;
}

Float4Array Float4ArrayArg(FunctionCallInfo fcinfo, int n, const char* what) {
  ArrayType* array = PgCall([&]() noexcept { return PG_GETARG_ARRAYTYPE_P(n); });
  if (ARR_NDIM(array) > 1)
    throw core::Error(core::ErrorKind::kArraySubscriptError,
                      std::string(what) + " must be a one-dimensional array");
  if (ARR_HASNULL(array) && PgCall([&]() noexcept { return array_contains_nulls(array); }))
    throw core::Error(core::ErrorKind::kNullValueNotAllowed,
                      std::string(what) + " must not contain NULL elements");
  const int count = ARR_NDIM(array) == 0 ? 0 : ARR_DIMS(array)[0];
  return {reinterpret_cast<const float*>(ARR_DATA_PTR(array)), static_cast<std::size_t>(count)};
}

std::string_view JsonbArgAsText(FunctionCallInfo fcinfo, int n) {
  const char* json = PgCall([&]() noexcept {
    Jsonb* jb = PG_GETARG_JSONB_P(n);
    return static_cast<const char*>(JsonbToCString(nullptr, &jb->root, VARSIZE(jb)));
  });
  return ToUtf8(json, static_cast<int>(std::strlen(json)));
}

Datum JsonbFromText(std::string_view json) {
  // jsonb_in needs a NUL-terminated string in the server encoding.
  return PgCall([&]() noexcept {
    char* utf8 = pnstrdup(json.data(), json.size());
    char* server = pg_any_to_server(utf8, static_cast<int>(json.size()), PG_UTF8);
    return DirectFunctionCall1(jsonb_in, CStringGetDatum(server));
  });
}

Datum TextResult(std::string_view s) {
  return PgCall([&]() noexcept {
    const int len = static_cast<int>(s.size());
    char* server = pg_any_to_server(s.data(), len, PG_UTF8);
    // Without a conversion the input comes back as is, not NUL-terminated.
    return PointerGetDatum(server == s.data() ? cstring_to_text_with_len(server, len)
                                              : cstring_to_text(server));
  });
}

Datum TextArrayResult(const std::vector<std::string>& values) {
  Datum* elements = PgCall([&]() noexcept {
    return static_cast<Datum*>(palloc(sizeof(Datum) * (values.empty() ? 1 : values.size())));
  });
  for (std::size_t i = 0; i < values.size(); ++i) elements[i] = TextResult(values[i]);
  return PgCall([&]() noexcept {
    return PointerGetDatum(
        construct_array(elements, static_cast<int>(values.size()), TEXTOID, -1, false, TYPALIGN_INT));
  });
}

namespace {

[[noreturn]] void ThrowNullOption(const char* name) {
  throw core::Error(core::ErrorKind::kInvalidParameterValue,
                    std::string(name) + " must not be NULL", {},
                    std::string("Omit ") + name + " to use its default.");
}

}  // namespace

bool RequiredBoolArg(FunctionCallInfo fcinfo, int n, const char* name) {
  if (PG_ARGISNULL(n)) ThrowNullOption(name);
  return PG_GETARG_BOOL(n);
}

int RequiredIntArg(FunctionCallInfo fcinfo, int n, const char* name) {
  if (PG_ARGISNULL(n)) ThrowNullOption(name);
  return PG_GETARG_INT32(n);
}

}  // namespace llmeval::pg
