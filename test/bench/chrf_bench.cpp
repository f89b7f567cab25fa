// chrF kernels on the workload, one pair per iteration: items/s = pairs/s,
// comparable with sacrebleu's CHRF().sentence_score (4,859 pairs/s on the
// same first 20,000 pairs, test/data/README.md).
#include <benchmark/benchmark.h>

#include <algorithm>

#include "core/metrics/chrf.hpp"
#include "workload.hpp"

namespace {

using llmeval::bench::ForEachReferencePair;
namespace metrics = llmeval::core::metrics;

void RunSentenceChrf(benchmark::State& state, const metrics::ChrfOptions& options) {
  std::vector<std::string_view> refs(1);
  ForEachReferencePair(state, [&](const std::string& candidate, const std::string& reference) {
    refs[0] = reference;
    benchmark::DoNotOptimize(metrics::SentenceChrf(candidate, refs, options));
  });
}

// chrF with sacrebleu's defaults (char_order 6, word_order 0, beta 2).
void BM_SentenceChrf(benchmark::State& state) { RunSentenceChrf(state, {}); }
BENCHMARK(BM_SentenceChrf);

// chrF++ (word_order 2).
void BM_SentenceChrfPlusPlus(benchmark::State& state) {
  metrics::ChrfOptions options;
  options.word_order = 2;
  RunSentenceChrf(state, options);
}
BENCHMARK(BM_SentenceChrfPlusPlus);

// The per-row step of corpus_chrf: statistics only, summed.
void BM_ChrfSegmentStats(benchmark::State& state) {
  const metrics::ChrfOptions options;
  metrics::ChrfStats total;
  std::vector<std::string_view> refs(1);
  ForEachReferencePair(state, [&](const std::string& candidate, const std::string& reference) {
    refs[0] = reference;
    metrics::ChrfStatsAdd(total, metrics::ChrfSegmentStats(candidate, refs, options));
  });
  benchmark::DoNotOptimize(metrics::ChrfFromStats(total, options));
}
BENCHMARK(BM_ChrfSegmentStats);

}  // namespace
