// Dataset CSV conversion on the workload's first 100,000 pairs as test
// cases (candidate as input "question", reference as "expected"): one whole
// dataset per iteration; items/s = rows/s.
#include <benchmark/benchmark.h>

#include <nlohmann/json.hpp>

#include "core/data/dataset_csv.hpp"
#include "workload.hpp"

namespace {

namespace data = llmeval::core::data;

const std::string& WorkloadJson() {
  static const std::string json = [] {
    nlohmann::json cases = nlohmann::json::array();
    for (const auto& [candidate, reference] : llmeval::bench::Workload())
      cases.push_back({{"input", {{"question", candidate}}}, {"expected", reference}});
    return cases.dump();
  }();
  return json;
}

void BM_DatasetJsonToCsv(benchmark::State& state) {
  const std::string& json = WorkloadJson();
  for (auto _ : state) benchmark::DoNotOptimize(data::CsvFromDatasetJson(json).size());
  state.SetItemsProcessed(state.iterations() * llmeval::bench::Workload().size());
  state.SetBytesProcessed(state.iterations() * json.size());
}
BENCHMARK(BM_DatasetJsonToCsv)->Unit(benchmark::kMillisecond);

void BM_DatasetCsvToJson(benchmark::State& state) {
  const std::string csv = data::CsvFromDatasetJson(WorkloadJson());
  for (auto _ : state) benchmark::DoNotOptimize(data::DatasetJsonFromCsv(csv).size());
  state.SetItemsProcessed(state.iterations() * llmeval::bench::Workload().size());
  state.SetBytesProcessed(state.iterations() * csv.size());
}
BENCHMARK(BM_DatasetCsvToJson)->Unit(benchmark::kMillisecond);

}  // namespace
