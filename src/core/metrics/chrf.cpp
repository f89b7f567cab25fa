#include "core/metrics/chrf.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <string>

#include "core/error.hpp"
#include "core/metrics/ngram_index.hpp"
#include "core/metrics/options_json.hpp"
#include "core/text/utf8.hpp"

namespace llmeval::core::metrics {

namespace {

// How the counting works.
//
// chrF needs, for every order n, the totals of n-grams on each side (simply
// length - n + 1) and the clipped match count sum_g min(count_hyp(g),
// count_ref(g)). sacrebleu builds a Counter of substrings per order. Here an
// n-gram is identified exactly by the pair (id of its (n-1)-gram prefix, its
// last unit), with ids assigned per order, so counts live in plain arrays.
// Units are code points for character n-grams and token ids for word n-grams.
//
// One side ("S", the shorter) is interned and counted; the other ("L") is
// only looked up, each occurrence consuming one remaining S count of its
// n-gram, which sums min(count_S, count_L) without counting L. Units are
// numbers from 1: S's distinct characters are 1..A (ASCII ones first in code
// order, then the others in order of appearance) and an L character absent
// from S is 0; words are their token ids + 1.
// N-gram ids also start at 1 and 0 means "absent from S", which nothing ever
// interns, so an absent L n-gram stays absent at every higher order with no
// test. Once no L n-gram occurs in S, the remaining orders match nothing.
//
// The pair -> id map is a direct table of (largest id of order n-1 + 1) x
// (number of units + 1) entries when that is small (a usual sentence:
// ~130 x 60), which keeps the loops branch-free; otherwise an open-addressing
// hash table. With a small S, a new n-gram's id is 1 + the position of its
// first occurrence (no counter needed) and the entries set are cleared after
// the order; with a large S, ids are dense (so a long text with few distinct
// n-grams keeps a small table) and the table region is cleared at once.
//
// Memory matters as much as time for long texts (fresh pages are expensive),
// so units are decoded straight into their renumbered form, buffers are not
// zero-filled before being written, and a pair needs 12 bytes per character
// of S and 8 per character of L, plus the table (two 10 MB texts: ~200 MB).

constexpr uint32_t kNotFound = 0xFFFFFFFFu;

// The largest direct table, in entries (4 MiB); beyond it the hash table.
constexpr uint64_t kDirectTableMaxEntries = uint64_t{1} << 20;

// Buffers larger than this (in bytes) are freed after a call: a Postgres
// backend keeps its thread_local workspace for life.
constexpr std::size_t kKeepBytes = std::size_t{4} << 20;

inline uint64_t PackKey(uint32_t prefix, uint32_t unit) noexcept {
  return (static_cast<uint64_t>(prefix) << 32) | unit;
}

// An array of uint32_t that is not zero-filled when it grows (std::vector's
// resize would write every element, touching each page twice).
class UnitBuffer {
 public:
  // Room for n elements; the contents are unspecified.
  uint32_t* Reserve(std::size_t n) {
    if (n > capacity_) {
      data_.reset(new uint32_t[n]);
      capacity_ = n;
    }
    return data_.get();
  }
  uint32_t* data() const noexcept { return data_.get(); }
  void ReleaseIfLarge() {
    if (capacity_ * sizeof(uint32_t) > kKeepBytes) {
      data_.reset();
      capacity_ = 0;
    }
  }

 private:
  std::unique_ptr<uint32_t[]> data_;
  std::size_t capacity_ = 0;
};

// uint64 key -> dense id (0, 1, 2, ...), emptied in O(1) by bumping an epoch
// so that a thread_local table is reused across rows without clearing it.
class KeyTable {
 public:
  void Reset(std::size_t expected) {
    // Size for the expected keys up to a point; beyond it grow on demand, so a
    // huge text with few distinct n-grams does not allocate per position.
    std::size_t capacity = kMinCapacity;
    const std::size_t want = std::min(expected, kInitialMaxKeys) * 2;
    while (capacity < want) capacity <<= 1;
    SetCapacity(capacity);
    size_ = 0;
  }

  uint32_t Intern(uint64_t key, bool& inserted) {
    if ((size_ + 1) * 2 > capacity_) Grow();
    for (std::size_t i = Index(key);; i = (i + 1) & mask_) {
      Slot& slot = slots_[i];
      if (slot.epoch != epoch_) {
        slot = Slot{key, size_, epoch_};
        inserted = true;
        return size_++;
      }
      if (slot.key == key) {
        inserted = false;
        return slot.id;
      }
    }
  }

  uint32_t size() const noexcept { return size_; }

  uint32_t Find(uint64_t key) const noexcept {
    for (std::size_t i = Index(key);; i = (i + 1) & mask_) {
      const Slot& slot = slots_[i];
      if (slot.epoch != epoch_) return kNotFound;
      if (slot.key == key) return slot.id;
    }
  }

  // Gives memory back after a very large input (a Postgres backend keeps its
  // thread_local workspace for its whole life).
  void ReleaseIfLarge() {
    if (slots_.size() > kKeepSlots) {
      std::vector<Slot>().swap(slots_);
      capacity_ = 0;
    }
  }

 private:
  struct Slot {
    uint64_t key;
    uint32_t id;
    uint32_t epoch;  // a slot is occupied only if it carries the current epoch
  };

  static constexpr std::size_t kMinCapacity = 64;
  static constexpr std::size_t kInitialMaxKeys = std::size_t{1} << 16;
  static constexpr std::size_t kKeepSlots = std::size_t{1} << 18;

  std::size_t Index(uint64_t key) const noexcept {
    // Fibonacci hashing on the top bits; folding the prefix into the low half
    // first makes those bits depend on both halves of the key.
    return static_cast<std::size_t>(((key ^ (key >> 32)) * 0x9E3779B97F4A7C15ULL) >> shift_);
  }

  void SetCapacity(std::size_t capacity) {
    // Only the first `capacity` slots are used, so a small row after a large
    // one still hashes into a small, cache-resident region.
    if (slots_.size() < capacity) slots_.resize(capacity);
    if (++epoch_ == 0) {  // wrapped: forget every old epoch for real
      for (Slot& slot : slots_) slot.epoch = 0;
      epoch_ = 1;
    }
    capacity_ = capacity;
    mask_ = capacity - 1;
    int bits = 0;
    while ((std::size_t{1} << bits) < capacity) ++bits;
    shift_ = 64 - bits;
  }

  void Grow() {
    std::vector<Slot> live;
    live.reserve(size_);
    for (std::size_t i = 0; i < capacity_; ++i)
      if (slots_[i].epoch == epoch_) live.push_back(slots_[i]);
    SetCapacity(capacity_ * 2);
    for (const Slot& old : live) {
      std::size_t i = Index(old.key);
      while (slots_[i].epoch == epoch_) i = (i + 1) & mask_;
      slots_[i] = Slot{old.key, old.id, epoch_};
    }
  }

  std::vector<Slot> slots_;
  std::size_t capacity_ = 0;
  std::size_t mask_ = 0;
  int shift_ = 64;
  uint32_t epoch_ = 0;
  uint32_t size_ = 0;
};

struct ChrfWorkspace {
  TokenIds tokens;                      // word n-grams: token strings -> ids
  std::vector<std::string_view> split;  // str.split() output of one text
  UnitBuffer hyp_words;                 // token id + 1 per hypothesis word
  UnitBuffer ref_words;
  std::size_t hyp_word_count = 0;
  std::size_t ref_word_count = 0;
  // CountMatches state
  uint32_t small_units[128] = {};  // unit number of an ASCII character of S, 0 if none
  KeyTable unit_table;             // other code points of S -> index into big_units
  std::vector<uint32_t> big_units;
  UnitBuffer su, lu;             // S's and L's units (renumbered characters)
  UnitBuffer s_ids;              // per S position: id of its n-gram at the current order
  UnitBuffer l_ids;              // per L position: the same, or 0
  UnitBuffer remaining;          // per id: S occurrences not yet matched
  UnitBuffer touched;            // direct table entries set at the current order
  std::vector<uint32_t> direct;  // direct pair table, all zero between orders
  KeyTable table;
  std::vector<int64_t> matches;  // per order, for the current reference
  std::vector<int64_t> current;  // statistics against the current reference
  std::vector<int64_t> best;     // statistics against the best reference so far
};

// thread_local in a shared library costs a __tls_get_addr call per access,
// so it is fetched once per segment and passed down.
ChrfWorkspace& Workspace() {
  thread_local ChrfWorkspace workspace;
  return workspace;
}

void ReleaseLargeBuffers(ChrfWorkspace& ws) {
  for (UnitBuffer* b : {&ws.hyp_words, &ws.ref_words, &ws.su, &ws.lu, &ws.s_ids, &ws.l_ids,
                        &ws.remaining, &ws.touched})
    b->ReleaseIfLarge();
  if (ws.split.capacity() * sizeof(std::string_view) > kKeepBytes)
    std::vector<std::string_view>().swap(ws.split);
  if (ws.big_units.capacity() * sizeof(uint32_t) > kKeepBytes)
    std::vector<uint32_t>().swap(ws.big_units);
  if (ws.direct.capacity() * sizeof(uint32_t) > kKeepBytes) std::vector<uint32_t>().swap(ws.direct);
  if (ws.tokens.size() > (std::size_t{1} << 16)) ws.tokens = TokenIds();
  ws.unit_table.ReleaseIfLarge();
  ws.table.ReleaseIfLarge();
}

// 1 for an ASCII character that is not Python whitespace
// (text::IsAsciiPythonSpace: 0x09-0x0D and 0x1C-0x20), 0 for one that is.
constexpr std::array<uint8_t, 128> kAsciiNotSpace = [] {
  std::array<uint8_t, 128> kept{};
  for (int b = 0; b < 128; ++b)
    kept[b] = ((b >= 0x09 && b <= 0x0D) || (b >= 0x1C && b <= 0x20)) ? 0 : 1;
  return kept;
}();

// Every ASCII character kept (remove_whitespace=false).
constexpr std::array<uint8_t, 128> kAsciiAll = [] {
  std::array<uint8_t, 128> kept{};
  for (int b = 0; b < 128; ++b) kept[b] = 1;
  return kept;
}();

// Decodes `text` into out[], each code point replaced by map(code point),
// without its Python whitespace when remove_whitespace (sacrebleu's
// extract_all_char_ngrams with whitespace=False starts with
// "".join(line.split()); with whitespace=True it takes the line as is).
// Returns the number of code points written; out needs room for text.size().
template <bool kRemoveWhitespace, typename AsciiMap, typename OtherMap>
std::size_t DecodeUnits(std::string_view text, uint32_t* out, AsciiMap ascii, OtherMap other) {
  constexpr const std::array<uint8_t, 128>& kAsciiKept =
      kRemoveWhitespace ? kAsciiNotSpace : kAsciiAll;
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t k = 0;
  for (std::size_t pos = 0; pos < n;) {
    // Eight ASCII bytes at a time: each is written, and kept (the output
    // advances) unless it is whitespace.
    if (pos + 8 <= n) {
      uint64_t word;
      std::memcpy(&word, p + pos, 8);
      if ((word & 0x8080808080808080ULL) == 0) {
        for (int b = 0; b < 8; ++b) {
          const unsigned char c = p[pos + b];
          out[k] = ascii(c);
          k += kAsciiKept[c];
        }
        pos += 8;
        continue;
      }
    }
    const unsigned char c = p[pos];
    if (c < 0x80) {
      out[k] = ascii(c);
      k += kAsciiKept[c];
      ++pos;
    } else {
      const char32_t cp = text::DecodeUtf8(text, pos);
      if (!kRemoveWhitespace || !text::IsPythonSpace(cp)) out[k++] = other(static_cast<uint32_t>(cp));
    }
  }
  return k;
}

// kAsciiNotSpace or kAsciiAll as two 64-bit sets (codes 0-63, 64-127).
template <bool kRemoveWhitespace>
constexpr uint64_t KeptMask(int half) {
  uint64_t mask = 0;
  for (int b = 0; b < 64; ++b)
    if ((kRemoveWhitespace ? kAsciiNotSpace : kAsciiAll)[64 * half + b]) mask |= uint64_t{1} << b;
  return mask;
}

// Decodes S's and L's characters into ws.su and ws.lu, numbering S's
// distinct characters 1..A, ASCII ones first in code order and then the others
// in order of appearance (L's others become 0).
// Returns A; sets the code point counts.
template <bool kRemoveWhitespace>
uint32_t RenumberChars(std::string_view s_text, std::string_view l_text, ChrfWorkspace& ws,
                       std::size_t& sn, std::size_t& ln) {
  uint32_t* small = ws.small_units;
  // S's kept ASCII characters are numbered 1..a in code order before decoding,
  // from a table of the bytes present, so that decoding S, like L, only looks
  // numbers up (numbering in order of appearance tested each character for
  // being new, a branch no predictor can guess). Whitespace gets 0 when
  // removed: it is written but never kept.
  uint8_t present[256] = {};
  const auto* bytes = reinterpret_cast<const unsigned char*>(s_text.data());
  for (std::size_t i = 0; i < s_text.size(); ++i) present[bytes[i]] = 1;
  uint32_t next = 0;
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  // The kept ASCII characters present as a 128-bit set (eight 0/1 bytes
  // gathered into 8 bits by one multiply), then numbered in code order by
  // walking its bits: a loop over all 128 codes was 4% of chrF.
  std::memset(small, 0, 128 * sizeof(uint32_t));
  for (int half = 0; half < 2; ++half) {
    uint64_t used = 0;
    for (int w = 0; w < 8; ++w) {
      uint64_t flags;
      std::memcpy(&flags, present + 64 * half + 8 * w, 8);
      used |= ((flags * 0x0102040810204080ULL) >> 56) << (8 * w);
    }
    used &= KeptMask<kRemoveWhitespace>(half);
    for (; used != 0; used &= used - 1) small[64 * half + __builtin_ctzll(used)] = ++next;
  }
#else
  constexpr const std::array<uint8_t, 128>& kAsciiKept =
      kRemoveWhitespace ? kAsciiNotSpace : kAsciiAll;
  for (int c = 0; c < 128; ++c) {
    const uint32_t used = present[c] & kAsciiKept[c];
    next += used;
    small[c] = used != 0 ? next : 0;
  }
#endif
  ws.big_units.clear();
  ws.unit_table.Reset(std::min<std::size_t>(s_text.size(), 1024));
  sn = DecodeUnits<kRemoveWhitespace>(
      s_text, ws.su.Reserve(s_text.size()), [small](unsigned char c) { return small[c]; },
      [&](uint32_t cp) {
        bool inserted;
        const uint32_t k = ws.unit_table.Intern(cp, inserted);
        if (inserted) ws.big_units.push_back(++next);
        return ws.big_units[k];
      });
  ln = DecodeUnits<kRemoveWhitespace>(
      l_text, ws.lu.Reserve(l_text.size()), [small](unsigned char c) { return small[c]; },
      [&ws](uint32_t cp) {
        const uint32_t k = ws.unit_table.Find(cp);
        return k == kNotFound ? 0 : ws.big_units[k];
      });
  return next;
}

// string.punctuation, which sacrebleu's CHRF._PUNCTS holds.
inline bool IsAsciiPunct(char c) noexcept {
  return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') ||
         (c >= '{' && c <= '~');
}

// sacrebleu's CHRF._remove_punctuation: str.split(), then a word of more than
// one character loses a trailing punctuation character, or else a leading
// one, as a separate token (only one of the two: "(hi)" gives "(hi" and ")").
// Bytes suffice: an ASCII byte is always a whole character in UTF-8, and a
// one-character word of several bytes has no ASCII first or last byte, so it
// is kept whole as len(w) == 1 requires. The tokens are interned; out[]
// receives id + 1 per token (units start at 1). Returns the token count.
std::size_t WordUnits(std::string_view sent, ChrfWorkspace& ws, UnitBuffer& buffer) {
  std::vector<std::string_view>& split = ws.split;
  split.clear();
  text::SplitPythonWhitespace(sent, split);
  uint32_t* out = buffer.Reserve(2 * split.size());
  std::size_t k = 0;
  auto add = [&](std::string_view token) { out[k++] = ws.tokens.Intern(token) + 1; };
  for (std::string_view w : split) {
    if (w.size() == 1) {
      add(w);
    } else if (IsAsciiPunct(w.back())) {
      add(w.substr(0, w.size() - 1));
      add(w.substr(w.size() - 1));
    } else if (IsAsciiPunct(w.front())) {
      add(w.substr(0, 1));
      add(w.substr(1));
    } else {
      add(w);
    }
  }
  return k;
}

// Order 1 and the hash path: L's n-grams consume S's remaining counts.
// lookup(prefix id, unit) gives an n-gram's id or 0. Returns the matches;
// `alive` tells whether any L n-gram occurs in S (if none does, no longer
// one can).
template <typename Lookup>
int64_t ConsumeL(const uint32_t* l_prefix, uint32_t* l_out, const uint32_t* l_last,
                 std::size_t l_count, uint32_t* remaining, bool& alive, Lookup lookup) {
  int64_t match = 0;
  for (std::size_t j = 0; j < l_count; ++j) {
    const uint32_t id = lookup(l_prefix[j], l_last[j]);
    l_out[j] = id;
    const uint32_t r = remaining[id];
    const uint32_t take = static_cast<uint32_t>(r != 0);
    remaining[id] = r - take;
    match += take;
  }
  // An L n-gram that occurs in S takes one of its S counts at least once, so
  // "some L n-gram occurs in S" is "something matched".
  alive = match != 0;
  return match;
}

// The n-grams of one order, for both sides: S's prefix ids and last units,
// where to write S's n-gram ids, and the same for L.
struct OrderSides {
  const uint32_t* s_prefix;
  const uint32_t* s_last;
  uint32_t* s_out;
  std::size_t s_count;
  const uint32_t* l_prefix;
  const uint32_t* l_last;
  uint32_t* l_out;
  std::size_t l_count;
};

// L's side of one order through the direct table. 32 bits suffice for the
// match count (a text has fewer than 2^32 code points) and keep the loop short.
int64_t DirectConsumeL(const OrderSides& o, const uint32_t* direct, uint32_t width,
                       uint32_t* remaining, bool& alive) {
  uint32_t match = 0;
  for (std::size_t j = 0; j < o.l_count; ++j) {
    const uint32_t id = direct[o.l_prefix[j] * width + o.l_last[j]];
    o.l_out[j] = id;
    const uint32_t r = remaining[id];
    const uint32_t take = static_cast<uint32_t>(r != 0);
    remaining[id] = r - take;
    match += take;
  }
  alive = match != 0;  // as in ConsumeL
  return match;
}

// One order through the direct table with position ids: a new n-gram's id is
// 1 + the position of its first occurrence, so the S loop needs no counter
// and the next order's ids are below s_count + 1. Entries set are recorded in
// `touched` and cleared afterwards.
int64_t DirectOrderByPosition(const OrderSides& o, uint32_t width, ChrfWorkspace& ws, bool& alive) {
  uint32_t* direct = ws.direct.data();
  uint32_t* touched = ws.touched.Reserve(o.s_count);
  uint32_t* remaining = ws.remaining.data();
  // Every id this order can create starts at count 0; remaining[0] stays 0.
  std::memset(remaining + 1, 0, o.s_count * sizeof(uint32_t));
  for (std::size_t i = 0; i < o.s_count; ++i) {
    const uint32_t index = o.s_prefix[i] * width + o.s_last[i];
    const uint32_t v = direct[index];
    // a conditional move, not a branch: whether an n-gram is new is unpredictable
    const uint32_t id = v != 0 ? v : static_cast<uint32_t>(i + 1);
    direct[index] = id;
    touched[i] = index;
    ++remaining[id];
    o.s_out[i] = id;
  }
  const int64_t match = DirectConsumeL(o, direct, width, remaining, alive);
  for (std::size_t i = 0; i < o.s_count; ++i) direct[touched[i]] = 0;
  return match;
}

// One order through the direct table with dense ids (1, 2, ... in order of
// appearance). The table region, `entries` long, is cleared afterwards.
// Sets `ids` to the number of ids.
int64_t DirectOrderDense(const OrderSides& o, uint32_t width, std::size_t entries,
                         ChrfWorkspace& ws, uint32_t& ids, bool& alive) {
  uint32_t* direct = ws.direct.data();
  uint32_t* remaining = ws.remaining.data();
  uint32_t next = 0;
  for (std::size_t i = 0; i < o.s_count; ++i) {
    const uint32_t index = o.s_prefix[i] * width + o.s_last[i];
    const uint32_t v = direct[index];
    const uint32_t fresh = static_cast<uint32_t>(v == 0);
    next += fresh;
    const uint32_t id = fresh ? next : v;
    direct[index] = id;
    remaining[id] = fresh ? 1 : remaining[id] + 1;
    o.s_out[i] = id;
  }
  ids = next;
  const int64_t match = DirectConsumeL(o, direct, width, remaining, alive);
  std::memset(direct, 0, entries * sizeof(uint32_t));
  return match;
}

// One order through the hash table (dense ids). Sets `ids`.
int64_t HashOrder(const OrderSides& o, ChrfWorkspace& ws, uint32_t& ids, bool& alive) {
  KeyTable& table = ws.table;
  uint32_t* remaining = ws.remaining.data();
  table.Reset(o.s_count);
  for (std::size_t i = 0; i < o.s_count; ++i) {
    bool inserted;
    const uint32_t id = table.Intern(PackKey(o.s_prefix[i], o.s_last[i]), inserted) + 1;
    remaining[id] = (inserted ? 0 : remaining[id]) + 1;
    o.s_out[i] = id;
  }
  ids = table.size();
  // Keys with a 0 prefix or unit were never interned, so they are not found.
  return ConsumeL(o.l_prefix, o.l_out, o.l_last, o.l_count, remaining, alive,
                  [&table](uint32_t p, uint32_t u) {
                    const uint32_t k = table.Find(PackKey(p, u));
                    return k == kNotFound ? 0 : k + 1;
                  });
}

// Clipped match counts of orders 1..max_order between S's units su[0..sn)
// and L's units lu[0..ln) (numbered 1..alphabet, L's 0 when absent from S),
// written to matches[0..max_order). See the comment at the top.
void CountMatches(const uint32_t* su, std::size_t sn, const uint32_t* lu, std::size_t ln,
                  uint32_t alphabet, int max_order, ChrfWorkspace& ws, int64_t* matches) {
  std::fill(matches, matches + max_order, 0);
  if (sn == 0 || ln == 0) return;
  // Ids are at most max(sn, alphabet): units are at most `alphabet` (word
  // units count every token of both sides), n-grams ids at most sn.
  uint32_t* remaining = ws.remaining.Reserve(std::max<std::size_t>(sn, alphabet) + 1);

  // Order 1: the units are the ids.
  std::memset(remaining, 0, (std::size_t{alphabet} + 1) * sizeof(uint32_t));
  for (std::size_t i = 0; i < sn; ++i) ++remaining[su[i]];
  bool alive;
  uint32_t* l_ids = ws.l_ids.Reserve(ln);
  matches[0] =
      ConsumeL(lu, l_ids, lu, ln, remaining, alive, [](uint32_t, uint32_t unit) { return unit; });
  if (!alive || max_order < 2 || sn < 2) return;

  uint32_t* s_ids = ws.s_ids.Reserve(sn);
  const uint32_t width = alphabet + 1;
  uint32_t count = alphabet;  // the previous order's ids are in 1..count
  for (int order = 2; order <= max_order; ++order) {
    const auto n = static_cast<std::size_t>(order);
    if (sn < n) break;  // then ln < n too: no n-grams of this order or above
    // Order 2 extends the units themselves; later orders extend the ids in place.
    const OrderSides o{order == 2 ? su : s_ids, su + n - 1, s_ids, sn - n + 1,
                       order == 2 ? lu : l_ids, lu + n - 1, l_ids, ln - n + 1};
    const uint64_t entries = (uint64_t{count} + 1) * width;
    if (entries <= kDirectTableMaxEntries) {
      if (ws.direct.size() < entries) ws.direct.resize(entries, 0);
      // Position ids keep the next order's table within bounds (ids <= s_count).
      if ((uint64_t{o.s_count} + 1) * width <= kDirectTableMaxEntries) {
        matches[order - 1] = DirectOrderByPosition(o, width, ws, alive);
        count = static_cast<uint32_t>(o.s_count);
      } else {
        matches[order - 1] = DirectOrderDense(o, width, entries, ws, count, alive);
      }
    } else {
      matches[order - 1] = HashOrder(o, ws, count, alive);
    }
    if (!alive) break;  // no L n-gram of this order occurs in S: none above will
  }
}

inline int64_t NGramTotal(std::size_t length, int order) noexcept {
  const auto n = static_cast<std::size_t>(order);
  return length >= n ? static_cast<int64_t>(length - n + 1) : 0;
}

// One order's triple. sacrebleu's _get_match_statistics reports the
// hypothesis count as 0 when the reference has no n-gram of that order
// ("don't count hits if no reference exists"), which matters for corpus sums.
inline void SetTriple(int64_t* triple, int64_t hyp_total, int64_t ref_total, int64_t match) {
  triple[0] = ref_total > 0 ? hyp_total : 0;
  triple[1] = ref_total;
  triple[2] = match;
}

// sacrebleu's CHRF._compute_f_score with eps_smoothing=True: the mean over
// all orders of each order's F-beta, an order without n-grams on a side
// counting its precision or recall as 1e-16 (chrF++.py, Moses and NLTK).
double EpsSmoothedFScore(const int64_t* values, int orders, int64_t factor) {
  constexpr double kEps = 1e-16;
  double score = 0.0;
  for (int i = 0; i < orders; ++i) {
    const int64_t n_hyp = values[3 * i];
    const int64_t n_ref = values[3 * i + 1];
    const auto n_match = static_cast<double>(values[3 * i + 2]);
    const double prec = n_hyp > 0 ? n_match / static_cast<double>(n_hyp) : kEps;
    const double rec = n_ref > 0 ? n_match / static_cast<double>(n_ref) : kEps;
    const double denom = static_cast<double>(factor) * prec + rec;
    score += denom > 0 ? static_cast<double>(1 + factor) * prec * rec / denom : kEps;
  }
  return 100 * score / orders;
}

// sacrebleu's CHRF._compute_f_score: with eps_smoothing=False (its default)
// the "effective order" average of sacreBLEU < 2.0, operation for operation
// so the doubles agree: Python's int / int true division rounds like the
// division of the two exactly converted doubles.
double FScore(const int64_t* values, int orders, int beta, bool eps_smoothing) {
  const int64_t factor = static_cast<int64_t>(beta) * beta;  // beta ** 2, an int
  if (eps_smoothing) return EpsSmoothedFScore(values, orders, factor);
  double avg_prec = 0.0;
  double avg_rec = 0.0;
  int effective_order = 0;
  for (int i = 0; i < orders; ++i) {
    const int64_t n_hyp = values[3 * i];
    const int64_t n_ref = values[3 * i + 1];
    const int64_t n_match = values[3 * i + 2];
    if (n_hyp > 0 && n_ref > 0) {
      avg_prec += static_cast<double>(n_match) / static_cast<double>(n_hyp);
      avg_rec += static_cast<double>(n_match) / static_cast<double>(n_ref);
      ++effective_order;
    }
  }
  if (effective_order == 0) {
    avg_prec = avg_rec = 0.0;
  } else {
    avg_prec /= effective_order;
    avg_rec /= effective_order;
  }
  if (avg_prec + avg_rec == 0.0) return 0.0;
  double score = static_cast<double>(1 + factor) * avg_prec * avg_rec;
  score /= (static_cast<double>(factor) * avg_prec) + avg_rec;
  return 100 * score;
}

}  // namespace

void ValidateChrfOptions(const ChrfOptions& options) {
  const std::string max = std::to_string(kChrfMaxOrder);
  if (options.char_order < 0 || options.char_order > kChrfMaxOrder)
    throw Error(ErrorKind::kInvalidParameterValue, "char_order must be between 0 and " + max);
  if (options.word_order < 0 || options.word_order > kChrfMaxOrder)
    throw Error(ErrorKind::kInvalidParameterValue, "word_order must be between 0 and " + max);
  if (options.char_order + options.word_order == 0)
    throw Error(ErrorKind::kInvalidParameterValue, "char_order and word_order cannot both be 0");
  if (options.beta < 0)
    throw Error(ErrorKind::kInvalidParameterValue, "beta must be greater than or equal to 0");
}

ChrfOptions ParseChrfOptionsJson(std::string_view json) {
  static const std::string kMetric = "chrF";
  ChrfOptions options;
  const nlohmann::json object = ParseOptionsObject(json, kMetric);
  for (const auto& [key, value] : object.items()) {
    if (key == "char_order") {
      options.char_order = IntOption(value, kMetric, key);
    } else if (key == "word_order") {
      options.word_order = IntOption(value, kMetric, key);
    } else if (key == "beta") {
      options.beta = IntOption(value, kMetric, key);
    } else if (key == "eps_smoothing") {
      options.eps_smoothing = BoolOption(value, kMetric, key);
    } else if (key == "remove_whitespace") {
      options.remove_whitespace = BoolOption(value, kMetric, key);
    } else {
      ThrowUnknownOption(kMetric, key,
                         "char_order, word_order, beta, eps_smoothing and remove_whitespace");
    }
  }
  ValidateChrfOptions(options);
  return options;
}

namespace {

// The statistics against the best reference, into ws.best; returns their
// chrF. The options are valid and references is not empty.
double BestStats(std::string_view candidate, const std::vector<std::string_view>& references,
                 const ChrfOptions& options, ChrfWorkspace& ws) {
  const int char_order = options.char_order;
  const int word_order = options.word_order;
  const int orders = char_order + word_order;

  if (word_order > 0) {
    ws.tokens.Clear();
    ws.hyp_word_count = WordUnits(candidate, ws, ws.hyp_words);
  }

  // Every reference counts, empty ones included (sacrebleu 2.6.0).
  double best_f = -1.0;
  ws.matches.resize(static_cast<std::size_t>(std::max(char_order, word_order)));
  int64_t* matches = ws.matches.data();
  std::vector<int64_t>& cur = ws.current;
  cur.assign(static_cast<std::size_t>(3 * orders), 0);
  for (std::string_view reference : references) {
    if (char_order > 0) {
      // The shorter text (in bytes) is S. The hypothesis is decoded again per
      // reference: cheaper than keeping its code points.
      const bool hyp_is_s = candidate.size() <= reference.size();
      std::size_t sn, ln;
      const std::string_view s_text = hyp_is_s ? candidate : reference;
      const std::string_view l_text = hyp_is_s ? reference : candidate;
      const uint32_t alphabet = options.remove_whitespace
                                    ? RenumberChars<true>(s_text, l_text, ws, sn, ln)
                                    : RenumberChars<false>(s_text, l_text, ws, sn, ln);
      CountMatches(ws.su.data(), sn, ws.lu.data(), ln, alphabet, char_order, ws, matches);
      const std::size_t hyp_len = hyp_is_s ? sn : ln;
      const std::size_t ref_len = hyp_is_s ? ln : sn;
      for (int n = 1; n <= char_order; ++n)
        SetTriple(&cur[3 * (n - 1)], NGramTotal(hyp_len, n), NGramTotal(ref_len, n),
                  matches[n - 1]);
    }
    if (word_order > 0) {
      ws.ref_word_count = WordUnits(reference, ws, ws.ref_words);
      // Token ids + 1 are already units: those absent from S simply never
      // occur in S. The alphabet is every id handed out so far.
      const auto alphabet = static_cast<uint32_t>(ws.tokens.size());
      const bool hyp_is_s = ws.hyp_word_count <= ws.ref_word_count;
      const UnitBuffer& s_words = hyp_is_s ? ws.hyp_words : ws.ref_words;
      const UnitBuffer& l_words = hyp_is_s ? ws.ref_words : ws.hyp_words;
      CountMatches(s_words.data(), hyp_is_s ? ws.hyp_word_count : ws.ref_word_count, l_words.data(),
                   hyp_is_s ? ws.ref_word_count : ws.hyp_word_count, alphabet, word_order, ws,
                   matches);
      for (int n = 1; n <= word_order; ++n)
        SetTriple(&cur[3 * (char_order + n - 1)], NGramTotal(ws.hyp_word_count, n),
                  NGramTotal(ws.ref_word_count, n), matches[n - 1]);
    }
    // sacrebleu: `if f_score > best_f_score` with best starting at -1, so the
    // first reference wins ties.
    const double f = FScore(cur.data(), orders, options.beta, options.eps_smoothing);
    if (f > best_f) {
      best_f = f;
      ws.best = cur;
    }
  }
  return best_f;
}

// Checks the arguments; large buffers go back after the call (also when an
// allocation fails).
class Call {
 public:
  Call(const std::vector<std::string_view>& references, const ChrfOptions& options)
      : ws_(Workspace()) {
    ValidateChrfOptions(options);
    if (references.empty())
      throw Error(ErrorKind::kInvalidParameterValue, "at least one reference is required");
  }
  ~Call() { ReleaseLargeBuffers(ws_); }
  ChrfWorkspace& ws() { return ws_; }

 private:
  ChrfWorkspace& ws_;
};

}  // namespace

ChrfStats ChrfSegmentStats(std::string_view candidate,
                           const std::vector<std::string_view>& references,
                           const ChrfOptions& options) {
  Call call(references, options);
  BestStats(candidate, references, options, call.ws());
  return ChrfStats{call.ws().best};
}

void ChrfStatsAdd(ChrfStats& into, const ChrfStats& from) {
  if (from.values.empty()) return;
  if (into.values.empty()) {
    into.values = from.values;
    return;
  }
  if (into.values.size() != from.values.size())
    throw Error(ErrorKind::kInvalidParameterValue,
                "cannot add chrF statistics computed with different orders");
  for (std::size_t i = 0; i < into.values.size(); ++i) into.values[i] += from.values[i];
}

double ChrfFromStats(const ChrfStats& stats, const ChrfOptions& options) {
  ValidateChrfOptions(options);
  if (stats.values.empty()) return 0.0;
  const int orders = options.char_order + options.word_order;
  if (stats.values.size() != static_cast<std::size_t>(3 * orders))
    throw Error(ErrorKind::kInvalidParameterValue,
                "chrF statistics do not match char_order and word_order");
  return FScore(stats.values.data(), orders, options.beta, options.eps_smoothing);
}

double SentenceChrf(std::string_view candidate, const std::vector<std::string_view>& references,
                    const ChrfOptions& options) {
  // The best reference's chrF is the chrF of the statistics kept.
  Call call(references, options);
  return BestStats(candidate, references, options, call.ws());
}

}  // namespace llmeval::core::metrics
