// Reading a metric's `options jsonb` (the trailing argument of the corpus
// aggregates, which take no defaults) with the same errors for every metric:
// malformed JSON is 22P02, anything else wrong 22023 naming the key.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace llmeval::core::metrics {

// The options object; `metric` names it in errors ("BLEU", "chrF").
nlohmann::json ParseOptionsObject(std::string_view json, const std::string& metric);

// Unknown key; `valid` lists the accepted keys for the hint.
[[noreturn]] void ThrowUnknownOption(const std::string& metric, const std::string& key,
                                     const std::string& valid);

// A key whose value has the wrong JSON type; `expected` says which.
[[noreturn]] void ThrowOptionType(const std::string& metric, const std::string& key,
                                  const std::string& expected);

// An integer-valued option (2 and 2.0 accepted, 2.5 and "2" rejected).
int IntOption(const nlohmann::json& value, const std::string& metric, const std::string& key);

// A boolean option.
bool BoolOption(const nlohmann::json& value, const std::string& metric, const std::string& key);

// A string option.
std::string StringOption(const nlohmann::json& value, const std::string& metric,
                         const std::string& key);

}  // namespace llmeval::core::metrics

#include "core/cpp_only.hpp"
