// A checked JSON Schema, shared by json_schema_check.cpp (which builds it)
// and json_schema.cpp (which validates with it). Internal to those files.
#pragma once

#include <cstddef>
#include <regex>
#include <string>
#include <string_view>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "core/metrics/json_schema.hpp"

namespace llmeval::core::metrics::json_schema_detail {

struct Compiled {
  nlohmann::json root;
  // Every "pattern" and patternProperties key, compiled, by its UTF-8 text.
  std::unordered_map<std::string, std::wregex> patterns;
  // Every "$ref" value, resolved to the subschema of root it names.
  std::unordered_map<std::string, const nlohmann::json*> refs;
};

// Checks compiled.root and fills patterns and refs; throws as JsonSchema's
// constructor documents.
void Check(Compiled& compiled);

// The nesting depth of a value (a scalar is 0), without recursing.
std::size_t Depth(const nlohmann::json& value);

// UTF-8 as code points in a wstring (wchar_t holds 32 bits on the platforms
// Postgres runs this on), for std::wregex.
std::wstring Wide(std::string_view utf8);

}  // namespace llmeval::core::metrics::json_schema_detail

#include "core/cpp_only.hpp"
