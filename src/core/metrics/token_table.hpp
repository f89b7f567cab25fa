// Interning short tokens into dense ids for one call of a metric.
//
// Profiling the workload showed TokenIds::Intern (byte hashing and a memcmp
// call per probe) as the largest cost of rougeL and rouge2, and a large one of
// BLEU. Tokens are short, so here a token of up to 16 bytes is hashed and
// compared as two masked 64-bit words, and only longer ones fall back to
// their bytes. The caller guarantees kTokenPad readable bytes from the start
// of every token it hands over (its text buffer is padded), so the words are
// loaded without a bounds check.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/metrics/ngram_index.hpp"

namespace llmeval::core::metrics {

inline constexpr std::size_t kTokenPad = 16;

class TokenTable {
 public:
  static constexpr uint32_t kNotFound = UINT32_MAX;

  uint32_t Intern(const char* p, std::size_t len) {
    if ((entries_.size() + 1) * 2 > slots_.size()) Grow();
    const Key key = MakeKey(p, len);
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = key.hash >> shift_;; i = (i + 1) & mask) {
      const uint32_t slot = slots_[i];
      if (slot == kEmpty) {
        const auto id = static_cast<uint32_t>(entries_.size());
        // Field by field into the new element: push_back of a braced Entry
        // built it on the stack and copied it with 16-byte loads of 8-byte
        // stores, a failed store forwarding per new token (7% of BLEU).
        entries_.emplace_back();  // first, in case it throws
        Entry& e = entries_.back();
        e.lo = key.lo;
        e.hi = key.hi;
        e.hash = key.hash;
        e.p = p;
        e.len = len;
        slots_[i] = id;
        return id;
      }
      if (Matches(entries_[slot], key, p, len)) return slot;
    }
  }

  // The id of a token already interned, or kNotFound.
  uint32_t Find(const char* p, std::size_t len) const noexcept {
    if (entries_.empty()) return kNotFound;
    const Key key = MakeKey(p, len);
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = key.hash >> shift_;; i = (i + 1) & mask) {
      const uint32_t slot = slots_[i];
      if (slot == kEmpty) return kNotFound;
      if (Matches(entries_[slot], key, p, len)) return slot;
    }
  }

  std::size_t size() const noexcept { return entries_.size(); }

  void Clear() noexcept {
    if (!entries_.empty()) std::fill(slots_.begin(), slots_.end(), kEmpty);
    entries_.clear();
  }

 private:
  static constexpr uint32_t kEmpty = UINT32_MAX;

  struct Entry {
    uint64_t lo, hi;  // the first 16 bytes, zero-masked past the end
    uint64_t hash;
    const char* p;
    std::size_t len;
  };

  struct Key {
    uint64_t lo, hi, hash;
  };

  static Key MakeKey(const char* p, std::size_t len) noexcept {
    const uint64_t lo = LoadMasked(p, std::min<std::size_t>(len, 8));
    const uint64_t hi = len > 8 ? LoadMasked(p + 8, std::min<std::size_t>(len - 8, 8)) : 0;
    // One multiply, whose high bits pick the slot (Fibonacci hashing): the
    // probe waits on this hash, so its latency matters more than its quality.
    const uint64_t hash = len <= 16
                              ? (lo ^ (hi * 0x9E3779B97F4A7C15ULL) ^ len) * 0xBF58476D1CE4E5B9ULL
                              : HashBytes({p, len});
    return {lo, hi, hash};
  }

  static bool Matches(const Entry& e, const Key& key, const char* p, std::size_t len) noexcept {
    return e.lo == key.lo && e.hi == key.hi && e.len == len &&
           (len <= 16 || std::memcmp(e.p, p, len) == 0);
  }

  // The first n (<= 8) bytes at p as a word, the rest masked to zero.
  static uint64_t LoadMasked(const char* p, std::size_t n) noexcept {
    uint64_t w;
    std::memcpy(&w, p, 8);
    if (n >= 8) return w;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return n == 0 ? 0 : w & ~(~uint64_t{0} >> (8 * n));
#else
    return w & ((uint64_t{1} << (8 * n)) - 1);
#endif
  }

  void Grow() {
    const std::size_t capacity = slots_.empty() ? 128 : slots_.size() * 2;
    slots_.assign(capacity, kEmpty);
    shift_ = 64 - __builtin_ctzll(capacity);
    const std::size_t mask = capacity - 1;
    for (uint32_t id = 0; id < entries_.size(); ++id) {
      std::size_t i = entries_[id].hash >> shift_;
      while (slots_[i] != kEmpty) i = (i + 1) & mask;
      slots_[i] = id;
    }
  }

  std::vector<uint32_t> slots_;
  std::vector<Entry> entries_;
  int shift_ = 64;  // 64 - log2(slots_.size())
};

}  // namespace llmeval::core::metrics

#include "core/cpp_only.hpp"
