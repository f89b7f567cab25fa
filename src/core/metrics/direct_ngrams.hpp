// Clipped n-gram matches of a candidate against references through direct
// tables, for short segments (sentence BLEU's usual case), without hashing.
//
// Units are token ids + 1 (1..V for the candidate's V distinct tokens; a
// reference token absent from the candidate is 0). An n-gram of order k >= 2
// of the candidate is numbered 1 + the position of its first occurrence,
// found through order k's table, indexed by (number of its (k-1)-gram
// prefix, its last unit): order 2's prefixes are units, later orders'
// prefixes are numbers of order k - 1. Numbers are exact, so no key is ever
// compared. Row 0 and column 0 of every table are never written (a
// candidate prefix or unit is never 0), so a reference n-gram through an
// absent token, or extending an n-gram the candidate lacks, reads 0: the
// "absent" number, whose count slot is a sink nothing sums.
//
// The tables of all orders stay filled while the references are read, and
// the entries a segment set are cleared at the start of the next one (so a
// segment abandoned by an exception leaves nothing behind either). A table
// is (max(V, n) + 1) x (V + 1) entries; the caller uses this class only
// while Fits() says they stay small, and PackedNGramCounts otherwise.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <vector>

namespace llmeval::core::metrics {

class DirectNGramCounts {
 public:
  static constexpr int kMaxOrder = 4;
  static constexpr uint32_t kAbsent = UINT32_MAX;  // a reference token the candidate lacks

  // Whether a candidate of n tokens, v of them distinct, fits the tables.
  static bool Fits(std::size_t n, std::size_t v, std::size_t max_entries) noexcept {
    return n < (1u << 20) && (std::max(v, n) + 1) * (v + 1) <= max_entries;
  }

  // Starts a segment whose candidate has n tokens, v of them distinct, with
  // ids below v, to be matched against `references` references; Fits(n, v)
  // must hold.
  void Begin(std::size_t n, std::size_t v, int max_order, std::size_t references) {
    uint32_t* table = table_.data();
    for (std::size_t t = 0; t < touched_count_; ++t) table[touched_[t]] = 0;
    touched_count_ = 0;
    v_ = v;
    width_ = v + 1;
    region_ = (std::max(v, n) + 1) * width_;
    const std::size_t need = region_ * static_cast<std::size_t>(std::max(max_order - 1, 1));
    if (table_.size() < need) table_.resize(need, 0);
    if (touched_.size() < n * kMaxOrder) touched_.resize(n * kMaxOrder);
    single_ = references == 1;
    // Numbers of order 1 are units (<= v <= n), of higher orders <= n.
    stride_ = n + 1;
    const std::size_t orders = static_cast<std::size_t>(max_order);
    // One array for all orders: assign() per order and array was an
    // out-of-line call each (3% of sentence BLEU).
    if (candidate_.size() < orders * stride_) candidate_.resize(orders * stride_);
    std::memset(candidate_.data(), 0, orders * stride_ * sizeof(uint32_t));
    if (!single_) reference_.assign(orders * stride_, ReferenceCounts{});
    if (ids_.size() < orders * stride_) ids_.resize(orders * stride_);
    correct_.fill(0);
    reference_no_ = 0;
  }

  // The candidate's n-grams of orders 1..max_order; ids below v.
  void AddCandidate(const uint32_t* tokens, std::size_t n, int max_order) {
    uint32_t* table = table_.data();
    uint32_t* touched = touched_.data();
    std::size_t touched_count = 0;
    uint32_t* ids1 = Ids(1);
    uint32_t* counts1 = CandidateCounts(1);
    for (std::size_t i = 0; i < n; ++i) {
      ids1[i] = tokens[i] + 1;
      ++counts1[tokens[i] + 1];
    }
    for (int k = 2; k <= max_order && static_cast<std::size_t>(k) <= n; ++k) {
      const std::size_t count = n - k + 1;
      const uint32_t* prefix = Ids(k - 1);
      uint32_t* ids = Ids(k);
      uint32_t* counts = CandidateCounts(k);
      const std::size_t base = static_cast<std::size_t>(k - 2) * region_;
      uint32_t* region = table + base;
      for (std::size_t i = 0; i < count; ++i) {
        const std::size_t index = prefix[i] * width_ + tokens[i + k - 1] + 1;
        const uint32_t seen = region[index];
        // a conditional move: whether an n-gram is new is unpredictable
        const uint32_t id = seen != 0 ? seen : static_cast<uint32_t>(i + 1);
        region[index] = id;
        touched[touched_count++] = static_cast<uint32_t>(base + index);
        ids[i] = id;
        ++counts[id];
      }
    }
    touched_count_ = touched_count;
  }

  // One reference's n-grams: each candidate n-gram keeps the largest count
  // any reference has of it. tokens are candidate ids or kAbsent.
  void AddReference(const uint32_t* tokens, std::size_t n, int max_order) {
    const uint32_t no = ++reference_no_;
    reference_ids_.resize(n);
    reference_units_.resize(n);
    uint32_t* ids = reference_ids_.data();
    uint32_t* units = reference_units_.data();
    const uint32_t* table = table_.data();
    for (std::size_t i = 0; i < n; ++i) {
      units[i] = tokens[i] + 1;  // in 32 bits: kAbsent + 1 == 0
      ids[i] = units[i];
    }
    if (single_) {
      // One reference: each of its n-grams takes one of the candidate's
      // remaining occurrences, which sums min(candidate count, reference
      // count) without counting the reference.
      correct_[0] = Consume(units, n, CandidateCounts(1));
      for (int k = 2; k <= max_order && static_cast<std::size_t>(k) <= n; ++k) {
        const std::size_t count = n - k + 1;
        const uint32_t* region = table + static_cast<std::size_t>(k - 2) * region_;
        uint32_t* remaining = CandidateCounts(k);
        uint32_t matched = 0;
        // In place: ids[i] is read as the prefix before it becomes the n-gram.
        for (std::size_t i = 0; i < count; ++i) {
          const uint32_t id = region[ids[i] * width_ + units[i + k - 1]];
          ids[i] = id;
          const uint32_t left = remaining[id];
          const uint32_t take = left != 0;
          remaining[id] = left - take;
          matched += take;
        }
        correct_[k - 1] = matched;
      }
      return;
    }
    Count(ids, n, 1, no);
    for (int k = 2; k <= max_order && static_cast<std::size_t>(k) <= n; ++k) {
      const std::size_t count = n - k + 1;
      const uint32_t* region = table + static_cast<std::size_t>(k - 2) * region_;
      for (std::size_t i = 0; i < count; ++i)
        ids[i] = region[ids[i] * width_ + units[i + k - 1]];
      Count(ids, count, k, no);
    }
  }

  // sum over the distinct candidate n-grams of order k of
  // min(candidate count, largest reference count).
  int64_t Correct(int k, std::size_t n) const {
    if (single_ || static_cast<std::size_t>(k) > n) return correct_[k - 1];
    const uint32_t* candidate = candidate_.data() + (k - 1) * stride_;
    const ReferenceCounts* reference = reference_.data() + (k - 1) * stride_;
    int64_t correct = 0;
    if (k == 1) {
      for (std::size_t u = 1; u <= v_; ++u)
        correct += std::min(candidate[u], reference[u].reference_max);
      return correct;
    }
    const uint32_t* ids = ids_.data() + (k - 1) * stride_;
    for (std::size_t i = 0; i < n - k + 1; ++i) {
      const uint32_t first = ids[i] == i + 1;  // each distinct n-gram once
      correct += first * std::min(candidate[ids[i]], reference[ids[i]].reference_max);
    }
    return correct;
  }

 private:
  struct ReferenceCounts {
    uint32_t reference = 0;  // count in reference number reference_no
    uint32_t reference_max = 0;
    uint32_t reference_no = 0;
  };

  uint32_t* Ids(int k) noexcept { return ids_.data() + (k - 1) * stride_; }
  uint32_t* CandidateCounts(int k) noexcept { return candidate_.data() + (k - 1) * stride_; }

  // One reference's order-1 units take the candidate's remaining ones.
  static uint32_t Consume(const uint32_t* ids, std::size_t count, uint32_t* remaining) {
    uint32_t matched = 0;
    for (std::size_t i = 0; i < count; ++i) {
      const uint32_t left = remaining[ids[i]];
      const uint32_t take = left != 0;
      remaining[ids[i]] = left - take;
      matched += take;
    }
    return matched;
  }

  // Counts one reference's numbers of order k (0: absent, a sink whose
  // candidate count is 0), several references.
  void Count(const uint32_t* ids, std::size_t count, int k, uint32_t no) {
    ReferenceCounts* counts = reference_.data() + (k - 1) * stride_;
    for (std::size_t i = 0; i < count; ++i) {
      ReferenceCounts& c = counts[ids[i]];
      const uint32_t current = (c.reference_no == no ? c.reference : 0) + 1;
      c.reference = current;
      c.reference_no = no;
      c.reference_max = std::max(c.reference_max, current);
    }
  }

  std::vector<uint32_t> table_;    // the tables of orders 2..max, region_ entries each
  std::vector<uint32_t> touched_;  // entries set by the current segment
  std::size_t touched_count_ = 0;
  std::size_t v_ = 0;
  std::size_t width_ = 1;
  std::size_t region_ = 0;
  bool single_ = true;
  // By order (stride_ apart), by number: the candidate's counts (with one
  // reference, what it has left unmatched), the references' (several
  // references only); by order, by position: the candidate's numbers.
  std::size_t stride_ = 1;
  std::vector<uint32_t> candidate_;
  std::vector<ReferenceCounts> reference_;
  std::vector<uint32_t> ids_;
  std::array<int64_t, kMaxOrder> correct_{};  // one reference: the matches by order
  std::vector<uint32_t> reference_ids_;    // a reference's numbers, by position
  std::vector<uint32_t> reference_units_;  // its units: token ids + 1, 0 for absent
  uint32_t reference_no_ = 0;
};

}  // namespace llmeval::core::metrics

#include "core/cpp_only.hpp"
