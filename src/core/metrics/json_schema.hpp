// Checking a model's JSON output against a JSON Schema: the subset of JSON
// Schema (draft 2020-12, with draft-07 spellings) that structured-output
// checks use. Debian 12 packages no C++ validator, so this is our own, on
// nlohmann::json.
//
// Supported keywords:
//   type (a name or an array of names; "integer" accepts 1.0), enum, const,
//   properties, required, additionalProperties (boolean or schema),
//   patternProperties, minProperties, maxProperties,
//   items (a schema; an array of schemas is draft-07's tuple form, taken as
//   prefixItems, with additionalItems for the rest), prefixItems, minItems,
//   maxItems, uniqueItems,
//   minLength, maxLength (in Unicode code points), pattern,
//   minimum, maximum, exclusiveMinimum, exclusiveMaximum (numbers; draft-04's
//   boolean forms too), multipleOf,
//   allOf, anyOf, oneOf, not, boolean schemas true and false,
//   $ref to "#", "#/$defs/name", "#/definitions/name" or any other local JSON
//   pointer ("#/properties/a"); its siblings apply too, as in 2019-09 on.
// Any other keyword (format, title, description, $schema, contains, ...) is
// an annotation and ignored, as the specification allows for unknown ones.
//
// Patterns are ECMAScript regular expressions, searched, not anchored, as the
// specification says: "^[0-9]+$" to match the whole string. They run on RE2
// (UTF-8 mode, over code points), which matches in time linear in the text:
// a pattern that backtracks exponentially elsewhere, like "^(a+)+$", is as
// fast as any. ECMAScript's own meanings are kept where they differ from
// RE2's (\s, '.', \uXXXX, (?<name>...), [^], \cX); what RE2 cannot run in
// linear time (backreferences, lookahead, lookbehind) is refused with the
// schema. A match cannot be interrupted, so its work is bounded instead: a
// string whose length in bytes times the pattern's size (RE2 instructions,
// a Unicode class counted as a few) exceeds kMaxPatternWork, about a second
// of matching at worst, is reported as too long to match. Patterns are
// bounded to kMaxPatternLength code points.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace llmeval::core::metrics {

namespace json_schema_detail {
struct Compiled;
}  // namespace json_schema_detail

inline constexpr std::size_t kMaxPatternWork = 100000000;
inline constexpr std::size_t kMaxPatternLength = 1000;
// JSON nesting limits. Deeper documents are not validated (one error says
// so); deeper schemas are refused. Validation recurses along both.
inline constexpr std::size_t kMaxDocumentDepth = 128;
inline constexpr std::size_t kMaxSchemaDepth = 256;

// Whether text is one JSON value (RFC 8259: any value, surrounding whitespace
// allowed, valid UTF-8).
bool IsJson(std::string_view text);

// A checked schema, its patterns compiled: build it once to validate many
// documents.
class JsonSchema {
 public:
  // Throws Error(kInvalidParameterValue) for a schema that is not one: not an
  // object or boolean, a known keyword with a value of the wrong kind (say
  // "minimum": "3" or an unknown type name), an invalid pattern, a $ref that
  // is not local or leads nowhere. Error(kProgramLimitExceeded) for a schema
  // nested deeper than kMaxSchemaDepth.
  explicit JsonSchema(const nlohmann::json& schema);
  ~JsonSchema();
  JsonSchema(const JsonSchema&) = delete;
  JsonSchema& operator=(const JsonSchema&) = delete;

  // Why document does not validate, at most max_errors (at least 1) lines
  // (in the order the keywords are checked, an object's properties by
  // name); empty when it does. A document that is not JSON gives one error, "not
  // JSON: <why>". Each error starts with the JSON pointer of the value it is
  // about ("/" for the whole document), as in
  //   "/items/2/price: 12 is less than minimum 100".
  // Throws Error(kInvalidParameterValue) for a $ref cycle that never reaches
  // a value (as {"$ref": "#"}), found only when validating.
  std::vector<std::string> Errors(std::string_view document, std::size_t max_errors = 10) const;

  // The same for a parsed document (a separate name: a string literal
  // converts to either argument type).
  std::vector<std::string> ParsedErrors(const nlohmann::json& document,
                                        std::size_t max_errors = 10) const;

 private:
  std::unique_ptr<json_schema_detail::Compiled> compiled_;
};

// JsonSchema(schema).Errors(document, max_errors).
std::vector<std::string> JsonSchemaErrors(std::string_view document, const nlohmann::json& schema,
                                          std::size_t max_errors = 10);

}  // namespace llmeval::core::metrics

#include "core/cpp_only.hpp"
