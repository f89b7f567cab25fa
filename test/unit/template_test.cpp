#include "core/prompt/template.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"

namespace llmeval::core::prompt {
namespace {

using nlohmann::json;

TEST(PromptTemplate, FieldsInOrderOfFirstUse) {
  EXPECT_EQ(TemplateFields("Q: {{question}}\nC: {{ context }} {{question}}"),
            (std::vector<std::string>{"question", "context"}));
  EXPECT_TRUE(TemplateFields("no placeholders").empty());
}

TEST(PromptTemplate, NonPlaceholdersAreLiteral) {
  // JSON examples, an unterminated brace, names that are not identifiers.
  const std::string t = R"({"a": {{"b": 1}}} {{ x {{1abc}} {{a-b}} {{}} {{{name}}} }})";
  EXPECT_EQ(TemplateFields(t), (std::vector<std::string>{"name"}));
  EXPECT_EQ(RenderTemplate(t, json{{"name", "N"}}),
            R"({"a": {{"b": 1}}} {{ x {{1abc}} {{a-b}} {{}} {N} }})");
}

TEST(PromptTemplate, RendersStringsAsIsAndOtherValuesAsJson) {
  const json input = {{"s", "héllo {{s}}"}, {"n", 42}, {"f", 1.5}, {"b", true},
                      {"o", {{"k", "v"}}}, {"a", {1, 2}}};
  EXPECT_EQ(RenderTemplate("{{s}}|{{n}}|{{f}}|{{b}}|{{o}}|{{a}}", input),
            R"(héllo {{s}}|42|1.5|true|{"k":"v"}|[1,2])");
  EXPECT_EQ(RenderTemplate("", input), "");
  EXPECT_EQ(RenderTemplate("{{  s  }}", input), "héllo {{s}}");
}

TEST(PromptTemplate, MissingOrNullFieldIsAnError) {
  try {
    RenderTemplate("Q: {{question}}", json{{"q", "x"}});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidParameterValue);
    EXPECT_STREQ(e.what(), "prompt field \"question\" is missing from the input");
  }
  EXPECT_THROW(RenderTemplate("{{q}}", json{{"q", nullptr}}), Error);
  EXPECT_THROW(RenderTemplate("x", json::array()), Error);
}

}  // namespace
}  // namespace llmeval::core::prompt
