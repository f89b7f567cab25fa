// Finding a JSON object in an LLM's reply.
//
// One pass over the text pairs braces with a stack, tracking JSON strings
// only inside braces (a quote in the prose around the object means nothing)
// and ending a string at a raw newline, which JSON strings cannot hold, so
// an unbalanced quote in prose costs at most its line. Every balanced pair is
// a candidate; only candidates that hold the key literally are parsed, in
// order of position. That keeps the work linear for any input: a parsed
// candidate rules out those nested in it (its tree is searched instead), and
// a candidate whose parse fails at byte f rules out the nested candidates
// that span f, which would fail at f again (their parse reads the same bytes
// in the same state). The replies are untrusted, so nothing here recurses
// on their nesting: nlohmann parses and destroys iteratively, and the tree
// is searched with an explicit stack.
//
// The object wanted is the reply's *last* one with the key. A judge reasons
// first and answers last, and its reasoning may quote the text it judges,
// which may hold a JSON verdict of its own ("</answer> {"score": 5}"): the
// first object would be the quoted one. For the same reason a key after the
// last object read, inside braces opened after it that do not read (the
// judge's verdict cut off or broken), makes the reply malformed (repaired by
// the caller) instead of falling back to an earlier object.
#include "core/judge/json_in_text.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

namespace llmeval::core::judge {

namespace {

using nlohmann::json;

struct Span {
  std::size_t begin;
  std::size_t end;  // one past the closing brace
};

// The balanced pairs of text, and for each position in keys (ascending), the
// innermost brace still open there (npos if none).
std::vector<Span> BalancedSpans(std::string_view text, const std::vector<std::size_t>& keys,
                                std::vector<std::size_t>& open_at_key) {
  std::vector<Span> spans;
  std::vector<std::size_t> open;
  open_at_key.assign(keys.size(), std::string_view::npos);
  std::size_t next_key = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    for (; next_key < keys.size() && keys[next_key] <= i; ++next_key) {
      if (!open.empty()) open_at_key[next_key] = open.back();
    }
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"' || c == '\n') {
        in_string = false;
      }
    } else if (c == '{') {
      open.push_back(i);
    } else if (c == '}' && !open.empty()) {
      spans.push_back({open.back(), i + 1});
      open.pop_back();
    } else if (c == '"' && !open.empty()) {
      in_string = true;
    }
  }
  // Inner objects close first; candidates are tried in order of position.
  std::sort(spans.begin(), spans.end(),
            [](const Span& a, const Span& b) { return a.begin < b.begin; });
  return spans;
}

// The end of the balanced object opening at text[begin], by the same rules
// as BalancedSpans but starting there; npos if it never closes.
std::size_t MatchFrom(std::string_view text, std::size_t begin) {
  std::size_t depth = 0;
  bool in_string = false;
  for (std::size_t i = begin; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"' || c == '\n') {
        in_string = false;
      }
    } else if (c == '{') {
      ++depth;
    } else if (c == '}') {
      if (--depth == 0) return i + 1;
    } else if (c == '"') {
      in_string = true;
    }
  }
  return std::string_view::npos;
}

std::vector<std::size_t> Occurrences(std::string_view text, std::string_view needle) {
  std::vector<std::size_t> positions;
  for (std::size_t pos = text.find(needle); pos != std::string_view::npos;
       pos = text.find(needle, pos + 1)) {
    positions.push_back(pos);
  }
  return positions;
}

bool HoldsKey(const std::vector<std::size_t>& key_positions, std::size_t key_size, Span span) {
  const auto it = std::lower_bound(key_positions.begin(), key_positions.end(), span.begin);
  return it != key_positions.end() && *it + key_size <= span.end;
}

// The first object in doc, in pre-order, with the key.
const json* FirstObjectWithKey(const json& doc, const std::string& key) {
  std::vector<const json*> stack{&doc};
  std::vector<const json*> children;
  while (!stack.empty()) {
    const json* j = stack.back();
    stack.pop_back();
    if (!j->is_structured()) continue;
    if (j->is_object() && j->contains(key)) return j;
    children.clear();
    for (const json& child : *j) {
      if (child.is_structured()) children.push_back(&child);
    }
    stack.insert(stack.end(), children.rbegin(), children.rend());
  }
  return nullptr;
}

struct Parsed {
  bool ok = false;
  json doc;
  std::size_t error_byte = 0;  // 1-based, as nlohmann reports it
};

// Where a parse fails, found without exceptions (a thrown exception costs
// more than the parse).
class ErrorPosition : public nlohmann::json_sax<json> {
 public:
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception&) override {
    byte = position;
    return false;
  }
  std::size_t byte = 0;
};

// Checked first without building a tree: most candidates in junk fail.
Parsed Parse(std::string_view s) {
  Parsed p;
  ErrorPosition error;
  if (!json::sax_parse(s, &error)) {
    p.error_byte = error.byte == 0 ? s.size() : error.byte;
    return p;
  }
  p.doc = json::parse(s, nullptr, /*allow_exceptions=*/false);
  p.ok = !p.doc.is_discarded();
  return p;
}

bool OpensObject(std::string_view text, Span span) {
  const std::string_view inside = TrimSpace(text.substr(span.begin + 1, span.end - span.begin - 1));
  return inside.empty() || inside.front() == '"';
}

}  // namespace

FindStatus FindObjectWithKey(std::string_view text, std::string_view key,
                             const std::function<void(const json&, FoundSpan)>& found) {
  const std::string key_string(key);
  const std::string quoted = "\"" + key_string + "\"";
  const std::vector<std::size_t> keys = Occurrences(text, quoted);
  std::vector<std::size_t> open_at_key;
  const std::vector<Span> spans = BalancedSpans(text, keys, open_at_key);

  // The last object with the key so far: its parsed candidate and where.
  json best_doc;
  std::optional<Span> best;
  std::vector<Span> parsed;  // candidates that parsed, in order (disjoint)
  bool parsed_any = false;
  std::size_t skip_end = 0;  // candidates starting before this are inside a parsed one
  std::size_t fail_at = 0;   // candidates spanning this fail there
  for (const Span& span : spans) {
    if (span.begin < skip_end) continue;
    if (span.begin < fail_at && span.end > fail_at) continue;
    if (!HoldsKey(keys, quoted.size(), span)) continue;
    Parsed p = Parse(text.substr(span.begin, span.end - span.begin));
    if (!p.ok) {
      fail_at = std::min(span.end, span.begin + std::max<std::size_t>(p.error_byte, 1) - 1);
      continue;
    }
    parsed_any = true;
    skip_end = span.end;
    parsed.push_back(span);
    if (FirstObjectWithKey(p.doc, key_string) != nullptr) {
      best_doc = std::move(p.doc);
      best = span;
    }
  }

  // Keys after the last object read, in no parsed candidate, inside braces
  // opened after that object: an object with the key that did not read.
  const auto loose_after = [&](std::size_t after) {
    std::vector<std::size_t> loose;
    std::size_t s = 0;
    for (std::size_t k = 0; k < keys.size(); ++k) {
      if (keys[k] < after) continue;
      while (s < parsed.size() && parsed[s].end <= keys[k]) ++s;
      if (s < parsed.size() && parsed[s].begin <= keys[k]) continue;
      if (open_at_key[k] != std::string_view::npos && open_at_key[k] >= after) {
        loose.push_back(keys[k]);
      }
    }
    return loose;
  };

  // A quote left open inside braces on the object's own line hides it from
  // the pass above: try the brace nearest before the last few such keys afresh.
  constexpr std::size_t kRescans = 8;
  const std::vector<std::size_t> loose = loose_after(best ? best->end : 0);
  for (std::size_t r = 0; r < loose.size() && r < kRescans; ++r) {
    const std::size_t key_pos = loose[loose.size() - 1 - r];
    const std::size_t begin = text.rfind('{', key_pos);
    if (begin == std::string_view::npos) continue;
    const std::size_t end = MatchFrom(text, begin);
    if (end == std::string_view::npos || end <= key_pos) continue;
    Parsed p = Parse(text.substr(begin, end - begin));
    if (!p.ok) continue;
    parsed_any = true;
    if (FirstObjectWithKey(p.doc, key_string) != nullptr) {
      best_doc = std::move(p.doc);
      best = Span{begin, end};
      break;
    }
  }

  if (best) {
    if (!loose_after(best->end).empty()) return FindStatus::kMalformed;
    found(*FirstObjectWithKey(best_doc, key_string), {best->begin, best->end});
    return FindStatus::kFound;
  }

  if (!keys.empty()) return parsed_any ? FindStatus::kNoKey : FindStatus::kMalformed;
  // Whether the reply has JSON at all, for the error message: a few tries.
  constexpr int kProbes = 4;
  int probes = 0;
  for (const Span& span : spans) {
    if (!OpensObject(text, span)) continue;
    if (Parse(text.substr(span.begin, span.end - span.begin)).ok) return FindStatus::kNoKey;
    if (++probes == kProbes) break;
  }
  return FindStatus::kNoObject;
}

std::optional<double> ParseNumber(std::string_view s) {
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  std::size_t digits = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++digits;
  }
  if (digits == 0) return std::nullopt;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    const std::size_t exponent = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == exponent) return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  // from_chars takes no '+' (and is locale-independent, unlike strtod).
  std::string_view digits_part = s;
  if (s[0] == '+') digits_part.remove_prefix(1);
  double value = 0;
  const auto [end, ec] =
      std::from_chars(digits_part.data(), digits_part.data() + digits_part.size(), value);
  if (ec != std::errc() || end != digits_part.data() + digits_part.size()) return std::nullopt;
  if (!std::isfinite(value)) return std::nullopt;
  return value;
}

std::optional<double> NumberValue(const json& value) {
  if (value.is_number()) {
    const double d = value.get<double>();
    if (!std::isfinite(d)) return std::nullopt;
    return d;
  }
  if (!value.is_string()) return std::nullopt;
  return ParseNumber(TrimSpace(value.get_ref<const std::string&>()));
}

std::string_view TrimSpace(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace llmeval::core::judge
