// A checked JSON Schema, shared by json_schema_check.cpp (which builds it)
// and json_schema.cpp (which validates with it). Internal to those files.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include <nlohmann/json.hpp>
#include <re2/re2.h>

#include "core/metrics/json_schema.hpp"

namespace llmeval::core::metrics::json_schema_detail {

// A pattern translated to RE2's syntax and compiled, with a bound on what
// matching it costs per byte of text (see Checker::Pattern).
struct Pattern {
  std::unique_ptr<const re2::RE2> re;
  std::size_t cost;
};

struct Compiled {
  nlohmann::json root;
  // Every "pattern" and patternProperties key, compiled, by its UTF-8 text.
  std::unordered_map<std::string, Pattern> patterns;
  // Every "$ref" value, resolved to the subschema of root it names.
  std::unordered_map<std::string, const nlohmann::json*> refs;
};

// Checks compiled.root and fills patterns and refs; throws as JsonSchema's
// constructor documents.
void Check(Compiled& compiled);

// The nesting depth of a value (a scalar is 0), without recursing.
std::size_t Depth(const nlohmann::json& value);

}  // namespace llmeval::core::metrics::json_schema_detail

#include "core/cpp_only.hpp"
