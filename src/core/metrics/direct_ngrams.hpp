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
    for (int k = 0; k < max_order; ++k) {
      // Numbers of order 1 are units (<= v <= n), of higher orders <= n.
      candidate_[k].assign(n + 1, 0);
      if (!single_) reference_[k].assign(n + 1, ReferenceCounts{});
      ids_[k].resize(n);
      correct_[k] = 0;
    }
    reference_no_ = 0;
  }

  // The candidate's n-grams of orders 1..max_order; ids below v.
  void AddCandidate(const uint32_t* tokens, std::size_t n, int max_order) {
    uint32_t* table = table_.data();
    uint32_t* touched = touched_.data();
    std::size_t touched_count = 0;
    uint32_t* ids1 = ids_[0].data();
    uint32_t* counts1 = candidate_[0].data();
    for (std::size_t i = 0; i < n; ++i) {
      ids1[i] = tokens[i] + 1;
      ++counts1[tokens[i] + 1];
    }
    for (int k = 2; k <= max_order && static_cast<std::size_t>(k) <= n; ++k) {
      const std::size_t count = n - k + 1;
      const uint32_t* prefix = ids_[k - 2].data();
      uint32_t* ids = ids_[k - 1].data();
      uint32_t* counts = candidate_[k - 1].data();
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
    Count(ids, n, 1, no);
    for (int k = 2; k <= max_order && static_cast<std::size_t>(k) <= n; ++k) {
      const std::size_t count = n - k + 1;
      const uint32_t* region = table + static_cast<std::size_t>(k - 2) * region_;
      // In place: ids[i] is read as the prefix before it becomes the n-gram.
      for (std::size_t i = 0; i < count; ++i)
        ids[i] = region[ids[i] * width_ + units[i + k - 1]];
      Count(ids, count, k, no);
    }
  }

  // sum over the distinct candidate n-grams of order k of
  // min(candidate count, largest reference count).
  int64_t Correct(int k, std::size_t n) const {
    if (single_ || static_cast<std::size_t>(k) > n) return correct_[k - 1];
    const uint32_t* candidate = candidate_[k - 1].data();
    const ReferenceCounts* reference = reference_[k - 1].data();
    int64_t correct = 0;
    if (k == 1) {
      for (std::size_t u = 1; u <= v_; ++u)
        correct += std::min(candidate[u], reference[u].reference_max);
      return correct;
    }
    const uint32_t* ids = ids_[k - 1].data();
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

  // Counts one reference's numbers of order k (0: absent, a sink whose
  // candidate count is 0).
  void Count(const uint32_t* ids, std::size_t count, int k, uint32_t no) {
    if (single_) {
      // One reference: each of its n-grams takes one of the candidate's
      // remaining occurrences, which sums min(candidate count, reference
      // count) without counting the reference.
      uint32_t* remaining = candidate_[k - 1].data();
      uint32_t matched = 0;
      for (std::size_t i = 0; i < count; ++i) {
        const uint32_t left = remaining[ids[i]];
        const uint32_t take = left != 0;
        remaining[ids[i]] = left - take;
        matched += take;
      }
      correct_[k - 1] = matched;
      return;
    }
    ReferenceCounts* counts = reference_[k - 1].data();
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
  // By order, by number: the candidate's counts (with one reference, what
  // it has left unmatched), the references' (several references only).
  std::array<std::vector<uint32_t>, kMaxOrder> candidate_;
  std::array<std::vector<ReferenceCounts>, kMaxOrder> reference_;
  std::array<int64_t, kMaxOrder> correct_{};  // one reference: the matches by order
  std::array<std::vector<uint32_t>, kMaxOrder> ids_;  // the candidate's numbers by position
  std::vector<uint32_t> reference_ids_;    // a reference's numbers, by position
  std::vector<uint32_t> reference_units_;  // its units: token ids + 1, 0 for absent
  uint32_t reference_no_ = 0;
};

}  // namespace llmeval::core::metrics

#include "core/cpp_only.hpp"
