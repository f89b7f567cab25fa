// A fully specified pseudo-random generator, so that a seeded bootstrap gives
// the same numbers on every platform and compiler (the <random> engines are
// specified, but std::uniform_int_distribution's algorithm is not).
#pragma once

#include <cstdint>

namespace llmeval::core::stats {

// SplitMix64 (Steele, Lea and Flood 2014; Vigna's reference code), used to
// expand a 64-bit seed into xoshiro256**'s state.
class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t Next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

 private:
  std::uint64_t state_;
};

// xoshiro256** 1.0 (Blackman and Vigna 2018), seeded with four SplitMix64
// outputs of `seed`, as its authors recommend.
class Xoshiro256StarStar {
 public:
  explicit Xoshiro256StarStar(std::uint64_t seed) {
    SplitMix64 expand(seed);
    for (std::uint64_t& word : s_) word = expand.Next();
  }

  std::uint64_t Next() {
    const std::uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

  // A uniform integer in [0, range), range > 0, by Lemire's multiply-shift
  // with rejection ("Fast random integer generation in an interval", 2019):
  // the high 64 bits of Next() * range, redrawn while the low 64 bits fall
  // below 2^64 mod range. Unbiased; one draw almost always.
  std::uint64_t Below(std::uint64_t range) {
    std::uint64_t high;
    std::uint64_t low = MultiplyWide(Next(), range, &high);
    if (low < range) {
      const std::uint64_t threshold = (0 - range) % range;  // 2^64 mod range
      while (low < threshold) low = MultiplyWide(Next(), range, &high);
    }
    return high;
  }

 private:
  static std::uint64_t Rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  // The 128-bit product x * y as (high, low), in portable 32-bit halves.
  static std::uint64_t MultiplyWide(std::uint64_t x, std::uint64_t y, std::uint64_t* high) {
    const std::uint64_t x_lo = x & 0xffffffffULL, x_hi = x >> 32;
    const std::uint64_t y_lo = y & 0xffffffffULL, y_hi = y >> 32;
    const std::uint64_t lo_lo = x_lo * y_lo;
    const std::uint64_t hi_lo = x_hi * y_lo;
    const std::uint64_t lo_hi = x_lo * y_hi;
    const std::uint64_t hi_hi = x_hi * y_hi;
    const std::uint64_t cross = (lo_lo >> 32) + (hi_lo & 0xffffffffULL) + lo_hi;
    *high = hi_hi + (hi_lo >> 32) + (cross >> 32);
    return (cross << 32) | (lo_lo & 0xffffffffULL);
  }

  std::uint64_t s_[4];
};

}  // namespace llmeval::core::stats

#include "core/cpp_only.hpp"
