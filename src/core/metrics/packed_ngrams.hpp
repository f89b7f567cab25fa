// Clipped n-gram matches of a candidate against references, for orders up
// to 4 over token ids below 65535: BLEU's default configuration.
//
// An n-gram is one 64-bit key, the ids + 1 of its tokens in 16-bit lanes
// (lane 0 first), so building the n-grams of order k from those of order
// k-1 is a shift and an or, and no hash of strings or of (prefix id, unit)
// pairs is needed (NGramIds took about a quarter of sentence BLEU). Keys of
// different orders never collide: a key of order k has exactly its k low
// lanes non-zero. A reference token absent from the candidate gets lane
// 0xFFFF, which no candidate key holds, so n-grams through it find nothing.
//
// One small open-addressing table holds the candidate's n-grams with their
// counts. It stays allocated across segments and only the slots a segment
// used are emptied, at the start of the next one (so a segment abandoned by
// an exception leaves nothing behind either).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

namespace llmeval::core::metrics {

class PackedNGramCounts {
 public:
  static constexpr int kMaxOrder = 4;
  // Token ids must be below this; a reference passes kAbsent for a token the
  // candidate lacks.
  static constexpr uint32_t kIdLimit = 0xFFFE;
  static constexpr uint32_t kAbsent = UINT32_MAX;

  // Starts a segment whose candidate has `tokens` tokens.
  void Begin(std::size_t tokens, int max_order) {
    for (auto& used : used_by_order_) {
      for (uint32_t s : used) {
        keys_[s] = 0;
        counts_[s] = Counts{};
      }
      used.clear();
    }
    if (!counts_.empty()) counts_.back() = Counts{};
    reference_no_ = 0;
    const std::size_t grams = tokens * static_cast<std::size_t>(max_order);
    if (keys_.empty() || keys_.size() < 2 * grams ||
        keys_.size() > std::max<std::size_t>(kKeepSlots, 4 * grams)) {
      std::size_t capacity = 256;
      while (capacity < 2 * grams) capacity *= 2;
      keys_.assign(capacity, 0);
      counts_.assign(capacity + 1, Counts{});  // + the sink, see AddReference
      shift_ = 64 - __builtin_ctzll(capacity);
    }
  }

  // The candidate's n-grams of orders 1..max_order; ids below kIdLimit.
  void AddCandidate(const uint32_t* ids, std::size_t n, int max_order) {
    grams_.resize(n);
    uint64_t* grams = grams_.data();
    uint64_t* keys = keys_.data();
    Counts* counts = counts_.data();
    const std::size_t mask = keys_.size() - 1;
    for (std::size_t i = 0; i < n; ++i) grams[i] = ids[i] + 1;
    for (int k = 1; k <= max_order && static_cast<std::size_t>(k) <= n; ++k) {
      const std::size_t count = n - k + 1;
      if (k > 1) {
        const int shift = 16 * (k - 1);
        for (std::size_t i = 0; i < count; ++i)
          grams[i] |= static_cast<uint64_t>(ids[i + k - 1] + 1) << shift;
      }
      std::vector<uint32_t>& used = used_by_order_[k - 1];
      for (std::size_t i = 0; i < count; ++i) {
        const uint64_t key = grams[i];
        std::size_t s = Home(key);
        while (keys[s] != key && keys[s] != 0) s = (s + 1) & mask;
        if (keys[s] == 0) {
          keys[s] = key;
          used.push_back(static_cast<uint32_t>(s));
        }
        ++counts[s].candidate;
      }
    }
  }

  // One reference's n-grams: each candidate n-gram keeps the largest count
  // any reference has of it. ids are candidate ids or kAbsent.
  void AddReference(const uint32_t* ids, std::size_t n, int max_order) {
    const uint32_t no = ++reference_no_;
    grams_.resize(n);
    uint64_t* grams = grams_.data();
    const uint64_t* keys = keys_.data();
    Counts* counts = counts_.data();
    const std::size_t mask = keys_.size() - 1;
    const std::size_t sink = keys_.size();
    for (std::size_t i = 0; i < n; ++i) grams[i] = Lane(ids[i]);
    for (int k = 1; k <= max_order && static_cast<std::size_t>(k) <= n; ++k) {
      const std::size_t count = n - k + 1;
      if (k > 1) {
        const int shift = 16 * (k - 1);
        for (std::size_t i = 0; i < count; ++i) grams[i] |= Lane(ids[i + k - 1]) << shift;
      }
      for (std::size_t i = 0; i < count; ++i) {
        const uint64_t key = grams[i];
        std::size_t s = Home(key);
        while (keys[s] != key && keys[s] != 0) s = (s + 1) & mask;
        // Whether a reference n-gram is also the candidate's is a coin toss
        // for the branch predictor, so a miss updates a sink slot instead
        // of branching, and so does the per-reference reset.
        s = keys[s] == 0 ? sink : s;
        Counts& c = counts[s];
        const uint32_t current = (c.reference_no == no ? c.reference : 0) + 1;
        c.reference = current;
        c.reference_no = no;
        c.reference_max = std::max(c.reference_max, current);
      }
    }
  }

  // sum over the distinct candidate n-grams of order k of
  // min(candidate count, largest reference count).
  int64_t Correct(int k) const {
    int64_t correct = 0;
    for (uint32_t s : used_by_order_[k - 1])
      correct += std::min(counts_[s].candidate, counts_[s].reference_max);
    return correct;
  }

 private:
  // Beyond this many slots, a table grown for a long segment is given back.
  static constexpr std::size_t kKeepSlots = std::size_t{1} << 14;

  struct Counts {
    uint32_t candidate = 0;
    uint32_t reference = 0;  // count in reference number reference_no
    uint32_t reference_max = 0;
    uint32_t reference_no = 0;
  };

  static uint64_t Lane(uint32_t id) noexcept {
    return id == kAbsent ? 0xFFFF : static_cast<uint64_t>(id) + 1;
  }

  // Fibonacci hashing: one multiply, the high bits pick the slot.
  std::size_t Home(uint64_t key) const noexcept {
    return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ULL) >> shift_);
  }

  // The table: keys (0 for an empty slot: a key's lane 0 is never 0) apart
  // from the counts, so a probe reads 8 bytes a slot.
  std::vector<uint64_t> keys_;
  std::vector<Counts> counts_;  // one more than keys_: the sink
  int shift_ = 64;
  std::vector<uint64_t> grams_;  // n-gram keys by start position
  std::array<std::vector<uint32_t>, kMaxOrder> used_by_order_;
  uint32_t reference_no_ = 0;
};

}  // namespace llmeval::core::metrics

#include "core/cpp_only.hpp"
