// Checking a JSON Schema before any document meets it: every supported
// keyword's value, every pattern compiled, every $ref resolved. A schema with
// a mistake in a branch that a given document never reaches is refused all
// the same, so one schema never both works and fails depending on the data.
//
// Patterns are ECMAScript's, run on RE2: Translator rewrites the constructs
// whose meaning differs between the two, and refuses with a clear message
// those RE2 lacks because they cannot be matched in linear time
// (backreferences, lookahead, lookbehind), which RE2 would report as a bare
// syntax error.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/metrics/json_schema_compiled.hpp"
#include "core/text/utf8.hpp"

namespace llmeval::core::metrics::json_schema_detail {

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

constexpr const char* kPatternHint =
    "Patterns are ECMAScript regular expressions run on RE2, which matches in time linear in "
    "the text and so has no backreferences, lookahead or lookbehind.";

[[noreturn]] void BadPattern(const std::string& pattern, const std::string& where,
                             const std::string& detail) {
  throw Error(ErrorKind::kInvalidParameterValue,
              "invalid JSON schema at \"" + where + "\": invalid pattern " +
                  json(pattern).dump(-1, ' ', false, json::error_handler_t::replace),
              detail, kPatternHint);
}

// ECMAScript's \s, inside a character class: its WhiteSpace and
// LineTerminator code points. RE2's \s is ASCII only, without \v.
constexpr const char* kEcmaSpace =
    "\\t\\n\\v\\f\\r \\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}"
    "\\x{3000}\\x{feff}";
// ECMAScript's '.': any code point but a line terminator (RE2's '.' excludes
// only \n).
constexpr const char* kEcmaDot = "[^\\n\\r\\x{2028}\\x{2029}]";

// Unicode general categories by their long names, which ECMAScript's
// \p{...} takes and RE2's does not.
constexpr std::pair<const char*, const char*> kCategoryNames[] = {
    {"Close_Punctuation", "Pe"},   {"Connector_Punctuation", "Pc"}, {"Control", "Cc"},
    {"Currency_Symbol", "Sc"},     {"Dash_Punctuation", "Pd"},      {"Decimal_Number", "Nd"},
    {"Enclosing_Mark", "Me"},      {"Final_Punctuation", "Pf"},     {"Format", "Cf"},
    {"Initial_Punctuation", "Pi"}, {"Letter", "L"},                 {"Letter_Number", "Nl"},
    {"Line_Separator", "Zl"},      {"Lowercase_Letter", "Ll"},      {"Mark", "M"},
    {"Math_Symbol", "Sm"},         {"Modifier_Letter", "Lm"},       {"Modifier_Symbol", "Sk"},
    {"Nonspacing_Mark", "Mn"},     {"Number", "N"},                 {"Open_Punctuation", "Ps"},
    {"Other", "C"},                {"Other_Letter", "Lo"},          {"Other_Number", "No"},
    {"Other_Punctuation", "Po"},   {"Other_Symbol", "So"},          {"Paragraph_Separator", "Zp"},
    {"Private_Use", "Co"},         {"Punctuation", "P"},            {"Separator", "Z"},
    {"Space_Separator", "Zs"},     {"Spacing_Mark", "Mc"},          {"Surrogate", "Cs"},
    {"Symbol", "S"},               {"Titlecase_Letter", "Lt"},      {"Uppercase_Letter", "Lu"},
};
// (RE2 has neither LC, Cased_Letter, nor Cn, Unassigned: refused under the
// name written.)

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The value of the n (1 to 6) hex digits at s[pos], or -1.
long Hex(const std::string& s, std::size_t pos, std::size_t n) {
  if (n == 0 || n > 6 || pos + n > s.size()) return -1;
  long value = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const int digit = HexValue(s[pos + i]);
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

bool IsAsciiLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// How a pattern is rewritten: for RE2 to match with, or as a stand-in that
// RE2 compiles in Latin-1 to measure the pattern's cost. The stand-in keeps
// the structure (alternations, repetitions, one instruction per character
// class) with every class non-empty in Latin-1: a \p{Han} or a code point
// beyond U+00FF becomes U+00FF, a negated class a plain one.
enum class Rewrite { kMatch, kCost };

// An ECMAScript pattern (the "u" flag's syntax where it and Annex B's agree)
// rewritten for RE2 with the same meaning: \s, \S and '.' as ECMAScript
// defines them, \uXXXX (surrogate pairs too) and \u{X} as code points,
// \cX, [\b], [] and [^], (?<name>...), \p{...} by long names and with
// Script= or General_Category=, identity escapes (\a is "a" in ECMAScript,
// the bell in RE2). The rest means the same in both already (\d, \w and \b
// are ASCII; '$' matches only at the end) or is left to RE2 to refuse:
// syntax errors, and within a class an octal escape. \S within a class stays
// RE2's (ASCII); [\s\S] is everything all the same.
class Translator {
 public:
  Translator(const std::string& pattern, const std::string& where, Rewrite rewrite)
      : p_(pattern), where_(where), cost_(rewrite == Rewrite::kCost) {}

  std::string Run() {
    for (i_ = 0; i_ < p_.size(); ++i_) {
      const char c = p_[i_];
      if (c == '\\') {
        Escape();
      } else if (in_class_) {
        if (c == ']') {
          in_class_ = false;
          if (cost_) out_ += "\\x{ff}";
        } else if (c == '[') {
          out_ += '\\';  // a literal '[', not the start of RE2's [:alpha:]
        }
        out_ += c;
      } else if (c == '[') {
        if (p_.compare(i_, 3, "[^]") == 0) {
          out_ += cost_ ? "\\x{ff}" : "(?s:.)";  // any code point
          i_ += 2;
        } else if (p_.compare(i_, 2, "[]") == 0) {
          out_ += cost_ ? "[^\\x00-\\x{ff}]" : "[^\\x00-\\x{10ffff}]";  // nothing
          i_ += 1;
        } else {
          in_class_ = true;
          out_ += c;
          if (i_ + 1 < p_.size() && p_[i_ + 1] == '^') {
            ++i_;
            if (!cost_) out_ += '^';
          }
        }
      } else if (c == '.') {
        out_ += cost_ ? "\\x{ff}" : kEcmaDot;
      } else if (c == '(' && p_.compare(i_, 2, "(?") == 0) {
        if (p_.compare(i_, 3, "(?=") == 0 || p_.compare(i_, 3, "(?!") == 0) {
          Unsupported("Lookaheads ((?=...) and (?!...))");
        } else if (p_.compare(i_, 4, "(?<=") == 0 || p_.compare(i_, 4, "(?<!") == 0) {
          Unsupported("Lookbehinds ((?<=...) and (?<!...))");
        } else if (p_.compare(i_, 3, "(?<") == 0) {
          out_ += "(?P<";  // a named group in RE2's spelling
          i_ += 2;
        } else {
          out_ += c;
        }
      } else {
        out_ += c;
      }
    }
    return out_;
  }

 private:
  [[noreturn]] void Unsupported(const std::string& what) {
    BadPattern(p_, where_, what + " are not supported.");
  }

  void CodePoint(long cp) {
    if (cost_ && cp > 0xFF) cp = 0xFF;
    char buf[32];
    std::snprintf(buf, sizeof buf, "\\x{%lx}", cp);
    out_ += buf;
  }

  // At a backslash.
  void Escape() {
    if (i_ + 1 == p_.size()) {
      out_ += '\\';  // RE2 reports the trailing backslash
      return;
    }
    const char e = p_[++i_];
    if (e >= '1' && e <= '9' && !in_class_) {
      Unsupported("Backreferences (\\" + std::string(1, e) + ")");
    } else if (e == 'k' && i_ + 1 < p_.size() && p_[i_ + 1] == '<') {
      Unsupported("Backreferences (\\k<name>)");
    } else if (e == 's' || (e == 'S' && !in_class_)) {
      if (cost_) {
        out_ += in_class_ ? " " : "\\x{ff}";
      } else if (in_class_) {
        out_ += kEcmaSpace;
      } else {
        out_ += std::string(e == 's' ? "[" : "[^") + kEcmaSpace + "]";
      }
    } else if (e == 'b' && in_class_) {
      out_ += "\\x08";  // backspace, as in ECMAScript
    } else if (e == 'u') {
      UnicodeEscape();
    } else if (e == 'c' && i_ + 1 < p_.size() && IsAsciiLetter(p_[i_ + 1])) {
      CodePoint(p_[++i_] % 32);
    } else if ((e == 'p' || e == 'P') && i_ + 1 < p_.size() && p_[i_ + 1] == '{' &&
               p_.find('}', i_ + 2) != std::string::npos) {
      Property(e);
    } else if (e == 'x' && i_ + 1 < p_.size() && p_[i_ + 1] == '{') {
      // RE2's \x{...}, as ECMAScript's \u{...}.
      const std::size_t close = p_.find('}', i_ + 2);
      const long cp = close == std::string::npos ? -1 : Hex(p_, i_ + 2, close - (i_ + 2));
      if (cp < 0 || cp > 0x10FFFF) {
        out_ += "\\x";  // RE2 reports it
      } else {
        CodePoint(cp);
        i_ = close;
      }
    } else if (std::strchr("dDwWbBtnvfrS0123456789", e) != nullptr ||
               (e == 'x' && Hex(p_, i_ + 1, 2) >= 0) ||
               (static_cast<unsigned char>(e) < 0x80 && !IsAsciiLetter(e))) {
      // The same in RE2 (an escaped digit in a class being an octal escape,
      // which RE2 reports; the rest escaped punctuation).
      out_ += '\\';
      out_ += e;
    } else {
      // An identity escape: the character itself, a letter or a whole UTF-8
      // sequence.
      out_ += e;
      while (i_ + 1 < p_.size() && (static_cast<unsigned char>(p_[i_ + 1]) & 0xC0) == 0x80) {
        out_ += p_[++i_];
      }
    }
  }

  // At the 'u' of \uXXXX or \u{X}.
  void UnicodeEscape() {
    long cp = -1;
    std::size_t end = i_;
    if (i_ + 1 < p_.size() && p_[i_ + 1] == '{') {
      const std::size_t close = p_.find('}', i_ + 2);
      if (close != std::string::npos) {
        cp = Hex(p_, i_ + 2, close - (i_ + 2));
        end = close;
      }
      if (cp > 0x10FFFF) cp = -1;
    } else if ((cp = Hex(p_, i_ + 1, 4)) >= 0) {
      end = i_ + 4;
      // A surrogate pair written as two escapes is one code point.
      if (cp >= 0xD800 && cp <= 0xDBFF && p_.compare(end + 1, 2, "\\u") == 0) {
        const long low = Hex(p_, end + 3, 4);
        if (low >= 0xDC00 && low <= 0xDFFF) {
          cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          end += 6;
        }
      }
    }
    if (cp < 0) {
      out_ += 'u';  // an identity escape, as in Annex B
    } else {
      CodePoint(cp);
      i_ = end;
    }
  }

  // At the 'p' or 'P' of \p{...}, the '}' known to follow.
  void Property(char e) {
    const std::size_t close = p_.find('}', i_ + 2);
    std::string name = p_.substr(i_ + 2, close - (i_ + 2));
    i_ = close;
    if (cost_) {
      out_ += "\\x{ff}";
      return;
    }
    for (const char* prefix : {"General_Category=", "gc=", "Script=", "sc="}) {
      if (name.rfind(prefix, 0) == 0) {
        name.erase(0, std::strlen(prefix));
        break;
      }
    }
    for (const auto& [long_name, short_name] : kCategoryNames) {
      if (name == long_name) name = short_name;
    }
    out_ += '\\';
    out_ += e;
    out_ += '{' + name + '}';
  }

  const std::string& p_;
  const std::string& where_;
  const bool cost_;
  std::size_t i_ = 0;
  bool in_class_ = false;
  std::string out_;
};

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
    re2::RE2::Options options;
    options.set_encoding(re2::RE2::Options::EncodingUTF8);
    options.set_log_errors(false);  // RE2 would write to stderr: the server log
    options.set_never_capture(true);  // only whether it matches
    auto re = std::make_unique<const re2::RE2>(
        Translator(pattern, where, Rewrite::kMatch).Run(), options);
    if (!re->ok()) {
      BadPattern(pattern, where, "RE2 reports: " + re->error() + ".");
    }
    // Matching costs at most a step per byte per instruction (RE2's NFA),
    // far less when its DFA copes. The program's size overstates Unicode
    // classes, a thousand instructions for \p{L} of which a few are live
    // per character: the Latin-1 stand-in counts one each, and eight times
    // it covered what we measured (a UTF-8 '.' is seven instructions).
    std::size_t cost = static_cast<std::size_t>(re->ProgramSize());
    options.set_encoding(re2::RE2::Options::EncodingLatin1);
    const re2::RE2 stand_in(Translator(pattern, where, Rewrite::kCost).Run(), options);
    if (stand_in.ok() && stand_in.ProgramSize() > 0) {
      cost = std::min(cost, 8 * static_cast<std::size_t>(stand_in.ProgramSize()));
    }
    if (cost == 0) cost = 1;
    compiled_.patterns.emplace(pattern, json_schema_detail::Pattern{std::move(re), cost});
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

}  // namespace llmeval::core::metrics::json_schema_detail
