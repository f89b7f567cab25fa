// Prompt templates: "{{field}}" placeholders filled from a test case's input
// object. A placeholder is "{{", optional spaces, a field name
// ([A-Za-z_][A-Za-z0-9_]*), optional spaces, "}}"; any other "{{" is literal
// text, so templates that show JSON or code need no escaping.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace llmeval::core::prompt {

// The distinct field names a template uses, in order of first appearance.
std::vector<std::string> TemplateFields(std::string_view tmpl);

// The template with every placeholder replaced by the input's field: a
// string as it is, any other JSON value as its compact JSON text. A field
// the input lacks, or holds as null, is an Error(kInvalidParameterValue)
// naming it; input must be a JSON object.
std::string RenderTemplate(std::string_view tmpl, const nlohmann::json& input);

}  // namespace llmeval::core::prompt

#include "core/cpp_only.hpp"
