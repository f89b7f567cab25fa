// Loads test/data/metrics_public.jsonl (cases computed by sacrebleu and
// rouge-score, see test/data/README.md) for the unit tests of each metric.
#pragma once

#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace llmeval::testing {

inline constexpr double kSacrebleuTolerance = 1e-9;
inline constexpr double kRougeTolerance = 1e-12;

// All cases whose "metric" field equals `metric`.
inline std::vector<nlohmann::json> LoadRefCases(const std::string& metric) {
  std::ifstream in(std::string(LLMEVAL_TEST_DATA) + "/metrics_public.jsonl");
  if (!in) throw std::runtime_error("cannot open metrics_public.jsonl");
  std::vector<nlohmann::json> cases;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    nlohmann::json j = nlohmann::json::parse(line);
    if (j.at("metric") == metric) cases.push_back(std::move(j));
  }
  return cases;
}

inline std::vector<std::string> StringList(const nlohmann::json& array) {
  return array.get<std::vector<std::string>>();
}

// One row of a corpus case: its candidate and its references, empty strings
// included (in a multi-stream corpus "" means "no k-th reference for this
// row"; the metrics must drop them as sacrebleu does).
struct CorpusRow {
  std::string candidate;
  std::vector<std::string> references;
};

// The rows of a corpus_* case, whose `candidates` is the list of outputs and
// `references[k][i]` the k-th reference stream, exactly as sacrebleu takes
// them: row i gets references[0][i], references[1][i], ...
inline std::vector<CorpusRow> CorpusRows(const nlohmann::json& c) {
  const auto candidates = StringList(c.at("candidates"));
  const nlohmann::json& streams = c.at("references");
  std::vector<CorpusRow> rows(candidates.size());
  for (std::size_t i = 0; i < candidates.size(); ++i) rows[i].candidate = candidates[i];
  for (const nlohmann::json& stream : streams) {
    if (stream.size() != candidates.size())
      throw std::runtime_error("case " + c.at("id").dump() +
                               ": a reference stream's length differs from the candidates'");
    for (std::size_t i = 0; i < candidates.size(); ++i)
      rows[i].references.push_back(stream[i].get<std::string>());
  }
  return rows;
}

}  // namespace llmeval::testing
