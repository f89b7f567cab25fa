// libFuzzer target: reading judge replies (ParseScoreReply, ParsePairwiseReply,
// ParseVerdictsReply) and G-Eval weighting (WeightedScore) on arbitrary bytes, which is what a
// provider may send back. The first byte picks the scale; the rest is split
// at the first 0xFF byte into the reply and the response body (both are the
// reply when there is none). Invariants: never a crash; a score is inside
// the scale, a weighted score too; an error and a score never come together;
// a pairwise verdict is A, B or tie exactly when there is no error; a judge
// of verdicts' score is in [0, 1], never beside an error, and without one
// only when undefined (no error, a reason saying so).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/judge/judgement.hpp"

using namespace llmeval::core;

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const judge::Scale scales[] = {{1, 5}, {0, 1}, {-3, 3}, {1, 10}};
  const judge::Scale scale = scales[data[0] % 4];
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::size_t cut = rest.find('\xff');
  const std::string_view reply = cut == std::string_view::npos ? rest : rest.substr(0, cut);
  const std::string_view body = cut == std::string_view::npos ? rest : rest.substr(cut + 1);

  const judge::Judgement score = judge::ParseScoreReply(reply, scale);
  Check(score.score.has_value() == score.error.empty());
  if (score.score) Check(*score.score >= scale.min && *score.score <= scale.max);

  const judge::Judgement pair = judge::ParsePairwiseReply(reply);
  Check((pair.verdict == "A" || pair.verdict == "B" || pair.verdict == "tie") == pair.error.empty());

  const int counts[] = {-1, 0, 1, 3};
  const judge::VerdictRule rule = data[0] & 4 ? judge::VerdictRule::kRanked : judge::VerdictRule::kShare;
  const judge::Judgement verdicts = judge::ParseVerdictsReply(reply, rule, counts[(data[0] >> 3) % 4]);
  if (verdicts.score) Check(verdicts.error.empty() && *verdicts.score >= 0 && *verdicts.score <= 1);
  if (!verdicts.score && verdicts.error.empty()) Check(verdicts.reason.rfind("undefined", 0) == 0);
  Check(verdicts.reason.find('\0') == std::string::npos);

  const auto weighted = judge::WeightedScore(body, reply, scale);
  if (weighted) Check(*weighted >= scale.min - 1e-9 && *weighted <= scale.max + 1e-9);

  (void)judge::RepairPrompt(reply, body, score.error);
  return 0;
}
