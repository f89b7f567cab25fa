// Ranking metrics; see ranking.hpp for the definitions.
//
// Every metric first drops repeated documents from the retrieved list (the
// first copy keeps its rank) and makes a set of the relevant ones, then walks
// the ranks once: linear in the input, so a list of a million ids is fine.
// Sums run in rank order, as trec_eval's do.
#include "core/metrics/ranking.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace llmeval::core::metrics {

namespace {

using IdSet = std::unordered_set<std::string_view>;

DocIds Distinct(const DocIds& retrieved) {
  DocIds out;
  out.reserve(retrieved.size());
  IdSet seen;
  seen.reserve(retrieved.size());
  for (std::string_view id : retrieved)
    if (seen.insert(id).second) out.push_back(id);
  return out;
}

IdSet Relevant(const DocIds& relevant) { return IdSet(relevant.begin(), relevant.end()); }

// Relevant documents among the first min(k, n) distinct retrieved ones.
std::size_t HitsAtK(const DocIds& ranked, const IdSet& relevant, std::int64_t k) {
  const std::size_t depth = std::min<std::size_t>(ranked.size(), static_cast<std::uint64_t>(k));
  std::size_t hits = 0;
  for (std::size_t i = 0; i < depth; ++i) hits += relevant.count(ranked[i]);
  return hits;
}

// An id as an error message quotes it: at most 60 bytes, cut on a UTF-8
// character boundary.
std::string Quoted(const std::string& id) {
  if (id.size() <= 60) return "\"" + id + "\"";
  std::size_t cut = 57;
  while (cut > 0 && (static_cast<unsigned char>(id[cut]) & 0xC0) == 0x80) --cut;
  return "\"" + id.substr(0, cut) + "...\"";
}

double Discount(std::size_t rank) { return std::log2(static_cast<double>(rank) + 1.0); }

}  // namespace

void CheckCutoff(std::int64_t k) {
  if (k <= 0)
    throw Error(ErrorKind::kInvalidParameterValue, "k must be positive",
                "k is " + std::to_string(k) + ".");
}

double PrecisionAtK(const DocIds& retrieved, const DocIds& relevant, std::int64_t k) {
  CheckCutoff(k);
  const IdSet rel = Relevant(relevant);
  return static_cast<double>(HitsAtK(Distinct(retrieved), rel, k)) / static_cast<double>(k);
}

std::optional<double> RecallAtK(const DocIds& retrieved, const DocIds& relevant, std::int64_t k) {
  CheckCutoff(k);
  const IdSet rel = Relevant(relevant);
  if (rel.empty()) return std::nullopt;
  return static_cast<double>(HitsAtK(Distinct(retrieved), rel, k)) /
         static_cast<double>(rel.size());
}

std::optional<double> HitRateAtK(const DocIds& retrieved, const DocIds& relevant, std::int64_t k) {
  CheckCutoff(k);
  const IdSet rel = Relevant(relevant);
  if (rel.empty()) return std::nullopt;
  return HitsAtK(Distinct(retrieved), rel, k) > 0 ? 1.0 : 0.0;
}

std::optional<double> ReciprocalRank(const DocIds& retrieved, const DocIds& relevant) {
  const IdSet rel = Relevant(relevant);
  if (rel.empty()) return std::nullopt;
  const DocIds ranked = Distinct(retrieved);
  for (std::size_t i = 0; i < ranked.size(); ++i)
    if (rel.count(ranked[i])) return 1.0 / static_cast<double>(i + 1);
  return 0.0;
}

std::optional<double> AveragePrecision(const DocIds& retrieved, const DocIds& relevant) {
  const IdSet rel = Relevant(relevant);
  if (rel.empty()) return std::nullopt;
  const DocIds ranked = Distinct(retrieved);
  double sum = 0.0;
  std::size_t hits = 0;
  for (std::size_t i = 0; i < ranked.size(); ++i) {
    if (!rel.count(ranked[i])) continue;
    ++hits;
    sum += static_cast<double>(hits) / static_cast<double>(i + 1);
  }
  return sum / static_cast<double>(rel.size());
}

std::optional<double> NdcgAtK(const DocIds& retrieved, const Grades& grades, std::int64_t k) {
  CheckCutoff(k);
  std::unordered_map<std::string_view, double> gain;
  gain.reserve(grades.size());
  std::vector<double> ideal;
  for (const auto& [id, grade] : grades) {
    // An id graded twice (not from ParseGrades, whose keys are unique) counts once.
    if (grade <= 0 || !gain.emplace(id, grade).second) continue;
    ideal.push_back(grade);
  }
  if (ideal.empty()) return std::nullopt;
  std::sort(ideal.begin(), ideal.end(), std::greater<double>());

  const DocIds ranked = Distinct(retrieved);
  const std::size_t depth = std::min<std::size_t>(ranked.size(), static_cast<std::uint64_t>(k));
  double dcg = 0.0;
  for (std::size_t i = 0; i < depth; ++i) {
    auto it = gain.find(ranked[i]);
    if (it != gain.end()) dcg += it->second / Discount(i + 1);
  }
  const std::size_t ideal_depth =
      std::min<std::size_t>(ideal.size(), static_cast<std::uint64_t>(k));
  double idcg = 0.0;
  for (std::size_t i = 0; i < ideal_depth; ++i) idcg += ideal[i] / Discount(i + 1);
  return dcg / idcg;
}

Grades ParseGrades(std::string_view json) {
  nlohmann::json parsed;
  try {
    parsed = nlohmann::json::parse(json);
  } catch (const nlohmann::json::exception& e) {
    // jsonb numbers can exceed a double's range, which nlohmann refuses.
    throw Error(ErrorKind::kInvalidParameterValue, "invalid relevance judgements",
                std::string("The judgements cannot be read: ") + e.what() + ".");
  }
  if (!parsed.is_object())
    throw Error(ErrorKind::kInvalidParameterValue, "relevance must be a JSON object",
                std::string("It is ") + parsed.type_name() + ".",
                "Give graded judgements as {\"doc id\": grade, ...}.");
  Grades out;
  out.reserve(parsed.size());
  for (auto it = parsed.begin(); it != parsed.end(); ++it) {
    if (!it.value().is_number())
      throw Error(ErrorKind::kInvalidParameterValue, "relevance grades must be numbers",
                  "The grade of " + Quoted(it.key()) + " is " + it.value().type_name() + ".");
    out.emplace_back(it.key(), it.value().get<double>());
  }
  return out;
}

}  // namespace llmeval::core::metrics
