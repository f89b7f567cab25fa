// Checking a JSON Schema before any document meets it: every supported
// keyword's value, every pattern compiled, every $ref resolved. A schema with
// a mistake in a branch that a given document never reaches is refused all
// the same, so one schema never both works and fails depending on the data.
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/metrics/json_schema_compiled.hpp"
#include "core/text/utf8.hpp"

namespace llmeval::core::metrics::json_schema_detail {

static_assert(sizeof(wchar_t) == 4, "std::wregex over code points needs a 32-bit wchar_t");

namespace {

using nlohmann::json;

[[noreturn]] void Invalid(const std::string& where, const std::string& why) {
  throw Error(ErrorKind::kInvalidParameterValue,
              "invalid JSON schema at \"" + (where.empty() ? std::string("/") : where) +
                  "\": " + why);
}

std::string Child(const std::string& where, const std::string& token) {
  std::string escaped;
  for (const char c : token) {
    if (c == '~') {
      escaped += "~0";
    } else if (c == '/') {
      escaped += "~1";
    } else {
      escaped += c;
    }
  }
  return where + "/" + escaped;
}

bool IsTypeName(const json& v) {
  if (!v.is_string()) return false;
  const std::string& s = v.get_ref<const std::string&>();
  return s == "null" || s == "boolean" || s == "object" || s == "array" || s == "number" ||
         s == "string" || s == "integer";
}

bool IsCount(const json& v) {
  if (v.is_number_unsigned()) return true;
  if (v.is_number_integer()) return v.get<int64_t>() >= 0;
  if (!v.is_number_float()) return false;
  const double d = v.get<double>();
  return d >= 0 && std::isfinite(d) && d == std::floor(d);
}

class Checker {
 public:
  explicit Checker(Compiled& compiled) : compiled_(compiled) {}

  // Recursive: JsonSchema bounds the schema's nesting first.
  void Schema(const json& s, const std::string& where) {
    if (s.is_boolean()) return;
    if (!s.is_object()) Invalid(where, "a schema must be an object or a boolean");

    for (const auto& [key, value] : s.items()) {
      const std::string at = Child(where, key);
      if (key == "type") {
        if (value.is_array()) {
          if (value.empty()) Invalid(at, "type must not be an empty array");
          for (const json& t : value) {
            if (!IsTypeName(t)) Invalid(at, "unknown type " + t.dump());
          }
        } else if (!IsTypeName(value)) {
          Invalid(at, "unknown type " + value.dump());
        }
      } else if (key == "enum") {
        if (!value.is_array()) Invalid(at, "enum must be an array");
      } else if (key == "properties" || key == "$defs" || key == "definitions") {
        if (!value.is_object()) Invalid(at, key + " must be an object");
        for (const auto& [name, sub] : value.items()) Schema(sub, Child(at, name));
      } else if (key == "patternProperties") {
        if (!value.is_object()) Invalid(at, "patternProperties must be an object");
        for (const auto& [pattern, sub] : value.items()) {
          Pattern(pattern, at);
          Schema(sub, Child(at, pattern));
        }
      } else if (key == "additionalProperties" || key == "additionalItems" || key == "not") {
        Schema(value, at);
      } else if (key == "items") {
        if (value.is_array()) {
          SchemaArray(value, at, /*allow_empty=*/true);
        } else {
          Schema(value, at);
        }
      } else if (key == "prefixItems") {
        if (!value.is_array()) Invalid(at, "prefixItems must be an array of schemas");
        SchemaArray(value, at, /*allow_empty=*/true);
      } else if (key == "allOf" || key == "anyOf" || key == "oneOf") {
        if (!value.is_array()) Invalid(at, key + " must be an array of schemas");
        SchemaArray(value, at, /*allow_empty=*/false);
      } else if (key == "required") {
        if (!value.is_array()) Invalid(at, "required must be an array of strings");
        for (const json& name : value) {
          if (!name.is_string()) Invalid(at, "required must be an array of strings");
        }
      } else if (key == "minItems" || key == "maxItems" || key == "minLength" ||
                 key == "maxLength" || key == "minProperties" || key == "maxProperties") {
        if (!IsCount(value)) Invalid(at, key + " must be a non-negative integer");
      } else if (key == "uniqueItems") {
        if (!value.is_boolean()) Invalid(at, "uniqueItems must be a boolean");
      } else if (key == "pattern") {
        if (!value.is_string()) Invalid(at, "pattern must be a string");
        Pattern(value.get_ref<const std::string&>(), at);
      } else if (key == "minimum" || key == "maximum") {
        if (!value.is_number()) Invalid(at, key + " must be a number");
      } else if (key == "exclusiveMinimum" || key == "exclusiveMaximum") {
        if (!value.is_number() && !value.is_boolean()) Invalid(at, key + " must be a number");
      } else if (key == "multipleOf") {
        if (!value.is_number() || !(value.get<double>() > 0))
          Invalid(at, "multipleOf must be a number greater than 0");
      } else if (key == "$ref") {
        if (!value.is_string()) Invalid(at, "$ref must be a string");
        Ref(value.get_ref<const std::string&>(), at);
      }
    }
  }

  // Checks the $ref targets found so far, and those they lead to.
  void Pending() {
    while (!pending_.empty()) {
      const auto [target, where] = pending_.back();
      pending_.pop_back();
      Schema(*target, where);
    }
  }

 private:
  void SchemaArray(const json& array, const std::string& where, bool allow_empty) {
    if (!allow_empty && array.empty()) Invalid(where, "must not be an empty array");
    for (std::size_t i = 0; i < array.size(); ++i) {
      Schema(array[i], where + "/" + std::to_string(i));
    }
  }

  void Pattern(const std::string& pattern, const std::string& where) {
    if (compiled_.patterns.count(pattern)) return;
    if (text::CodePointCount(pattern) > kMaxPatternLength) {
      Invalid(where, "pattern longer than " + std::to_string(kMaxPatternLength) + " characters");
    }
    try {
      compiled_.patterns.emplace(pattern, std::wregex(Wide(pattern), std::regex::ECMAScript));
    } catch (const std::regex_error& e) {
      throw Error(ErrorKind::kInvalidParameterValue,
                  "invalid JSON schema at \"" + where + "\": invalid pattern " +
                      json(pattern).dump(-1, ' ', false, json::error_handler_t::replace),
                  std::string("The regular expression library reports: ") + e.what() + ".",
                  "Patterns are ECMAScript regular expressions (no lookbehind, named groups or "
                  "\\p{...} classes).");
    }
  }

  void Ref(const std::string& ref, const std::string& where) {
    if (compiled_.refs.count(ref)) return;
    if (ref.empty() || ref[0] != '#') {
      Invalid(where, "$ref " + json(ref).dump() + " is not a local reference (\"#...\")");
    }
    const json* target = nullptr;
    try {
      const json::json_pointer pointer(ref.substr(1));
      if (compiled_.root.contains(pointer)) target = &compiled_.root.at(pointer);
    } catch (const json::exception&) {
      Invalid(where, "$ref " + json(ref).dump() + " is not a valid JSON pointer");
    }
    if (target == nullptr) Invalid(where, "$ref " + json(ref).dump() + " names nothing");
    if (!target->is_object() && !target->is_boolean()) {
      Invalid(where, "$ref " + json(ref).dump() + " names something that is not a schema");
    }
    compiled_.refs.emplace(ref, target);
    // A target outside the keywords walked (say "#/x-shared/name") is checked
    // too, later: a chain of $refs must not deepen the recursion.
    pending_.emplace_back(target, ref.substr(1));
  }

  Compiled& compiled_;
  std::vector<std::pair<const json*, std::string>> pending_;
};

}  // namespace

void Check(Compiled& compiled) {
  Checker checker(compiled);
  checker.Schema(compiled.root, "");
  checker.Pending();
}

std::size_t Depth(const json& value) {
  std::size_t deepest = 0;
  std::vector<std::pair<const json*, std::size_t>> stack;
  stack.emplace_back(&value, 0);
  while (!stack.empty()) {
    const auto [v, depth] = stack.back();
    stack.pop_back();
    if (!v->is_structured()) continue;
    if (depth + 1 > deepest) deepest = depth + 1;
    for (const json& child : *v) {
      if (child.is_structured()) stack.emplace_back(&child, depth + 1);
    }
  }
  return deepest;
}

std::wstring Wide(std::string_view utf8) {
  std::wstring out;
  out.reserve(utf8.size());
  for (std::size_t pos = 0; pos < utf8.size();) {
    out.push_back(static_cast<wchar_t>(text::DecodeUtf8(utf8, pos)));
  }
  return out;
}

}  // namespace llmeval::core::metrics::json_schema_detail
