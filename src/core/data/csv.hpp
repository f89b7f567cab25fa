// RFC 4180 CSV records, read and written the way PostgreSQL's COPY ... CSV
// does: a field is quoted or not, and an unquoted empty field (nothing
// between the separators) is distinct from a quoted empty one (""), so a
// reader can tell "absent" from "empty string".
//
// The reader is strict: every deviation from RFC 4180 that would make the
// data ambiguous is an Error of kind kBadFileFormat whose message names the
// 1-based physical line ("invalid CSV at line 3: unterminated quoted field").
// Accepted leniencies: LF as well as CRLF line ends, a last record with or
// without a line end, and a UTF-8 byte order mark at the start.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace llmeval::core::data {

struct CsvField {
  // The unescaped value; valid until the next ReadRecord call.
  std::string_view value;
  // Whether the field was enclosed in double quotes.
  bool quoted = false;
  // Physical line (1-based) where the field starts.
  std::size_t line = 0;

  // An unquoted empty field: COPY's NULL.
  bool absent() const noexcept { return !quoted && value.empty(); }
};

class CsvReader {
 public:
  // Checks that the input is valid UTF-8 without NUL bytes (throws
  // otherwise) and skips a leading byte order mark. The input must outlive
  // the reader.
  explicit CsvReader(std::string_view input);

  // Reads the next record into `fields` (at least one field); false at the
  // end of the input. A line end right before the end of the input ends the
  // last record, it does not start an empty one.
  bool ReadRecord(std::vector<CsvField>& fields);

  // Physical line where the last record read starts.
  std::size_t record_line() const noexcept { return record_line_; }

 private:
  // Where a value that needed unescaping lives in scratch_, which may move
  // while the record is read; fixed up into fields at its end.
  struct ScratchValue {
    std::size_t field;
    std::size_t offset;
    std::size_t length;
  };

  std::string_view input_;
  std::size_t pos_ = 0;
  std::size_t line_ = 1;
  std::size_t record_line_ = 0;
  std::string scratch_;
  std::vector<ScratchValue> scratch_values_;
};

// Throws the reader's kBadFileFormat error for problems found above the
// record level (wrong field count, a bad header or value).
[[noreturn]] void ThrowCsvError(std::size_t line, const std::string& what, std::string detail = {},
                                std::string hint = {});

// Appends CSV records to a string, RFC 4180 style: fields separated by
// commas, records ended by CRLF, a field quoted when it must be (a comma,
// quote, CR or LF inside) or when quoting keeps it unambiguous (empty,
// leading or trailing blank, a leading U+FEFF that would pass for a byte
// order mark).
class CsvWriter {
 public:
  explicit CsvWriter(std::string& out) : out_(out) {}

  void Field(std::string_view value);
  // An unquoted empty field: read back as absent.
  void AbsentField() { Separator(); }
  void EndRecord() {
    out_ += "\r\n";
    first_ = true;
  }

 private:
  void Separator() {
    if (!first_) out_.push_back(',');
    first_ = false;
  }

  std::string& out_;
  bool first_ = true;
};

}  // namespace llmeval::core::data

#include "core/cpp_only.hpp"
