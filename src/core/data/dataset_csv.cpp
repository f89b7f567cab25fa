// Design: both directions stream. CSV -> JSON writes the JSON text directly
// while reading records (no JSON tree: a 30 MB file would be hundreds of
// thousands of small allocations), parsing only the JSON-valued fields
// (metadata, expected_tool_calls, messages, contexts, relevant_ids), with
// nlohmann's SAX parser, to check them and write them compactly.
// JSON -> CSV reads the array with nlohmann's SAX parser into one string
// arena plus (column, offset, length) cells, one per value, input fields and
// the other fields alike, because the header (the input columns in order of
// first appearance) is only known at the end; then it writes the records.
// Nested values are re-emitted from SAX events, which keeps the text of
// non-integer numbers as written (a JSON tree would round them to double).
// The fields other than input are one table (kReserved): adding one is a
// line there.
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

// ---------------------------------------------------------------- columns

// The fields of a test case other than input, each with a CSV column of its
// name, in the order they are written: as JSON keys after "input", as CSV
// columns after the input columns. Their index is their column id; input
// columns come after them.
enum class ColumnKind : std::uint8_t {
  kExpected,
  kContext,
  kMetadata,
  kExpectedToolCalls,
  kMessages,
  kGoal,
  kContexts,
  kRelevantIds,
  kInput,
};
constexpr std::size_t kReservedCount = static_cast<std::size_t>(ColumnKind::kInput);

// What a field's value may be: a string, or JSON text (in its CSV cell)
// whose top-level value is an object and/or an array.
enum Shape : unsigned { kString = 0, kObject = 1, kArray = 2 };

struct ReservedField {
  std::string_view name;
  unsigned shape;
  std::string_view json_key;  // ,"name": as written after the previous field
  const char* shape_text;     // "a JSON array", for errors
};

constexpr std::array<ReservedField, kReservedCount> kReserved = {{
    {"expected", kString, R"(,"expected":)", "a string"},
    {"context", kString, R"(,"context":)", "a string"},
    {"metadata", kObject, R"(,"metadata":)", "a JSON object"},
    {"expected_tool_calls", kArray, R"(,"expected_tool_calls":)", "a JSON array"},
    {"messages", kArray, R"(,"messages":)", "a JSON array"},
    {"goal", kString, R"(,"goal":)", "a string"},
    {"contexts", kArray, R"(,"contexts":)", "a JSON array"},
    {"relevant_ids", kArray | kObject, R"(,"relevant_ids":)", "a JSON array or object"},
}};

const ReservedField& Reserved(ColumnKind kind) { return kReserved[static_cast<std::size_t>(kind)]; }

ColumnKind KindOfColumn(std::string_view name) {
  for (std::size_t i = 0; i < kReservedCount; ++i)
    if (kReserved[i].name == name) return static_cast<ColumnKind>(i);
  return ColumnKind::kInput;
}

// For hints: "expected, context, ... and relevant_ids".
std::string ReservedNames() {
  std::string names;
  for (std::size_t i = 0; i < kReservedCount; ++i) {
    if (i > 0) names += i + 1 == kReservedCount ? " and " : ", ";
    names += kReserved[i].name;
  }
  return names;
}

// ---------------------------------------------------------------- CSV -> JSON

// SAX handler for a JSON-valued field (metadata, expected_tool_calls, ...):
// a JSON object or array as its shape allows, written compactly.
class JsonFieldSax {
 public:
  enum class Problem { kNone, kSyntax, kWrongShape, kNul };

  JsonFieldSax(std::string& out, unsigned shape) : json_(out), shape_(shape) { json_.Begin(); }

  Problem problem() const noexcept { return problem_; }
  const std::string& detail() const noexcept { return detail_; }

  bool null() {
    if (!Allowed("null", false)) return false;
    json_.Null();
    return true;
  }
  bool boolean(bool v) {
    if (!Allowed("a boolean", false)) return false;
    json_.Boolean(v);
    return true;
  }
  bool number_integer(Json::number_integer_t v) {
    if (!Allowed("a number", false)) return false;
    json_.Integer(v);
    return true;
  }
  bool number_unsigned(Json::number_unsigned_t v) {
    if (!Allowed("a number", false)) return false;
    json_.Unsigned(v);
    return true;
  }
  bool number_float(Json::number_float_t, const Json::string_t& raw) {
    if (!Allowed("a number", false)) return false;
    json_.Literal(raw);
    return true;
  }
  bool string(Json::string_t& s) {
    if (!Allowed("a string", false) || !NoNul(s)) return false;
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
    if (!Allowed("an object", (shape_ & kObject) != 0)) return false;
    json_.Open('{');
    return true;
  }
  bool end_object() {
    json_.Close('}');
    return true;
  }
  bool start_array(std::size_t) {
    if (!Allowed("an array", (shape_ & kArray) != 0)) return false;
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
  // Anything goes inside the top-level value; the top-level value itself
  // must be of the field's shape.
  bool Allowed(const char* type, bool fits_shape) {
    if (json_.depth() > 0 || fits_shape) return true;
    problem_ = Problem::kWrongShape;
    detail_ = std::string("The value is ") + type + ".";
    return false;
  }
  bool NoNul(std::string_view s) {
    if (!HasNul(s)) return true;
    problem_ = Problem::kNul;
    return false;
  }

  JsonCompactor json_;
  unsigned shape_;
  Problem problem_ = Problem::kNone;
  std::string detail_;
};

void AppendJsonField(std::string& out, const CsvField& field, const ReservedField& spec) {
  JsonFieldSax sax(out, spec.shape);
  if (Json::sax_parse(field.value, &sax)) return;
  const std::string name(spec.name);
  const std::string hint = "Leave the " + name + " field empty for none.";
  switch (sax.problem()) {
    case JsonFieldSax::Problem::kSyntax:
      ThrowCsvError(field.line, name + " is not valid JSON", sax.detail(), hint);
    case JsonFieldSax::Problem::kWrongShape:
      ThrowCsvError(field.line, name + " must be " + spec.shape_text, sax.detail(), hint);
    case JsonFieldSax::Problem::kNul:
      ThrowCsvError(field.line, name + " contains the character \\u0000",
                    "PostgreSQL text and jsonb cannot hold it.");
    case JsonFieldSax::Problem::kNone:
      break;
  }
  throw Error(ErrorKind::kInternal, name + " parser stopped without a reason");
}

std::string Count(std::size_t n, const char* noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

// ---------------------------------------------------------------- JSON -> CSV

// One value of a test case in the arena: an input value or a field's (its
// string, or its JSON text). Column ids: a ColumnKind below kReservedCount,
// else kReservedCount + the index in DatasetSax::input_columns.
struct Cell {
  std::size_t column;
  std::size_t offset;
  std::size_t length;  // kAbsent: the field was null (a repeated key's last value)
};
constexpr std::size_t kAbsent = static_cast<std::size_t>(-1);

// SAX handler collecting the test cases of a dataset array.
class DatasetSax {
 public:
  // Everything the cells point into.
  std::string arena;
  // The values of all test cases, case after case.
  std::vector<Cell> cells;
  // Each test case's cells are [previous case's end, its end).
  std::vector<std::size_t> case_ends;
  std::vector<std::string> input_columns;  // in order of first appearance
  // Which fields some test case has (not null).
  std::array<bool, kReservedCount> has_field{};

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
        if (field_ != ColumnKind::kInput && Reserved(field_).shape == kString) {
          CheckNul(s);
          AddField(arena.size(), s.size());
          arena += s;
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
    // An input field; its name is checked when first seen.
    auto [it, inserted] = column_index_.try_emplace(k, kReservedCount + input_columns.size());
    if (inserted) {
      if (k.empty())
        ShapeFail("input field with an empty name in test case " + CaseNumber() +
                      " cannot be written as CSV",
                  "A CSV column name cannot be empty.");
      if (KindOfColumn(k) != ColumnKind::kInput)
        ShapeFail(
            "input field \"" + k + "\" of test case " + CaseNumber() + " cannot be written as CSV",
            "The CSV columns " + ReservedNames() +
                " hold those fields of a test case, not input fields.");
      input_columns.push_back(k);
    }
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
        case_ends.push_back(cells.size());
        field_ = ColumnKind::kInput;
        where_ = Where::kCase;
        return true;
      case Where::kCase:
        if (field_ == ColumnKind::kInput) {
          where_ = Where::kInput;
          return true;
        }
        if ((Reserved(field_).shape & kObject) != 0) {
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
      case_ends.back() = cells.size();
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
        if (field_ != ColumnKind::kInput && (Reserved(field_).shape & kArray) != 0) {
          StartCapture('[');
          return true;
        }
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

  std::string CaseNumber() const { return std::to_string(case_ends.size()); }

  [[noreturn]] static void ShapeFail(const std::string& message, std::string detail = {},
                                     std::string hint = {}) {
    throw Error(ErrorKind::kInvalidParameterValue, message, std::move(detail), std::move(hint));
  }

  // A value where the array of test cases or a test case should be.
  [[noreturn]] void ShapeError(const char* found) const {
    if (where_ == Where::kTop)
      ShapeFail("dataset must be a JSON array of test cases",
                std::string("The value is ") + found + ".");
    ShapeFail("test case " + std::to_string(case_ends.size() + 1) + " must be a JSON object",
              std::string("The value is ") + found + ".");
  }

  // A test case's field holding a value of the wrong type.
  [[noreturn]] void FieldTypeError(const char* found) const {
    const bool input = field_ == ColumnKind::kInput;
    const std::string_view name = input ? "input" : Reserved(field_).name;
    const std::string want = input ? "a JSON object" : Reserved(field_).shape_text;
    // "a JSON array or object, or null"
    const char* or_null = want.find(" or ") == std::string::npos ? " or null" : ", or null";
    ShapeFail(
        "\"" + std::string(name) + "\" of test case " + CaseNumber() + " must be " + want + or_null,
        std::string("The value is ") + found + ".");
  }

  // kInput for "input".
  ColumnKind FieldOfKey(const std::string& k) const {
    if (k == "input") return ColumnKind::kInput;
    const ColumnKind kind = KindOfColumn(k);
    if (kind == ColumnKind::kInput)
      ShapeFail("unknown key \"" + k + "\" in test case " + CaseNumber(), {},
                "A test case has the keys input, " + ReservedNames() + ".");
    return kind;
  }

  // Keys and strings inside a test case only.
  void CheckNul(std::string_view s) const {
    if (HasNul(s))
      ShapeFail("test case " + CaseNumber() + " contains the character \\u0000",
                "PostgreSQL text cannot hold it.");
  }

  // The value of the current field, in the arena.
  void AddField(std::size_t offset, std::size_t length) {
    const auto column = static_cast<std::size_t>(field_);
    cells.push_back({column, offset, length});
    has_field[column] = true;
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
        if (field_ != ColumnKind::kInput)
          cells.push_back({static_cast<std::size_t>(field_), 0, kAbsent});
        return true;
      default:
        ShapeError(type);
    }
  }

  // A nested value (a JSON-valued field, or an object or array as an input
  // value) is written compactly to the arena as it streams by.
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
      AddField(capture_start_, length);
    }
    return true;
  }

  JsonCompactor json_{arena};
  Where where_ = Where::kTop;
  ColumnKind field_ = ColumnKind::kInput;  // of the test case key just read
  std::size_t column_ = 0;                 // of the input key just read
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

  // "name": of each input column, by header position (empty for the others).
  std::vector<std::string> input_keys(fields.size());
  // The header positions of the input columns, and of the reserved ones in
  // the order their fields are written, whatever the column order (names
  // are distinct, so each reserved column is there at most once).
  std::vector<std::size_t> inputs;
  std::array<std::size_t, kReservedCount> reserved_at;
  reserved_at.fill(kAbsent);
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const ColumnKind kind = KindOfColumn(fields[i].value);
    if (kind == ColumnKind::kInput) {
      AppendJsonString(input_keys[i], fields[i].value);
      input_keys[i].push_back(':');
      inputs.push_back(i);
    } else {
      reserved_at[static_cast<std::size_t>(kind)] = i;
    }
  }
  std::vector<std::pair<std::size_t, const ReservedField*>> reserved;
  for (std::size_t k = 0; k < kReservedCount; ++k)
    if (reserved_at[k] != kAbsent) reserved.emplace_back(reserved_at[k], &kReserved[k]);

  std::string out;
  // JSON escaping and keys usually make the result a little larger.
  out.reserve(csv.size() + csv.size() / 2 + 16);
  out.push_back('[');
  bool first_case = true;
  while (reader.ReadRecord(fields)) {
    if (fields.size() != input_keys.size())
      ThrowCsvError(reader.record_line(), "wrong number of fields",
                    "The header has " + Count(input_keys.size(), "column") +
                        " but this record has " + Count(fields.size(), "field") + ".");
    if (!first_case) out.push_back(',');
    first_case = false;
    out += "{\"input\":{";
    bool first_input = true;
    for (const std::size_t i : inputs) {
      if (fields[i].absent()) continue;
      if (!first_input) out.push_back(',');
      first_input = false;
      out += input_keys[i];
      AppendJsonString(out, fields[i].value);
    }
    out.push_back('}');
    for (const auto& [i, spec] : reserved) {
      if (fields[i].absent()) continue;
      out += spec->json_key;
      if (spec->shape == kString) {
        AppendJsonString(out, fields[i].value);
      } else {
        AppendJsonField(out, fields[i], *spec);
      }
    }
    out.push_back('}');
  }
  out.push_back(']');
  return out;
}

namespace {

// The column ids of the exported CSV, in order: the input columns in order
// of first appearance, then the fields some test case has.
std::vector<std::size_t> OutputColumns(const DatasetSax& sax, bool write_expected,
                                       const std::vector<std::string>& column_order) {
  std::vector<std::size_t> all;
  for (std::size_t i = 0; i < sax.input_columns.size(); ++i) all.push_back(kReservedCount + i);
  for (std::size_t k = 0; k < kReservedCount; ++k)
    if (sax.has_field[k] ||
        (k == static_cast<std::size_t>(ColumnKind::kExpected) && write_expected))
      all.push_back(k);
  if (column_order.empty()) return all;

  auto name_of = [&](std::size_t column) -> std::string_view {
    return column < kReservedCount ? kReserved[column].name
                                   : sax.input_columns[column - kReservedCount];
  };
  std::vector<std::size_t> ordered;
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

  const bool any_field =
      std::any_of(sax.has_field.begin(), sax.has_field.end(), [](bool has) { return has; });
  // A record has at least one field: a dataset without any gets an
  // (all absent) expected column, which reads back as no expected value.
  const bool write_expected = sax.input_columns.empty() && !any_field;
  const std::vector<std::size_t> columns = OutputColumns(sax, write_expected, column_order);

  std::string out;
  // Quotes doubled, and per field a separator and maybe two quotes.
  out.reserve(sax.arena.size() + sax.arena.size() / 8 +
              (sax.case_ends.size() + 1) * (3 * columns.size() + 2) + 64);
  CsvWriter writer(out);
  for (const std::size_t column : columns)
    writer.Field(column < kReservedCount
                     ? kReserved[column].name
                     : std::string_view(sax.input_columns[column - kReservedCount]));
  writer.EndRecord();

  const std::string_view arena = sax.arena;
  std::vector<const Cell*> row(kReservedCount + sax.input_columns.size(), nullptr);
  std::size_t begin = 0;
  for (const std::size_t end : sax.case_ends) {
    // A repeated key: the last value counts, as in jsonb.
    for (std::size_t i = begin; i < end; ++i) {
      const Cell& cell = sax.cells[i];
      row[cell.column] = cell.length == kAbsent ? nullptr : &cell;
    }
    for (const std::size_t column : columns) {
      const Cell* value = row[column];
      if (value != nullptr) {
        writer.Field(arena.substr(value->offset, value->length));
      } else {
        writer.AbsentField();
      }
    }
    for (std::size_t i = begin; i < end; ++i) row[sax.cells[i].column] = nullptr;
    begin = end;
    writer.EndRecord();
  }
  return out;
}

}  // namespace llmeval::core::data
