// ROUGE kernels on the workload, one pair per iteration: items/s = pairs/s,
// comparable with rouge-score on the same first 20,000 pairs
// (test/data/README.md): RougeScorer(['rougeL']).score 9,054 pairs/s and
// RougeScorer(['rouge1','rouge2']).score 17,559 pairs/s, both without the
// stemmer (rouge-score's default).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <vector>

#include "core/metrics/rouge.hpp"
#include "workload.hpp"

namespace {

using llmeval::bench::ForEachReferencePair;
namespace metrics = llmeval::core::metrics;

void RunRouge(benchmark::State& state, const char* variant_name, bool use_stemmer) {
  const metrics::RougeVariant variant = metrics::ParseRougeVariant(variant_name);
  ForEachReferencePair(state, [&](const std::string& candidate, const std::string& reference) {
    benchmark::DoNotOptimize(metrics::Rouge(candidate, reference, variant, use_stemmer).fmeasure);
  });
}

void BM_RougeL(benchmark::State& state) { RunRouge(state, "rougeL", false); }
BENCHMARK(BM_RougeL);

void BM_RougeLStemmer(benchmark::State& state) { RunRouge(state, "rougeL", true); }
BENCHMARK(BM_RougeLStemmer);

void BM_RougeLsum(benchmark::State& state) { RunRouge(state, "rougeLsum", false); }
BENCHMARK(BM_RougeLsum);

// rouge1 and rouge2 of the same pair, each variant tokenizing on its own
// (two SQL calls).
void BM_Rouge1And2(benchmark::State& state) {
  const metrics::RougeVariant rouge1 = metrics::ParseRougeVariant("rouge1");
  const metrics::RougeVariant rouge2 = metrics::ParseRougeVariant("rouge2");
  ForEachReferencePair(state, [&](const std::string& candidate, const std::string& reference) {
    benchmark::DoNotOptimize(metrics::Rouge(candidate, reference, rouge1, false).fmeasure);
    benchmark::DoNotOptimize(metrics::Rouge(candidate, reference, rouge2, false).fmeasure);
  });
}
BENCHMARK(BM_Rouge1And2);

// rouge1 and rouge2 from one tokenisation, as RougeScorer(['rouge1','rouge2'])
// computes both per call (the SQL variants => ARRAY[...] form).
void BM_Rouge1And2OneCall(benchmark::State& state) {
  const std::vector<metrics::RougeVariant> variants = {metrics::ParseRougeVariant("rouge1"),
                                                       metrics::ParseRougeVariant("rouge2")};
  std::vector<metrics::RougeScore> scores;
  ForEachReferencePair(state, [&](const std::string& candidate, const std::string& reference) {
    metrics::RougeScores(candidate, reference, variants, false, scores);
    benchmark::DoNotOptimize(scores[1].fmeasure);
  });
}
BENCHMARK(BM_Rouge1And2OneCall);

}  // namespace
