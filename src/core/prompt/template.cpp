#include "core/prompt/template.hpp"

#include <algorithm>

#include "core/error.hpp"

namespace llmeval::core::prompt {

namespace {

bool IsNameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }

// A placeholder found at some "{{": the field name and the end of "}}".
struct Placeholder {
  std::string_view name;
  std::size_t end;
};

// The placeholder starting at `open` (which points at "{{"), if it is one.
bool MatchPlaceholder(std::string_view t, std::size_t open, Placeholder& out) {
  std::size_t i = open + 2;
  while (i < t.size() && t[i] == ' ') ++i;
  const std::size_t name_begin = i;
  if (i >= t.size() || !IsNameStart(t[i])) return false;
  while (i < t.size() && IsNameChar(t[i])) ++i;
  const std::size_t name_end = i;
  while (i < t.size() && t[i] == ' ') ++i;
  if (t.compare(i, 2, "}}") != 0) return false;
  out.name = t.substr(name_begin, name_end - name_begin);
  out.end = i + 2;
  return true;
}

// Calls on_text(literal) and on_field(name) for the pieces of the template.
template <typename OnText, typename OnField>
void Walk(std::string_view t, OnText on_text, OnField on_field) {
  std::size_t literal = 0;
  std::size_t pos = 0;
  while ((pos = t.find("{{", pos)) != std::string_view::npos) {
    Placeholder p;
    if (!MatchPlaceholder(t, pos, p)) {
      ++pos;
      continue;
    }
    on_text(t.substr(literal, pos - literal));
    on_field(p.name);
    literal = pos = p.end;
  }
  on_text(t.substr(literal));
}

}  // namespace

std::vector<std::string> TemplateFields(std::string_view tmpl) {
  std::vector<std::string> fields;
  Walk(tmpl, [](std::string_view) {},
       [&](std::string_view name) {
         if (std::find(fields.begin(), fields.end(), name) == fields.end())
           fields.emplace_back(name);
       });
  return fields;
}

std::string RenderTemplate(std::string_view tmpl, const nlohmann::json& input) {
  if (!input.is_object())
    throw Error(ErrorKind::kInvalidParameterValue, "prompt input must be a JSON object");
  std::string out;
  out.reserve(tmpl.size() + 64);
  Walk(tmpl, [&](std::string_view text) { out.append(text); },
       [&](std::string_view name) {
         const auto it = input.find(std::string(name));
         if (it == input.end() || it->is_null())
           throw Error(ErrorKind::kInvalidParameterValue,
                       "prompt field \"" + std::string(name) + "\" is missing from the input",
                       it == input.end() ? "The input has no key \"" + std::string(name) + "\"."
                                         : "The input's \"" + std::string(name) + "\" is null.");
         if (it->is_string()) {
           out.append(it->get_ref<const std::string&>());
         } else {
           out.append(it->dump());
         }
       });
  return out;
}

}  // namespace llmeval::core::prompt
