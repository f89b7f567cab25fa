// libFuzzer target: dataset CSV import on arbitrary bytes, and the round trip
// of whatever it accepts. DatasetJsonFromCsv may only throw
// llmeval::core::Error of kind kBadFileFormat; when it succeeds, its JSON must
// be valid, CsvFromDatasetJson must accept it, and that CSV must read back
// as the same test cases (compared as JSON values: input keys may come back
// in another order) and write out again as the same CSV bytes.
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/data/dataset_csv.hpp"
#include "core/error.hpp"

using namespace llmeval::core;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view csv(reinterpret_cast<const char*>(data), size);
  std::string json;
  try {
    json = data::DatasetJsonFromCsv(csv);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::kBadFileFormat) std::abort();
    return 0;
  }
  // Anything thrown from here on escapes and is a finding.
  const nlohmann::json cases = nlohmann::json::parse(json);
  if (!cases.is_array()) std::abort();
  const std::string csv2 = data::CsvFromDatasetJson(json);
  const std::string json2 = data::DatasetJsonFromCsv(csv2);
  if (nlohmann::json::parse(json2) != cases) std::abort();
  if (data::CsvFromDatasetJson(json2) != csv2) std::abort();
  return 0;
}
