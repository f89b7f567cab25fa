// libFuzzer target: every BLEU tokenizer and option on arbitrary bytes.
// The first byte picks the options, the rest is split into a candidate and
// references at 0xFF bytes (never valid UTF-8, so any split is reachable).
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/metrics/bleu.hpp"

using namespace llmeval::core;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t selector = data[0];
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
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

  metrics::BleuOptions options;
  options.tokenizer = static_cast<metrics::BleuTokenizer>(selector % 5);
  options.smooth_method = static_cast<metrics::SmoothMethod>((selector / 5) % 4);
  options.lowercase = (selector & 0x80) != 0;
  // sacrebleu's max_ngram_order (1..9) and use_effective_order
  options.max_ngram_order = 1 + static_cast<int>(candidate.size() % 9);
  options.use_effective_order = (selector & 0x40) != 0;
  const metrics::BleuScore score = metrics::SentenceBleu(candidate, refs, options);
  if (!(score.score >= 0 && score.score <= 100.0 + 1e-9)) std::abort();
  // Orders 1..4 are counted by PackedNGramCounts when max_ngram_order <= 4
  // and by the general n-gram index above it: both must give the same
  // statistics for the orders they share.
  metrics::BleuOptions packed = options;
  packed.max_ngram_order = 4;
  metrics::BleuOptions general = options;
  general.max_ngram_order = 5;
  const metrics::BleuStats a = metrics::BleuSegmentStats(candidate, refs, packed);
  const metrics::BleuStats b = metrics::BleuSegmentStats(candidate, refs, general);
  if (a.sys_len != b.sys_len || a.ref_len != b.ref_len) std::abort();
  for (int k = 0; k < 4; ++k)
    if (a.correct[k] != b.correct[k] || a.total[k] != b.total[k]) std::abort();
  // Tokenizing twice gives the same tokens (no hidden state between calls).
  if (metrics::BleuTokenizeString(candidate, options.tokenizer) !=
      metrics::BleuTokenizeString(candidate, options.tokenizer))
    std::abort();
  return 0;
}
