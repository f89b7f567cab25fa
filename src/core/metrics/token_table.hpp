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
    return InternKey(MakeKey(p, len), p, len);
  }

  // Intern for a caller that already holds the token's first 16 bytes as
  // two words, zero-masked past its end (ROUGE lowercases them in
  // registers); p is still needed (and kept) for a token longer than 16.
  uint32_t InternWords(uint64_t lo, uint64_t hi, const char* p, std::size_t len) {
    return InternKey({lo, hi, len <= 16 ? ShortHash(lo, hi, len) : HashBytes({p, len})}, p, len);
  }

  // The id of a token already interned, or kNotFound.
  uint32_t Find(const char* p, std::size_t len) const noexcept {
    if (count_ == 0) return kNotFound;
    const Key key = MakeKey(p, len);
    for (std::size_t i = key.hash >> shift_;; i = (i + 1) & mask_) {
      const Slot& slot = slots_[i];
      if (slot.id == kEmpty) return kNotFound;
      if (Matches(slot, i, key, p, len)) return slot.id;
    }
  }

  std::size_t size() const noexcept { return count_; }

  // Empties the slots in use (one store per token) rather than all of them.
  void Clear() noexcept {
    for (uint32_t k = 0; k < count_; ++k) slots_[ids_[k]].id = kEmpty;
    count_ = 0;
  }

 private:
  static constexpr uint32_t kEmpty = UINT32_MAX;

  // The key lives in the slot, so a probe reads one 24-byte slot instead of
  // an index and then an entry elsewhere.
  struct Slot {
    uint64_t lo = 0, hi = 0;  // the first 16 bytes, zero-masked past the end
    uint32_t id = kEmpty;
    uint32_t len = 0;  // texts are far below 4 GiB (Postgres caps a value at 1 GB)
  };

  struct Key {
    uint64_t lo, hi, hash;
  };

  static uint64_t ShortHash(uint64_t lo, uint64_t hi, std::size_t len) noexcept {
    // One multiply, whose high bits pick the slot (Fibonacci hashing): the
    // probe waits on this hash, so its latency matters more than its quality.
    return (lo ^ (hi * 0x9E3779B97F4A7C15ULL) ^ len) * 0xBF58476D1CE4E5B9ULL;
  }

  static Key MakeKey(const char* p, std::size_t len) noexcept {
    const uint64_t lo = LoadMasked(p, std::min<std::size_t>(len, 8));
    const uint64_t hi = len > 8 ? LoadMasked(p + 8, std::min<std::size_t>(len - 8, 8)) : 0;
    return {lo, hi, len <= 16 ? ShortHash(lo, hi, len) : HashBytes({p, len})};
  }

  uint32_t InternKey(const Key& key, const char* p, std::size_t len) {
    if ((count_ + 1) * 2 > mask_ + 1) Grow();
    for (std::size_t i = key.hash >> shift_;; i = (i + 1) & mask_) {
      Slot& slot = slots_[i];
      if (slot.id == kEmpty) {
        if (len > 16) {
          if (long_.size() < slots_.size()) long_.resize(slots_.size());  // may throw
          long_[i] = p;
        }
        const uint32_t id = count_++;
        ids_[id] = static_cast<uint32_t>(i);
        slot.lo = key.lo;
        slot.hi = key.hi;
        slot.len = static_cast<uint32_t>(len);
        slot.id = id;
        return id;
      }
      if (Matches(slot, i, key, p, len)) return slot.id;
    }
  }

  bool Matches(const Slot& slot, std::size_t i, const Key& key, const char* p,
               std::size_t len) const noexcept {
    return slot.lo == key.lo && slot.hi == key.hi && slot.len == len &&
           (len <= 16 || std::memcmp(long_[i], p, len) == 0);
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
    // Everything that can throw first, so a failure leaves the table as it was.
    std::vector<Slot> old(capacity);
    std::vector<const char*> old_long(long_.empty() ? 0 : capacity);
    ids_.resize(capacity / 2);  // Intern grows before the table is half full
    old.swap(slots_);
    old_long.swap(long_);
    shift_ = 64 - __builtin_ctzll(capacity);
    mask_ = capacity - 1;
    for (uint32_t k = 0; k < count_; ++k) {
      uint32_t& s = ids_[k];
      const Slot& from = old[s];
      const std::size_t len = from.len;
      const uint64_t hash = len <= 16 ? ShortHash(from.lo, from.hi, len)
                                      : HashBytes({old_long[s], len});
      std::size_t i = hash >> shift_;
      while (slots_[i].id != kEmpty) i = (i + 1) & mask_;
      slots_[i] = from;
      if (len > 16) long_[i] = old_long[s];
      s = static_cast<uint32_t>(i);
    }
  }

  std::vector<Slot> slots_;
  std::vector<const char*> long_;  // by slot: where a token longer than 16 bytes is
  std::vector<uint32_t> ids_;      // by id: its slot (count_ of them in use)
  uint32_t count_ = 0;
  std::size_t mask_ = 0;           // slots_.size() - 1
  int shift_ = 64;                 // 64 - log2(slots_.size())
};

}  // namespace llmeval::core::metrics

#include "core/cpp_only.hpp"
