// Design: both directions stream. CSV -> JSON writes the JSON text directly
// while reading records (no JSON tree: a 30 MB file would be hundreds of
// thousands of small allocations), parsing only the metadata fields, with
// nlohmann's SAX parser, to check them and write them compactly.
// JSON -> CSV reads the array with nlohmann's SAX parser into one string
// arena plus (column, offset, length) cells, because the header (the input
// columns in order of first appearance) is only known at the end; then it
// writes the records. Nested values are re-emitted from SAX events, which
// keeps the text of non-integer numbers as written (a JSON tree would round
// them to double).
#include "core/data/dataset_csv.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/data/csv.hpp"
#include "core/error.hpp"

namespace llmeval::core::data {

namespace {

using Json = nlohmann::json;

constexpr std::array<bool, 256> MakeEscapeTable() {
  std::array<bool, 256> table{};
  for (int c = 0; c < 0x20; ++c) table[c] = true;
  table['"'] = table['\\'] = true;
  return table;
}
constexpr std::array<bool, 256> kJsonEscape = MakeEscapeTable();

// s (valid UTF-8) as a JSON string literal, as nlohmann and jsonb read it.
void AppendJsonString(std::string& out, std::string_view s) {
  out.push_back('"');
  std::size_t run = 0;  // start of the text not yet copied
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (!kJsonEscape[c]) continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default: {
        static constexpr char kHex[] = "0123456789abcdef";
        const char esc[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
        out.append(esc, sizeof esc);
      }
    }
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

// nlohmann's messages start with "[json.exception.parse_error.101] ".
std::string JsonErrorDetail(const Json::exception& e) {
  std::string_view what = e.what();
  const std::size_t bracket = what.find("] ");
  if (!what.empty() && what.front() == '[' && bracket != std::string_view::npos)
    what.remove_prefix(bracket + 2);
  std::string detail(what);
  if (!detail.empty())
    detail[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(detail[0])));
  return detail + ".";
}

// Compact JSON text from SAX events, appended to `out`. Numbers that are not
// integer tokens keep the text they were written with.
class JsonCompactor {
 public:
  explicit JsonCompactor(std::string& out) : out_(out) {}

  // Starts a new value at the end of `out`.
  void Begin() {
    start_ = out_.size();
    depth_ = 0;
  }
  // Open objects and arrays.
  int depth() const noexcept { return depth_; }

  void Null() { Literal("null"); }
  void Boolean(bool v) { Literal(v ? "true" : "false"); }
  void Integer(int64_t v) { Literal(std::to_string(v)); }
  void Unsigned(uint64_t v) { Literal(std::to_string(v)); }
  void Literal(std::string_view text) {
    Comma();
    out_.append(text);
  }
  void String(std::string_view s) {
    Comma();
    AppendJsonString(out_, s);
  }
  void Key(std::string_view k) {
    Comma();
    AppendJsonString(out_, k);
    out_.push_back(':');
  }
  void Open(char bracket) {
    Comma();
    out_.push_back(bracket);
    ++depth_;
  }
  void Close(char bracket) {
    out_.push_back(bracket);
    --depth_;
  }

 private:
  // A comma goes before a value or key unless it opens its container or
  // follows its key.
  void Comma() {
    if (out_.size() == start_) return;
    const char last = out_.back();
    if (last != '{' && last != '[' && last != ':') out_.push_back(',');
  }

  std::string& out_;
  std::size_t start_ = 0;
  int depth_ = 0;
};

bool HasNul(std::string_view s) { return s.find('\0') != std::string_view::npos; }

// ---------------------------------------------------------------- CSV -> JSON

// SAX handler for a metadata field: a JSON object, written compactly.
class MetadataSax {
 public:
  enum class Problem { kNone, kSyntax, kNotObject, kNul };

  explicit MetadataSax(std::string& out) : json_(out) { json_.Begin(); }

  Problem problem() const noexcept { return problem_; }
  const std::string& detail() const noexcept { return detail_; }

  bool null() {
    if (!InsideObject("null")) return false;
    json_.Null();
    return true;
  }
  bool boolean(bool v) {
    if (!InsideObject("a boolean")) return false;
    json_.Boolean(v);
    return true;
  }
  bool number_integer(Json::number_integer_t v) {
    if (!InsideObject("a number")) return false;
    json_.Integer(v);
    return true;
  }
  bool number_unsigned(Json::number_unsigned_t v) {
    if (!InsideObject("a number")) return false;
    json_.Unsigned(v);
    return true;
  }
  bool number_float(Json::number_float_t, const Json::string_t& raw) {
    if (!InsideObject("a number")) return false;
    json_.Literal(raw);
    return true;
  }
  bool string(Json::string_t& s) {
    if (!InsideObject("a string") || !NoNul(s)) return false;
    json_.String(s);
    return true;
  }
  bool binary(Json::binary_t&) { return false; }
  bool key(Json::string_t& k) {
    if (!NoNul(k)) return false;
    json_.Key(k);
    return true;
  }
  bool start_object(std::size_t) {
    json_.Open('{');
    return true;
  }
  bool end_object() {
    json_.Close('}');
    return true;
  }
  bool start_array(std::size_t) {
    if (!InsideObject("an array")) return false;
    json_.Open('[');
    return true;
  }
  bool end_array() {
    json_.Close(']');
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const Json::exception& e) {
    problem_ = Problem::kSyntax;
    detail_ = JsonErrorDetail(e);
    return false;
  }

 private:
  // Whether a value of this type is inside the top-level object (else the
  // metadata is not an object).
  bool InsideObject(const char* type) {
    if (json_.depth() > 0) return true;
    problem_ = Problem::kNotObject;
    detail_ = std::string("The value is ") + type + ".";
    return false;
  }
  bool NoNul(std::string_view s) {
    if (!HasNul(s)) return true;
    problem_ = Problem::kNul;
    return false;
  }

  JsonCompactor json_;
  Problem problem_ = Problem::kNone;
  std::string detail_;
};

void AppendMetadata(std::string& out, const CsvField& field) {
  MetadataSax sax(out);
  if (Json::sax_parse(field.value, &sax)) return;
  switch (sax.problem()) {
    case MetadataSax::Problem::kSyntax:
      ThrowCsvError(field.line, "metadata is not valid JSON", sax.detail(),
                    "Leave the metadata field empty for no metadata.");
    case MetadataSax::Problem::kNotObject:
      ThrowCsvError(field.line, "metadata must be a JSON object", sax.detail(),
                    "Leave the metadata field empty for no metadata.");
    case MetadataSax::Problem::kNul:
      ThrowCsvError(field.line, "metadata contains the character \\u0000",
                    "PostgreSQL text and jsonb cannot hold it.");
    case MetadataSax::Problem::kNone:
      break;
  }
  throw Error(ErrorKind::kInternal, "metadata parser stopped without a reason");
}

std::string Count(std::size_t n, const char* noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

enum class ColumnKind { kInput, kExpected, kContext, kMetadata };

ColumnKind KindOfColumn(std::string_view name) {
  if (name == "expected") return ColumnKind::kExpected;
  if (name == "context") return ColumnKind::kContext;
  if (name == "metadata") return ColumnKind::kMetadata;
  return ColumnKind::kInput;
}

// ---------------------------------------------------------------- JSON -> CSV

struct Span {
  std::size_t offset = 0;
  std::size_t length = 0;
  bool present = false;
};

// One input value of a test case, in the arena.
struct Cell {
  std::size_t column;
  std::size_t offset;
  std::size_t length;
};

struct Case {
  std::size_t cells_end = 0;  // its cells are [previous case's cells_end, cells_end)
  Span expected, context, metadata;
};

// SAX handler collecting the test cases of a dataset array.
class DatasetSax {
 public:
  // Everything the cells and spans point into.
  std::string arena;
  std::vector<Cell> cells;
  std::vector<Case> cases;
  std::vector<std::string> input_columns;  // in order of first appearance
  bool has_expected = false, has_context = false, has_metadata = false;

  bool done() const noexcept { return where_ == Where::kDone; }

  bool null() {
    return OtherScalar(
        "null", [&] { json_.Null(); }, /*is_null=*/true);
  }
  bool boolean(bool v) {
    return OtherScalar("a boolean", [&] { json_.Boolean(v); });
  }
  bool number_integer(Json::number_integer_t v) {
    return OtherScalar("a number", [&] { json_.Integer(v); });
  }
  bool number_unsigned(Json::number_unsigned_t v) {
    return OtherScalar("a number", [&] { json_.Unsigned(v); });
  }
  bool number_float(Json::number_float_t, const Json::string_t& raw) {
    return OtherScalar("a number", [&] { json_.Literal(raw); });
  }

  bool string(Json::string_t& s) {
    if (json_.depth() > 0) {
      CheckNul(s);
      json_.String(s);
      return true;
    }
    switch (where_) {
      case Where::kInput:
        CheckNul(s);
        cells.push_back({column_, arena.size(), s.size()});
        arena += s;
        return true;
      case Where::kCase:
        if (field_ == Field::kExpected || field_ == Field::kContext) {
          CheckNul(s);
          Span& span = field_ == Field::kExpected ? cases.back().expected : cases.back().context;
          span = {arena.size(), s.size(), true};
          arena += s;
          (field_ == Field::kExpected ? has_expected : has_context) = true;
          return true;
        }
        FieldTypeError("a string");
      default:
        ShapeError("a string");
    }
  }

  bool binary(Json::binary_t&) { return false; }

  bool key(Json::string_t& k) {
    CheckNul(k);
    if (json_.depth() > 0) {
      json_.Key(k);
      return true;
    }
    if (where_ == Where::kCase) {
      field_ = FieldOfKey(k);
      return true;
    }
    // An input field.
    if (k.empty())
      ShapeFail("input field with an empty name in test case " + CaseNumber() +
                    " cannot be written as CSV",
                "A CSV column name cannot be empty.");
    if (KindOfColumn(k) != ColumnKind::kInput)
      ShapeFail(
          "input field \"" + k + "\" of test case " + CaseNumber() + " cannot be written as CSV",
          "The CSV columns expected, context and metadata hold those fields of a test "
          "case, not input fields.");
    auto [it, inserted] = column_index_.try_emplace(k, input_columns.size());
    if (inserted) input_columns.push_back(k);
    column_ = it->second;
    return true;
  }

  bool start_object(std::size_t) {
    if (json_.depth() > 0) {
      json_.Open('{');
      return true;
    }
    switch (where_) {
      case Where::kCases:
        cases.emplace_back();
        cases.back().cells_end = cells.size();
        field_ = Field::kNone;
        where_ = Where::kCase;
        return true;
      case Where::kCase:
        if (field_ == Field::kInput) {
          where_ = Where::kInput;
          return true;
        }
        if (field_ == Field::kMetadata) {
          StartCapture('{');
          return true;
        }
        FieldTypeError("an object");
      case Where::kInput:
        StartCapture('{');
        return true;
      default:
        ShapeError("an object");
    }
  }

  bool end_object() {
    if (json_.depth() > 0) return CloseCaptured('}');
    if (where_ == Where::kInput) {
      where_ = Where::kCase;
    } else {  // kCase: the parser only ends objects it started
      cases.back().cells_end = cells.size();
      where_ = Where::kCases;
    }
    return true;
  }

  bool start_array(std::size_t) {
    if (json_.depth() > 0) {
      json_.Open('[');
      return true;
    }
    switch (where_) {
      case Where::kTop:
        where_ = Where::kCases;
        return true;
      case Where::kInput:
        StartCapture('[');
        return true;
      case Where::kCase:
        FieldTypeError("an array");
      default:
        ShapeError("an array");
    }
  }

  bool end_array() {
    if (json_.depth() > 0) return CloseCaptured(']');
    where_ = Where::kDone;  // the parser only ends arrays it started
    return true;
  }

  bool parse_error(std::size_t, const std::string&, const Json::exception& e) {
    throw Error(ErrorKind::kInvalidTextRepresentation, "invalid dataset JSON", JsonErrorDetail(e));
  }

 private:
  enum class Where { kTop, kCases, kCase, kInput, kDone };
  enum class Field { kNone, kInput, kExpected, kContext, kMetadata };

  std::string CaseNumber() const { return std::to_string(cases.size()); }

  [[noreturn]] static void ShapeFail(const std::string& message, std::string detail = {},
                                     std::string hint = {}) {
    throw Error(ErrorKind::kInvalidParameterValue, message, std::move(detail), std::move(hint));
  }

  // A value where the array of test cases or a test case should be.
  [[noreturn]] void ShapeError(const char* found) const {
    if (where_ == Where::kTop)
      ShapeFail("dataset must be a JSON array of test cases",
                std::string("The value is ") + found + ".");
    ShapeFail("test case " + std::to_string(cases.size() + 1) + " must be a JSON object",
              std::string("The value is ") + found + ".");
  }

  // A test case's field holding a value of the wrong type.
  [[noreturn]] void FieldTypeError(const char* found) const {
    const char* name = field_ == Field::kInput      ? "input"
                       : field_ == Field::kExpected ? "expected"
                       : field_ == Field::kContext  ? "context"
                                                    : "metadata";
    const char* want = field_ == Field::kExpected || field_ == Field::kContext
                           ? "a string or null"
                           : "a JSON object or null";
    ShapeFail(std::string("\"") + name + "\" of test case " + CaseNumber() + " must be " + want,
              std::string("The value is ") + found + ".");
  }

  Field FieldOfKey(const std::string& k) const {
    if (k == "input") return Field::kInput;
    if (k == "expected") return Field::kExpected;
    if (k == "context") return Field::kContext;
    if (k == "metadata") return Field::kMetadata;
    ShapeFail("unknown key \"" + k + "\" in test case " + CaseNumber(), {},
              "A test case has the keys input, expected, context and metadata.");
  }

  // Keys and strings inside a test case only.
  void CheckNul(std::string_view s) const {
    if (HasNul(s))
      ShapeFail("test case " + CaseNumber() + " contains the character \\u0000",
                "PostgreSQL text cannot hold it.");
  }

  // null, a boolean or a number (emit writes it to the compactor).
  template <typename Emit>
  bool OtherScalar(const char* type, Emit emit, bool is_null = false) {
    if (json_.depth() > 0) {
      emit();
      return true;
    }
    switch (where_) {
      case Where::kInput: {
        // Not a string: its JSON text becomes the field (the lossy case).
        json_.Begin();
        const std::size_t start = arena.size();
        emit();
        cells.push_back({column_, start, arena.size() - start});
        return true;
      }
      case Where::kCase:
        if (!is_null) FieldTypeError(type);
        // null is absent; the last of repeated keys counts, as in jsonb.
        if (field_ == Field::kExpected) cases.back().expected = {};
        if (field_ == Field::kContext) cases.back().context = {};
        if (field_ == Field::kMetadata) cases.back().metadata = {};
        return true;
      default:
        ShapeError(type);
    }
  }

  // A nested value (metadata, or an object or array as an input value) is
  // written compactly to the arena as it streams by.
  void StartCapture(char bracket) {
    capture_start_ = arena.size();
    json_.Begin();
    json_.Open(bracket);
  }

  bool CloseCaptured(char bracket) {
    json_.Close(bracket);
    if (json_.depth() > 0) return true;
    const std::size_t length = arena.size() - capture_start_;
    if (where_ == Where::kInput) {
      cells.push_back({column_, capture_start_, length});
    } else {
      cases.back().metadata = {capture_start_, length, true};
      has_metadata = true;
    }
    return true;
  }

  JsonCompactor json_{arena};
  Where where_ = Where::kTop;
  Field field_ = Field::kNone;
  std::size_t column_ = 0;  // of the input key just read
  std::size_t capture_start_ = 0;
  std::unordered_map<std::string, std::size_t> column_index_;
};

// Reads the header record into fields and checks the names: non-empty and
// distinct.
void ReadHeader(CsvReader& reader, std::vector<CsvField>& fields) {
  if (!reader.ReadRecord(fields))
    ThrowCsvError(1, "no header row",
                  "The input is empty; its first record must name the columns.");
  std::unordered_set<std::string_view> names;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const CsvField& f = fields[i];
    if (f.value.empty())
      ThrowCsvError(f.line, "empty column name",
                    "Column " + std::to_string(i + 1) + " of the header has no name.");
    if (!names.emplace(f.value).second)
      ThrowCsvError(f.line, "duplicate column name \"" + std::string(f.value) + "\"");
  }
}

}  // namespace

std::vector<std::string> CsvHeader(std::string_view csv) {
  CsvReader reader(csv);
  std::vector<CsvField> fields;
  ReadHeader(reader, fields);
  std::vector<std::string> names;
  for (const CsvField& f : fields) names.emplace_back(f.value);
  return names;
}

std::string DatasetJsonFromCsv(std::string_view csv) {
  CsvReader reader(csv);
  std::vector<CsvField> fields;
  ReadHeader(reader, fields);

  struct Column {
    ColumnKind kind;
    std::string key;  // "name": for an input column
  };
  std::vector<Column> columns;
  for (const CsvField& f : fields) {
    Column column{KindOfColumn(f.value), {}};
    if (column.kind == ColumnKind::kInput) {
      AppendJsonString(column.key, f.value);
      column.key.push_back(':');
    }
    columns.push_back(std::move(column));
  }

  std::string out;
  // JSON escaping and keys usually make the result a little larger.
  out.reserve(csv.size() + csv.size() / 2 + 16);
  out.push_back('[');
  bool first_case = true;
  while (reader.ReadRecord(fields)) {
    if (fields.size() != columns.size())
      ThrowCsvError(reader.record_line(), "wrong number of fields",
                    "The header has " + Count(columns.size(), "column") + " but this record has " +
                        Count(fields.size(), "field") + ".");
    if (!first_case) out.push_back(',');
    first_case = false;
    out += "{\"input\":{";
    bool first_input = true;
    for (std::size_t i = 0; i < columns.size(); ++i) {
      if (columns[i].kind != ColumnKind::kInput || fields[i].absent()) continue;
      if (!first_input) out.push_back(',');
      first_input = false;
      out += columns[i].key;
      AppendJsonString(out, fields[i].value);
    }
    out.push_back('}');
    // expected, context, metadata in this order, whatever the column order.
    for (ColumnKind kind : {ColumnKind::kExpected, ColumnKind::kContext, ColumnKind::kMetadata}) {
      for (std::size_t i = 0; i < columns.size(); ++i) {
        if (columns[i].kind != kind || fields[i].absent()) continue;
        if (kind == ColumnKind::kExpected) {
          out += ",\"expected\":";
          AppendJsonString(out, fields[i].value);
        } else if (kind == ColumnKind::kContext) {
          out += ",\"context\":";
          AppendJsonString(out, fields[i].value);
        } else {
          out += ",\"metadata\":";
          AppendMetadata(out, fields[i]);
        }
      }
    }
    out.push_back('}');
  }
  out.push_back(']');
  return out;
}

namespace {

// A column of the exported CSV: an input field (by its index in
// DatasetSax::input_columns) or one of expected, context, metadata.
struct OutputColumn {
  ColumnKind kind;
  std::size_t input;
};

std::vector<OutputColumn> OutputColumns(const DatasetSax& sax, bool write_expected,
                                        const std::vector<std::string>& column_order) {
  std::vector<OutputColumn> all;
  for (std::size_t i = 0; i < sax.input_columns.size(); ++i) all.push_back({ColumnKind::kInput, i});
  if (write_expected) all.push_back({ColumnKind::kExpected, 0});
  if (sax.has_context) all.push_back({ColumnKind::kContext, 0});
  if (sax.has_metadata) all.push_back({ColumnKind::kMetadata, 0});
  if (column_order.empty()) return all;

  auto name_of = [&](const OutputColumn& c) -> std::string_view {
    switch (c.kind) {
      case ColumnKind::kExpected: return "expected";
      case ColumnKind::kContext: return "context";
      case ColumnKind::kMetadata: return "metadata";
      default: return sax.input_columns[c.input];
    }
  };
  std::vector<OutputColumn> ordered;
  std::vector<bool> taken(all.size(), false);
  for (const std::string& name : column_order) {
    for (std::size_t i = 0; i < all.size(); ++i) {
      if (!taken[i] && name_of(all[i]) == name) {
        ordered.push_back(all[i]);
        taken[i] = true;
        break;
      }
    }
  }
  for (std::size_t i = 0; i < all.size(); ++i)
    if (!taken[i]) ordered.push_back(all[i]);
  return ordered;
}

}  // namespace

std::string CsvFromDatasetJson(std::string_view json, const std::vector<std::string>& column_order) {
  DatasetSax sax;
  if (!Json::sax_parse(json, &sax) || !sax.done())
    throw Error(ErrorKind::kInternal, "dataset JSON parser stopped early");

  std::string out;
  out.reserve(sax.arena.size() + sax.arena.size() / 8 +
              (sax.cells.size() + 4 * sax.cases.size()) * 3 + 64);
  CsvWriter writer(out);
  const bool no_columns =
      sax.input_columns.empty() && !sax.has_expected && !sax.has_context && !sax.has_metadata;
  // A record has at least one field: a dataset without any gets an
  // (all absent) expected column, which reads back as no expected value.
  const bool write_expected = sax.has_expected || no_columns;
  const std::vector<OutputColumn> columns = OutputColumns(sax, write_expected, column_order);
  for (const OutputColumn& c : columns) {
    switch (c.kind) {
      case ColumnKind::kExpected: writer.Field("expected"); break;
      case ColumnKind::kContext: writer.Field("context"); break;
      case ColumnKind::kMetadata: writer.Field("metadata"); break;
      default: writer.Field(sax.input_columns[c.input]); break;
    }
  }
  writer.EndRecord();

  const std::string_view arena = sax.arena;
  auto write_span = [&](const Span& span) {
    if (span.present) {
      writer.Field(arena.substr(span.offset, span.length));
    } else {
      writer.AbsentField();
    }
  };
  std::vector<const Cell*> row(sax.input_columns.size(), nullptr);
  std::size_t cell = 0;
  for (const Case& c : sax.cases) {
    // A repeated key: the last value counts, as in jsonb.
    for (; cell < c.cells_end; ++cell) row[sax.cells[cell].column] = &sax.cells[cell];
    for (const OutputColumn& column : columns) {
      switch (column.kind) {
        case ColumnKind::kExpected: write_span(c.expected); break;
        case ColumnKind::kContext: write_span(c.context); break;
        case ColumnKind::kMetadata: write_span(c.metadata); break;
        default: {
          const Cell* value = row[column.input];
          if (value != nullptr) {
            writer.Field(arena.substr(value->offset, value->length));
          } else {
            writer.AbsentField();
          }
        }
      }
    }
    std::fill(row.begin(), row.end(), nullptr);
    writer.EndRecord();
  }
  return out;
}

}  // namespace llmeval::core::data
