// SQL entry points for the dataset CSV conversion, called by
// llmeval.import_dataset_csv and llmeval.export_dataset: CSV text to the
// dataset JSON (jsonb) and back. Malformed CSV is 22P04, as with COPY.
#include "core/data/dataset_csv.hpp"
#include "pg/args.hpp"

namespace data = llmeval::core::data;

LLMEVAL_PG_FUNCTION(llmeval_dataset_from_csv) {
  const std::string json = data::DatasetJsonFromCsv(llmeval::pg::TextArg(fcinfo, 0));
  return llmeval::pg::JsonbFromText(json);
}

LLMEVAL_PG_FUNCTION(llmeval_dataset_to_csv) {
  const std::string csv = data::CsvFromDatasetJson(llmeval::pg::JsonbArgAsText(fcinfo, 0));
  return llmeval::pg::TextResult(csv);
}
