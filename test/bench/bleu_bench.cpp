// Core kernels on the workload, one pair per iteration: items/s = pairs/s.
#include <benchmark/benchmark.h>

#include "core/metrics/bleu.hpp"
#include "workload.hpp"

namespace {

using llmeval::bench::Workload;
namespace metrics = llmeval::core::metrics;

void BM_SentenceBleu(benchmark::State& state) {
  const auto& pairs = Workload();
  const metrics::BleuOptions options;
  std::size_t i = 0;
  std::vector<std::string_view> refs(1);
  for (auto _ : state) {
    const auto& [candidate, reference] = pairs[i++ % pairs.size()];
    refs[0] = reference;
    benchmark::DoNotOptimize(metrics::SentenceBleu(candidate, refs, options).score);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SentenceBleu);

void BM_Tokenize13a(benchmark::State& state) {
  const auto& pairs = Workload();
  metrics::TokenizedText out;
  std::size_t i = 0;
  for (auto _ : state) {
    metrics::TokenizeForBleu(pairs[i++ % pairs.size()].first, metrics::BleuTokenizer::k13a, false,
                             out);
    benchmark::DoNotOptimize(out.tokens.size());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Tokenize13a);

void BM_TokenizeIntl(benchmark::State& state) {
  const auto& pairs = Workload();
  metrics::TokenizedText out;
  std::size_t i = 0;
  for (auto _ : state) {
    metrics::TokenizeForBleu(pairs[i++ % pairs.size()].first, metrics::BleuTokenizer::kIntl,
                             false, out);
    benchmark::DoNotOptimize(out.tokens.size());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TokenizeIntl);

}  // namespace

namespace {

// The same pair every iteration: the kernel's cost without cache misses on
// the 31 MB workload.
void BM_SentenceBleuHotPair(benchmark::State& state) {
  const auto& pair = llmeval::bench::Workload()[0];
  const metrics::BleuOptions options;
  std::vector<std::string_view> refs{pair.second};
  for (auto _ : state) benchmark::DoNotOptimize(metrics::SentenceBleu(pair.first, refs, options).score);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SentenceBleuHotPair);

void BM_Tokenize13aHot(benchmark::State& state) {
  const auto& pair = llmeval::bench::Workload()[0];
  metrics::TokenizedText out;
  for (auto _ : state) {
    metrics::TokenizeForBleu(pair.first, metrics::BleuTokenizer::k13a, false, out);
    benchmark::DoNotOptimize(out.tokens.size());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Tokenize13aHot);

}  // namespace
