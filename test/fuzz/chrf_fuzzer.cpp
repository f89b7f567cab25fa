// libFuzzer target: chrF / chrF++ on arbitrary bytes with arbitrary options.
// The first seven bytes pick the options (char_order and word_order from -1
// to kChrfMaxOrder + 2, so invalid orders are reached too; beta small, huge
// or negative); the rest is cut to 4 KB and split into a candidate and
// references at 0xFF bytes (never valid UTF-8, so any split is reachable).
// Invalid options must throw llmeval::core::Error; any other exception, or
// one for valid options, escapes and is a finding.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/metrics/chrf.hpp"

using namespace llmeval::core;

namespace {

constexpr std::size_t kMaxInput = 4096;
constexpr std::size_t kHeader = 7;

// sacrebleu computes (1 + beta**2) * p * r / (beta**2 * p + r), rounding the
// integer 1 + beta**2 to a double in one term and beta**2 in the other, so
// for about half of the betas above 9.5e7 identical texts score
// 100.00000000000003 (e.g. beta = 94906267, seed huge_beta). The core
// reproduces that arithmetic on purpose; a few ulps of slack are allowed.
constexpr double kMaxScore = 100.0 + 1e-9;

void Check(bool ok) {
  if (!ok) std::abort();
}

bool InRange(double score) { return std::isfinite(score) && score >= 0.0 && score <= kMaxScore; }

template <typename F>
void ExpectError(F&& f) {
  try {
    f();
  } catch (const Error&) {
    return;
  }
  std::abort();  // invalid input accepted
}

bool Valid(const metrics::ChrfOptions& o) {
  return o.char_order >= 0 && o.char_order <= metrics::kChrfMaxOrder && o.word_order >= 0 &&
         o.word_order <= metrics::kChrfMaxOrder && o.char_order + o.word_order >= 1 && o.beta >= 0;
}

// True if the text has a printable ASCII character other than space: chrF
// then sees at least one character n-gram in it.
bool HasAsciiGraphic(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return c > ' ' && c < 0x7F; });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  uint8_t header[kHeader] = {};
  const std::size_t used = std::min(size, kHeader);
  std::copy(data, data + used, header);
  std::string_view input(reinterpret_cast<const char*>(data + used), size - used);
  if (input.size() > kMaxInput) input = input.substr(0, kMaxInput);

  metrics::ChrfOptions options;
  options.char_order = header[0] % (metrics::kChrfMaxOrder + 4) - 1;
  options.word_order = header[1] % (metrics::kChrfMaxOrder + 4) - 1;
  const uint32_t raw = static_cast<uint32_t>(header[3]) | static_cast<uint32_t>(header[4]) << 8 |
                       static_cast<uint32_t>(header[5]) << 16 |
                       static_cast<uint32_t>(header[6]) << 24;
  switch (header[2] % 4) {
    case 0:
    case 1:
      options.beta = static_cast<int>(raw % 8);  // the usual range; 2 is the default
      break;
    case 2:
      options.beta = -static_cast<int>(raw % 1000) - 1;  // invalid
      break;
    default:
      options.beta = static_cast<int>(raw & 0x7FFFFFFF);  // up to INT_MAX
      break;
  }

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

  if (!Valid(options)) {
    ExpectError([&] { metrics::ValidateChrfOptions(options); });
    ExpectError([&] { metrics::SentenceChrf(candidate, refs, options); });
    ExpectError([&] { metrics::ChrfSegmentStats(candidate, refs, options); });
    ExpectError([&] { metrics::ChrfFromStats(metrics::ChrfStats{}, options); });
    return 0;
  }
  metrics::ValidateChrfOptions(options);
  const std::size_t orders = static_cast<std::size_t>(options.char_order + options.word_order);

  ExpectError([&] { metrics::SentenceChrf(candidate, {}, options); });

  // All references: the sentence score is the score of the statistics kept.
  const double score = metrics::SentenceChrf(candidate, refs, options);
  Check(InRange(score));
  const metrics::ChrfStats stats = metrics::ChrfSegmentStats(candidate, refs, options);
  Check(stats.values.size() == 3 * orders);
  for (std::size_t i = 0; i < orders; ++i) {
    const int64_t hyp = stats.values[3 * i];
    const int64_t ref = stats.values[3 * i + 1];
    const int64_t match = stats.values[3 * i + 2];
    Check(hyp >= 0 && ref >= 0 && match >= 0 && match <= hyp && match <= ref);
  }
  Check(metrics::ChrfFromStats(stats, options) == score);

  // Summing a segment with itself (corpus_chrf of two equal rows) doubles
  // every count, which leaves every ratio, and so the score, unchanged.
  metrics::ChrfStats twice;
  metrics::ChrfStatsAdd(twice, stats);
  metrics::ChrfStatsAdd(twice, stats);
  Check(metrics::ChrfFromStats(twice, options) == score);

  // Statistics of other orders are refused.
  metrics::ChrfOptions other = options;
  other.char_order = options.char_order == 1 ? 2 : 1;
  if (other.char_order + other.word_order != options.char_order + options.word_order) {
    ExpectError([&] { metrics::ChrfFromStats(stats, other); });
    const metrics::ChrfStats other_stats = metrics::ChrfSegmentStats(candidate, refs, other);
    metrics::ChrfStats sum = stats;
    ExpectError([&] { metrics::ChrfStatsAdd(sum, other_stats); });
  }

  // One reference at a time: the same identity, and the multi-reference
  // score is the best of them, empty ones included (sacrebleu 2.6.0).
  double best = -1.0;
  for (std::string_view ref : refs) {
    const std::vector<std::string_view> one{ref};
    const double s = metrics::SentenceChrf(candidate, one, options);
    Check(InRange(s));
    Check(metrics::ChrfFromStats(metrics::ChrfSegmentStats(candidate, one, options), options) ==
          s);
    best = std::max(best, s);
  }
  Check(best == score);

  // A text against itself: 0 when it has no n-gram at all, else a perfect
  // score (up to the rounding above).
  const double self = metrics::SentenceChrf(candidate, {candidate}, options);
  Check(self == 0.0 || (self >= 100.0 && self <= kMaxScore));
  if (options.char_order > 0 && HasAsciiGraphic(candidate)) Check(self >= 100.0);
  return 0;
}
