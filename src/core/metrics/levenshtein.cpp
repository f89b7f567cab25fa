#include "core/metrics/levenshtein.hpp"

#include <algorithm>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/error.hpp"
#include "core/text/utf8.hpp"

namespace llmeval::core::metrics {

namespace {

struct LevenshteinWorkspace {
  std::vector<uint32_t> a;
  std::vector<uint32_t> b;
  std::vector<uint32_t> text_ids;  // the longer middle, as pattern character ids (0: absent)
  std::vector<uint64_t> masks;     // per pattern character id: its positions in the current blocks
  std::vector<uint8_t> carry;      // per text position: carry into the next block
};

LevenshteinWorkspace& Workspace() {
  thread_local LevenshteinWorkspace workspace;
  return workspace;
}

template <typename T>
void ReleaseIfLarge(std::vector<T>& v) {
  if (v.capacity() > (std::size_t{1} << 20)) std::vector<T>().swap(v);
}

void Decode(std::string_view s, std::vector<uint32_t>& out) {
  out.clear();
  out.reserve(s.size());
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  for (std::size_t pos = 0; pos < s.size();) {
    if (p[pos] < 0x80) {
      out.push_back(p[pos++]);
    } else {
      out.push_back(static_cast<uint32_t>(text::DecodeUtf8(s, pos)));
    }
  }
}

// Blocks of the bit-parallel LCS processed together (see LcsGroup).
constexpr int kGroup = 4;

// One step of Hyyrö's bit-vector LCS for one 64-bit block: match mask m,
// carry in from the block below; returns the carry out.
inline uint64_t LcsStep(uint64_t& s, uint64_t m, uint64_t carry_in) noexcept {
  const uint64_t u = s & m;
  uint64_t sum;
  const bool c1 = __builtin_add_overflow(s, u, &sum);
  const bool c2 = __builtin_add_overflow(sum, carry_in, &sum);
  s = sum | (s - u);
  return static_cast<uint64_t>(c1 | c2);
}

// The state of K consecutive blocks run as a wavefront over the text: block
// k works on text position j - k, so it needs the carry block k - 1 produced
// one step earlier, which stays in a register. The K dependency chains then
// run in parallel instead of one after another (each step is
// latency-bound). carry[j] holds the carry into the first block and receives
// the carry out of the last. masks[id * K + k] is block k's match mask of
// pattern character id.
template <int K>
struct LcsWave {
  uint64_t s[K];
  uint64_t c[K];  // c[k]: carry into block k from block k - 1's previous step

  LcsWave() {
    for (int k = 0; k < K; ++k) s[k] = ~uint64_t{0}, c[k] = 0;
  }

  // Block k (a compile-time constant, so s[] and c[] stay in registers) at
  // text position col.
  template <int k>
  inline void Step(const uint32_t* ids, const uint64_t* masks, uint8_t* carry, std::size_t col) {
    const uint64_t in = k == 0 ? carry[col] : c[k];
    const uint64_t out = LcsStep(s[k], masks[std::size_t{ids[col]} * K + k], in);
    if constexpr (k == K - 1) {
      carry[col] = static_cast<uint8_t>(out);
    } else {
      c[k + 1] = out;
    }
  }

  // One step of the whole wave at step j, every block having a column.
  // Blocks go from the last to the first, so that c[k] is read before block
  // k - 1 overwrites it with a newer carry.
  template <int k = K - 1>
  inline void Full(const uint32_t* ids, const uint64_t* masks, uint8_t* carry, std::size_t j) {
    Step<k>(ids, masks, carry, j - k);
    if constexpr (k > 0) Full<k - 1>(ids, masks, carry, j);
  }

  // The same at the ramp-up and ramp-down, where some blocks have no column.
  template <int k = K - 1>
  void Partial(const uint32_t* ids, const uint64_t* masks, uint8_t* carry, std::size_t j,
               std::size_t n) {
    if (j >= static_cast<std::size_t>(k) && j - k < n) Step<k>(ids, masks, carry, j - k);
    if constexpr (k > 0) Partial<k - 1>(ids, masks, carry, j, n);
  }
};

// Runs blocks [first, first + K) over the text; returns their LCS
// contribution (zero bits of the final states, `widths` bits each).
template <int K>
int64_t LcsGroup(const uint32_t* ids, std::size_t n, const uint64_t* masks, uint8_t* carry,
                 const std::size_t* widths) {
  LcsWave<K> wave;
  const std::size_t steps = n + K - 1;
  std::size_t j = 0;
  for (; j < steps && j < static_cast<std::size_t>(K - 1); ++j)
    wave.Partial(ids, masks, carry, j, n);
  for (; j < n; ++j) wave.Full(ids, masks, carry, j);
  for (; j < steps; ++j) wave.Partial(ids, masks, carry, j, n);
  int64_t lcs = 0;
  for (int k = 0; k < K; ++k) {
    const uint64_t used = widths[k] == 64 ? ~uint64_t{0} : (uint64_t{1} << widths[k]) - 1;
    lcs += __builtin_popcountll(~wave.s[k] & used);
  }
  return lcs;
}

// LCS of pattern p (m >= 1 code points) and text t by Hyyrö's bit-vector
// algorithm (as rapidfuzz's LCSseq): bit i of S is 0 where the LCS "column"
// gains at pattern position i; per text character c with match mask M,
// u = S & M, S = (S + u) | (S - u); the LCS is the number of zero bits.
// Patterns longer than 64 run in blocks of 64 characters, kGroup blocks at a
// time over the whole text (block-major): a group needs only the carries the
// previous group produced at each text position, so only the masks of one
// group are live and memory stays linear.
int64_t BitParallelLcs(const uint32_t* p, std::size_t m, const uint32_t* t, std::size_t n,
                       LevenshteinWorkspace& ws) {
  // Dense ids for the pattern's characters; text characters absent from the
  // pattern get id 0, whose masks are always empty.
  uint32_t ascii[128] = {};
  std::unordered_map<uint32_t, uint32_t> other;
  uint32_t next_id = 1;
  std::vector<uint32_t> pattern_ids(m);
  for (std::size_t i = 0; i < m; ++i) {
    const uint32_t c = p[i];
    uint32_t& id = c < 128 ? ascii[c] : other[c];
    if (id == 0) id = next_id++;
    pattern_ids[i] = id;
  }
  ws.text_ids.resize(n);
  for (std::size_t j = 0; j < n; ++j) {
    const uint32_t c = t[j];
    if (c < 128) {
      ws.text_ids[j] = ascii[c];
    } else {
      const auto it = other.find(c);
      ws.text_ids[j] = it == other.end() ? 0 : it->second;
    }
  }
  const uint32_t* ids = ws.text_ids.data();
  const std::size_t blocks = (m + 63) / 64;
  ws.carry.assign(n, 0);
  int64_t lcs = 0;
  for (std::size_t first = 0; first < blocks;) {
    // Groups of kGroup blocks, then pairs and single blocks for the rest.
    const std::size_t left = blocks - first;
    const int k_count = left >= kGroup ? kGroup : left >= 2 ? 2 : 1;
    ws.masks.assign(std::size_t{next_id} * k_count, 0);
    std::size_t widths[kGroup] = {};
    for (int k = 0; k < k_count; ++k) {
      const std::size_t begin = (first + k) * 64;
      const std::size_t end = std::min(m, begin + 64);
      widths[k] = end - begin;
      for (std::size_t i = begin; i < end; ++i)
        ws.masks[std::size_t{pattern_ids[i]} * k_count + k] |= uint64_t{1} << (i - begin);
    }
    const uint64_t* masks = ws.masks.data();
    uint8_t* carry = ws.carry.data();
    if (k_count == kGroup) {
      lcs += LcsGroup<kGroup>(ids, n, masks, carry, widths);
    } else if (k_count == 2) {
      lcs += LcsGroup<2>(ids, n, masks, carry, widths);
    } else {
      lcs += LcsGroup<1>(ids, n, masks, carry, widths);
    }
    first += static_cast<std::size_t>(k_count);
  }
  return lcs;
}

}  // namespace

double LevenshteinRatio(std::string_view a_text, std::string_view b_text) {
  LevenshteinWorkspace& ws = Workspace();
  // Large buffers go back after the call, also when it throws: a Postgres
  // backend keeps its thread_local workspace for life.
  struct Release {
    LevenshteinWorkspace& ws;
    ~Release() {
      ReleaseIfLarge(ws.a);
      ReleaseIfLarge(ws.b);
      ReleaseIfLarge(ws.text_ids);
      ReleaseIfLarge(ws.carry);
      ReleaseIfLarge(ws.masks);
    }
  } release{ws};
  Decode(a_text, ws.a);
  Decode(b_text, ws.b);
  const std::vector<uint32_t>& a = ws.a;
  const std::vector<uint32_t>& b = ws.b;
  const std::size_t lensum = a.size() + b.size();
  if (lensum == 0) return 1.0;

  // Common affixes are part of every LCS (rapidfuzz strips them too); this
  // keeps near-identical long texts cheap.
  std::size_t prefix = 0;
  const std::size_t shortest = std::min(a.size(), b.size());
  while (prefix < shortest && a[prefix] == b[prefix]) ++prefix;
  std::size_t suffix = 0;
  while (suffix < shortest - prefix && a[a.size() - 1 - suffix] == b[b.size() - 1 - suffix])
    ++suffix;
  const uint32_t* am = a.data() + prefix;
  const uint32_t* bm = b.data() + prefix;
  std::size_t an = a.size() - prefix - suffix;
  std::size_t bn = b.size() - prefix - suffix;
  if (an > bn) {
    std::swap(am, bm);
    std::swap(an, bn);
  }
  int64_t lcs = static_cast<int64_t>(prefix + suffix);
  if (an > 0) {
    const uint64_t work = static_cast<uint64_t>((an + 63) / 64) * bn;
    if (work > kLevenshteinMaxWork)
      throw Error(ErrorKind::kProgramLimitExceeded, "input too long for levenshtein_ratio",
                  "The texts have " + std::to_string(a.size()) + " and " +
                      std::to_string(b.size()) +
                      " characters; after their common prefix and "
                      "suffix, ceil(" +
                      std::to_string(an) + " / 64) * " + std::to_string(bn) +
                      " exceeds the limit of " + std::to_string(kLevenshteinMaxWork) + ".");
    lcs += BitParallelLcs(am, an, bm, bn, ws);
  }

  const auto dist = static_cast<int64_t>(lensum) - 2 * lcs;
  return 1.0 - static_cast<double>(dist) / static_cast<double>(lensum);
}

}  // namespace llmeval::core::metrics
