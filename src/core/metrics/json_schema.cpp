// Validating a document against a checked JSON Schema; see json_schema.hpp.
//
// Validation recurses along the document and along the schema ($ref, allOf,
// ...), so both are bounded: the document's nesting before anything else,
// the applications of schemas to one value (more than kMaxInPlace can only
// be a $ref cycle) and the recursion as a whole. Error texts quote values
// from the document, which is untrusted: arrays and objects only by kind,
// scalars cut short, nothing serialised recursively.
#include "core/metrics/json_schema.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"
#include "core/metrics/json_schema_compiled.hpp"
#include "core/text/utf8.hpp"

namespace llmeval::core::metrics {

namespace {

using json_schema_detail::Compiled;
using nlohmann::json;

constexpr int kMaxInPlace = 64;
constexpr int kMaxRecursion = 2048;
constexpr std::size_t kMaxQuotedBytes = 60;

std::string Dump(const json& v) { return v.dump(-1, ' ', false, json::error_handler_t::replace); }

// Valid UTF-8 cut to at most max_bytes, the cut marked with "...".
std::string Cut(std::string s, std::size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  std::size_t cut = max_bytes - 3;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  s.resize(cut);
  return s + "...";
}

// A document value as an error names it.
std::string Describe(const json& v) {
  if (v.is_object()) return "an object";
  if (v.is_array()) return "an array";
  return Cut(Dump(v), kMaxQuotedBytes);
}

// A schema value (its nesting is bounded by the check) as an error quotes it.
std::string Quote(const json& v) { return Cut(Dump(v), 2 * kMaxQuotedBytes); }

std::string Count(std::size_t n, const char* singular, const char* plural) {
  return std::to_string(n) + " " + (n == 1 ? singular : plural);
}

bool IsInteger(const json& v) {
  if (v.is_number_integer()) return true;
  if (!v.is_number_float()) return false;
  const double d = v.get<double>();
  return std::isfinite(d) && d == std::floor(d);
}

bool HasType(const json& v, const std::string& type) {
  if (type == "null") return v.is_null();
  if (type == "boolean") return v.is_boolean();
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  if (type == "string") return v.is_string();
  if (type == "number") return v.is_number();
  return IsInteger(v);  // "integer": the check allows no other name
}

bool IsMultipleOf(const json& value, const json& divisor) {
  if (value.is_number_integer() && !value.is_number_unsigned() && divisor.is_number_integer() &&
      !divisor.is_number_unsigned()) {
    return value.get<int64_t>() % divisor.get<int64_t>() == 0;
  }
  const double q = value.get<double>() / divisor.get<double>();
  if (!std::isfinite(q)) return false;
  // 0.3 / 0.1 is 2.9999999999999996 in binary floating point.
  return std::fabs(q - std::round(q)) <= 1e-9 * std::max(1.0, std::fabs(q));
}

const json* Find(const json& object, const char* key) {
  const auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

// Appends "/token" (RFC 6901 escaped) to a path; restores it when destroyed.
class PathStep {
 public:
  PathStep(std::string& path, std::string_view token) : path_(path), size_(path.size()) {
    path_ += '/';
    for (const char c : token) {
      if (c == '~') {
        path_ += "~0";
      } else if (c == '/') {
        path_ += "~1";
      } else {
        path_ += c;
      }
    }
  }
  ~PathStep() { path_.resize(size_); }
  PathStep(const PathStep&) = delete;
  PathStep& operator=(const PathStep&) = delete;

 private:
  std::string& path_;
  std::size_t size_;
};

class Validator {
 public:
  Validator(const Compiled& compiled, std::size_t max_errors, int recursion)
      : compiled_(compiled), max_errors_(std::max<std::size_t>(max_errors, 1)),
        recursion_(recursion) {}

  // Whether value is valid; its errors are appended to errors() (up to the
  // limit, where validation stops).
  bool Validate(const json& value, const json& schema, std::string& path, int in_place) {
    const std::size_t before = failures_;
    if (schema.is_boolean()) {
      if (!schema.get<bool>()) Fail(path, "no value is allowed here (schema false)");
      return failures_ == before;
    }
    if (++in_place > kMaxInPlace) {
      throw Error(ErrorKind::kInvalidParameterValue,
                  "invalid JSON schema: its $ref never reaches a value",
                  "The schemas applied to the value at " + Where(path) +
                      " lead back to themselves, as {\"$ref\": \"#\"} does.");
    }
    if (++recursion_ > kMaxRecursion) {
      throw Error(ErrorKind::kProgramLimitExceeded, "JSON schema validation nested too deeply");
    }
    Keywords(value, schema, path, in_place);
    --recursion_;
    return failures_ == before;
  }

  std::vector<std::string>& errors() { return errors_; }

 private:
  static std::string Where(const std::string& path) { return path.empty() ? "/" : path; }

  bool Done() const { return failures_ >= max_errors_; }

  void Fail(const std::string& path, const std::string& message) {
    ++failures_;
    if (errors_.size() < max_errors_) errors_.push_back(Where(path) + ": " + message);
  }

  // Whether value is valid against schema, errors not kept.
  bool Matches(const json& value, const json& schema, std::string& path, int in_place) {
    Validator probe(compiled_, 1, recursion_);
    return probe.Validate(value, schema, path, in_place);
  }

  void Keywords(const json& value, const json& schema, std::string& path, int in_place) {
    if (const json* ref = Find(schema, "$ref")) {
      Validate(value, *compiled_.refs.at(ref->get<std::string>()), path, in_place);
      if (Done()) return;
    }
    Type(value, schema, path);
    if (const json* e = Find(schema, "enum")) {
      if (std::find(e->begin(), e->end(), value) == e->end())
        Fail(path, Describe(value) + " is not one of " + Quote(*e));
    }
    if (const json* c = Find(schema, "const")) {
      if (value != *c) Fail(path, Describe(value) + " is not equal to const " + Quote(*c));
    }
    if (Done()) return;
    if (value.is_number()) Number(value, schema, path);
    if (value.is_string()) String(value.get_ref<const std::string&>(), schema, path);
    if (value.is_array()) Array(value, schema, path);
    if (value.is_object()) Object(value, schema, path);
    if (Done()) return;
    Combinators(value, schema, path, in_place);
  }

  void Type(const json& value, const json& schema, const std::string& path) {
    const json* type = Find(schema, "type");
    if (!type) return;
    if (type->is_string()) {
      if (!HasType(value, type->get_ref<const std::string&>()))
        Fail(path, Describe(value) + " is not of type " + type->get<std::string>());
      return;
    }
    std::string names;
    for (const json& t : *type) {
      if (HasType(value, t.get_ref<const std::string&>())) return;
      names += (names.empty() ? "" : " or ") + t.get<std::string>();
    }
    Fail(path, Describe(value) + " is not of type " + names);
  }

  void Number(const json& value, const json& schema, const std::string& path) {
    const double v = value.get<double>();
    const std::string shown = Describe(value);
    const json* minimum = Find(schema, "minimum");
    const json* maximum = Find(schema, "maximum");
    const json* exclusive_minimum = Find(schema, "exclusiveMinimum");
    const json* exclusive_maximum = Find(schema, "exclusiveMaximum");
    // Draft-04 spelled exclusive bounds as booleans modifying minimum and maximum.
    const bool draft4_min = exclusive_minimum && exclusive_minimum->is_boolean() &&
                            exclusive_minimum->get<bool>();
    const bool draft4_max = exclusive_maximum && exclusive_maximum->is_boolean() &&
                            exclusive_maximum->get<bool>();
    if (minimum) {
      const double m = minimum->get<double>();
      if (draft4_min ? v <= m : v < m)
        Fail(path, shown +
                       (draft4_min ? " is not greater than minimum " : " is less than minimum ") +
                       Dump(*minimum));
    }
    if (maximum) {
      const double m = maximum->get<double>();
      if (draft4_max ? v >= m : v > m)
        Fail(path, shown +
                       (draft4_max ? " is not less than maximum " : " is greater than maximum ") +
                       Dump(*maximum));
    }
    if (exclusive_minimum && exclusive_minimum->is_number() &&
        v <= exclusive_minimum->get<double>())
      Fail(path, shown + " is not greater than exclusiveMinimum " + Dump(*exclusive_minimum));
    if (exclusive_maximum && exclusive_maximum->is_number() &&
        v >= exclusive_maximum->get<double>())
      Fail(path, shown + " is not less than exclusiveMaximum " + Dump(*exclusive_maximum));
    if (const json* m = Find(schema, "multipleOf")) {
      if (!IsMultipleOf(value, *m)) Fail(path, shown + " is not a multiple of " + Dump(*m));
    }
  }

  void String(const std::string& s, const json& schema, const std::string& path) {
    const json* min_length = Find(schema, "minLength");
    const json* max_length = Find(schema, "maxLength");
    if (min_length || max_length) {
      const std::size_t n = text::CodePointCount(s);
      if (min_length && static_cast<double>(n) < min_length->get<double>())
        Fail(path, "a string of " + Count(n, "character", "characters") +
                       " is shorter than minLength " + Dump(*min_length));
      if (max_length && static_cast<double>(n) > max_length->get<double>())
        Fail(path, "a string of " + Count(n, "character", "characters") +
                       " is longer than maxLength " + Dump(*max_length));
    }
    if (const json* pattern = Find(schema, "pattern")) {
      const json_schema_detail::Pattern& p =
          compiled_.patterns.at(pattern->get_ref<const std::string&>());
      if (TooLong(s, p)) {
        Fail(path, "a string of " + Count(text::CodePointCount(s), "character", "characters") +
                       " is too long to match against pattern " + Quote(*pattern) + Limit(p));
      } else if (!re2::RE2::PartialMatch(s, *p.re)) {
        Fail(path, Describe(json(s)) + " does not match pattern " + Quote(*pattern));
      }
    }
  }

  // A match cannot be interrupted: its work is bounded instead (see
  // kMaxPatternWork).
  static bool TooLong(const std::string& s, const json_schema_detail::Pattern& p) {
    return s.size() > kMaxPatternWork / p.cost;
  }

  static std::string Limit(const json_schema_detail::Pattern& p) {
    return " (the limit for this pattern is " + std::to_string(kMaxPatternWork / p.cost) +
           " bytes)";
  }

  void Array(const json& array, const json& schema, std::string& path) {
    const std::size_t n = array.size();
    if (const json* m = Find(schema, "minItems"); m && static_cast<double>(n) < m->get<double>())
      Fail(path,
           "an array of " + Count(n, "item", "items") + " is shorter than minItems " + Dump(*m));
    if (const json* m = Find(schema, "maxItems"); m && static_cast<double>(n) > m->get<double>())
      Fail(path,
           "an array of " + Count(n, "item", "items") + " is longer than maxItems " + Dump(*m));
    if (const json* u = Find(schema, "uniqueItems"); u && u->get<bool>()) Unique(array, path);
    if (Done()) return;

    // prefixItems, or draft-07's items array, then items (or additionalItems) for the rest.
    const json* items = Find(schema, "items");
    const json* prefix = Find(schema, "prefixItems");
    const json* rest = items;
    if (items && items->is_array()) {
      prefix = items;
      rest = Find(schema, "additionalItems");
    }
    const std::size_t prefix_size = prefix ? prefix->size() : 0;
    for (std::size_t i = 0; i < n && !Done(); ++i) {
      const json* item_schema = i < prefix_size ? &(*prefix)[i] : rest;
      if (!item_schema) continue;
      PathStep step(path, std::to_string(i));
      Validate(array[i], *item_schema, path, 0);
    }
  }

  void Unique(const json& array, const std::string& path) {
    std::vector<std::size_t> order(array.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return array[a] < array[b]; });
    for (std::size_t i = 1; i < order.size(); ++i) {
      if (array[order[i - 1]] == array[order[i]]) {
        const std::size_t a = std::min(order[i - 1], order[i]);
        const std::size_t b = std::max(order[i - 1], order[i]);
        Fail(path, "items " + std::to_string(a) + " and " + std::to_string(b) +
                       " are equal, but uniqueItems is true");
        return;
      }
    }
  }

  void Object(const json& object, const json& schema, std::string& path) {
    const std::size_t n = object.size();
    if (const json* m = Find(schema, "minProperties");
        m && static_cast<double>(n) < m->get<double>())
      Fail(path, "an object of " + Count(n, "property", "properties") +
                     " has fewer than minProperties " + Dump(*m));
    if (const json* m = Find(schema, "maxProperties");
        m && static_cast<double>(n) > m->get<double>())
      Fail(path, "an object of " + Count(n, "property", "properties") +
                     " has more than maxProperties " + Dump(*m));
    if (const json* required = Find(schema, "required")) {
      for (const json& name : *required) {
        if (!object.contains(name.get_ref<const std::string&>()))
          Fail(path, "required property " + Quote(name) + " is missing");
      }
    }
    if (Done()) return;

    const json* properties = Find(schema, "properties");
    const json* patterns = Find(schema, "patternProperties");
    const json* additional = Find(schema, "additionalProperties");
    for (const auto& [key, child] : object.items()) {
      if (Done()) return;
      bool matched = false;
      PathStep step(path, key);
      if (properties) {
        if (const json* sub = Find(*properties, key.c_str())) {
          matched = true;
          Validate(child, *sub, path, 0);
        }
      }
      if (patterns) {
        for (const auto& [pattern, sub] : patterns->items()) {
          const json_schema_detail::Pattern& p = compiled_.patterns.at(pattern);
          if (TooLong(key, p)) {
            // Not known to match or not: the document is not known to be valid.
            matched = true;
            Fail(path, "a property name of " +
                           Count(text::CodePointCount(key), "character", "characters") +
                           " is too long to match against pattern " + Quote(json(pattern)) +
                           Limit(p));
            continue;
          }
          if (!re2::RE2::PartialMatch(key, *p.re)) continue;
          matched = true;
          Validate(child, sub, path, 0);
        }
      }
      if (matched || !additional) continue;
      if (additional->is_boolean() && !additional->get<bool>()) {
        // The error is the object's: the property should not be there at all.
        std::string parent = path.substr(0, path.rfind('/'));
        Fail(parent, "property " + Quote(json(key)) + " is not allowed (additionalProperties)");
      } else {
        Validate(child, *additional, path, 0);
      }
    }
  }

  void Combinators(const json& value, const json& schema, std::string& path, int in_place) {
    if (const json* all = Find(schema, "allOf")) {
      for (const json& sub : *all) {
        if (Done()) return;
        Validate(value, sub, path, in_place);
      }
    }
    if (const json* any = Find(schema, "anyOf")) {
      bool matched = false;
      for (const json& sub : *any) {
        if (Matches(value, sub, path, in_place)) {
          matched = true;
          break;
        }
      }
      if (!matched) Fail(path, Describe(value) + " does not match any schema of anyOf");
    }
    if (const json* one = Find(schema, "oneOf")) {
      std::vector<std::size_t> matched;
      for (std::size_t i = 0; i < one->size() && matched.size() < 2; ++i) {
        if (Matches(value, (*one)[i], path, in_place)) matched.push_back(i);
      }
      if (matched.empty()) {
        Fail(path, Describe(value) + " does not match any schema of oneOf");
      } else if (matched.size() > 1) {
        Fail(path, Describe(value) + " matches oneOf schemas " + std::to_string(matched[0]) +
                       " and " + std::to_string(matched[1]) + ", not exactly one");
      }
    }
    if (const json* n = Find(schema, "not")) {
      if (Matches(value, *n, path, in_place))
        Fail(path, Describe(value) + " matches the schema of \"not\"");
    }
  }

  const Compiled& compiled_;
  std::size_t max_errors_;
  int recursion_;
  std::size_t failures_ = 0;
  std::vector<std::string> errors_;
};

// nlohmann's parse error without its "[json.exception.parse_error.101] "
// prefix, one line, short.
// (nlohmann reports a number beyond a double's range, such as 1e400, as
// out_of_range rather than parse_error: the document is still not JSON we
// can validate.)
std::string NotJson(const json::exception& e) {
  std::string what = e.what();
  const std::size_t bracket = what.find("] ");
  if (!what.empty() && what[0] == '[' && bracket != std::string::npos) what.erase(0, bracket + 2);
  for (char& c : what) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  return "not JSON: " + Cut(std::move(what), 200);
}

}  // namespace

bool IsJson(std::string_view text) { return json::accept(text); }

JsonSchema::JsonSchema(const json& schema) : compiled_(std::make_unique<Compiled>()) {
  // Copying, like validating, recurses along the nesting.
  if (json_schema_detail::Depth(schema) > kMaxSchemaDepth) {
    throw Error(ErrorKind::kProgramLimitExceeded,
                "JSON schema nested deeper than " + std::to_string(kMaxSchemaDepth) + " levels");
  }
  compiled_->root = schema;
  json_schema_detail::Check(*compiled_);
}

JsonSchema::~JsonSchema() = default;

std::vector<std::string> JsonSchema::Errors(std::string_view document,
                                            std::size_t max_errors) const {
  json doc;
  try {
    doc = json::parse(document);
  } catch (const json::exception& e) {
    return {NotJson(e)};
  }
  return ParsedErrors(doc, max_errors);
}

std::vector<std::string> JsonSchema::ParsedErrors(const json& document,
                                                  std::size_t max_errors) const {
  if (json_schema_detail::Depth(document) > kMaxDocumentDepth) {
    return {"/: the document nests deeper than " + std::to_string(kMaxDocumentDepth) +
            " levels and is not validated"};
  }
  Validator validator(*compiled_, max_errors, 0);
  std::string path;
  validator.Validate(document, compiled_->root, path, 0);
  return std::move(validator.errors());
}

std::vector<std::string> JsonSchemaErrors(std::string_view document, const json& schema,
                                          std::size_t max_errors) {
  return JsonSchema(schema).Errors(document, max_errors);
}

}  // namespace llmeval::core::metrics
