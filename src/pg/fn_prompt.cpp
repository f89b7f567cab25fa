// SQL entry points for prompt templates: llmeval.render_prompt and
// llmeval.prompt_fields.
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/prompt/template.hpp"
#include "pg/args.hpp"

namespace prompt = llmeval::core::prompt;

LLMEVAL_PG_FUNCTION(llmeval_render_prompt) {
  const std::string_view tmpl = llmeval::pg::TextArg(fcinfo, 0);
  // jsonb text is valid JSON, but its numbers may exceed a double's range.
  nlohmann::json input;
  try {
    input = nlohmann::json::parse(llmeval::pg::JsonbArgAsText(fcinfo, 1));
  } catch (const nlohmann::json::exception& e) {
    throw llmeval::core::Error(llmeval::core::ErrorKind::kInvalidParameterValue,
                               "the input holds a number beyond the range of a double", e.what());
  }
  return llmeval::pg::TextResult(prompt::RenderTemplate(tmpl, input));
}

LLMEVAL_PG_FUNCTION(llmeval_prompt_fields) {
  const std::vector<std::string> fields = prompt::TemplateFields(llmeval::pg::TextArg(fcinfo, 0));
  return llmeval::pg::TextArrayResult(fields);
}
