#include "core/metrics/json_schema.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace llmeval::core::metrics {
namespace {

using nlohmann::json;
using Errors = std::vector<std::string>;

Errors Check(const std::string& document, const char* schema, std::size_t max_errors = 10) {
  return JsonSchemaErrors(document, json::parse(schema), max_errors);
}

bool Valid(const std::string& document, const char* schema) {
  return Check(document, schema).empty();
}

ErrorKind SchemaErrorKind(const char* schema, std::string* message = nullptr) {
  try {
    JsonSchema s{json::parse(schema)};
  } catch (const Error& e) {
    if (message) *message = e.what();
    return e.kind();
  }
  ADD_FAILURE() << "schema accepted: " << schema;
  return ErrorKind::kInternal;
}

// ---------------------------------------------------------------------------

TEST(IsJson, Values) {
  for (const char* text : {"{}", "[]", "1", "-0.5e3", "\"x\"", "null", "true",
                           " \n{\"a\": [1, {}]} ", "\"caf\\u00e9\"", "\"\xC3\xA9\""}) {
    EXPECT_TRUE(IsJson(text)) << text;
  }
  for (const char* text : {"", " ", "{", "{'a': 1}", "{\"a\": 1,}", "[1 2]", "01", "NaN", "tru",
                           "```json\n{}\n```", "{} {}", "\"\xC3\"", "\"\\ud800\""}) {
    EXPECT_FALSE(IsJson(text)) << text;
  }
}

TEST(JsonSchema, NotJson) {
  const Errors e = Check("{\"a\": }", "{}");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].rfind("not JSON: parse error at line 1, column 7: syntax error", 0), 0u) << e[0];
  EXPECT_EQ(Check("", "{}")[0].rfind("not JSON: ", 0), 0u);
  // One line, whatever the document holds.
  const Errors multiline = Check("{\n\n\"a\"\n:\n", "{}");
  ASSERT_EQ(multiline.size(), 1u);
  EXPECT_EQ(multiline[0].find('\n'), std::string::npos);
  // A number beyond a double (nlohmann's out_of_range, found by json_schema_fuzzer).
  const Errors huge = Check("{\"a\": 3.91e32975791}", "{}");
  ASSERT_EQ(huge.size(), 1u);
  EXPECT_EQ(huge[0].rfind("not JSON: number overflow", 0), 0u) << huge[0];
  EXPECT_FALSE(IsJson("1e400"));
}

TEST(JsonSchema, BooleanAndEmptySchemas) {
  EXPECT_TRUE(Valid("[1, {}]", "{}"));
  EXPECT_TRUE(Valid("null", "true"));
  EXPECT_EQ(Check("1", "false"), Errors{"/: no value is allowed here (schema false)"});
}

TEST(JsonSchema, Type) {
  EXPECT_TRUE(Valid(R"("x")", R"({"type": "string"})"));
  EXPECT_TRUE(Valid("1", R"({"type": "integer"})"));
  EXPECT_TRUE(Valid("1.0", R"({"type": "integer"})"));
  EXPECT_TRUE(Valid("-3", R"({"type": "number"})"));
  EXPECT_TRUE(Valid("null", R"({"type": ["string", "null"]})"));
  EXPECT_TRUE(Valid("{}", R"({"type": "object"})"));
  EXPECT_TRUE(Valid("[]", R"({"type": "array"})"));
  EXPECT_TRUE(Valid("false", R"({"type": "boolean"})"));
  EXPECT_EQ(Check("12", R"({"type": "string"})"), Errors{"/: 12 is not of type string"});
  EXPECT_EQ(Check("1.5", R"({"type": "integer"})"), Errors{"/: 1.5 is not of type integer"});
  EXPECT_EQ(Check(R"("1")", R"({"type": "number"})"), Errors{R"(/: "1" is not of type number)"});
  EXPECT_EQ(Check("[1]", R"({"type": ["string", "null"]})"),
            Errors{"/: an array is not of type string or null"});
  EXPECT_EQ(Check("{}", R"({"type": "array"})"), Errors{"/: an object is not of type array"});
  EXPECT_EQ(Check("0", R"({"type": "boolean"})"), Errors{"/: 0 is not of type boolean"});
  EXPECT_EQ(Check("false", R"({"type": "null"})"), Errors{"/: false is not of type null"});
}

TEST(JsonSchema, EnumAndConst) {
  EXPECT_TRUE(Valid(R"("b")", R"({"enum": ["a", "b", 3]})"));
  EXPECT_TRUE(Valid("3.0", R"({"enum": ["a", "b", 3]})"));
  EXPECT_TRUE(Valid(R"({"x": [1]})", R"({"enum": [{"x": [1]}]})"));
  EXPECT_EQ(Check(R"("c")", R"({"enum": ["a", "b", 3]})"),
            Errors{R"(/: "c" is not one of ["a","b",3])"});
  EXPECT_TRUE(Valid("4", R"({"const": 4})"));
  EXPECT_TRUE(Valid(R"({"b": 2, "a": 1})", R"({"const": {"a": 1, "b": 2}})"));
  EXPECT_EQ(Check("5", R"({"const": 4})"), Errors{"/: 5 is not equal to const 4"});
  EXPECT_EQ(Check(R"({"a": 1})", R"({"const": {"a": 2}})"),
            Errors{R"(/: an object is not equal to const {"a":2})"});
}

TEST(JsonSchema, PropertiesAndRequired) {
  const char* schema = R"({
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
    "required": ["name", "age"]
  })";
  EXPECT_TRUE(Valid(R"({"name": "Ada", "age": 36, "extra": true})", schema));
  EXPECT_EQ(Check(R"({"name": "Ada"})", schema),
            Errors{R"(/: required property "age" is missing)"});
  EXPECT_EQ(Check(R"({})", schema), (Errors{R"(/: required property "name" is missing)",
                                            R"(/: required property "age" is missing)"}));
  EXPECT_EQ(Check(R"({"name": 1, "age": -1})", schema),
            (Errors{"/age: -1 is less than minimum 0", "/name: 1 is not of type string"}));
  // Keywords for objects ignore other types.
  EXPECT_TRUE(Valid("[]", R"({"required": ["a"], "properties": {"a": false}})"));
}

TEST(JsonSchema, AdditionalProperties) {
  const char* closed = R"({"properties": {"a": {}}, "additionalProperties": false})";
  EXPECT_TRUE(Valid(R"({"a": 1})", closed));
  EXPECT_EQ(Check(R"({"a": 1, "b": 2})", closed),
            Errors{R"(/: property "b" is not allowed (additionalProperties))"});
  const std::string nested = R"({"properties": {"o": )" + std::string(closed) + "}}";
  EXPECT_EQ(Check(R"({"o": {"a": 1, "z": 2}})", nested.c_str()),
            Errors{R"(/o: property "z" is not allowed (additionalProperties))"});
  const char* typed = R"({"properties": {"a": {}}, "additionalProperties": {"type": "number"}})";
  EXPECT_TRUE(Valid(R"({"a": "x", "b": 2})", typed));
  EXPECT_EQ(Check(R"({"a": "x", "b": "y"})", typed), Errors{R"(/b: "y" is not of type number)"});
}

TEST(JsonSchema, PatternProperties) {
  const char* schema = R"({
    "patternProperties": {"^x-": {"type": "string"}, "_id$": {"type": "integer"}},
    "additionalProperties": false
  })";
  EXPECT_TRUE(Valid(R"({"x-trace": "abc", "user_id": 7})", schema));
  EXPECT_EQ(Check(R"({"x-trace": 1})", schema), Errors{"/x-trace: 1 is not of type string"});
  EXPECT_EQ(Check(R"({"other": 1})", schema),
            Errors{R"(/: property "other" is not allowed (additionalProperties))"});
  // A name matching two patterns meets both.
  EXPECT_EQ(Check(R"({"x-user_id": 1})", schema), Errors{"/x-user_id: 1 is not of type string"});
}

TEST(JsonSchema, MinAndMaxProperties) {
  EXPECT_TRUE(Valid(R"({"a": 1})", R"({"minProperties": 1, "maxProperties": 1})"));
  EXPECT_EQ(Check("{}", R"({"minProperties": 1})"),
            Errors{"/: an object of 0 properties has fewer than minProperties 1"});
  EXPECT_EQ(Check(R"({"a": 1, "b": 2})", R"({"maxProperties": 1})"),
            Errors{"/: an object of 2 properties has more than maxProperties 1"});
}

TEST(JsonSchema, Items) {
  const char* schema = R"({"type": "array", "items": {"type": "object",
      "properties": {"price": {"type": "number", "minimum": 100}}}})";
  EXPECT_TRUE(Valid(R"([{"price": 100}, {"price": 250.5}])", schema));
  EXPECT_EQ(Check(R"({"items": [{"price": 100}, {"price": 150}, {"price": 12}]})",
                  R"({"properties": {"items": {"type": "array", "items": {"type": "object",
                     "properties": {"price": {"type": "number", "minimum": 100}}}}}})"),
            Errors{"/items/2/price: 12 is less than minimum 100"});
  EXPECT_EQ(Check(R"([1, "a", 2, "b"])", R"({"items": {"type": "integer"}})"),
            (Errors{R"(/1: "a" is not of type integer)", R"(/3: "b" is not of type integer)"}));
}

TEST(JsonSchema, PrefixItemsAndTupleItems) {
  const char* schema = R"({"prefixItems": [{"type": "string"}, {"type": "integer"}],
                           "items": {"type": "boolean"}})";
  EXPECT_TRUE(Valid(R"(["a", 1])", schema));
  EXPECT_TRUE(Valid(R"(["a", 1, true, false])", schema));
  EXPECT_TRUE(Valid(R"(["a"])", schema));
  EXPECT_EQ(Check(R"([1, "a", 3])", schema),
            (Errors{"/0: 1 is not of type string", R"(/1: "a" is not of type integer)",
                    "/2: 3 is not of type boolean"}));
  // Draft-07: items as an array, additionalItems for the rest.
  const char* draft7 = R"({"items": [{"type": "string"}], "additionalItems": false})";
  EXPECT_TRUE(Valid(R"(["a"])", draft7));
  EXPECT_EQ(Check(R"(["a", 2])", draft7), Errors{"/1: no value is allowed here (schema false)"});
}

TEST(JsonSchema, MinMaxAndUniqueItems) {
  EXPECT_TRUE(Valid("[1, 2]", R"({"minItems": 2, "maxItems": 2})"));
  EXPECT_EQ(Check("[1]", R"({"minItems": 2})"),
            Errors{"/: an array of 1 item is shorter than minItems 2"});
  EXPECT_EQ(Check("[1, 2, 3]", R"({"maxItems": 2})"),
            Errors{"/: an array of 3 items is longer than maxItems 2"});
  EXPECT_TRUE(Valid(R"([1, "1", [1], {"a": 1}, true])", R"({"uniqueItems": true})"));
  EXPECT_TRUE(Valid("[1, 1]", R"({"uniqueItems": false})"));
  EXPECT_EQ(Check("[3, 1, 2, 1.0]", R"({"uniqueItems": true})"),
            Errors{"/: items 1 and 3 are equal, but uniqueItems is true"});
  EXPECT_EQ(Check(R"([{"a": [1, 2]}, {"a": [1, 2]}])", R"({"uniqueItems": true})"),
            Errors{"/: items 0 and 1 are equal, but uniqueItems is true"});
}

TEST(JsonSchema, StringLengthInCodePoints) {
  // "héllo" is 5 code points, 6 bytes; "🎉" one code point, 4 bytes.
  EXPECT_TRUE(Valid(R"("héllo")", R"({"minLength": 5, "maxLength": 5})"));
  EXPECT_TRUE(Valid(R"("🎉")", R"({"maxLength": 1})"));
  EXPECT_EQ(Check(R"("ab")", R"({"minLength": 3})"),
            Errors{"/: a string of 2 characters is shorter than minLength 3"});
  EXPECT_EQ(Check(R"("héllo!")", R"({"maxLength": 5})"),
            Errors{"/: a string of 6 characters is longer than maxLength 5"});
  EXPECT_EQ(Check(R"("a")", R"({"minLength": 2.0})"),
            Errors{"/: a string of 1 character is shorter than minLength 2.0"});
}

TEST(JsonSchema, Pattern) {
  EXPECT_TRUE(Valid(R"("order-123")", R"({"pattern": "[0-9]+"})"));  // searched, not anchored
  EXPECT_TRUE(Valid(R"("2024-01-31")", R"({"pattern": "^\\d{4}-\\d{2}-\\d{2}$"})"));
  EXPECT_EQ(Check(R"("2024-1-31")", R"({"pattern": "^\\d{4}-\\d{2}-\\d{2}$"})"),
            Errors{R"(/: "2024-1-31" does not match pattern "^\\d{4}-\\d{2}-\\d{2}$")"});
  // Over code points: "é" is one character for '.'.
  EXPECT_TRUE(Valid(R"("é")", R"({"pattern": "^.$"})"));
  EXPECT_TRUE(Valid(R"("naïve")", R"({"pattern": "^na.ve$"})"));
  // No length limit for an ordinary pattern (std::regex once had one, to
  // spare the stack).
  EXPECT_TRUE(Valid("\"" + std::string(1000000, 'a') + "\"", R"({"pattern": "^(a|b)*$"})"));
  // Patterns are bounded in length, which bounds their compilation.
  const std::string nested = std::string(499, '(') + "a" + std::string(499, ')');
  EXPECT_TRUE(Valid(R"("a")", json{{"pattern", nested}}.dump().c_str()));
  EXPECT_FALSE(Valid(R"("b")", json{{"pattern", nested}}.dump().c_str()));
  const std::string too_long = json{{"pattern", std::string(kMaxPatternLength + 1, 'a')}}.dump();
  std::string message;
  EXPECT_EQ(SchemaErrorKind(too_long.c_str(), &message), ErrorKind::kInvalidParameterValue);
  EXPECT_EQ(message, R"(invalid JSON schema at "/pattern": pattern longer than 1000 characters)");
}

// The error a schema is refused with.
Error SchemaError(const std::string& schema) {
  try {
    JsonSchema s{json::parse(schema)};
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "schema accepted: " << schema;
  return Error(ErrorKind::kInternal, "accepted");
}

double Seconds(const std::function<void()>& f) {
  const auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Patterns that take a backtracking engine time exponential in the text
// (std::regex: a minute for "^(a+)+$" on 31 a's and a "!", doubling with each
// more) are matched by RE2 in linear time.
TEST(JsonSchemaPattern, CatastrophicPatternsFinish) {
  struct Case {
    const char* pattern;
    std::string text;
  };
  const Case cases[] = {
      {"^(a+)+$", std::string(40, 'a') + "!"},
      {"^(a|aa)+$", std::string(5000, 'a') + "!"},
      {"^(a|a?)+$", std::string(5000, 'a') + "!"},
      {"(x+x+)+y", std::string(10000, 'x')},
      {"^(\\w+\\s?)*$", std::string(5000, 'w') + "!"},
      {"^(([a-z])+.)+[A-Z]([a-z])+$", std::string(5000, 'a')},
  };
  for (const Case& c : cases) {
    const std::string document = json(c.text).dump();
    const std::string schema = json{{"pattern", c.pattern}}.dump();
    bool valid = true;
    EXPECT_LT(Seconds([&] { valid = Valid(document, schema.c_str()); }), 1.0) << c.pattern;
    EXPECT_FALSE(valid) << c.pattern;
  }
  EXPECT_TRUE(Valid(json(std::string(40, 'a')).dump(), R"({"pattern": "^(a+)+$"})"));
  // The same for property names.
  const std::string object = json{{std::string(40, 'a') + "!", 1}}.dump();
  bool valid = false;
  const char* schema = R"({"patternProperties": {"^(a+)+$": false}})";
  EXPECT_LT(Seconds([&] { valid = Valid(object, schema); }), 1.0);
  EXPECT_TRUE(valid);
  EXPECT_FALSE(Valid(json{{std::string(40, 'a'), 1}}.dump(), schema));
}

// A match cannot be interrupted, so its work (the text's bytes times the
// pattern's size) is bounded: a pattern with many positions live at once
// costs RE2 time proportional to both.
TEST(JsonSchemaPattern, WorkIsBounded) {
  const std::string long_text = json(std::string(100000, 'a')).dump();
  std::vector<std::string> errors;
  EXPECT_LT(Seconds([&] { errors = Check(long_text, R"({"pattern": ".{1000}x"})"); }), 2.0);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].rfind("/: a string of 100000 characters is too long to match against "
                            "pattern \".{1000}x\" (the limit for this pattern is ",
                            0),
            0u)
      << errors[0];
  const std::string long_key = json{{std::string(100000, 'a'), 1}}.dump();
  errors = Check(long_key,
                 R"({"patternProperties": {".{1000}x": true}, "additionalProperties": false})");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find(": a property name of 100000 characters is too long to match"),
            std::string::npos)
      << errors[0];
  // Unicode classes count as one position each: \p{L} is a thousand RE2
  // instructions in UTF-8 but one live thread per character.
  EXPECT_TRUE(Valid(json(std::string(1000000, 'a')).dump(), R"({"pattern": "^\\p{L}+$"})"));
  EXPECT_TRUE(Valid(json(std::string(10000, 'a') + "x").dump(), R"({"pattern": ".{1000}x"})"));
  // Up to the bound, in the worst cases we know (RE2's DFA gives up, its
  // NFA runs a thousand positions per byte): about a second, not minutes.
  std::string han;
  for (int i = 0; i < 4000; ++i) han += "中";
  // (\p{Han} has no Latin-1 letter, which must not make the cost vanish.)
  for (const char* pattern : {".{1000}x", "[^]{1000}x", "[\\s\\S]{1,1000}x", "\\p{Han}.{999}x",
                              "[^\\x00-\\xff]{1000}x"}) {
    const std::string schema = json{{"pattern", pattern}}.dump();
    EXPECT_LT(Seconds([&] { EXPECT_FALSE(Valid(json(han).dump(), schema.c_str())); }), 5.0)
        << pattern;
  }
}

// What RE2 cannot run in linear time is refused with the schema, with a
// message saying so, not silently passed.
TEST(JsonSchemaPattern, UnsupportedConstructsAreErrors) {
  struct Case {
    const char* pattern;
    const char* detail;
  };
  const Case cases[] = {
      {"(a)\\1", "Backreferences (\\1) are not supported."},
      {"(?<x>a)\\k<x>", "Backreferences (\\k<name>) are not supported."},
      {"a(?=b)", "Lookaheads ((?=...) and (?!...)) are not supported."},
      {"a(?!b)", "Lookaheads ((?=...) and (?!...)) are not supported."},
      {"(?<=a)b", "Lookbehinds ((?<=...) and (?<!...)) are not supported."},
      {"(?<!a)b", "Lookbehinds ((?<=...) and (?<!...)) are not supported."},
      {"a{1001}", "RE2 reports: invalid repetition size: {1001}."},
      {"a{2,1}", "RE2 reports: invalid repetition size: {2,1}."},
      {"\\p{Nonsense}", "RE2 reports: invalid character class range: \\p{Nonsense}."},
      {"[a", "RE2 reports: missing ]: [a."},
      {"a\\", "RE2 reports: trailing \\."},
  };
  for (const Case& c : cases) {
    const Error e = SchemaError(json{{"pattern", c.pattern}}.dump());
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidParameterValue) << c.pattern;
    EXPECT_EQ(std::string(e.what()),
              "invalid JSON schema at \"/pattern\": invalid pattern " + json(c.pattern).dump())
        << c.pattern;
    EXPECT_EQ(e.detail(), c.detail) << c.pattern;
    EXPECT_NE(e.hint().find("RE2"), std::string::npos) << c.pattern;
  }
  // In patternProperties too.
  const Error e = SchemaError(R"({"patternProperties": {"(a)\\1": true}})");
  EXPECT_EQ(std::string(e.what()),
            R"(invalid JSON schema at "/patternProperties": invalid pattern "(a)\\1")");
  // Inside a class a digit escape is not a backreference: RE2 refuses the
  // octal escape itself.
  EXPECT_EQ(SchemaError(R"({"pattern": "[\\1]"})").kind(), ErrorKind::kInvalidParameterValue);
}

// ECMAScript's meanings where RE2's differ, and Unicode classes.
TEST(JsonSchemaPattern, EcmaScriptSemantics) {
  struct Case {
    const char* pattern;
    const char* document;
    bool valid;
  };
  const Case cases[] = {
      // \p{...}: general categories (short and long names) and scripts.
      {"^\\p{L}+$", R"("Grüße")", true},
      {"^\\p{L}+$", R"("Жизнь中文")", true},
      {"^\\p{L}+$", R"("abc1")", false},
      {"^\\p{Lu}\\p{Ll}+$", R"("Émile")", true},
      {"^\\p{Letter}+$", R"("ñandú")", true},
      {"^\\p{Uppercase_Letter}$", R"("é")", false},
      {"^\\p{Script=Greek}+$", R"("αβγ")", true},
      {"^\\p{sc=Greek}+$", R"("abc")", false},
      {"^\\P{L}+$", R"("123 !")", true},
      {"^[\\p{L}\\p{N}]+$", R"("x9é")", true},
      {"^\\p{Han}+$", R"("中文")", true},
      {"^[\\d-]+$", R"("1-2")", true},
      // \d and \w are ASCII, as in ECMAScript.
      {"^\\d$", R"("٣")", false},
      {"^\\w+$", R"("héllo")", false},
      // \s is ECMAScript's: Unicode spaces and line terminators, \v.
      {"^\\s$", R"("\u00a0")", true},
      {"^\\s$", R"("\u2028")", true},
      {"^\\s$", R"("\u000b")", true},
      {"^\\s$", R"("\ufeff")", true},
      {"^\\S$", R"("\u3000")", false},
      {"^\\S$", R"("x")", true},
      {"^[\\s]+$", R"(" \u00a0\t")", true},
      {"^[\\s\\S]+$", "\"a\\n\\u2028b\"", true},
      // '.' is any code point but a line terminator.
      {"^.$", R"("😀")", true},
      {"^.{3}$", R"("😀é中")", true},
      {"^.$", R"("\n")", false},
      {"^.$", R"("\r")", false},
      {"^.$", R"("\u2029")", false},
      {"^a.b$", R"("a.b")", true},
      {"^a\\.b$", R"("axb")", false},
      // [^] is anything, [] nothing.
      {"^[^]$", R"("\n")", true},
      {"[]", R"("anything")", false},
      {"^[]]$", R"("]")", false},
      // \u escapes, surrogate pairs, \u{...}, \x, \cX, [\b].
      {"^\\u0041$", R"("A")", true},
      {"^\\u00e9$", R"("é")", true},
      {"^\\uD83D\\uDE00$", R"("😀")", true},
      {"^\\u{1F600}$", R"("😀")", true},
      {"^\\x41$", R"("A")", true},
      {"^\\cJ$", R"("\n")", true},
      {"^[\\b]$", R"("\b")", true},
      // Identity escapes are the character (RE2 reads \a as the bell).
      {"^\\a$", R"("a")", true},
      {"^\\/\\-$", R"("/-")", true},
      // Named groups in ECMAScript's spelling.
      {"^(?<year>\\d{4})-(?<month>\\d{2})$", R"("2024-01")", true},
      // '$' only at the end, not before a final newline.
      {"^a$", R"("a\n")", false},
      // A literal '[' inside a class is not the start of [:alpha:].
      {"^[[:]+$", R"(":[")", true},
      // Searched, not anchored.
      {"b", R"("abc")", true},
  };
  for (const Case& c : cases) {
    const std::string schema = json{{"pattern", c.pattern}}.dump();
    EXPECT_EQ(Valid(c.document, schema.c_str()), c.valid) << c.pattern << " on " << c.document;
  }
}

TEST(JsonSchema, Bounds) {
  EXPECT_TRUE(Valid("5", R"({"minimum": 5, "maximum": 5})"));
  EXPECT_EQ(Check("4.5", R"({"minimum": 5})"), Errors{"/: 4.5 is less than minimum 5"});
  EXPECT_EQ(Check("6", R"({"maximum": 5.5})"), Errors{"/: 6 is greater than maximum 5.5"});
  EXPECT_TRUE(Valid("5.01", R"({"exclusiveMinimum": 5})"));
  EXPECT_EQ(Check("5", R"({"exclusiveMinimum": 5})"),
            Errors{"/: 5 is not greater than exclusiveMinimum 5"});
  EXPECT_TRUE(Valid("4.99", R"({"exclusiveMaximum": 5})"));
  EXPECT_EQ(Check("5", R"({"exclusiveMaximum": 5})"),
            Errors{"/: 5 is not less than exclusiveMaximum 5"});
  // Draft-04's boolean forms.
  EXPECT_EQ(Check("5", R"({"minimum": 5, "exclusiveMinimum": true})"),
            Errors{"/: 5 is not greater than minimum 5"});
  EXPECT_EQ(Check("5", R"({"maximum": 5, "exclusiveMaximum": true})"),
            Errors{"/: 5 is not less than maximum 5"});
  EXPECT_TRUE(Valid("5", R"({"minimum": 5, "exclusiveMinimum": false})"));
  // Other types are not bounded.
  EXPECT_TRUE(Valid(R"("1")", R"({"minimum": 5})"));
}

TEST(JsonSchema, MultipleOf) {
  EXPECT_TRUE(Valid("12", R"({"multipleOf": 4})"));
  EXPECT_TRUE(Valid("-12", R"({"multipleOf": 4})"));
  EXPECT_TRUE(Valid("0", R"({"multipleOf": 4})"));
  EXPECT_EQ(Check("7", R"({"multipleOf": 2})"), Errors{"/: 7 is not a multiple of 2"});
  EXPECT_TRUE(Valid("0.3", R"({"multipleOf": 0.1})"));  // 2.9999999999999996 in binary
  EXPECT_TRUE(Valid("4.5", R"({"multipleOf": 1.5})"));
  EXPECT_EQ(Check("4.6", R"({"multipleOf": 1.5})"), Errors{"/: 4.6 is not a multiple of 1.5"});
  EXPECT_EQ(Check("1.5", R"({"multipleOf": 1})"), Errors{"/: 1.5 is not a multiple of 1"});
}

TEST(JsonSchema, AllOf) {
  const char* schema = R"({"allOf": [{"type": "integer"}, {"minimum": 3}, {"maximum": 5}]})";
  EXPECT_TRUE(Valid("4", schema));
  EXPECT_EQ(Check("2.5", schema),
            (Errors{"/: 2.5 is not of type integer", "/: 2.5 is less than minimum 3"}));
}

TEST(JsonSchema, AnyOf) {
  const char* schema = R"({"anyOf": [{"type": "string", "maxLength": 2}, {"type": "integer"}]})";
  EXPECT_TRUE(Valid(R"("ab")", schema));
  EXPECT_TRUE(Valid("7", schema));
  EXPECT_EQ(Check(R"("abc")", schema), Errors{R"(/: "abc" does not match any schema of anyOf)"});
  EXPECT_EQ(Check("[]", schema), Errors{"/: an array does not match any schema of anyOf"});
}

TEST(JsonSchema, OneOf) {
  const char* schema = R"({"oneOf": [{"type": "integer"}, {"minimum": 10}]})";
  EXPECT_TRUE(Valid("3", schema));     // integer only
  EXPECT_TRUE(Valid("10.5", schema));  // minimum only
  EXPECT_EQ(Check("12", schema), Errors{"/: 12 matches oneOf schemas 0 and 1, not exactly one"});
  EXPECT_EQ(Check("2.5", schema), Errors{"/: 2.5 does not match any schema of oneOf"});
}

TEST(JsonSchema, Not) {
  EXPECT_TRUE(Valid("1", R"({"not": {"type": "string"}})"));
  EXPECT_EQ(Check(R"("x")", R"({"not": {"type": "string"}})"),
            Errors{R"(/: "x" matches the schema of "not")"});
}

TEST(JsonSchema, Refs) {
  const char* defs = R"({
    "$defs": {"positive": {"type": "number", "exclusiveMinimum": 0}},
    "definitions": {"name": {"type": "string", "minLength": 1}},
    "properties": {
      "price": {"$ref": "#/$defs/positive"},
      "label": {"$ref": "#/definitions/name"},
      "alias": {"$ref": "#/properties/label"}
    }
  })";
  EXPECT_TRUE(Valid(R"({"price": 2, "label": "x", "alias": "y"})", defs));
  EXPECT_EQ(Check(R"({"price": 0, "label": "", "alias": 3})", defs),
            (Errors{"/alias: 3 is not of type string",
                    "/label: a string of 0 characters is shorter "
                    "than minLength 1",
                    "/price: 0 is not greater than exclusiveMinimum 0"}));

  // A recursive schema: a tree whose nodes have integer values.
  const char* tree = R"({"type": "object", "required": ["value"],
    "properties": {"value": {"type": "integer"},
                   "children": {"type": "array", "items": {"$ref": "#"}}}})";
  EXPECT_TRUE(Valid(R"({"value": 1, "children": [{"value": 2}, {"value": 3, "children": []}]})",
                    tree));
  EXPECT_EQ(
      Check(R"({"value": 1, "children": [{"value": 2, "children": [{"value": "x"}]}]})", tree),
      Errors{R"(/children/0/children/0/value: "x" is not of type integer)"});

  // Siblings of $ref apply too.
  EXPECT_EQ(
      Check("7", R"({"$defs": {"n": {"type": "integer"}}, "$ref": "#/$defs/n", "maximum": 5})"),
      Errors{"/: 7 is greater than maximum 5"});
}

TEST(JsonSchema, RefCycleIsASchemaError) {
  for (const char* schema : {R"({"$ref": "#"})", R"({"allOf": [{"$ref": "#"}]})",
                             R"({"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}},
                                 "$ref": "#/$defs/a"})"}) {
    try {
      JsonSchemaErrors("1", json::parse(schema));
      ADD_FAILURE() << schema;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidParameterValue) << schema;
      EXPECT_EQ(std::string(e.what()), "invalid JSON schema: its $ref never reaches a value");
    }
  }
}

TEST(JsonSchema, UnknownKeywordsAreAnnotations) {
  EXPECT_TRUE(
      Valid(R"("not an email")", R"({"$schema": "https://json-schema.org/draft/2020-12/schema",
      "title": "t", "description": "d", "format": "email", "contains": {"type": "string"},
      "examples": [1], "x-custom": {"type": "nothing"}})"));
}

TEST(JsonSchema, InvalidSchemas) {
  struct Case {
    const char* schema;
    const char* message;
  };
  const Case cases[] = {
      {R"({"pattern": "(unclosed"})",
       R"(invalid JSON schema at "/pattern": invalid pattern "(unclosed")"},
      {R"({"properties": {"a": {"pattern": "[z-a]"}}})",
       R"(invalid JSON schema at "/properties/a/pattern": invalid pattern "[z-a]")"},
      {R"({"patternProperties": {"(": {}}})",
       R"(invalid JSON schema at "/patternProperties": invalid pattern "(")"},
      {R"({"pattern": "(?<=a)b"})",
       R"(invalid JSON schema at "/pattern": invalid pattern "(?<=a)b")"},
      {R"({"pattern": 5})", R"(invalid JSON schema at "/pattern": pattern must be a string)"},
      {"3", R"(invalid JSON schema at "/": a schema must be an object or a boolean)"},
      {R"({"type": "text"})", R"(invalid JSON schema at "/type": unknown type "text")"},
      {R"({"type": []})", R"(invalid JSON schema at "/type": type must not be an empty array)"},
      {R"({"minimum": "3"})", R"(invalid JSON schema at "/minimum": minimum must be a number)"},
      {R"({"minLength": -1})",
       R"(invalid JSON schema at "/minLength": minLength must be a non-negative integer)"},
      {R"({"maxItems": 1.5})",
       R"(invalid JSON schema at "/maxItems": maxItems must be a non-negative integer)"},
      {R"({"multipleOf": 0})",
       R"(invalid JSON schema at "/multipleOf": multipleOf must be a number greater than 0)"},
      {R"({"required": ["a", 1]})",
       R"(invalid JSON schema at "/required": required must be an array of strings)"},
      {R"({"enum": "a"})", R"(invalid JSON schema at "/enum": enum must be an array)"},
      {R"({"anyOf": []})", R"(invalid JSON schema at "/anyOf": must not be an empty array)"},
      {R"({"items": 1})",
       R"(invalid JSON schema at "/items": a schema must be an object or a boolean)"},
      {R"({"uniqueItems": 1})",
       R"(invalid JSON schema at "/uniqueItems": uniqueItems must be a boolean)"},
      {R"({"$ref": "https://example.com/s.json"})",
       R"(invalid JSON schema at "/$ref": $ref "https://example.com/s.json" is not a local reference ("#..."))"},
      {R"({"$ref": "#/$defs/missing"})",
       R"(invalid JSON schema at "/$ref": $ref "#/$defs/missing" names nothing)"},
      {R"({"$ref": "#/required", "required": ["a"]})",
       R"(invalid JSON schema at "/$ref": $ref "#/required" names something that is not a schema)"},
      // A mistake in a branch no document reaches is refused all the same.
      {R"({"anyOf": [true, {"properties": {"x": {"minimum": "0"}}}]})",
       R"(invalid JSON schema at "/anyOf/1/properties/x/minimum": minimum must be a number)"},
      // A $ref target outside the walked keywords is checked when referenced.
      {R"({"x-shared": {"pattern": "("}, "$ref": "#/x-shared"})",
       R"(invalid JSON schema at "/x-shared/pattern": invalid pattern "(")"},
  };
  for (const Case& c : cases) {
    std::string message;
    EXPECT_EQ(SchemaErrorKind(c.schema, &message), ErrorKind::kInvalidParameterValue) << c.schema;
    EXPECT_EQ(message, c.message) << c.schema;
  }
}

TEST(JsonSchema, MaxErrors) {
  const std::string doc = "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]";
  const char* schema = R"({"items": {"type": "string"}})";
  EXPECT_EQ(Check(doc, schema).size(), 10u);
  EXPECT_EQ(Check(doc, schema, 3),
            (Errors{"/0: 1 is not of type string", "/1: 2 is not of type string",
                    "/2: 3 is not of type string"}));
  EXPECT_EQ(Check(doc, schema, 0).size(), 1u);  // at least one
}

TEST(JsonSchema, PointerEscapingAndLongValues) {
  EXPECT_EQ(Check(R"({"a/b": {"c~d": 1}})",
                  R"({"properties": {"a/b": {"properties": {"c~d": {"type": "string"}}}}})"),
            Errors{"/a~1b/c~0d: 1 is not of type string"});
  const std::string long_value = "\"" + std::string(500, 'x') + "\"";
  const Errors e = Check(long_value, R"({"type": "integer"})");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0], "/: \"" + std::string(56, 'x') + "... is not of type integer");
}

TEST(JsonSchema, DepthLimits) {
  std::string deep;
  for (std::size_t i = 0; i < kMaxDocumentDepth + 1; ++i) deep += "[";
  for (std::size_t i = 0; i < kMaxDocumentDepth + 1; ++i) deep += "]";
  EXPECT_EQ(Check(deep, "{}"),
            Errors{"/: the document nests deeper than 128 levels and is not validated"});
  // At the limit, a recursive schema walks it all.
  std::string ok;
  for (std::size_t i = 0; i < kMaxDocumentDepth; ++i) ok += "[";
  for (std::size_t i = 0; i < kMaxDocumentDepth; ++i) ok += "]";
  EXPECT_TRUE(Valid(ok, R"({"type": "array", "items": {"$ref": "#"}})"));
  // A very deep document is refused without recursing (no stack overflow).
  const std::string abyss = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_EQ(Check(abyss, "{}").size(), 1u);

  json schema = json::object();
  for (std::size_t i = 0; i < kMaxSchemaDepth; ++i) schema = json{{"not", schema}};
  try {
    JsonSchema s{schema};
    ADD_FAILURE() << "deep schema accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kProgramLimitExceeded);
  }
}

TEST(JsonSchema, ReusableSchema) {
  const JsonSchema schema(json::parse(R"({"type": "object", "required": ["score"],
      "properties": {"score": {"type": "integer", "minimum": 1, "maximum": 5}}})"));
  EXPECT_TRUE(schema.Errors(R"({"score": 3})").empty());
  EXPECT_EQ(schema.Errors(R"({"score": 9})"), Errors{"/score: 9 is greater than maximum 5"});
  EXPECT_EQ(schema.ParsedErrors(json::parse(R"({})")),
            Errors{R"(/: required property "score" is missing)"});
}

}  // namespace
}  // namespace llmeval::core::metrics
