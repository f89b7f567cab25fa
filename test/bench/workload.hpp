// The 100k-pair benchmark workload (test/data/workload_100k.tsv.gz):
// one "candidate<TAB>reference" pair per line.
#pragma once

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace llmeval::bench {

// The reference tools' throughput (test/data/README.md) was measured on the
// first 20,000 pairs; the kernels compared with it cycle through the same.
inline constexpr std::size_t kReferencePairs = 20000;

inline const std::vector<std::pair<std::string, std::string>>& Workload() {
  static const auto pairs = [] {
    std::vector<std::pair<std::string, std::string>> out;
    const std::string cmd = std::string("gzip -dc '") + LLMEVAL_TEST_DATA + "/workload_100k.tsv.gz'";
    FILE* in = popen(cmd.c_str(), "r");
    if (!in) throw std::runtime_error("cannot run " + cmd);
    std::string line;
    for (int c; (c = std::fgetc(in)) != EOF;) {
      if (c != '\n') {
        line.push_back(static_cast<char>(c));
        continue;
      }
      const auto tab = line.find('\t');
      if (tab != std::string::npos) out.emplace_back(line.substr(0, tab), line.substr(tab + 1));
      line.clear();
    }
    pclose(in);
    if (out.empty()) throw std::runtime_error("empty workload");
    return out;
  }();
  return pairs;
}

// Calls score(candidate, reference) once per iteration, cycling through the
// first kReferencePairs pairs: items/s = pairs/s.
template <typename Score>
void ForEachReferencePair(benchmark::State& state, Score score) {
  const auto& pairs = Workload();
  const std::size_t n = std::min(pairs.size(), kReferencePairs);
  std::size_t i = 0;
  for (auto _ : state) {
    const auto& [candidate, reference] = pairs[i++ % n];
    score(candidate, reference);
  }
  state.SetItemsProcessed(state.iterations());
}

}  // namespace llmeval::bench
