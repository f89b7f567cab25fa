#include <cstring>

#include "core/error.hpp"
// Postgres headers after core headers (see core/cpp_only.hpp).
#include "pg/spi.hpp"

namespace llmeval::pg::spi {

void Begin() {
  PgCall([]() noexcept {
    SetCurrentStatementStartTimestamp();
    StartTransactionCommand();
    SPI_connect();
    PushActiveSnapshot(GetTransactionSnapshot());
  });
}

void Commit() {
  PgCall([]() noexcept {
    SPI_finish();
    PopActiveSnapshot();
  });
  // A commit can fail (a deferred trigger, a serialisation failure, a full
  // NOTIFY queue), and PgCall copies the error into the memory context
  // current at its entry: here neither SPI's, which SPI_finish deleted, nor
  // the transaction's, which the abort that follows deletes.
  // (Committed, the current context is TopMemoryContext anyway.)
  MemoryContextSwitchTo(TopMemoryContext);
  PgCall([]() noexcept { CommitTransactionCommand(); });
  PgCall([]() noexcept { pgstat_report_stat(false); });
}

void AbortQuietly() noexcept {
  try {
    PgCall([]() noexcept {
      if (IsTransactionState() || IsAbortedTransactionBlockState() || IsTransactionOrTransactionBlock())
        AbortCurrentTransaction();
    });
  } catch (...) {
    // Nothing more can be done here; the worker's loop starts over.
  }
}

bool LockExtension() {
  return PgCall([]() noexcept {
    const Oid extension = get_extension_oid("pg_llmeval", true);
    if (!OidIsValid(extension)) return false;
    LockDatabaseObject(ExtensionRelationId, extension, 0, AccessShareLock);
    // (taking the lock processed the invalidations of a DROP that committed
    // while this waited: the catalog lookup sees it)
    return get_extension_oid("pg_llmeval", true) == extension;
  });
}

uint64_t Statement::Execute(const std::vector<Datum>& values, const std::vector<char>& nulls) {
  if (values.size() != argtypes_.size())
    throw core::Error(core::ErrorKind::kInternal, "wrong number of SPI arguments");
  if (plan_ == nullptr) {
    plan_ = PgCall([&]() noexcept {
      SPIPlanPtr plan = SPI_prepare(sql_, static_cast<int>(argtypes_.size()),
                                    const_cast<Oid*>(argtypes_.data()));
      if (plan == nullptr)
        elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
      SPI_keepplan(plan);
      return plan;
    });
  }
  std::vector<char> n = nulls;
  n.resize(values.size(), ' ');
  n.push_back('\0');
  return PgCall([&]() noexcept -> uint64_t {
    const int rc = SPI_execute_plan(plan_, const_cast<Datum*>(values.data()), n.data(), false, 0);
    if (rc < 0) elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(rc));
    return SPI_processed;
  });
}

namespace {

Datum Value(uint64_t row, int col, bool& isnull) {
  return PgCall([&]() noexcept {
    return SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, &isnull);
  });
}

}  // namespace

bool IsNull(uint64_t row, int col) {
  bool isnull = false;
  Value(row, col, isnull);
  return isnull;
}

int64_t Int64(uint64_t row, int col) {
  bool isnull = false;
  const Datum d = Value(row, col, isnull);
  if (isnull) return 0;
  const Oid type = PgCall([&]() noexcept { return SPI_gettypeid(SPI_tuptable->tupdesc, col); });
  return type == INT4OID ? DatumGetInt32(d) : DatumGetInt64(d);
}

double Float8(uint64_t row, int col) {
  bool isnull = false;
  const Datum d = Value(row, col, isnull);
  return isnull ? 0 : DatumGetFloat8(d);
}

bool Bool(uint64_t row, int col) {
  bool isnull = false;
  const Datum d = Value(row, col, isnull);
  return !isnull && DatumGetBool(d);
}

std::string Text(uint64_t row, int col) {
  bool isnull = false;
  const Datum d = Value(row, col, isnull);
  if (isnull) return {};
  const text* t = PgCall([&]() noexcept { return DatumGetTextPP(d); });
  return std::string(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
}

std::string JsonText(uint64_t row, int col) {
  bool isnull = false;
  const Datum d = Value(row, col, isnull);
  if (isnull) return "null";
  const char* s = PgCall([&]() noexcept {
    Jsonb* jb = DatumGetJsonbP(d);
    return static_cast<const char*>(JsonbToCString(nullptr, &jb->root, VARSIZE(jb)));
  });
  return std::string(s);
}

Uuid UuidValue(uint64_t row, int col) {
  bool isnull = false;
  const Datum d = Value(row, col, isnull);
  Uuid out{};
  if (!isnull) std::memcpy(out.data(), DatumGetUUIDP(d)->data, UUID_LEN);
  return out;
}

std::vector<std::string> TextArray(uint64_t row, int col) {
  bool isnull = false;
  const Datum d = Value(row, col, isnull);
  std::vector<std::string> out;
  if (isnull) return out;
  Datum* elements;
  bool* nulls;
  int count;
  PgCall([&]() noexcept {
    deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT, &elements, &nulls,
                      &count);
  });
  for (int i = 0; i < count; ++i) {
    if (nulls[i]) continue;
    const text* t = PgCall([&]() noexcept { return DatumGetTextPP(elements[i]); });
    out.emplace_back(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
  }
  return out;
}

std::vector<int64_t> Int64Array(uint64_t row, int col) {
  bool isnull = false;
  const Datum d = Value(row, col, isnull);
  std::vector<int64_t> out;
  if (isnull) return out;
  Datum* elements;
  bool* nulls;
  int count;
  PgCall([&]() noexcept {
    deconstruct_array(DatumGetArrayTypeP(d), INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
                      &elements, &nulls, &count);
  });
  for (int i = 0; i < count; ++i)
    if (!nulls[i]) out.push_back(DatumGetInt64(elements[i]));
  return out;
}

namespace {

// A one-dimensional array of n elements made by make(i) (NULL where null(i)).
template <typename Make, typename IsNullFn>
Datum MakeArray(std::size_t n, Oid type, int16 typlen, bool byval, char align, Make make,
                IsNullFn null) {
  Datum* elements =
      PgCall([&]() noexcept { return static_cast<Datum*>(palloc(sizeof(Datum) * (n + 1))); });
  bool* nulls = PgCall([&]() noexcept { return static_cast<bool*>(palloc(sizeof(bool) * (n + 1))); });
  for (std::size_t i = 0; i < n; ++i) {
    nulls[i] = null(i);
    elements[i] = nulls[i] ? Datum(0) : make(i);
  }
  return PgCall([&]() noexcept {
    int dims[1] = {static_cast<int>(n)};
    int lbs[1] = {1};
    return PointerGetDatum(
        construct_md_array(elements, nulls, 1, dims, lbs, type, typlen, byval, align));
  });
}

}  // namespace

Datum TextDatum(const std::string& s) {
  return PgCall([&]() noexcept {
    return PointerGetDatum(cstring_to_text_with_len(s.data(), static_cast<int>(s.size())));
  });
}

Datum Int64ArrayDatum(const std::vector<int64_t>& values) {
  return MakeArray(values.size(), INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
                   [&](std::size_t i) { return Int64GetDatum(values[i]); },
                   [](std::size_t) { return false; });
}

Datum Int32ArrayDatum(const std::vector<int32_t>& values) {
  return MakeArray(values.size(), INT4OID, 4, true, TYPALIGN_INT,
                   [&](std::size_t i) { return Int32GetDatum(values[i]); },
                   [](std::size_t) { return false; });
}

Datum Float8ArrayDatum(const std::vector<double>& values, const std::vector<bool>& nulls) {
  return MakeArray(values.size(), FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
                   [&](std::size_t i) { return Float8GetDatum(values[i]); },
                   [&](std::size_t i) { return i < nulls.size() && nulls[i]; });
}

Datum BoolArrayDatum(const std::vector<bool>& values) {
  return MakeArray(values.size(), BOOLOID, 1, true, TYPALIGN_CHAR,
                   [&](std::size_t i) { return BoolGetDatum(values[i]); },
                   [](std::size_t) { return false; });
}

Datum TextArrayDatum(const std::vector<std::string>& values, const std::vector<bool>& nulls) {
  return MakeArray(values.size(), TEXTOID, -1, false, TYPALIGN_INT,
                   [&](std::size_t i) { return TextDatum(values[i]); },
                   [&](std::size_t i) { return i < nulls.size() && nulls[i]; });
}

Datum UuidArrayDatum(const std::vector<Uuid>& values) {
  return MakeArray(values.size(), UUIDOID, UUID_LEN, false, TYPALIGN_CHAR,
                   [&](std::size_t i) {
                     return PgCall([&]() noexcept {
                       auto* u = static_cast<pg_uuid_t*>(palloc(sizeof(pg_uuid_t)));
                       std::memcpy(u->data, values[i].data(), UUID_LEN);
                       return UUIDPGetDatum(u);
                     });
                   },
                   [](std::size_t) { return false; });
}

Datum ByteaArrayDatum(const std::vector<std::string>& values, const std::vector<bool>& nulls) {
  // bytea and text share their representation.
  return MakeArray(values.size(), BYTEAOID, -1, false, TYPALIGN_INT,
                   [&](std::size_t i) { return TextDatum(values[i]); },
                   [&](std::size_t i) { return i < nulls.size() && nulls[i]; });
}

}  // namespace llmeval::pg::spi
