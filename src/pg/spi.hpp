// SPI from C++ for the background workers: transactions, prepared
// statements, typed reads and array parameters, every Postgres call inside
// PgCall (see guard.hpp). Values are copied into C++ objects right away, so
// nothing refers to memory SPI frees at the end of the transaction.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "pg/guard.hpp"

namespace llmeval::pg::spi {

using Uuid = std::array<uint8_t, UUID_LEN>;

// Starts a transaction with SPI connected and a snapshot pushed.
void Begin();
// Commits what Begin started.
void Commit();
// Aborts whatever transaction is open (after an exception); never throws.
void AbortQuietly() noexcept;

// Runs fn between Begin and Commit; on an exception (from fn or from the
// commit) aborts and rethrows.
template <typename Fn>
void InTransaction(Fn&& fn) {
  Begin();
  try {
    fn();
    Commit();  // which can fail too (a deferred trigger, a serialisation failure)
  } catch (...) {
    AbortQuietly();
    throw;
  }
}

// Thrown by InExtensionTransaction when the extension does not exist (any
// more): nothing of it is left to work on.
class ExtensionGone : public std::runtime_error {
 public:
  ExtensionGone() : std::runtime_error("the extension pg_llmeval is not installed") {}
};

// Takes a share lock on the extension pg_llmeval until the end of the
// transaction; false when it does not exist, or was dropped while this
// waited. DROP EXTENSION locks the extension before any of its tables, so
// a transaction that holds this lock first is waited for, instead of taking
// a table lock that DROP holds while DROP waits for another it holds: a
// deadlock, which Postgres resolves by failing the DROP.
bool LockExtension();

// InTransaction for work on the extension's tables: with the extension
// locked first (LockExtension), or ExtensionGone.
template <typename Fn>
void InExtensionTransaction(Fn&& fn) {
  InTransaction([&] {
    if (!LockExtension()) throw ExtensionGone();
    fn();
  });
}

// A statement prepared once per process (SPI_keepplan) and run with
// parameters.
class Statement {
 public:
  Statement(const char* sql, std::vector<Oid> argtypes) : sql_(sql), argtypes_(std::move(argtypes)) {}
  // Runs it; the result is in SPI_tuptable / SPI_processed until the next.
  uint64_t Execute(const std::vector<Datum>& values, const std::vector<char>& nulls = {});

 private:
  const char* sql_;
  std::vector<Oid> argtypes_;
  SPIPlanPtr plan_ = nullptr;
};

// Reads column col (1-based) of row of the last result.
bool IsNull(uint64_t row, int col);
int64_t Int64(uint64_t row, int col);   // int8, int4
double Float8(uint64_t row, int col);  // float8
bool Bool(uint64_t row, int col);
std::string Text(uint64_t row, int col);  // text, or "" for NULL
std::string JsonText(uint64_t row, int col);  // jsonb as text
Uuid UuidValue(uint64_t row, int col);
std::vector<std::string> TextArray(uint64_t row, int col);
std::vector<int64_t> Int64Array(uint64_t row, int col);

// Parameters (palloc'd in the current memory context).
Datum TextDatum(const std::string& s);
Datum Int64ArrayDatum(const std::vector<int64_t>& values);
Datum Int32ArrayDatum(const std::vector<int32_t>& values);
Datum Float8ArrayDatum(const std::vector<double>& values, const std::vector<bool>& nulls = {});
Datum BoolArrayDatum(const std::vector<bool>& values);
Datum TextArrayDatum(const std::vector<std::string>& values, const std::vector<bool>& nulls = {});
Datum UuidArrayDatum(const std::vector<Uuid>& values);
Datum ByteaArrayDatum(const std::vector<std::string>& values, const std::vector<bool>& nulls = {});

}  // namespace llmeval::pg::spi
