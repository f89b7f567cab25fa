// libFuzzer target: the JSON Schema subset on arbitrary schemas and
// documents (users write both). The bytes are split at the first 0xFF byte
// into a schema and a document. Invariants: a schema is accepted or refused
// with core::Error, never a crash or another exception; validation never
// crashes, reports at most max_errors lines, and a document that is not JSON
// is never valid. The document's bytes are also taken as a pattern (any
// bytes, invalid UTF-8 too) and matched against the schema's: RE2 runs in
// linear time, so a slow input (libFuzzer's -timeout) is a bug as much as a
// crash.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/metrics/json_schema.hpp"

using namespace llmeval::core;

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t cut = input.find('\xff');
  if (cut == std::string_view::npos) return 0;
  const std::string_view schema_text = input.substr(0, cut);
  const std::string_view document = input.substr(cut + 1);
  const nlohmann::json schema = nlohmann::json::parse(schema_text, nullptr, false);
  if (schema.is_discarded()) return 0;
  try {
    const metrics::JsonSchema compiled(schema);
    const auto errors = compiled.Errors(document, 3);
    Check(errors.size() <= 3);
    if (!metrics::IsJson(document)) Check(!errors.empty());
  } catch (const Error&) {
    // a schema that is not one: refused, as documented
  }
  // Pattern translation and matching on arbitrary bytes.
  try {
    const metrics::JsonSchema pattern({{"pattern", std::string(document)},
                                       {"patternProperties", {{std::string(schema_text), true}}}});
    Check(pattern.ParsedErrors(nlohmann::json(std::string(schema_text)), 2).size() <= 2);
    Check(pattern.ParsedErrors(nlohmann::json{{std::string(document), 1}}, 2).size() <= 2);
  } catch (const Error&) {
    // a pattern RE2 cannot run, or not ECMAScript: refused, as documented
  }
  return 0;
}
