#include "core/metrics/bleu.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "core/error.hpp"
#include "core/metrics/direct_ngrams.hpp"
#include "core/metrics/ngram_index.hpp"
#include "core/metrics/options_json.hpp"
#include "core/metrics/packed_ngrams.hpp"
#include "core/metrics/token_table.hpp"

namespace llmeval::core::metrics {

namespace {

// Buffers reused across calls on one thread: a SQL function scoring a table
// calls BleuSegmentStats once per row, and allocation would dominate.
struct BleuWorkspace {
  TokenizedText candidate;
  TokenizedText reference;
  TokenTable tokens;  // TokenizedText pads its buffer as TokenTable requires
  NGramIds ngrams;
  std::vector<uint32_t> candidate_units;
  std::vector<std::vector<uint32_t>> candidate_ngrams;
  std::vector<uint32_t> candidate_count;  // by n-gram id
  std::vector<uint32_t> reference_max;    // by n-gram id: max count over references
  std::vector<uint32_t> reference_count;  // by n-gram id: count in the current reference
  std::vector<uint32_t> seen;             // n-gram ids of the current reference
  std::vector<uint32_t> reference_units;
  std::vector<uint32_t> prev_ids;         // (order-1)-gram ids by start position
  std::vector<uint32_t> cur_ids;
  std::vector<int64_t> ref_lens;
  PackedNGramCounts packed;  // orders <= 4 and fewer than 65534 candidate tokens
  DirectNGramCounts direct;  // orders <= 4 and a short candidate
};

// DirectNGramCounts' largest table (per order), in entries: 32 KiB, enough
// for candidates of about 90 tokens. Variable only for tests.
std::size_t direct_max_entries = std::size_t{1} << 13;

// thread_local in a shared library costs a __tls_get_addr call per access,
// so callers fetch the workspace once per segment and pass it down.
// noinline: inlined, GCC re-derives the thread_local's address with a
// __tls_get_addr call at every member access (36 calls in BleuSegmentStats,
// 7% of sentence BLEU through SQL); behind a call it is one pointer.
__attribute__((noinline)) BleuWorkspace& Workspace() {
  thread_local BleuWorkspace workspace;
  return workspace;
}

// sacrebleu's my_log: log(0) is a large negative number rather than -inf.
inline double MyLog(double x) { return x == 0.0 ? -9999999999.0 : std::log(x); }

// Counts one reference's n-grams that also occur in the candidate (the only
// ones that can match) into ws.reference_max. Returns the reference length.
// An n-gram whose prefix or last token is absent from the candidate cannot
// occur in it, so it is never looked up.
int64_t AccumulateReference(BleuWorkspace& ws, std::size_t max_order) {
  const std::vector<std::string_view>& tokens = ws.reference.tokens;
  const std::size_t n = tokens.size();
  std::vector<uint32_t>& units = ws.reference_units;
  std::vector<uint32_t>& prev = ws.prev_ids;  // prev[i]: (order-1)-gram id at i
  std::vector<uint32_t>& cur = ws.cur_ids;
  auto count = [&ws](uint32_t id) {
    if (id != NGramIds::kNotFound && ws.reference_count[id]++ == 0) ws.seen.push_back(id);
  };
  ws.seen.clear();
  units.resize(n);
  prev.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    units[i] = ws.tokens.Find(tokens[i].data(), tokens[i].size());
    prev[i] = units[i] == TokenTable::kNotFound ? NGramIds::kNotFound
                                              : ws.ngrams.Find(NGramIds::kNoPrefix, units[i]);
    count(prev[i]);
  }
  for (std::size_t order = 2; order <= max_order && n >= order; ++order) {
    cur.resize(n - order + 1);
    for (std::size_t i = 0; i + order <= n; ++i) {
      const uint32_t last = units[i + order - 1];
      cur[i] = (prev[i] == NGramIds::kNotFound || last == TokenTable::kNotFound)
                   ? NGramIds::kNotFound
                   : ws.ngrams.Find(prev[i], last);
      count(cur[i]);
    }
    prev.swap(cur);
  }
  for (uint32_t id : ws.seen) {
    ws.reference_max[id] = std::max(ws.reference_max[id], ws.reference_count[id]);
    ws.reference_count[id] = 0;
  }
  return static_cast<int64_t>(n);
}

// sacrebleu's BLEU._get_closest_ref_len: the closest length, shorter on ties.
int64_t ClosestRefLen(int64_t hyp_len, const std::vector<int64_t>& ref_lens) {
  int64_t closest_diff = -1;
  int64_t closest_len = -1;
  for (int64_t ref_len : ref_lens) {
    const int64_t diff = std::llabs(hyp_len - ref_len);
    if (closest_diff == -1 || diff < closest_diff) {
      closest_diff = diff;
      closest_len = ref_len;
    } else if (diff == closest_diff && ref_len < closest_len) {
      closest_len = ref_len;
    }
  }
  return closest_len;
}

// BleuSegmentStats with PackedNGramCounts, once the candidate's tokens are
// interned into ws.candidate_units: the common configuration (orders <= 4),
// without the NGramIds hashing of the general path below.
BleuStats PackedSegmentStats(const std::vector<std::string_view>& references,
                             const BleuOptions& options, BleuWorkspace& ws) {
  const int max_order = options.max_ngram_order;
  const std::size_t hyp_len = ws.candidate_units.size();
  PackedNGramCounts& packed = ws.packed;
  DirectNGramCounts& direct = ws.direct;
  const bool use_direct = DirectNGramCounts::Fits(hyp_len, ws.tokens.size(), direct_max_entries);
  if (use_direct) {
    direct.Begin(hyp_len, ws.tokens.size(), max_order, references.size());
    direct.AddCandidate(ws.candidate_units.data(), hyp_len, max_order);
  } else {
    packed.Begin(hyp_len, max_order);
    packed.AddCandidate(ws.candidate_units.data(), hyp_len, max_order);
  }
  std::vector<int64_t>& ref_lens = ws.ref_lens;
  ref_lens.clear();
  for (std::string_view reference : references) {
    TokenizeForBleu(reference, options.tokenizer, options.lowercase, ws.reference);
    const std::vector<std::string_view>& tokens = ws.reference.tokens;
    std::vector<uint32_t>& units = ws.reference_units;
    units.resize(tokens.size());
    static_assert(TokenTable::kNotFound == PackedNGramCounts::kAbsent);
    static_assert(TokenTable::kNotFound == DirectNGramCounts::kAbsent);
    for (std::size_t i = 0; i < tokens.size(); ++i)
      units[i] = ws.tokens.Find(tokens[i].data(), tokens[i].size());
    if (use_direct) {
      direct.AddReference(units.data(), units.size(), max_order);
    } else {
      packed.AddReference(units.data(), units.size(), max_order);
    }
    ref_lens.push_back(static_cast<int64_t>(tokens.size()));
  }
  BleuStats stats;
  stats.sys_len = static_cast<int64_t>(hyp_len);
  stats.ref_len = ClosestRefLen(stats.sys_len, ref_lens);
  for (int order = 1; order <= max_order; ++order) {
    stats.total[order - 1] = hyp_len >= static_cast<std::size_t>(order)
                                 ? static_cast<int64_t>(hyp_len - order + 1)
                                 : 0;
    stats.correct[order - 1] = use_direct ? direct.Correct(order, hyp_len) : packed.Correct(order);
  }
  return stats;
}

}  // namespace

std::size_t internal::SetBleuDirectTableMaxEntriesForTesting(std::size_t entries) {
  const std::size_t previous = direct_max_entries;
  direct_max_entries = entries;
  return previous;
}

SmoothMethod ParseSmoothMethod(std::string_view name) {
  if (name == "exp") return SmoothMethod::kExp;
  if (name == "none") return SmoothMethod::kNone;
  if (name == "floor") return SmoothMethod::kFloor;
  if (name == "add-k") return SmoothMethod::kAddK;
  throw Error(ErrorKind::kInvalidParameterValue,
              "unknown smooth_method \"" + std::string(name) + "\"", {},
              "Valid methods are \"exp\", \"none\", \"floor\" and \"add-k\".");
}

const char* SmoothMethodName(SmoothMethod method) noexcept {
  switch (method) {
    case SmoothMethod::kNone: return "none";
    case SmoothMethod::kFloor: return "floor";
    case SmoothMethod::kAddK: return "add-k";
    case SmoothMethod::kExp: return "exp";
  }
  return "?";
}

void ValidateBleuOptions(const BleuOptions& options) {
  if (options.smooth_value && !(std::isfinite(*options.smooth_value) && *options.smooth_value >= 0))
    throw Error(ErrorKind::kInvalidParameterValue,
                "smooth_value must be a finite number greater than or equal to 0");
  if (options.max_ngram_order < 1 || options.max_ngram_order > kBleuMaxNgramOrder)
    throw Error(ErrorKind::kInvalidParameterValue,
                "max_ngram_order must be between 1 and " + std::to_string(kBleuMaxNgramOrder),
                "max_ngram_order is " + std::to_string(options.max_ngram_order) + ".");
}

BleuOptions ParseBleuOptionsJson(std::string_view json) {
  static const std::string kMetric = "BLEU";
  BleuOptions options;
  const nlohmann::json object = ParseOptionsObject(json, kMetric);
  for (const auto& [key, value] : object.items()) {
    if (key == "tokenize") {
      options.tokenizer = ParseBleuTokenizer(StringOption(value, kMetric, key));
    } else if (key == "smooth_method") {
      options.smooth_method = ParseSmoothMethod(StringOption(value, kMetric, key));
    } else if (key == "smooth_value") {
      if (!value.is_number() && !value.is_null()) ThrowOptionType(kMetric, key, "a number");
      if (value.is_number()) options.smooth_value = value.get<double>();
    } else if (key == "lowercase") {
      options.lowercase = BoolOption(value, kMetric, key);
    } else if (key == "use_effective_order") {
      options.use_effective_order = BoolOption(value, kMetric, key);
    } else if (key == "max_ngram_order") {
      options.max_ngram_order = IntOption(value, kMetric, key);
    } else {
      ThrowUnknownOption(kMetric, key,
                         "tokenize, smooth_method, smooth_value, lowercase, use_effective_order "
                         "and max_ngram_order");
    }
  }
  ValidateBleuOptions(options);
  return options;
}

void BleuStats::Add(const BleuStats& other) noexcept {
  sys_len += other.sys_len;
  ref_len += other.ref_len;
  for (int i = 0; i < kBleuMaxNgramOrder; ++i) {
    correct[i] += other.correct[i];
    total[i] += other.total[i];
  }
}

BleuStats BleuSegmentStats(std::string_view candidate,
                           const std::vector<std::string_view>& references,
                           const BleuOptions& options) {
  if (references.empty())
    throw Error(ErrorKind::kInvalidParameterValue, "at least one reference is required");
  ValidateBleuOptions(options);
  const int max_order = options.max_ngram_order;
  BleuWorkspace& ws = Workspace();
  ws.tokens.Clear();
  ws.ngrams.Clear();

  TokenizeForBleu(candidate, options.tokenizer, options.lowercase, ws.candidate);
  const std::vector<std::string_view>& hyp = ws.candidate.tokens;
  ws.candidate_units.resize(hyp.size());
  for (std::size_t i = 0; i < hyp.size(); ++i)
    ws.candidate_units[i] = ws.tokens.Intern(hyp[i].data(), hyp[i].size());
  if (max_order <= PackedNGramCounts::kMaxOrder && ws.tokens.size() < PackedNGramCounts::kIdLimit)
    return PackedSegmentStats(references, options, ws);
  for (auto& ids : ws.candidate_ngrams) ids.clear();
  CollectNGrams(ws.candidate_units, max_order, ws.ngrams, ws.candidate_ngrams);

  const std::size_t ids = ws.ngrams.size();
  ws.candidate_count.assign(ids, 0);
  ws.reference_max.assign(ids, 0);
  ws.reference_count.assign(ids, 0);

  std::vector<int64_t>& ref_lens = ws.ref_lens;
  ref_lens.clear();
  for (std::string_view reference : references) {
    TokenizeForBleu(reference, options.tokenizer, options.lowercase, ws.reference);
    ref_lens.push_back(AccumulateReference(ws, static_cast<std::size_t>(max_order)));
  }

  BleuStats stats;
  stats.sys_len = static_cast<int64_t>(hyp.size());
  stats.ref_len = ClosestRefLen(stats.sys_len, ref_lens);
  for (int order = 0; order < max_order; ++order) {
    const std::vector<uint32_t>& grams = ws.candidate_ngrams[order];
    stats.total[order] = static_cast<int64_t>(grams.size());
    for (uint32_t id : grams) ++ws.candidate_count[id];
    int64_t correct = 0;
    for (uint32_t id : grams) {
      if (ws.candidate_count[id] == 0) continue;  // already counted
      correct += std::min(ws.candidate_count[id], ws.reference_max[id]);
      ws.candidate_count[id] = 0;
    }
    stats.correct[order] = correct;
  }
  return stats;
}

BleuScore BleuFromStats(const BleuStats& stats, const BleuOptions& options,
                        bool effective_order) {
  ValidateBleuOptions(options);
  const int max_order = options.max_ngram_order;
  BleuScore result;
  result.max_ngram_order = max_order;
  result.effective_order = effective_order;
  result.sys_len = stats.sys_len;
  result.ref_len = stats.ref_len;
  result.ratio = stats.ref_len ? static_cast<double>(stats.sys_len) / stats.ref_len : 0.0;
  for (int i = 0; i < max_order; ++i) {
    result.counts[i] = static_cast<double>(stats.correct[i]);
    result.totals[i] = static_cast<double>(stats.total[i]);
  }

  if (stats.sys_len < stats.ref_len) {
    result.bp = stats.sys_len > 0
                    ? std::exp(1.0 - static_cast<double>(stats.ref_len) / stats.sys_len)
                    : 0.0;
  } else {
    result.bp = 1.0;
  }

  // Early stop if there are no matches (sacrebleu #141).
  if (std::all_of(stats.correct.begin(), stats.correct.begin() + max_order,
                  [](int64_t c) { return c == 0; }))
    return result;

  double smooth_value = 0.0;
  if (options.smooth_value) {
    smooth_value = *options.smooth_value;
  } else if (options.smooth_method == SmoothMethod::kFloor) {
    smooth_value = 0.1;
  } else if (options.smooth_method == SmoothMethod::kAddK) {
    smooth_value = 1.0;
  }

  double smooth_mteval = 1.0;
  int eff_order = max_order;
  for (int n = 1; n <= max_order; ++n) {
    // sacrebleu adds add-k's value to the statistics it reports.
    double& correct = result.counts[n - 1];
    double& total = result.totals[n - 1];
    if (options.smooth_method == SmoothMethod::kAddK && n > 1) {
      correct += smooth_value;
      total += smooth_value;
    }
    if (total == 0) break;
    if (effective_order) eff_order = n;
    double& precision = result.precisions[n - 1];
    if (correct == 0) {
      if (options.smooth_method == SmoothMethod::kExp) {
        smooth_mteval *= 2;
        precision = 100.0 / (smooth_mteval * total);
      } else if (options.smooth_method == SmoothMethod::kFloor) {
        precision = 100.0 * smooth_value / total;
      }
    } else {
      precision = 100.0 * correct / total;
    }
  }

  // Python's sum() adds left to right starting from 0.
  double log_sum = 0.0;
  for (int i = 0; i < eff_order; ++i) log_sum += MyLog(result.precisions[i]);
  result.score = result.bp * std::exp(log_sum / eff_order);
  return result;
}

BleuScore CorpusBleuFromStats(const BleuStats& stats, const BleuOptions& options) {
  return BleuFromStats(stats, options, options.use_effective_order.value_or(false));
}

BleuScore SentenceBleu(std::string_view candidate, const std::vector<std::string_view>& references,
                       const BleuOptions& options) {
  return BleuFromStats(BleuSegmentStats(candidate, references, options), options,
                       options.use_effective_order.value_or(true));
}

}  // namespace llmeval::core::metrics
