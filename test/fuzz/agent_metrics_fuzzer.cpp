// libFuzzer target: the tool-call and ranking metrics on arbitrary input.
// The bytes are split at the first 0xFF byte into two parts.
//
// Tool calls: both parts are parsed as JSON (lists of calls, or a call and a
// list of tools). Invariants: bad input is refused with core::Error, never a
// crash or another exception; scores lie in [0, 1]; a list matches itself by
// name, and by arguments unless a call's argument string is not JSON; a call
// matches itself exactly and partially under the same condition.
//
// Ranking: each part is a list of ids, one per line; the second part also
// gives grades (each id's line number). Invariants: every value lies in
// [0, 1], precision@k <= 1 even with duplicates, and a run that retrieves
// exactly the relevant ids scores 1 everywhere.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/metrics/ranking.hpp"
#include "core/metrics/tool_calls.hpp"

using namespace llmeval::core;

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

bool InUnit(double v) { return v >= 0.0 && v <= 1.0; }

bool AnyParseError(const std::vector<metrics::ToolCall>& calls) {
  for (const auto& c : calls)
    if (c.parse_error) return true;
  return false;
}

void ToolCalls(std::string_view first, std::string_view second) {
  const nlohmann::json a = nlohmann::json::parse(first, nullptr, false);
  const nlohmann::json b = nlohmann::json::parse(second, nullptr, false);
  if (a.is_discarded() || b.is_discarded()) return;
  try {
    const auto actual = metrics::ParseToolCalls(a, "actual");
    const auto expected = metrics::ParseToolCalls(b, "expected");
    for (auto match : {metrics::ToolCallMatch::kName, metrics::ToolCallMatch::kNameArgs}) {
      const auto s = metrics::ToolCallF1(actual, expected, match);
      Check(InUnit(s.precision) && InUnit(s.recall) && InUnit(s.f1));
      metrics::ToolCallsMatch(actual, expected, false, match);
      metrics::ToolCallsMatch(actual, expected, true, match);
    }
    Check(metrics::ToolCallsMatch(actual, actual, false, metrics::ToolCallMatch::kName));
    Check(metrics::ToolCallsMatch(actual, actual, true, metrics::ToolCallMatch::kNameArgs) ==
          !AnyParseError(actual));
    if (!actual.empty())
      Check(metrics::ToolCallF1(actual, actual, metrics::ToolCallMatch::kName).f1 == 1.0);
  } catch (const Error&) {
    // not lists of calls, or arguments nested too deeply: refused, as documented
  }
  try {
    const metrics::ToolCall call = metrics::ParseToolCall(a, "call");
    const bool parsed = !call.parse_error;
    Check(metrics::ToolArgsMatch(call, call, metrics::ArgsMatchMode::kExact, {}) == parsed);
    Check(metrics::ToolArgsMatch(call, call, metrics::ArgsMatchMode::kPartial, {"a"}) == parsed);
    const metrics::ToolSet tools(b);
    Check(tools.Errors(call, 3).size() <= 3);
  } catch (const Error&) {
    // not a call, bad tool definitions or a schema refused: as documented
  }
}

std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) {
      out.push_back(text.substr(start));
      break;
    }
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

void Ranking(std::string_view first, std::string_view second) {
  const auto run = Lines(first);
  const auto rel = Lines(second);
  metrics::Grades grades;
  for (std::size_t i = 0; i < rel.size(); ++i)
    grades.emplace_back(std::string(rel[i]), static_cast<double>(i % 4) - 0.5);
  for (std::int64_t k : {1, 2, 5, 1000}) {
    Check(InUnit(metrics::PrecisionAtK(run, rel, k)));
    for (auto v : {metrics::RecallAtK(run, rel, k), metrics::HitRateAtK(run, rel, k),
                   metrics::NdcgAtK(run, grades, k)})
      if (v) Check(InUnit(*v));
  }
  for (auto v : {metrics::ReciprocalRank(run, rel), metrics::AveragePrecision(run, rel)})
    if (v) Check(InUnit(*v));
  // retrieving exactly the relevant ids is perfect
  Check(*metrics::AveragePrecision(rel, rel) == 1.0);
  Check(*metrics::RecallAtK(rel, rel, static_cast<std::int64_t>(rel.size())) == 1.0);
  Check(*metrics::ReciprocalRank(rel, rel) == 1.0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t cut = input.find('\xff');
  if (cut == std::string_view::npos) return 0;
  ToolCalls(input.substr(0, cut), input.substr(cut + 1));
  Ranking(input.substr(0, cut), input.substr(cut + 1));
  return 0;
}
