// Finding a JSON object in free text, as LLMs write them: after an
// introduction, inside a Markdown code fence, followed by an explanation.
// Internal to src/core/judge.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

namespace llmeval::core::judge {

enum class FindStatus {
  kFound,
  kNoObject,   // nothing that looks like a JSON object
  kNoKey,      // JSON objects, none with the key
  kMalformed,  // the key appears, but in no valid JSON object (or the last one is broken)
};

// Where the object that holds the key was found: [begin, end) is the
// outermost balanced object around it that parsed (the object itself, or one
// it is nested in).
struct FoundSpan {
  std::size_t begin = 0;
  std::size_t end = 0;
};

// Looks for the last JSON object, by position in text, that has `key` as a
// member (an object nested in a parsed object counts, outer objects first:
// of the objects in text not nested in another that parses, the last one
// holding the key, and in it the outermost object with the key), and calls
// found(object, span) for it. The last, because a judge answers after its
// reasoning, which may quote JSON from the text it judges. kMalformed also
// when the key appears after that object inside braces opened after it that
// do not parse (the final object cut off or broken): no earlier object is
// taken for it. Linear in text's length up to a sort: every balanced {...}
// that holds the key literally ("key" in quotes) is a candidate; a candidate
// that fails to parse rules out those nested in it that span the parse
// error. Never throws (but `found` may).
FindStatus FindObjectWithKey(std::string_view text, std::string_view key,
                             const std::function<void(const nlohmann::json&, FoundSpan)>& found);

// A JSON number, or a string holding a number with optional surrounding
// whitespace ("4", " 4.5 "); nullopt for anything else or a non-finite value.
std::optional<double> NumberValue(const nlohmann::json& value);

// A number as a judge may write it: JSON number syntax, also with a leading
// '+', ".5" or "5." forms; finite. nullopt for anything else (no trimming).
std::optional<double> ParseNumber(std::string_view s);

// Without JSON whitespace (space, tab, CR, LF) at either end.
std::string_view TrimSpace(std::string_view s);

}  // namespace llmeval::core::judge

#include "core/cpp_only.hpp"
