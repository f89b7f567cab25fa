// Dense integer ids for tokens and n-grams.
//
// Every n-gram metric (BLEU, chrF, ROUGE-N) counts how often each n-gram occurs
// in a candidate and in its references. Hashing strings or tuples per n-gram is
// what makes the Python tools slow; here a token is interned once, and an
// n-gram of order k is interned as the pair (id of its first k-1 units, id of
// its last unit). Ids are exact (no hash is trusted for equality), dense, and
// index plain count arrays. Both tables are open-addressing and keep their
// capacity across Clear(), so a thread_local instance allocates only while it
// grows.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace llmeval::core::metrics {

inline uint64_t MixBits(uint64_t x) noexcept {
  // splitmix64 finaliser: cheap, and spreads packed pairs over all bits.
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

inline uint64_t HashBytes(std::string_view s) noexcept {
  // FNV-1a over 8-byte words where possible, then mixed.
  uint64_t h = 0xcbf29ce484222325ULL ^ s.size();
  std::size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    __builtin_memcpy(&w, s.data() + i, 8);
    h = (h ^ w) * 0x100000001b3ULL;
  }
  uint64_t tail = 0;
  for (std::size_t k = 0; i < s.size(); ++i, ++k)
    tail |= static_cast<uint64_t>(static_cast<unsigned char>(s[i])) << (8 * k);
  h = (h ^ tail) * 0x100000001b3ULL;
  return MixBits(h);
}

// Interns byte strings. The views must stay valid until Clear().
class TokenIds {
 public:
  uint32_t Intern(std::string_view token) {
    if ((tokens_.size() + 1) * 2 > slots_.size()) Grow();
    const uint64_t h = HashBytes(token);
    std::size_t mask = slots_.size() - 1;
    for (std::size_t i = h & mask;; i = (i + 1) & mask) {
      const uint32_t slot = slots_[i];
      if (slot == kEmpty) {
        const auto id = static_cast<uint32_t>(tokens_.size());
        slots_[i] = id;
        tokens_.push_back(token);
        hashes_.push_back(h);
        return id;
      }
      if (hashes_[slot] == h && tokens_[slot] == token) return slot;
    }
  }

  // The id of a token already interned, or kNotFound.
  uint32_t Find(std::string_view token) const noexcept {
    if (tokens_.empty()) return kNotFound;
    const uint64_t h = HashBytes(token);
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = h & mask;; i = (i + 1) & mask) {
      const uint32_t slot = slots_[i];
      if (slot == kEmpty) return kNotFound;
      if (hashes_[slot] == h && tokens_[slot] == token) return slot;
    }
  }

  static constexpr uint32_t kNotFound = UINT32_MAX;

  std::size_t size() const noexcept { return tokens_.size(); }
  std::string_view token(uint32_t id) const noexcept { return tokens_[id]; }

  void Clear() noexcept {
    if (!tokens_.empty()) std::fill(slots_.begin(), slots_.end(), kEmpty);
    tokens_.clear();
    hashes_.clear();
  }

 private:
  static constexpr uint32_t kEmpty = UINT32_MAX;

  void Grow() {
    const std::size_t capacity = slots_.empty() ? 64 : slots_.size() * 2;
    slots_.assign(capacity, kEmpty);
    const std::size_t mask = capacity - 1;
    for (uint32_t id = 0; id < tokens_.size(); ++id) {
      std::size_t i = hashes_[id] & mask;
      while (slots_[i] != kEmpty) i = (i + 1) & mask;
      slots_[i] = id;
    }
  }

  std::vector<uint32_t> slots_;
  std::vector<std::string_view> tokens_;
  std::vector<uint64_t> hashes_;
};

// Interns n-grams as (prefix n-gram id, unit id) pairs. A unit is a token id
// or a code point; a unigram has prefix kNoPrefix.
class NGramIds {
 public:
  static constexpr uint32_t kNoPrefix = UINT32_MAX;

  uint32_t Extend(uint32_t prefix, uint32_t unit) {
    if ((keys_.size() + 1) * 2 > slots_.size()) Grow();
    const uint64_t key = (static_cast<uint64_t>(prefix) << 32) | unit;
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = MixBits(key) & mask;; i = (i + 1) & mask) {
      const uint32_t slot = slots_[i];
      if (slot == kEmpty) {
        const auto id = static_cast<uint32_t>(keys_.size());
        slots_[i] = id;
        keys_.push_back(key);
        return id;
      }
      if (keys_[slot] == key) return slot;
    }
  }

  // The id of an n-gram already interned, or kNotFound; a prefix of
  // kNotFound (an n-gram never seen) finds nothing.
  uint32_t Find(uint32_t prefix, uint32_t unit) const noexcept {
    if (keys_.empty()) return kNotFound;
    const uint64_t key = (static_cast<uint64_t>(prefix) << 32) | unit;
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = MixBits(key) & mask;; i = (i + 1) & mask) {
      const uint32_t slot = slots_[i];
      if (slot == kEmpty) return kNotFound;
      if (keys_[slot] == key) return slot;
    }
  }

  static constexpr uint32_t kNotFound = UINT32_MAX - 1;

  std::size_t size() const noexcept { return keys_.size(); }

  void Clear() noexcept {
    if (!keys_.empty()) std::fill(slots_.begin(), slots_.end(), kEmpty);
    keys_.clear();
  }

 private:
  static constexpr uint32_t kEmpty = UINT32_MAX;

  void Grow() {
    const std::size_t capacity = slots_.empty() ? 256 : slots_.size() * 2;
    slots_.assign(capacity, kEmpty);
    const std::size_t mask = capacity - 1;
    for (uint32_t id = 0; id < keys_.size(); ++id) {
      std::size_t i = MixBits(keys_[id]) & mask;
      while (slots_[i] != kEmpty) i = (i + 1) & mask;
      slots_[i] = id;
    }
  }

  std::vector<uint32_t> slots_;
  std::vector<uint64_t> keys_;
};

// Appends the ids of all n-grams of orders 1..max_order over `units`, grouped
// by order: ids_by_order[n-1] receives the n-grams of order n in text order.
template <typename Units>
void CollectNGrams(const Units& units, int max_order, NGramIds& index,
                   std::vector<std::vector<uint32_t>>& ids_by_order) {
  const std::size_t n = units.size();
  if (ids_by_order.size() < static_cast<std::size_t>(max_order)) ids_by_order.resize(max_order);
  // prev[i] holds the id of the n-gram of the previous order starting at i.
  std::vector<uint32_t>& first = ids_by_order[0];
  for (std::size_t i = 0; i < n; ++i)
    first.push_back(index.Extend(NGramIds::kNoPrefix, static_cast<uint32_t>(units[i])));
  for (int order = 2; order <= max_order; ++order) {
    if (n < static_cast<std::size_t>(order)) break;
    const std::vector<uint32_t>& prev = ids_by_order[order - 2];
    std::vector<uint32_t>& cur = ids_by_order[order - 1];
    const std::size_t prev_base = prev.size() - (n - order + 2);
    for (std::size_t i = 0; i + order <= n; ++i)
      cur.push_back(index.Extend(prev[prev_base + i], static_cast<uint32_t>(units[i + order - 1])));
  }
}

}  // namespace llmeval::core::metrics

#include "core/cpp_only.hpp"
