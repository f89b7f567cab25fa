#include "core/data/csv.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "core/data/dataset_csv.hpp"
#include "core/error.hpp"

namespace llmeval::core::data {
namespace {

using Json = nlohmann::json;

const std::string kBom = "\xEF\xBB\xBF";  // U+FEFF in UTF-8

struct Field {
  std::string value;
  bool quoted;
  std::size_t line;
  bool operator==(const Field& o) const {
    return value == o.value && quoted == o.quoted && line == o.line;
  }
};

std::ostream& operator<<(std::ostream& os, const Field& f) {
  return os << "{" << ::testing::PrintToString(f.value) << (f.quoted ? " quoted" : "") << " line "
            << f.line << "}";
}

// Every record of a CSV text, fields copied out of the reader.
std::vector<std::vector<Field>> ReadAll(std::string_view csv) {
  CsvReader reader(csv);
  std::vector<CsvField> fields;
  std::vector<std::vector<Field>> records;
  while (reader.ReadRecord(fields)) {
    std::vector<Field> record;
    for (const CsvField& f : fields) record.push_back({std::string(f.value), f.quoted, f.line});
    records.push_back(std::move(record));
  }
  return records;
}

Json FromCsv(std::string_view csv) { return Json::parse(DatasetJsonFromCsv(csv)); }

std::string ToCsv(const Json& dataset) { return CsvFromDatasetJson(dataset.dump()); }

// fn must throw a core::Error of `kind` whose message starts with `prefix`;
// returns it for further checks.
template <typename Fn>
Error ExpectError(Fn fn, ErrorKind kind, const std::string& prefix) {
  try {
    fn();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    EXPECT_EQ(std::string(e.what()).substr(0, prefix.size()), prefix) << e.what();
    return e;
  }
  ADD_FAILURE() << "no error, expected: " << prefix;
  return Error(ErrorKind::kInternal, "none");
}

// DatasetJsonFromCsv(csv) fails with "invalid CSV at line <line>: <what>...".
Error ExpectCsvError(std::string_view csv, std::size_t line, const std::string& what) {
  SCOPED_TRACE(::testing::PrintToString(std::string(csv)));
  return ExpectError([&] { DatasetJsonFromCsv(csv); }, ErrorKind::kBadFileFormat,
                     "invalid CSV at line " + std::to_string(line) + ": " + what);
}

// ---------------------------------------------------------------- reader

TEST(CsvReader, CrlfAndLfLineEnds) {
  const std::vector<std::vector<Field>> expected = {
      {{"a", false, 1}, {"b", false, 1}},
      {{"1", false, 2}, {"2", false, 2}},
      {{"3", false, 3}, {"4", false, 3}},
  };
  EXPECT_EQ(ReadAll("a,b\r\n1,2\r\n3,4\r\n"), expected);
  EXPECT_EQ(ReadAll("a,b\n1,2\n3,4\n"), expected);
  EXPECT_EQ(ReadAll("a,b\r\n1,2\n3,4\r\n"), expected);
  // The last line end is optional.
  EXPECT_EQ(ReadAll("a,b\r\n1,2\r\n3,4"), expected);
  EXPECT_EQ(ReadAll("a,b\n1,2\n3,4"), expected);
}

TEST(CsvReader, QuotedFields) {
  const auto records =
      ReadAll("\"a,b\",\"say \"\"hi\"\"\",\"two\r\nlines\",\"x\ny\"\r\nnext,\"\",,\"\"\"\"\r\n");
  const std::vector<std::vector<Field>> expected = {
      {{"a,b", true, 1}, {"say \"hi\"", true, 1}, {"two\r\nlines", true, 1}, {"x\ny", true, 2}},
      {{"next", false, 4}, {"", true, 4}, {"", false, 4}, {"\"", true, 4}},
  };
  EXPECT_EQ(records, expected);
}

TEST(CsvReader, EscapedQuotesInSeveralFieldsOfOneRecord) {
  // Unescaped values share one buffer that grows while the record is read.
  std::string csv;
  std::vector<Field> expected;
  for (int i = 0; i < 200; ++i) {
    const std::string value =
        std::string(static_cast<std::size_t>(i), 'x') + "\"" + std::to_string(i);
    csv += (i ? "," : "") + std::string("\"") + std::string(static_cast<std::size_t>(i), 'x') +
           "\"\"" + std::to_string(i) + "\"";
    expected.push_back({value, true, 1});
  }
  const auto records = ReadAll(csv);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0], expected);
}

TEST(CsvReader, AbsentAndEmptyFields) {
  CsvReader reader(",\"\",x,\r\n");
  std::vector<CsvField> fields;
  ASSERT_TRUE(reader.ReadRecord(fields));
  ASSERT_EQ(fields.size(), 4u);
  EXPECT_TRUE(fields[0].absent());
  EXPECT_FALSE(fields[1].absent());
  EXPECT_TRUE(fields[1].quoted);
  EXPECT_EQ(fields[1].value, "");
  EXPECT_FALSE(fields[2].absent());
  EXPECT_TRUE(fields[3].absent());
  EXPECT_FALSE(reader.ReadRecord(fields));
}

TEST(CsvReader, EmptyLinesAreOneAbsentField) {
  const std::vector<std::vector<Field>> expected = {
      {{"a", false, 1}}, {{"", false, 2}}, {{"", false, 3}}, {{"b", false, 4}}};
  EXPECT_EQ(ReadAll("a\r\n\r\n\nb\r\n"), expected);
  EXPECT_TRUE(ReadAll("").empty());
  EXPECT_EQ(ReadAll("\r\n"), (std::vector<std::vector<Field>>{{{"", false, 1}}}));
}

TEST(CsvReader, RecordLine) {
  CsvReader reader("h\r\n\"a\r\nb\nc\"\r\nd\r\n");
  std::vector<CsvField> fields;
  ASSERT_TRUE(reader.ReadRecord(fields));
  EXPECT_EQ(reader.record_line(), 1u);
  ASSERT_TRUE(reader.ReadRecord(fields));
  EXPECT_EQ(reader.record_line(), 2u);
  EXPECT_EQ(fields[0].value, "a\r\nb\nc");
  ASSERT_TRUE(reader.ReadRecord(fields));
  EXPECT_EQ(reader.record_line(), 5u);
  EXPECT_EQ(fields[0].value, "d");
  EXPECT_FALSE(reader.ReadRecord(fields));
}

TEST(CsvReader, ByteOrderMarkSkipped) {
  EXPECT_EQ(ReadAll(kBom + "a,b\r\n"),
            (std::vector<std::vector<Field>>{{{"a", false, 1}, {"b", false, 1}}}));
  EXPECT_TRUE(ReadAll(kBom).empty());
  // Only at the start: elsewhere U+FEFF is text.
  EXPECT_EQ(ReadAll("a," + kBom + "b"),
            (std::vector<std::vector<Field>>{{{"a", false, 1}, {kBom + "b", false, 1}}}));
}

TEST(CsvReader, Errors) {
  auto expect = [](std::string_view csv, std::size_t line, const std::string& what) {
    SCOPED_TRACE(::testing::PrintToString(std::string(csv)));
    ExpectError([&] { ReadAll(csv); }, ErrorKind::kBadFileFormat,
                "invalid CSV at line " + std::to_string(line) + ": " + what);
  };
  // The line is where the field starts, even when the problem is further on.
  expect("a,b\r\n1,\"x\r\n\r\n", 2, "unterminated quoted field");
  expect("\"", 1, "unterminated quoted field");
  expect("a\r\nb\r\n\"abc\"\"", 3, "unterminated quoted field");
  expect("a,b\r\n1,x\"y\r\n", 2, "quote in an unquoted field");
  expect("a,b\r\n1, \"y\"\r\n", 2, "quote in an unquoted field");
  expect("a\r\n\"x\ny\"z\r\n", 2, "unexpected character after a closing quote");
  expect("a\r\n\"x\" \r\n", 2, "unexpected character after a closing quote");
  expect("a\r\n\"x\"\r", 2, "unexpected character after a closing quote");
  expect("a\r\nb\rc\r\n", 2, "carriage return in an unquoted field");
  expect("a\r", 1, "carriage return in an unquoted field");
}

TEST(CsvReader, InvalidUtf8) {
  auto expect = [](std::string_view csv, std::size_t line, const std::string& bytes) {
    SCOPED_TRACE(::testing::PrintToString(std::string(csv)));
    const Error e = ExpectError([&] { CsvReader reader(csv); }, ErrorKind::kBadFileFormat,
                                "invalid CSV at line " + std::to_string(line) +
                                    ": invalid byte sequence for encoding \"UTF8\"");
    EXPECT_NE(e.detail().find(bytes), std::string::npos) << e.detail();
  };
  expect("a\r\nb\xFF\r\n", 2, "0xff");
  expect("a\r\n\"x\r\ny\xC3(\"\r\n", 3, "0xc3 0x28");    // line of the bad byte
  expect("\xC0\x80", 1, "0xc0");                         // overlong NUL
  expect("\xE0\x80\xAF", 1, "0xe0 0x80 0xaf");           // overlong '/'
  expect("\xED\xA0\x80", 1, "0xed 0xa0 0x80");           // surrogate
  expect("\xF4\x90\x80\x80", 1, "0xf4 0x90 0x80 0x80");  // above U+10FFFF
  expect("\xF5\x80\x80\x80", 1, "0xf5");
  expect("\x80", 1, "0x80");                        // lone continuation
  expect("abc\xE4\xB8", 1, "0xe4 0xb8");            // truncated
  expect(std::string_view("ab\0c", 4), 1, "0x00");  // Postgres text has no NUL
  expect(std::string_view("0123456789\n01234\0", 17), 2, "0x00");
  // Valid: every length, the extremes.
  EXPECT_NO_THROW(
      CsvReader("\x7F\xC2\x80\xDF\xBF\xE0\xA0\x80\xEF\xBF\xBF\xF0\x90\x80\x80\xF4\x8F\xBF\xBF"));
}

// ---------------------------------------------------------------- writer

TEST(CsvWriter, QuotesOnlyWhenNeeded) {
  std::string out;
  CsvWriter w(out);
  w.Field("plain");
  w.Field("a,b");
  w.Field("say \"hi\"");
  w.Field("cr\rlf\n");
  w.Field("");
  w.AbsentField();
  w.Field(" lead");
  w.Field("trail\t");
  w.Field("in side");
  w.Field("\"");
  w.EndRecord();
  w.AbsentField();
  w.EndRecord();
  w.Field("x");
  w.AbsentField();
  w.EndRecord();
  EXPECT_EQ(out,
            "plain,\"a,b\",\"say \"\"hi\"\"\",\"cr\rlf\n\",\"\",,\" lead\",\"trail\t\",in side,"
            "\"\"\"\"\r\n\r\nx,\r\n");
  const auto records = ReadAll(out);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0][2].value, "say \"hi\"");
  EXPECT_EQ(records[0][3].value, "cr\rlf\n");
  EXPECT_EQ(records[0][9].value, "\"");
  EXPECT_EQ(records[1], (std::vector<Field>{{"", false, 3}}));
}

// ---------------------------------------------------------------- CSV -> JSON

TEST(DatasetCsvImport, FieldsAndInputs) {
  const Json got = FromCsv(
      "question,expected,lang,context,metadata\r\n"
      "What is 2+2?,4,en,arithmetic,\"{\"\"difficulty\"\": 1, \"\"tags\"\": [\"\"math\"\"]}\"\r\n"
      "\"Hello, world\",\"\",fr,,\r\n"
      ",,,\"\",{}\r\n");
  const Json expected = Json::parse(R"([
    {"input": {"question": "What is 2+2?", "lang": "en"}, "expected": "4",
     "context": "arithmetic", "metadata": {"difficulty": 1, "tags": ["math"]}},
    {"input": {"question": "Hello, world", "lang": "fr"}, "expected": ""},
    {"input": {}, "context": "", "metadata": {}}
  ])");
  EXPECT_EQ(got, expected);
}

TEST(DatasetCsvImport, OutputShapeIsCompactAndOrdered) {
  EXPECT_EQ(
      DatasetJsonFromCsv(
          "metadata,context,b,expected,a\n\"{ \"\"k\"\" : [ 1 , 2.50 ] }\",c,B,e,A\n"),
      R"([{"input":{"b":"B","a":"A"},"expected":"e","context":"c","metadata":{"k":[1,2.50]}}])");
  EXPECT_EQ(DatasetJsonFromCsv("a\n\n"), R"([{"input":{}}])");
}

TEST(DatasetCsvImport, HeaderOnlyAndEmpty) {
  EXPECT_EQ(DatasetJsonFromCsv("a,expected"), "[]");
  EXPECT_EQ(DatasetJsonFromCsv("a,expected\r\n"), "[]");
  EXPECT_EQ(DatasetJsonFromCsv(kBom + "a\n"), "[]");
  ExpectCsvError("", 1, "no header row");
  ExpectCsvError(kBom, 1, "no header row");
}

TEST(DatasetCsvImport, HeaderNames) {
  // Exact: not trimmed, not case-folded; quoting does not matter.
  EXPECT_EQ(FromCsv("\" a \",Expected,\"expected\"\r\n1,2,3\r\n"),
            Json::parse(R"([{"input": {" a ": "1", "Expected": "2"}, "expected": "3"}])"));
  ExpectCsvError("a,,b\r\n", 1, "empty column name");
  ExpectCsvError("a,\"\"\r\n", 1, "empty column name");
  ExpectCsvError("\r\n1\r\n", 1, "empty column name");
  const Error e = ExpectCsvError("a,b,a\r\n", 1, "duplicate column name \"a\"");
  ExpectCsvError("expected,\"expected\"\r\n", 1, "duplicate column name \"expected\"");
  // The line of the header field itself.
  ExpectCsvError("\"x\r\ny\",\"\"\r\n", 2, "empty column name");
  ExpectCsvError("a,\"x\r\ny\",\"x\r\ny\"\r\n", 2, "duplicate column name");
  EXPECT_EQ(e.kind(), ErrorKind::kBadFileFormat);
}

TEST(DatasetCsvImport, WrongFieldCountNamesThePhysicalLine) {
  const Error e = ExpectCsvError("a,b\r\n1,2\r\n3\r\n", 3, "wrong number of fields");
  EXPECT_EQ(e.detail(), "The header has 2 columns but this record has 1 field.");
  EXPECT_EQ(ExpectCsvError("a\r\n1,2\r\n", 2, "wrong number of fields").detail(),
            "The header has 1 column but this record has 2 fields.");
  // Lines inside quoted fields count.
  ExpectCsvError("a,b\r\n\"1\r\n2\n3\",x\r\ny\r\n", 5, "wrong number of fields");
  // An empty line is one absent field: fine with one column, not with two.
  ExpectCsvError("a,b\r\n1,2\r\n\r\n", 3, "wrong number of fields");
  EXPECT_EQ(FromCsv("a\r\n1\r\n\r\n"), Json::parse(R"([{"input":{"a":"1"}},{"input":{}}])"));
}

TEST(DatasetCsvImport, ReaderErrorsNameTheLine) {
  ExpectCsvError("a,b\r\n1,2\r\n3,\"4\r\n5,6\r\n", 3, "unterminated quoted field");
  ExpectCsvError("a,b\r\n1,2\r\n3,4\"\r\n", 3, "quote in an unquoted field");
  ExpectCsvError("a,b\r\n\"1\"2,3\r\n", 2, "unexpected character after a closing quote");
  ExpectCsvError("a\r\nx\xC3\r\n", 2, "invalid byte sequence for encoding \"UTF8\"");
}

TEST(DatasetCsvImport, Metadata) {
  EXPECT_EQ(
      FromCsv("metadata\r\n\"{\"\"a\"\": {\"\"b\"\": null, \"\"c\"\": [true, false, -1]}}\"\r\n"),
      Json::parse(R"([{"input": {}, "metadata": {"a": {"b": null, "c": [true, false, -1]}}}])"));
  // Number text is kept: big integers and decimals survive (jsonb reads them as numeric).
  EXPECT_EQ(DatasetJsonFromCsv(
                "metadata\n\"{\"\"id\"\": 123456789012345678901234567890, \"\"p\"\": 0.10, "
                "\"\"u\"\": 18446744073709551615, \"\"e\"\": 1E+2}\"\n"),
            R"([{"input":{},"metadata":{"id":123456789012345678901234567890,"p":0.10,)"
            R"("u":18446744073709551615,"e":1E+2}}])");
  // Strings inside are re-escaped correctly.
  EXPECT_EQ(FromCsv("metadata\n\"{\"\"k\\n\"\": \"\"\\u00e9\\\"\"\\t\\/\"\"}\"\n")[0]["metadata"],
            Json::parse(R"({"k\n": "é\"\t/"})"));

  Error e = ExpectCsvError("a,metadata\r\nx,{}\r\ny,[1]\r\n", 3, "metadata must be a JSON object");
  EXPECT_EQ(e.detail(), "The value is an array.");
  e = ExpectCsvError("a,metadata\r\nx,\"\"\"s\"\"\"\r\n", 2, "metadata must be a JSON object");
  EXPECT_EQ(e.detail(), "The value is a string.");
  ExpectCsvError("a,metadata\r\nx,42\r\n", 2, "metadata must be a JSON object");
  ExpectCsvError("a,metadata\r\nx,null\r\n", 2, "metadata must be a JSON object");
  e = ExpectCsvError("a,metadata\r\nx,\"{\"\"a\"\":\"\r\n", 2, "metadata is not valid JSON");
  EXPECT_NE(e.detail().find("Parse error"), std::string::npos) << e.detail();
  ExpectCsvError("a,metadata\r\nx,\"\"\r\n", 2, "metadata is not valid JSON");
  ExpectCsvError("metadata\r\n{} x\r\n", 2, "metadata is not valid JSON");
  ExpectCsvError("metadata\r\n\"{\"\"a\"\": 1e999}\"\r\n", 2, "metadata is not valid JSON");
  // The line is the field's own, after a multi-line field in the same record.
  ExpectCsvError("a,metadata\r\n\"1\r\n2\",\"{\r\n\"\r\n", 3, "metadata is not valid JSON");
  ExpectCsvError("metadata\r\n\"{\"\"a\"\": \"\"\\u0000\"\"}\"\r\n", 2,
                 "metadata contains the character \\u0000");
  ExpectCsvError("metadata\r\n\"{\"\"\\u0000\"\": 1}\"\r\n", 2,
                 "metadata contains the character \\u0000");
}

TEST(DatasetCsvImport, JsonEscaping) {
  std::string all_controls;
  for (int c = 1; c < 0x20; ++c) all_controls.push_back(static_cast<char>(c));
  all_controls += "\"\\/\x7F";
  std::string out;
  CsvWriter w(out);
  w.Field("k\"\\");
  w.EndRecord();
  w.Field(all_controls);
  w.EndRecord();
  const Json got = FromCsv(out);
  EXPECT_EQ(got[0]["input"]["k\"\\"], all_controls);
}

TEST(DatasetCsvImport, Unicode) {
  const std::string cjk = "我爱北京天安门，你好";
  const std::string emoji = "👩‍👩‍👧 🎉 🇫🇷";
  const std::string combining =
      "e\xCC\x81 n\xCC\x83 \xE0\xA4\x95\xE0\xA5\x8D\xE0\xA4\xB7";  // é ñ क्ष
  const std::string csv =
      "问题,\"emoji 😀\",expected\r\n" + cjk + ",\"" + emoji + "\"," + combining + "\r\n";
  const Json got = FromCsv(csv);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0]["input"]["问题"], cjk);
  EXPECT_EQ(got[0]["input"]["emoji 😀"], emoji);
  EXPECT_EQ(got[0]["expected"], combining);
  const std::string back = CsvFromDatasetJson(DatasetJsonFromCsv(csv));
  EXPECT_EQ(back, "问题,emoji 😀,expected\r\n" + cjk + "," + emoji + "," + combining + "\r\n");
  EXPECT_EQ(FromCsv(back), got);
}

// ---------------------------------------------------------------- JSON -> CSV

TEST(DatasetCsvExport, ColumnsInOrderOfFirstAppearance) {
  // Raw text: a nlohmann::json object would sort its keys.
  EXPECT_EQ(CsvFromDatasetJson(R"([
    {"input": {"q": "one", "lang": "en"}, "context": "c1"},
    {"input": {"extra": "x", "q": "two"}, "metadata": {"k": 1}},
    {"expected": "three"}
  ])"),
            "q,lang,extra,expected,context,metadata\r\n"
            "one,en,,,c1,\r\n"
            "two,,x,,,\"{\"\"k\"\":1}\"\r\n"
            ",,,three,,\r\n");
}

TEST(DatasetCsvExport, OnlyTheFieldsSomeCaseHas) {
  EXPECT_EQ(ToCsv(Json::parse(R"([{"input": {"a": "1"}}, {"input": {"a": ""}}])")),
            "a\r\n1\r\n\"\"\r\n");
  EXPECT_EQ(ToCsv(Json::parse(R"([{"input": {"a": "1"}, "expected": null, "context": null,
                                   "metadata": null}])")),
            "a\r\n1\r\n");
  EXPECT_EQ(ToCsv(Json::parse(R"([{"context": ""}])")), "context\r\n\"\"\r\n");
  EXPECT_EQ(ToCsv(Json::parse(R"([{"input": null, "metadata": {}}])")), "metadata\r\n{}\r\n");
}

TEST(DatasetCsvExport, NoColumnsAtAll) {
  // A record has at least one field, so an all-absent expected column stands in.
  EXPECT_EQ(ToCsv(Json::array()), "expected\r\n");
  EXPECT_EQ(FromCsv(ToCsv(Json::array())), Json::array());
  EXPECT_EQ(ToCsv(Json::parse(R"([{}, {"input": {}}])")), "expected\r\n\r\n\r\n");
  EXPECT_EQ(FromCsv(ToCsv(Json::parse(R"([{}, {"input": {}}])"))),
            Json::parse(R"([{"input": {}}, {"input": {}}])"));
}

TEST(DatasetCsvExport, QuotingAndAbsentValues) {
  const Json dataset = Json::parse(R"([
    {"input": {"a": "x,y", "b": "say \"hi\"", "c": "two\nlines", "d": " pad ", "e": ""},
     "expected": "cr\r\nlf"},
    {"input": {"e": "plain"}, "expected": ""}
  ])");
  const std::string csv = ToCsv(dataset);
  EXPECT_EQ(csv,
            "a,b,c,d,e,expected\r\n"
            "\"x,y\",\"say \"\"hi\"\"\",\"two\nlines\",\" pad \",\"\",\"cr\r\nlf\"\r\n"
            ",,,,plain,\"\"\r\n");
  EXPECT_EQ(FromCsv(csv), dataset);
}

TEST(DatasetCsvExport, HeaderNamesAreQuotedWhenNeeded) {
  const std::string json = R"([{"input": {"a,b": "1", " c": "2", "d\"": "3"}}])";
  const std::string csv = CsvFromDatasetJson(json);
  EXPECT_EQ(csv, "\"a,b\",\" c\",\"d\"\"\"\r\n1,2,3\r\n");
  EXPECT_EQ(FromCsv(csv), Json::parse(json));
}

TEST(DatasetCsvExport, LeadingByteOrderMarkInAFieldIsQuoted) {
  // Found by the fuzzer: unquoted, it would be skipped as a BOM on import.
  const std::string json = "[{\"input\":{\"" + kBom + "q\":\"" + kBom + "\"}}]";
  const std::string csv = CsvFromDatasetJson(json);
  EXPECT_EQ(csv, "\"" + kBom + "q\"\r\n\"" + kBom + "\"\r\n");
  EXPECT_EQ(DatasetJsonFromCsv(csv), json);
}

TEST(DatasetCsvExport, NonStringInputsAreWrittenAsJsonText) {
  // The one lossy case: CSV cannot say whether 42 was a number.
  const Json dataset = Json::parse(R"([{"input": {"n": 42, "f": 2.50, "t": true, "z": null,
      "o": {"k": [1, "x,y"]}, "arr": [], "big": 123456789012345678901234}}])");
  const std::string csv = ToCsv(dataset);
  const Json back = FromCsv(csv);
  const Json& input = back[0]["input"];
  EXPECT_EQ(input["n"], "42");
  EXPECT_EQ(input["t"], "true");
  EXPECT_EQ(input["z"], "null");
  EXPECT_EQ(input["o"], "{\"k\":[1,\"x,y\"]}");
  EXPECT_EQ(input["arr"], "[]");
  // Text as written in the JSON: no rounding through double.
  EXPECT_EQ(CsvFromDatasetJson(R"([{"input": {"f": 2.50, "big": 123456789012345678901234}}])"),
            "f,big\r\n2.50,123456789012345678901234\r\n");
}

TEST(DatasetCsvExport, MetadataKeepsItsNumbers) {
  const std::string csv = CsvFromDatasetJson(
      R"([{"metadata": {"id": 99999999999999999999999, "p": 0.10, "e": -1.5e-7}}])");
  EXPECT_EQ(
      csv,
      "metadata\r\n\"{\"\"id\"\":99999999999999999999999,\"\"p\"\":0.10,\"\"e\"\":-1.5e-7}\"\r\n");
  EXPECT_EQ(DatasetJsonFromCsv(csv),
            R"([{"input":{},"metadata":{"id":99999999999999999999999,"p":0.10,"e":-1.5e-7}}])");
}

TEST(DatasetCsvExport, InputFieldsThatCannotBeColumns) {
  for (const char* name : {"expected", "context", "metadata"}) {
    const Json dataset = {{{"input", {{"q", "x"}}}}, {{"input", {{name, "x"}}}}};
    const Error e = ExpectError([&] { ToCsv(dataset); }, ErrorKind::kInvalidParameterValue,
                                std::string("input field \"") + name + "\" of test case 2 cannot");
    EXPECT_FALSE(e.detail().empty());
  }
  ExpectError([] { CsvFromDatasetJson(R"([{"input": {"": "x"}}])"); },
              ErrorKind::kInvalidParameterValue, "input field with an empty name in test case 1");
  // Inside metadata or a nested input value these names are fine.
  EXPECT_NO_THROW(CsvFromDatasetJson(
      R"([{"metadata": {"expected": 1, "": 2}, "input": {"o": {"context": 1}}}])"));
}

TEST(DatasetCsvExport, MalformedJson) {
  for (const char* json : {"", "[", "[{]", "[{\"input\": {}}] x", "[{\"input\":", "[\"\xFF\"]",
                           "[{\"input\": {\"a\": \"\\ud800\"}}]", "[1e999]", "nul"}) {
    SCOPED_TRACE(json);
    const Error e = ExpectError([&] { CsvFromDatasetJson(json); },
                                ErrorKind::kInvalidTextRepresentation, "invalid dataset JSON");
    EXPECT_FALSE(e.detail().empty());
  }
}

TEST(DatasetCsvExport, WrongShape) {
  const std::vector<std::pair<const char*, const char*>> cases = {
      {R"({"input": {}})", "dataset must be a JSON array of test cases"},
      {R"("x")", "dataset must be a JSON array of test cases"},
      {R"(null)", "dataset must be a JSON array of test cases"},
      {R"([{}, 1])", "test case 2 must be a JSON object"},
      {R"([[]])", "test case 1 must be a JSON object"},
      {R"([null])", "test case 1 must be a JSON object"},
      {R"([{"input": "x"}])", "\"input\" of test case 1 must be a JSON object or null"},
      {R"([{"input": ["x"]}])", "\"input\" of test case 1 must be a JSON object or null"},
      {R"([{}, {"expected": 4}])", "\"expected\" of test case 2 must be a string or null"},
      {R"([{"expected": {}}])", "\"expected\" of test case 1 must be a string or null"},
      {R"([{"context": ["a"]}])", "\"context\" of test case 1 must be a string or null"},
      {R"([{"context": false}])", "\"context\" of test case 1 must be a string or null"},
      {R"([{"metadata": "{}"}])", "\"metadata\" of test case 1 must be a JSON object or null"},
      {R"([{"metadata": [1]}])", "\"metadata\" of test case 1 must be a JSON object or null"},
      {R"([{"id": 1}])", "unknown key \"id\" in test case 1"},
      {R"([{"input": {"a": "\u0000"}}])", "test case 1 contains the character \\u0000"},
      {R"([{"expected": "a\u0000"}])", "test case 1 contains the character \\u0000"},
      {R"([{"metadata": {"\u0000": 1}}])", "test case 1 contains the character \\u0000"},
      {R"(["\u0000"])", "test case 1 must be a JSON object"},
      {R"("\u0000")", "dataset must be a JSON array of test cases"},
  };
  for (const auto& [json, message] : cases) {
    SCOPED_TRACE(json);
    ExpectError([&] { CsvFromDatasetJson(json); }, ErrorKind::kInvalidParameterValue, message);
  }
}

TEST(DatasetCsvExport, RepeatedKeysLastWins) {
  // jsonb never produces them, but JSON text can hold them.
  EXPECT_EQ(
      CsvFromDatasetJson(R"([{"input": {"a": "1", "a": "2"}, "expected": "x", "expected": null}])"),
      "a,expected\r\n2,\r\n");
}

// ---------------------------------------------------------------- round trips

// What a dataset reads back as: input always an object, null fields absent,
// non-string input values as their JSON text.
Json Normalized(const Json& dataset) {
  Json out = Json::array();
  for (const Json& c : dataset) {
    Json n = {{"input", Json::object()}};
    if (c.contains("input") && c["input"].is_object())
      for (const auto& [k, v] : c["input"].items())
        n["input"][k] = v.is_string() ? v : Json(v.dump());
    for (const char* key : {"expected", "context", "metadata", "expected_tool_calls", "messages",
                            "goal", "contexts", "relevant_ids"})
      if (c.contains(key) && !c[key].is_null()) n[key] = c[key];
    out.push_back(std::move(n));
  }
  return out;
}

class RandomDataset {
 public:
  explicit RandomDataset(uint32_t seed) : rng_(seed) {}

  std::string String(std::size_t max_len) {
    static const std::vector<std::string> pieces = {
        "a",    "Z",    "0", ",",  "\"", "\r",        "\n", "\r\n", " ", "\t", "\\", "/",
        "\x01", "\x1F", "é", "中", "😀",  "e\xCC\x81", kBom, "{",    "}", "'",  ";",  "\x7F"};
    std::string s;
    const std::size_t len = Uniform(max_len);
    for (std::size_t i = 0; i < len; ++i) s += pieces[Uniform(pieces.size() - 1)];
    return s;
  }

  Json Value(int depth) {
    switch (Uniform(depth > 2 ? 4 : 6)) {
      case 0:
        return nullptr;
      case 1:
        return Uniform(1) == 1;
      case 2:
        return static_cast<int64_t>(Uniform(2000)) - 1000;
      case 3:
        return static_cast<double>(Uniform(1000)) / 8.0;
      case 4:
        return String(6);
      case 5: {
        Json o = Json::object();
        for (std::size_t i = Uniform(3); i > 0; --i) o[String(3)] = Value(depth + 1);
        return o;
      }
      default: {
        Json a = Json::array();
        for (std::size_t i = Uniform(3); i > 0; --i) a.push_back(Value(depth + 1));
        return a;
      }
    }
  }

  Json Dataset(bool strings_only) {
    static const std::vector<std::string> names = {
        "q", "question", "a,b",   "say \"x\"", " pad", "line\nbreak", "中文",
        "😀", "Expected", "input", "e\xCC\x81", "cr\r", "\"",          ","};
    Json dataset = Json::array();
    for (std::size_t i = Uniform(8); i > 0; --i) {
      Json c = Json::object();
      const std::size_t input_kind = Uniform(5);
      if (input_kind == 1) c["input"] = nullptr;
      if (input_kind >= 2) {
        Json input = Json::object();
        for (std::size_t k = Uniform(4); k > 0; --k) {
          const std::string& name = names[Uniform(names.size() - 1)];
          input[name] = strings_only || Uniform(3) > 0 ? Json(String(8)) : Value(1);
        }
        c["input"] = input;
      }
      for (const char* key : {"expected", "context"}) {
        const std::size_t kind = Uniform(3);
        if (kind == 1) c[key] = nullptr;
        if (kind >= 2) c[key] = String(10);
      }
      const std::size_t meta = Uniform(3);
      if (meta == 1) c["metadata"] = nullptr;
      if (meta >= 2) c["metadata"] = Object();
      // The JSON-valued fields: arrays (relevant_ids also an object), absent
      // most of the time so that the columns come and go.
      for (const char* key : {"expected_tool_calls", "messages", "contexts", "relevant_ids"}) {
        const std::size_t kind = Uniform(5);
        if (kind == 1) c[key] = nullptr;
        if (kind == 2) c[key] = Array();
        if (kind == 3) c[key] = std::string(key) == "relevant_ids" ? Object() : Array();
      }
      dataset.push_back(std::move(c));
    }
    return dataset;
  }

 private:
  Json Object() {
    Json o = Json::object();
    for (std::size_t k = Uniform(3); k > 0; --k) o[String(4)] = Value(1);
    return o;
  }
  Json Array() {
    Json a = Json::array();
    for (std::size_t k = Uniform(3); k > 0; --k) a.push_back(Value(1));
    return a;
  }
  std::size_t Uniform(std::size_t max) {
    return std::uniform_int_distribution<std::size_t>(0, max)(rng_);
  }
  std::mt19937 rng_;
};

TEST(DatasetCsvRoundTrip, RandomDatasetsJsonToCsvToJson) {
  RandomDataset random(20240601);
  for (int iteration = 0; iteration < 3000; ++iteration) {
    const Json dataset = random.Dataset(/*strings_only=*/iteration % 2 == 0);
    SCOPED_TRACE(dataset.dump());
    const std::string csv = ToCsv(dataset);
    const Json back = FromCsv(csv);
    ASSERT_EQ(back, Normalized(dataset)) << ::testing::PrintToString(csv);
    // And the CSV of what was read back is the same CSV.
    ASSERT_EQ(CsvFromDatasetJson(back.dump()), csv);
  }
}

TEST(DatasetCsvRoundTrip, RandomCsvToJsonToCsvToJson) {
  std::mt19937 rng(7);
  const std::vector<std::string> pieces = {"a", ",",  "\"", "\"\"", "\r\n",  "\n", " ",
                                           "é", "中", "😀",  "x",    "\"a\"", "{}", "\\"};
  int parsed = 0;
  for (int iteration = 0; iteration < 20000; ++iteration) {
    std::string csv;
    for (int i = std::uniform_int_distribution<int>(0, 20)(rng); i > 0; --i)
      csv += pieces[std::uniform_int_distribution<std::size_t>(0, pieces.size() - 1)(rng)];
    std::string json;
    try {
      json = DatasetJsonFromCsv(csv);
    } catch (const Error& e) {
      ASSERT_EQ(e.kind(), ErrorKind::kBadFileFormat) << e.what();
      continue;
    }
    ++parsed;
    SCOPED_TRACE(::testing::PrintToString(csv));
    const std::string csv2 = CsvFromDatasetJson(json);
    ASSERT_EQ(Json::parse(DatasetJsonFromCsv(csv2)), Json::parse(json)) << csv2;
  }
  EXPECT_GT(parsed, 1000);
}

// ---------------------------------------------------------------- size

TEST(DatasetCsvSize, HundredThousandRows) {
  // About 25 MB of CSV (30 MB of JSON): a question, a reference answer, a context, metadata.
  std::string json = "[";
  for (int i = 0; i < 100000; ++i) {
    if (i) json += ',';
    const std::string n = std::to_string(i);
    json += R"({"input":{"question":"Question )" + n +
            R"(: what does the \"quick, brown\" fox jump over, and why?","lang":"en"},)"
            R"("expected":"It jumps over the lazy dog )" +
            n +
            R"(,\nwhich is asleep.",)"
            R"("context":"A pangram uses every letter of the alphabet at least once.",)"
            R"("metadata":{"id":)" +
            n + R"(,"source":"synthetic","difficulty":0.5,"tags":["a","b"]}})";
  }
  json += ']';

  // (Speed: test/bench/csv_bench.cpp.)
  const std::string csv = CsvFromDatasetJson(json);
  const std::string back = DatasetJsonFromCsv(csv);
  EXPECT_GT(csv.size(), 20'000'000u);
  EXPECT_EQ(back, json);  // byte for byte: the generated JSON is already in canonical form
}

}  // namespace
}  // namespace llmeval::core::data

namespace llmeval::core::data {
namespace {

TEST(DatasetCsvColumnOrder, FollowsThePreferredOrderThenTheRest) {
  const std::string json =
      R"([{"input":{"topic":"t","question":"q","extra":"e"},"expected":"x","metadata":{"k":1}}])";
  EXPECT_EQ(CsvFromDatasetJson(json, {"question", "expected", "topic"}),
            "question,expected,topic,extra,metadata\r\nq,x,t,e,\"{\"\"k\"\":1}\"\r\n");
  // Names the dataset lacks are skipped; no order gives first appearance.
  EXPECT_EQ(CsvFromDatasetJson(json, {"nope", "metadata"}),
            "metadata,topic,question,extra,expected\r\n\"{\"\"k\"\":1}\",t,q,e,x\r\n");
  EXPECT_EQ(CsvFromDatasetJson(json), "topic,question,extra,expected,metadata\r\nt,q,e,x,\"{\"\"k\"\":1}\"\r\n");
}

TEST(DatasetCsvColumnOrder, HeaderRoundTripKeepsTheColumnOrder) {
  const std::string csv = "question,expected,topic\r\nq1,a1,t1\r\n,\"\",t2\r\n";
  EXPECT_EQ(CsvHeader(csv), (std::vector<std::string>{"question", "expected", "topic"}));
  EXPECT_EQ(CsvFromDatasetJson(DatasetJsonFromCsv(csv), CsvHeader(csv)), csv);
  EXPECT_THROW(CsvHeader("a,a\n"), Error);
  EXPECT_THROW(CsvHeader(""), Error);
}

}  // namespace
}  // namespace llmeval::core::data

// ---------------------------------------------------------------- JSON-valued columns

namespace llmeval::core::data {
namespace {

// The four JSON-valued columns after metadata, each with a value it takes
// (keys sorted, as nlohmann::json writes them).
struct JsonColumn {
  const char* name;
  const char* value;  // compact JSON
};
const std::vector<JsonColumn> kJsonColumns = {
    {"expected_tool_calls", R"([{"arguments":{"city":"Paris","days":2},"name":"get_weather"}])"},
    {"messages", R"([{"content":"Hi","role":"user"},{"content":"Hello!","role":"assistant"}])"},
    {"contexts", R"(["Paris is in France.",{"id":"d2","text":"Lyon too."}])"},
    {"relevant_ids", R"({"d1":2,"d2":0.5})"},
};

// value as one CSV field (quoted, quotes doubled).
std::string CsvCell(std::string_view value) {
  std::string out;
  CsvWriter w(out);
  w.Field(value);
  return out;
}

TEST(DatasetCsvJsonColumns, ImportEachColumn) {
  for (const JsonColumn& column : kJsonColumns) {
    SCOPED_TRACE(column.name);
    // Spaces and line breaks inside the JSON are dropped; an unquoted empty
    // cell is absent, as for metadata.
    const std::string spaced = Json::parse(column.value).dump(2);
    const std::string csv =
        std::string("q,") + column.name + "\r\nx," + CsvCell(spaced) + "\r\ny,\r\n";
    EXPECT_EQ(DatasetJsonFromCsv(csv), std::string(R"([{"input":{"q":"x"},")") + column.name +
                                           "\":" + column.value + R"(},{"input":{"q":"y"}}])");
  }
  // relevant_ids: an array of ids as well as an object of grades; any
  // array, even empty, for the others.
  EXPECT_EQ(DatasetJsonFromCsv("relevant_ids\n\"[\"\"d1\"\", 7]\"\n"),
            R"([{"input":{},"relevant_ids":["d1",7]}])");
  EXPECT_EQ(
      DatasetJsonFromCsv("messages,contexts,expected_tool_calls,relevant_ids\n[],[],[],{}\n"),
      R"([{"input":{},"expected_tool_calls":[],"messages":[],"contexts":[],"relevant_ids":{}}])");
}

TEST(DatasetCsvJsonColumns, ImportFieldOrderIsFixed) {
  // Whatever the column order, the keys come in the order of the JSON form.
  EXPECT_EQ(DatasetJsonFromCsv("relevant_ids,contexts,q,metadata,messages,expected_tool_calls,"
                               "context,expected\n"
                               "[1],\"[\"\"c\"\"]\",Q,{},[],[],C,E\n"),
            R"([{"input":{"q":"Q"},"expected":"E","context":"C","metadata":{},)"
            R"("expected_tool_calls":[],"messages":[],"contexts":["c"],"relevant_ids":[1]}])");
}

TEST(DatasetCsvJsonColumns, ImportErrors) {
  for (const JsonColumn& column : kJsonColumns) {
    SCOPED_TRACE(column.name);
    const std::string name = column.name;
    const std::string header = "q," + name + "\r\nok,[]\r\n";
    Error e = ExpectCsvError(header + "x,\"[1,\"\r\n", 3, name + " is not valid JSON");
    EXPECT_NE(e.detail().find("Parse error"), std::string::npos) << e.detail();
    EXPECT_EQ(e.hint(), "Leave the " + name + " field empty for none.");
    // A quoted empty cell is the empty string, which is not JSON.
    ExpectCsvError(header + "x,\"\"\r\n", 3, name + " is not valid JSON");
    ExpectCsvError(header + "x,[] []\r\n", 3, name + " is not valid JSON");
    ExpectCsvError(header + "x,[1e999]\r\n", 3, name + " is not valid JSON");
    const std::string want =
        name == "relevant_ids" ? " must be a JSON array or object" : " must be a JSON array";
    e = ExpectCsvError(header + "x,\"\"\"s\"\"\"\r\n", 3, name + want);
    EXPECT_EQ(e.detail(), "The value is a string.");
    EXPECT_EQ(ExpectCsvError(header + "x,42\r\n", 3, name + want).detail(),
              "The value is a number.");
    EXPECT_EQ(ExpectCsvError(header + "x,null\r\n", 3, name + want).detail(), "The value is null.");
    EXPECT_EQ(ExpectCsvError(header + "x,true\r\n", 3, name + want).detail(),
              "The value is a boolean.");
    if (name != "relevant_ids") {
      EXPECT_EQ(ExpectCsvError(header + "x,{}\r\n", 3, name + want).detail(),
                "The value is an object.");
    }
    ExpectCsvError(header + "x,\"[\"\"a\\u0000\"\"]\"\r\n", 3,
                   name + " contains the character \\u0000");
    ExpectCsvError(header + "x,\"[{\"\"\\u0000\"\": 1}]\"\r\n", 3,
                   name + " contains the character \\u0000");
    // The line is the field's own, after a multi-line field in the record.
    ExpectCsvError(header + "\"a\r\nb\",\"[\r\n\"\r\n", 4, name + " is not valid JSON");
  }
  // metadata keeps its own shape.
  ExpectCsvError("metadata\r\n[]\r\n", 2, "metadata must be a JSON object");
}

TEST(DatasetCsvJsonColumns, QuotesAndNewlinesInsideTheJson) {
  // Strings with quotes, commas, a CR LF and a tab (as JSON escapes), and the
  // JSON itself spread over lines: the cell is quoted, its quotes doubled.
  const std::string messages =
      "[\r\n  {\"role\": \"user\",\r\n   \"content\": \"say \\\"hi\\\", then\\r\\nstop\\t.\"}\r\n]";
  const std::string csv = "messages,q\r\n" + CsvCell(messages) + ",after\r\n" + "[],\"x\"\r\n";
  const Json got = FromCsv(csv);
  EXPECT_EQ(got, Json::parse(R"([
    {"input": {"q": "after"}, "messages": [{"role": "user", "content": "say \"hi\", then\r\nstop\t."}]},
    {"input": {"q": "x"}, "messages": []}])"));
  // Written back: compact, quoted because of its quotes and commas; the
  // next record's line numbers still count the lines of the multi-line cell.
  const std::string back = CsvFromDatasetJson(DatasetJsonFromCsv(csv), CsvHeader(csv));
  EXPECT_EQ(back,
            "messages,q\r\n"
            "\"[{\"\"role\"\":\"\"user\"\",\"\"content\"\":\"\"say \\\"\"hi\\\"\", "
            "then\\r\\nstop\\t.\"\"}]\",after\r\n"
            "[],x\r\n");
  EXPECT_EQ(FromCsv(back), got);
  ExpectCsvError(csv + "[1,\r\n", 7, "messages is not valid JSON");
}

TEST(DatasetCsvJsonColumns, Unicode) {
  // Raw UTF-8, \u escapes (a surrogate pair among them) and names in other scripts.
  const std::string csv =
      "contexts,relevant_ids,expected_tool_calls\r\n"
      "\"[\"\"北京是中国的首都。\"\", {\"\"id\"\": \"\"ドキュメント\"\", \"\"text\"\": "
      "\"\"👩‍👩‍👧 "
      "\\ud83c\\udf89 \\u00e9\"\"}]\",\"{\"\"ドキュメント\"\": 3}\","
      "\"[{\"\"name\"\": \"\"météo\"\", \"\"arguments\"\": {\"\"ville\"\": \"\"Zürich\"\"}}]\"\r\n";
  const std::string json = DatasetJsonFromCsv(csv);
  EXPECT_EQ(
      json,
      "[{\"input\":{},\"expected_tool_calls\":[{\"name\":\"météo\",\"arguments\":"
      "{\"ville\":\"Zürich\"}}],\"contexts\":[\"北京是中国的首都。\",{\"id\":\"ドキュメント\","
      "\"text\":\"👩‍👩‍👧 🎉 é\"}],\"relevant_ids\":{\"ドキュメント\":3}}]");
  const std::string back = CsvFromDatasetJson(json, CsvHeader(csv));
  EXPECT_EQ(DatasetJsonFromCsv(back), json);
  EXPECT_EQ(CsvHeader(back), CsvHeader(csv));
  // Invalid UTF-8 in a JSON cell is the reader's error, as everywhere.
  ExpectCsvError("messages\r\n\"[\"\"\xC3(\"\"]\"\r\n", 2,
                 "invalid byte sequence for encoding \"UTF8\"");
}

TEST(DatasetCsvJsonColumns, ExportEachColumn) {
  for (const JsonColumn& column : kJsonColumns) {
    SCOPED_TRACE(column.name);
    // Pretty-printed in the JSON, compact in the cell; absent and null cases
    // get an unquoted empty cell.
    const std::string json = std::string(R"([{"input":{"q":"x"},")") + column.name +
                             "\":" + Json::parse(column.value).dump(2) +
                             R"(},{"input":{"q":"y"}},{"input":{"q":"z"},")" + column.name +
                             "\":null}]";
    const std::string csv = CsvFromDatasetJson(json);
    EXPECT_EQ(csv, std::string("q,") + column.name + "\r\nx," + CsvCell(column.value) +
                       "\r\ny,\r\nz,\r\n");
    EXPECT_EQ(FromCsv(csv), Normalized(Json::parse(json)));
  }
}

TEST(DatasetCsvJsonColumns, ExportColumnsInFixedOrderAfterMetadata) {
  // Keys in any order in the test cases, columns in the fixed order.
  const std::string json = R"([
    {"relevant_ids": ["d1"], "input": {"q": "1"}, "contexts": ["c"], "expected": "e"},
    {"messages": [], "metadata": {"k": 1}, "expected_tool_calls": [{"name": "f"}], "context": "x"}
  ])";
  const std::string csv = CsvFromDatasetJson(json);
  EXPECT_EQ(csv,
            "q,expected,context,metadata,expected_tool_calls,messages,contexts,relevant_ids\r\n"
            "1,e,,,,,\"[\"\"c\"\"]\",\"[\"\"d1\"\"]\"\r\n"
            ",,x,\"{\"\"k\"\":1}\",\"[{\"\"name\"\":\"\"f\"\"}]\",[],,\r\n");
  EXPECT_EQ(FromCsv(csv), Normalized(Json::parse(json)));
  // A preferred order (the imported header) still comes first.
  EXPECT_EQ(CsvFromDatasetJson(json, {"relevant_ids", "q", "messages"}),
            "relevant_ids,q,messages,expected,context,metadata,expected_tool_calls,contexts\r\n"
            "\"[\"\"d1\"\"]\",1,,e,,,,\"[\"\"c\"\"]\"\r\n"
            ",,[],,x,\"{\"\"k\"\":1}\",\"[{\"\"name\"\":\"\"f\"\"}]\",\r\n");
  // Import with that header, export with it: the same bytes.
  const std::string imported =
      "contexts,q,expected_tool_calls,relevant_ids,messages\r\n"
      "\"[\"\"a\"\"]\",1,[],\"{\"\"a\"\":1}\",\r\n"
      ",2,,,\"[{\"\"role\"\":\"\"user\"\",\"\"content\"\":\"\"x\"\"}]\"\r\n";
  EXPECT_EQ(CsvFromDatasetJson(DatasetJsonFromCsv(imported), CsvHeader(imported)), imported);
}

TEST(DatasetCsvJsonColumns, ExportKeepsNumbersAndStrings) {
  const std::string json =
      R"([{"expected_tool_calls":[{"name":"f","arguments":{"x":-1.5e-7,"s":"a,\"b\"\nc"}}],)"
      R"("relevant_ids":{"a":0.50,"b":123456789012345678901234}}])";
  const std::string csv = CsvFromDatasetJson(json);
  EXPECT_EQ(csv,
            "expected_tool_calls,relevant_ids\r\n"
            "\"[{\"\"name\"\":\"\"f\"\",\"\"arguments\"\":{\"\"x\"\":-1.5e-7,\"\"s\"\":"
            "\"\"a,\\\"\"b\\\"\"\\nc\"\"}}]\",\"{\"\"a\"\":0.50,\"\"b\"\":123456789012345678901234}"
            "\"\r\n");
  EXPECT_EQ(DatasetJsonFromCsv(csv), R"([{"input":{},)" + json.substr(2));
}

TEST(DatasetCsvJsonColumns, ExportWrongShape) {
  const std::vector<std::pair<const char*, const char*>> cases = {
      {R"([{"expected_tool_calls": {}}])",
       "\"expected_tool_calls\" of test case 1 must be a JSON array or null"},
      {R"([{"expected_tool_calls": "[]"}])",
       "\"expected_tool_calls\" of test case 1 must be a JSON array or null"},
      {R"([{}, {"messages": 1}])", "\"messages\" of test case 2 must be a JSON array or null"},
      {R"([{"messages": {"role": "user"}}])",
       "\"messages\" of test case 1 must be a JSON array or null"},
      {R"([{"contexts": "text"}])", "\"contexts\" of test case 1 must be a JSON array or null"},
      {R"([{"contexts": true}])", "\"contexts\" of test case 1 must be a JSON array or null"},
      {R"([{"relevant_ids": "d1"}])",
       "\"relevant_ids\" of test case 1 must be a JSON array or object, or null"},
      {R"([{"relevant_ids": 3}])",
       "\"relevant_ids\" of test case 1 must be a JSON array or object, or null"},
      {R"([{"metadata": []}])", "\"metadata\" of test case 1 must be a JSON object or null"},
      {R"([{"messages": ["\u0000"]}])", "test case 1 contains the character \\u0000"},
      {R"([{"relevant_ids": {"\u0000": 1}}])", "test case 1 contains the character \\u0000"},
  };
  for (const auto& [json, message] : cases) {
    SCOPED_TRACE(json);
    const Error e =
        ExpectError([&] { CsvFromDatasetJson(json); }, ErrorKind::kInvalidParameterValue, message);
    EXPECT_FALSE(e.detail().empty());
  }
  // The hint for an unknown key names them all.
  const Error e =
      ExpectError([] { CsvFromDatasetJson(R"([{"tools": []}])"); },
                  ErrorKind::kInvalidParameterValue, "unknown key \"tools\" in test case 1");
  EXPECT_EQ(e.hint(),
            "A test case has the keys input, expected, context, metadata, expected_tool_calls, "
            "messages, goal, contexts and relevant_ids.");
}

TEST(DatasetCsvJsonColumns, GoalIsTextLikeExpected) {
  const std::string json = DatasetJsonFromCsv(
      "question,goal,messages\r\nq,\"Book a table, for two\",\"[{\"\"role\"\":\"\"user\"\",\"\"content\"\":\"\"hi\"\"}]\"\r\n");
  EXPECT_EQ(json, R"([{"input":{"question":"q"},"messages":[{"role":"user","content":"hi"}],"goal":"Book a table, for two"}])");
  EXPECT_EQ(CsvFromDatasetJson(json), "question,messages,goal\r\nq,\"[{\"\"role\"\":\"\"user\"\",\"\"content\"\":\"\"hi\"\"}]\",\"Book a table, for two\"\r\n");
}

TEST(DatasetCsvJsonColumns, InputFieldsNamedLikeTheColumns) {
  for (const char* name : {"expected_tool_calls", "messages", "contexts", "relevant_ids"}) {
    SCOPED_TRACE(name);
    const Json dataset = {{{"input", {{"q", "x"}}}}, {{"input", {{name, "x"}}}}};
    const Error e = ExpectError([&] { ToCsv(dataset); }, ErrorKind::kInvalidParameterValue,
                                std::string("input field \"") + name + "\" of test case 2 cannot");
    EXPECT_NE(e.detail().find("relevant_ids hold those fields"), std::string::npos) << e.detail();
  }
  // Inside a JSON-valued field or a nested input value they are just keys.
  EXPECT_NO_THROW(
      CsvFromDatasetJson(R"([{"messages": [{"messages": 1}], "input": {"o": {"contexts": 1}}}])"));
}

TEST(DatasetCsvJsonColumns, RepeatedKeysLastWins) {
  EXPECT_EQ(CsvFromDatasetJson(R"([{"messages": [1], "messages": [2], "contexts": ["a"],)"
                               R"( "contexts": null}, {"relevant_ids": [], "relevant_ids": {}}])"),
            "messages,contexts,relevant_ids\r\n[2],,\r\n,,{}\r\n");
}

}  // namespace
}  // namespace llmeval::core::data
