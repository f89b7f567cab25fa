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
  if (PG_ARGISNULL(0)) PG_RETURN_NULL();
  std::vector<std::string> order;
  if (PG_NARGS() > 1 && !PG_ARGISNULL(1)) {
    std::vector<std::string_view> names;
    llmeval::pg::TextArrayArg(fcinfo, 1, "columns", names);
    order.assign(names.begin(), names.end());
  }
  const std::string csv = data::CsvFromDatasetJson(llmeval::pg::JsonbArgAsText(fcinfo, 0), order);
  return llmeval::pg::TextResult(csv);
}

LLMEVAL_PG_FUNCTION(llmeval_csv_header) {
  return llmeval::pg::TextArrayResult(data::CsvHeader(llmeval::pg::TextArg(fcinfo, 0)));
}
