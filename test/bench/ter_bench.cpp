// TER kernels on the workload, one pair per iteration: items/s = pairs/s,
// comparable with sacrebleu's TER().sentence_score (1,239 pairs/s on the first
// 2,500 pairs, test/data/README.md); the loop covers the first 20,000 pairs
// as the other comparisons do.
#include <benchmark/benchmark.h>

#include <algorithm>

#include "core/metrics/ter.hpp"
#include "workload.hpp"

namespace {

using llmeval::bench::ForEachReferencePair;
namespace metrics = llmeval::core::metrics;

void RunSentenceTer(benchmark::State& state, const metrics::TerOptions& options) {
  std::vector<std::string_view> refs(1);
  ForEachReferencePair(state, [&](const std::string& candidate, const std::string& reference) {
    refs[0] = reference;
    benchmark::DoNotOptimize(metrics::SentenceTer(candidate, refs, options));
  });
}

// sacrebleu's defaults (case-insensitive, no normalization).
void BM_SentenceTer(benchmark::State& state) { RunSentenceTer(state, {}); }
BENCHMARK(BM_SentenceTer);

// Tercom normalization with punctuation removed.
void BM_SentenceTerNormalizedNoPunct(benchmark::State& state) {
  metrics::TerOptions options;
  options.normalized = true;
  options.no_punct = true;
  RunSentenceTer(state, options);
}
BENCHMARK(BM_SentenceTerNormalizedNoPunct);

}  // namespace
