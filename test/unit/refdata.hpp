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

}  // namespace llmeval::testing
