// libFuzzer target: TER on arbitrary bytes with every TerOptions combination,
// and the shift/edit-distance engine on word id sequences.
// The first byte picks the options (bits 0-3) and the id alphabet size; the
// rest is cut to 4 KB, so each run stays fast under the sanitizers (the
// engine is linear with a large constant), and split into a candidate and
// references at 0xFF bytes (never valid UTF-8, so any split is reachable).
// No exception is expected: texts this short are far below kTerMaxWords.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/metrics/ter.hpp"

using namespace llmeval::core;

namespace {

constexpr std::size_t kMaxInput = 4096;

void Check(bool ok) {
  if (!ok) std::abort();
}

std::vector<uint32_t> Ids(std::string_view s, uint32_t alphabet) {
  std::vector<uint32_t> ids;
  ids.reserve(s.size());
  for (char c : s) ids.push_back(static_cast<unsigned char>(c) % alphabet);
  return ids;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t selector = data[0];
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  if (input.size() > kMaxInput) input = input.substr(0, kMaxInput);
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= input.size(); ++i) {
    if (i == input.size() || static_cast<unsigned char>(input[i]) == 0xFF) {
      parts.push_back(input.substr(start, i - start));
      start = i + 1;
    }
  }
  const std::string_view candidate = parts[0];
  std::vector<std::string_view> refs(parts.begin() + 1, parts.end());
  if (refs.empty()) refs.push_back(candidate);

  metrics::TerOptions options;
  options.normalized = (selector & 1) != 0;
  options.no_punct = (selector & 2) != 0;
  options.asian_support = (selector & 4) != 0;
  options.case_sensitive = (selector & 8) != 0;

  try {
    metrics::TerSegmentStats(candidate, {}, options);
    std::abort();  // no reference must be refused
  } catch (const Error&) {
  }

  const double score = metrics::SentenceTer(candidate, refs, options);
  Check(std::isfinite(score) && score >= 0.0);
  const metrics::TerStats stats = metrics::TerSegmentStats(candidate, refs, options);
  Check(metrics::TerFromStats(stats) == score);
  Check(stats.num_edits >= 0 && stats.ref_length >= 0);
  Check(stats.num_edits == std::floor(stats.num_edits));

  // Several references: the fewest edits of any one, and the mean length of
  // all of them, empty ones included (sacrebleu 2.6.0).
  if (refs.size() > 1) {
    double fewest = -1;
    double ref_words = 0;
    std::size_t used = 0;
    for (std::string_view ref : refs) {
      const metrics::TerStats one = metrics::TerSegmentStats(candidate, {ref}, options);
      Check(one.ref_length == std::floor(one.ref_length));
      if (used == 0 || one.num_edits < fewest) fewest = one.num_edits;
      ref_words += one.ref_length;
      ++used;
    }
    Check(stats.num_edits == fewest);
    Check(stats.ref_length == ref_words / static_cast<double>(used));
  }

  // A text against itself needs no edit.
  const metrics::TerStats self = metrics::TerSegmentStats(candidate, {candidate}, options);
  Check(self.num_edits == 0 && metrics::TerFromStats(self) == 0);

  // Corpus accumulation: two equal rows give the same rate.
  metrics::TerStats twice;
  metrics::TerStatsAdd(twice, stats);
  metrics::TerStatsAdd(twice, stats);
  Check(twice.num_edits == 2 * stats.num_edits && twice.ref_length == 2 * stats.ref_length);

  // The engine on id sequences over a small alphabet (many repeated words,
  // the hard case for the shift search). Shifts are applied only when they
  // lower the count, and the pseudo-diagonal path of max(n, m) edits lies in
  // the beam, so the result never exceeds max(n, m).
  const uint32_t alphabet = 1 + (selector >> 4);
  const std::vector<uint32_t> hyp = Ids(candidate, alphabet);
  const std::vector<uint32_t> ref = Ids(refs[0], alphabet);
  const int64_t edits = metrics::TerEditsForIds(hyp, ref);
  Check(edits >= 0);
  Check(edits <= static_cast<int64_t>(std::max(hyp.size(), ref.size())));
  if (ref.empty()) Check(edits == static_cast<int64_t>(hyp.size()));
  Check(metrics::TerEditsForIds(hyp, hyp) == 0);
  return 0;
}
