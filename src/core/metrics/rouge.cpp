#include "core/metrics/rouge.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/metrics/ngram_index.hpp"
#include "core/metrics/token_table.hpp"
#include "core/text/porter_stemmer.hpp"
#include "core/text/unicode.hpp"

namespace llmeval::core::metrics {

namespace {

constexpr int kMaxOrder = 9;

// rougeLsum stores a line pair's whole table up to this many words (16 MB),
// see UnionLcsWalker; variable only so tests can reach the other path.
std::size_t full_table_words = std::size_t{1} << 21;

// Bytes that are token characters after lowercasing: rouge-score replaces
// every run of characters outside [a-z0-9] with a space. Every other code
// point is a separator, and in UTF-8 a non-ASCII code point has only bytes
// >= 0x80, so scanning bytes gives the same tokens as scanning code points.
constexpr std::array<bool, 256> kTokenByte = [] {
  std::array<bool, 256> table{};
  for (int c = 'a'; c <= 'z'; ++c) table[c] = true;
  for (int c = '0'; c <= '9'; ++c) table[c] = true;
  return table;
}();

// str.lower() restricted to ASCII, for text known to be ASCII.
constexpr std::array<unsigned char, 256> kLowerAscii = [] {
  std::array<unsigned char, 256> table{};
  for (int c = 0; c < 256; ++c)
    table[c] = static_cast<unsigned char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  return table;
}();

// Every token handed to TokenTable has kTokenPad readable bytes from its
// start: the lowered text and the stem cache are padded.
constexpr std::size_t kPad = kTokenPad;

bool IsAsciiBytes(std::string_view s) noexcept {
  uint64_t any = 0;
  std::size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    any |= w;
  }
  for (; i < s.size(); ++i) any |= static_cast<unsigned char>(s[i]);
  return (any & 0x8080808080808080ULL) == 0;
}

// Stems of the tokens seen on this thread: stemming is the slow part of
// use_stemmer, and running text repeats words. Keys and stems live in
// chunks that never move, so the views handed out stay valid (TokenTable
// keeps them) until TrimIfLarge() empties the cache, which Rouge() only does
// on its way out, once the table's views are dead.
class StemCache {
 public:
  // `word` is a token of [a-z0-9] longer than three characters.
  std::string_view Stem(std::string_view word) {
    if ((entries_.size() + 1) * 2 > slots_.size()) Grow();
    const uint64_t hash = HashBytes(word);
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = hash & mask;
    for (;; i = (i + 1) & mask) {
      const uint32_t slot = slots_[i];
      if (slot == kEmpty) break;
      const Entry& entry = entries_[slot];
      if (entry.hash == hash && entry.word == word) return entry.stem;
    }
    text::PorterStemLowerAscii(word, scratch_);
    char* p = Allocate(word.size() + scratch_.size() + kPad);
    std::memcpy(p, word.data(), word.size());
    if (!scratch_.empty()) std::memcpy(p + word.size(), scratch_.data(), scratch_.size());
    entries_.push_back({hash, {p, word.size()}, {p + word.size(), scratch_.size()}});
    slots_[i] = static_cast<uint32_t>(entries_.size() - 1);
    return entries_.back().stem;
  }

  void TrimIfLarge() noexcept {
    if (entries_.size() <= kMaxEntries && bytes_ <= kMaxBytes) return;
    std::vector<Entry>().swap(entries_);
    std::vector<uint32_t>().swap(slots_);
    std::vector<std::unique_ptr<char[]>>().swap(chunks_);
    used_ = capacity_ = bytes_ = 0;
    std::string().swap(scratch_);
  }

 private:
  static constexpr uint32_t kEmpty = UINT32_MAX;
  static constexpr std::size_t kMaxEntries = 1 << 16;
  static constexpr std::size_t kMaxBytes = std::size_t{4} << 20;
  static constexpr std::size_t kChunkBytes = 64 << 10;

  struct Entry {
    uint64_t hash;
    std::string_view word;
    std::string_view stem;
  };

  char* Allocate(std::size_t n) {
    if (n > capacity_ - used_) {
      const std::size_t size = std::max(n, kChunkBytes);
      chunks_.push_back(std::make_unique<char[]>(size));
      used_ = 0;
      capacity_ = size;
      bytes_ += size;
    }
    char* p = chunks_.back().get() + used_;
    used_ += n;
    return p;
  }

  void Grow() {
    const std::size_t capacity = slots_.empty() ? 1024 : slots_.size() * 2;
    slots_.assign(capacity, kEmpty);
    const std::size_t mask = capacity - 1;
    for (uint32_t id = 0; id < entries_.size(); ++id) {
      std::size_t i = entries_[id].hash & mask;
      while (slots_[i] != kEmpty) i = (i + 1) & mask;
      slots_[i] = id;
    }
  }

  std::vector<Entry> entries_;
  std::vector<uint32_t> slots_;
  std::vector<std::unique_ptr<char[]>> chunks_;
  std::size_t used_ = 0;
  std::size_t capacity_ = 0;
  std::size_t bytes_ = 0;
  std::string scratch_;
};

struct TokenizedText {
  std::string lowered;             // the tokens point here (or into the stem cache), kPad padded
  std::string ascii;               // non-ASCII text reduced to ASCII (PyLowerAsciiOnly)
  std::vector<uint32_t> ids;       // token ids in text order
  std::vector<uint32_t> lines;     // rougeLsum: end of each line that has tokens, in ids
  std::vector<uint32_t> bounds;    // token starts and ends found by the ASCII pass
  std::vector<uint32_t> newlines;  // positions of '\n' found by the ASCII pass
};

// Buffers reused across calls on one thread, so scoring a table row by row
// allocates only while they grow.
struct RougeWorkspace {
  TokenizedText candidate;
  TokenizedText reference;
  TokenTable tokens;  // one id space for both texts
  StemCache stems;
  NGramIds ngrams;
  std::vector<uint32_t> grams;   // n-gram ids by start position
  std::vector<uint32_t> counts;  // by n-gram id: reference count not yet matched
  // DirectNGramOverlap: the pair table (all zero between calls), n-gram ids
  // by position on each side, and the table entries the reference set.
  std::vector<uint32_t> direct;
  std::vector<uint32_t> reference_grams;
  std::vector<uint32_t> candidate_grams;
  std::vector<uint32_t> touched;
  // Bit-parallel LCS, see LcsMachine.
  std::vector<uint64_t> mask1;            // by token id: positions in a sequence of <= 64 tokens
  std::vector<int32_t> first;             // by token id: first position in a longer sequence, or -1
  std::vector<int32_t> next;              // by position: next position of the same token, or -1
  std::vector<uint32_t> occurrences;      // by token id, zero between uses
  std::vector<uint64_t> heavy_masks;      // masks of the tokens frequent in X
  std::vector<uint64_t> scratch;          // the match mask of one token, built from first/next
  std::vector<uint64_t> vec;              // rougeL's running bit vector
  std::vector<uint64_t> table;            // rougeLsum: stored bit vectors (all, or checkpoints)
  std::vector<uint64_t> block;            // rougeLsum: the vectors between two checkpoints
  std::vector<uint8_t> in_union;          // rougeLsum: by reference-line position
  std::vector<int32_t> budget_reference;  // rougeLsum: by token id
  std::vector<int32_t> budget_candidate;
};

// noinline: inlined, GCC re-derives the thread_local's address with a
// __tls_get_addr call at every member access (39 call sites in LcsSumScore,
// 22 in ScoreTokenized); behind a call it is one pointer. rouge_scores
// (rouge1+rouge2) gained about 20% through SQL.
__attribute__((noinline)) RougeWorkspace& Workspace() {
  thread_local RougeWorkspace workspace;
  return workspace;
}

template <typename T>
void ReleaseIfLarge(T& buffer) noexcept {
  if (buffer.capacity() * sizeof(typename T::value_type) > (std::size_t{1} << 20)) T().swap(buffer);
}

// Frees what a large input grew, on the way out of every call (exceptions
// included): a backend that once scored a 10 MB text should not keep the
// buffers, nor pay to clear oversized hash tables on every later row.
struct ReleaseLargeBuffers {
  RougeWorkspace& ws;
  ~ReleaseLargeBuffers() {
    ws.stems.TrimIfLarge();  // the token table's views into it die with this call
    if (ws.tokens.size() > (1 << 16)) ws.tokens = TokenTable();
    if (ws.ngrams.size() > (1 << 16)) ws.ngrams = NGramIds();
    for (TokenizedText* t : {&ws.candidate, &ws.reference}) {
      ReleaseIfLarge(t->lowered);
      ReleaseIfLarge(t->ascii);
      ReleaseIfLarge(t->ids);
      ReleaseIfLarge(t->lines);
      ReleaseIfLarge(t->bounds);
      ReleaseIfLarge(t->newlines);
    }
    ReleaseIfLarge(ws.grams);
    ReleaseIfLarge(ws.counts);
    ReleaseIfLarge(ws.direct);
    ReleaseIfLarge(ws.reference_grams);
    ReleaseIfLarge(ws.candidate_grams);
    ReleaseIfLarge(ws.touched);
    ReleaseIfLarge(ws.mask1);
    ReleaseIfLarge(ws.first);
    ReleaseIfLarge(ws.next);
    ReleaseIfLarge(ws.occurrences);
    ReleaseIfLarge(ws.heavy_masks);
    ReleaseIfLarge(ws.scratch);
    ReleaseIfLarge(ws.vec);
    ReleaseIfLarge(ws.table);
    ReleaseIfLarge(ws.block);
    ReleaseIfLarge(ws.in_union);
    ReleaseIfLarge(ws.budget_reference);
    ReleaseIfLarge(ws.budget_candidate);
  }
};

// Interns a token into ids[m] and returns m + 1 (or m for a token dropped).
std::size_t AddToken(const char* p, std::size_t len, bool stem, RougeWorkspace& ws, uint32_t* ids,
                     std::size_t m) {
  if (stem && len > 3) {
    const std::string_view stemmed = ws.stems.Stem({p, len});
    p = stemmed.data();
    len = stemmed.size();
  }
  // rouge-score drops tokens that are not ^[a-z0-9]+$ after stemming; a
  // stem of a longer word is never empty, but the check costs nothing.
  if (len == 0) return m;
  ids[m] = ws.tokens.Intern(p, len);
  return m + 1;
}

// SWAR helpers for 8 ASCII bytes in a word (every byte below 0x80, so the
// additions below never carry from one byte into the next).
constexpr uint64_t kOnes = 0x0101010101010101ULL;
constexpr uint64_t kHighBits = 0x8080808080808080ULL;

// High bit of each byte set where lo <= byte <= hi.
inline uint64_t BytesInRange(uint64_t x, unsigned lo, unsigned hi) {
  return (x + kOnes * (0x80 - lo)) & ~(x + kOnes * (0x80 - hi - 1)) & kHighBits;
}

// One bit per byte (bit k for the k-th byte in memory order) from the high
// bits; the multiply gathers them into the top byte without carries.
inline uint64_t GatherHighBits(uint64_t high) {
  return ((high >> 7) * 0x0102040810204080ULL) >> 56;
}

// The first min(n, 8) bytes of ASCII text at p (8 readable) lowercased,
// the rest zero: TokenTable's word for them.
inline uint64_t LowerWord(const char* p, std::size_t n) {
  uint64_t x;
  std::memcpy(&x, p, 8);
  x |= BytesInRange(x, 'A', 'Z') >> 2;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  return n >= 8 ? x : x & ~(~uint64_t{0} >> (8 * n));
#else
  return n >= 8 ? x : x & ((uint64_t{1} << (8 * n)) - 1);
#endif
}

// One block of the ASCII pass of Tokenize: lowercases text[begin, end) into
// `lowered` and appends the positions where tokens start or end to
// bounds[count...] (they alternate, starting with a start), and with kLines
// the positions of '\n' to `newlines`, returning their number. 64 bytes at a
// time are lowercased and classified as words of 8, giving a 64-bit mask of
// token bytes whose changes are the boundaries; only those are written, so
// the cost is mostly per byte group rather than per byte. Plain pointers and
// locals only: a char store may alias anything, and through vectors or
// references the compiler would reload them at every store.
template <bool kLines>
std::size_t ScanAsciiBlock(const char* text, char* lowered, std::size_t begin, std::size_t end,
                           uint32_t* bounds, std::size_t& count_io, bool& in_token_io,
                           uint32_t* newlines) {
  std::size_t count = count_io;
  uint64_t in_token = in_token_io;
  std::size_t newline_count = 0;
  std::size_t i = begin;
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  for (; i + 64 <= end; i += 64) {
    uint64_t tokens = 0;
    uint64_t breaks = 0;
    for (int w = 0; w < 8; ++w) {
      uint64_t x;
      std::memcpy(&x, text + i + 8 * w, 8);
      x |= BytesInRange(x, 'A', 'Z') >> 2;  // + 0x20: lowercase
      std::memcpy(lowered + i + 8 * w, &x, 8);
      tokens |= GatherHighBits(BytesInRange(x, 'a', 'z') | BytesInRange(x, '0', '9')) << (8 * w);
      if constexpr (kLines) breaks |= GatherHighBits(BytesInRange(x, '\n', '\n')) << (8 * w);
    }
    for (uint64_t change = tokens ^ ((tokens << 1) | in_token); change != 0; change &= change - 1)
      bounds[count++] = static_cast<uint32_t>(i + __builtin_ctzll(change));
    in_token = tokens >> 63;
    if constexpr (kLines) {
      for (; breaks != 0; breaks &= breaks - 1)
        newlines[newline_count++] = static_cast<uint32_t>(i + __builtin_ctzll(breaks));
    }
  }
#endif
  // The rest byte by byte, without branching on the boundaries.
  for (; i < end; ++i) {
    const unsigned char c = kLowerAscii[static_cast<unsigned char>(text[i])];
    lowered[i] = static_cast<char>(c);
    const uint64_t token_byte = kTokenByte[c];
    bounds[count] = static_cast<uint32_t>(i);
    count += token_byte ^ in_token;
    in_token = token_byte;
    if constexpr (kLines) {
      newlines[newline_count] = static_cast<uint32_t>(i);
      newline_count += c == '\n';
    }
  }
  count_io = count;
  in_token_io = in_token != 0;
  return newline_count;
}

// rouge-score's tokenize(): lowercase, split on everything outside
// [a-z0-9], stem tokens longer than three characters. With `lines`, also
// records where each line ('\n'-separated) that has tokens ends; rouge-score
// tokenizes rougeLsum's lines one by one, which gives the same tokens since
// '\n' is a separator and lowercasing never creates or removes one.
void Tokenize(std::string_view text, bool stem, bool lines, RougeWorkspace& ws,
              TokenizedText& out) {
  out.ids.clear();
  out.lines.clear();
  // m: the number of tokens so far.
  auto close_line = [&out](std::size_t m) {
    if (m > (out.lines.empty() ? 0 : out.lines.back()))
      out.lines.push_back(static_cast<uint32_t>(m));
  };
  // Lowercasing can turn only two non-ASCII characters into token
  // characters, so other text is first reduced to ASCII with the same tokens.
  if (!IsAsciiBytes(text)) {
    text::PyLowerAsciiOnly(text, out.ascii);
    text = out.ascii;
  }
  {
    // One pass over the (now ASCII) text (ScanAsciiBlock): lowercase, classify and
    // record token bounds (and newlines, for rougeLsum). Blocks of kBlock
    // bytes keep those arrays small; a token still open at the end of a
    // block carries its start over.
    constexpr std::size_t kBlock = 4096;
    const std::size_t n = text.size();
    out.lowered.resize(n + kPad);
    char* lowered = out.lowered.data();
    std::memset(lowered + n, 0, kPad);
    std::vector<uint32_t>& bounds = out.bounds;
    bounds.resize(kBlock + 2);  // a byte starts or ends at most one token; + carry, last end
    std::vector<uint32_t>& newlines = out.newlines;
    if (lines) newlines.resize(kBlock + 1);
    std::size_t count = 0;
    bool in_token = false;
    for (std::size_t begin = 0; begin < n; begin += kBlock) {
      const std::size_t end = std::min(n, begin + kBlock);
      const std::size_t newline_count =
          lines ? ScanAsciiBlock<true>(text.data(), lowered, begin, end, bounds.data(), count,
                                       in_token, newlines.data())
                : ScanAsciiBlock<false>(text.data(), lowered, begin, end, bounds.data(), count,
                                        in_token, nullptr);
      if (end == n) {
        bounds[count] = static_cast<uint32_t>(n);
        count += in_token;
      }
      const std::size_t complete = count & ~std::size_t{1};
      std::size_t next_newline = 0;
      // Room for the block's tokens up front: push_back per token was an
      // out-of-line call (5% of rougeL).
      std::size_t m = out.ids.size();
      out.ids.resize(m + complete / 2);
      uint32_t* ids = out.ids.data();
      for (std::size_t k = 0; k < complete; k += 2) {
        if (lines) {
          for (; next_newline < newline_count && newlines[next_newline] < bounds[k]; ++next_newline)
            close_line(m);
        }
        const std::size_t len = bounds[k + 1] - bounds[k];
        if (!stem && bounds[k] + 16 <= n) {
          // The token's words straight from the text, lowercased in
          // registers: read back from `lowered`, just written 8 bytes at a
          // time at other offsets, each load would wait for those stores.
          const char* p = text.data() + bounds[k];
          ids[m++] = ws.tokens.InternWords(LowerWord(p, len),
                                           len > 8 ? LowerWord(p + 8, len - 8) : 0,
                                           lowered + bounds[k], len);
        } else {
          m = AddToken(lowered + bounds[k], len, stem, ws, ids, m);
        }
      }
      out.ids.resize(m);
      // The block's remaining newlines all come before any later token (a
      // newline would have ended an open one).
      if (lines && next_newline < newline_count) close_line(m);
      if (count & 1) bounds[0] = bounds[count - 1];
      count &= 1;
    }
    if (lines) close_line(out.ids.size());
  }
}

// scoring.fmeasure, with the operations in Python's order.
RougeScore MakeScore(double precision, double recall) {
  RougeScore score;
  score.precision = precision;
  score.recall = recall;
  score.fmeasure = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0;
  return score;
}

double Ratio(uint64_t numerator, uint64_t denominator) {
  // Python's int / int is correctly rounded, and so is one double division
  // of two integers below 2^53.
  return static_cast<double>(numerator) / static_cast<double>(denominator);
}

// Replaces ws.grams[0, len - n] with the ids of the n-grams starting there.
// Level k's id of an n-gram is the NGramIds id of (level k-1 id of its
// prefix, its last token id), level 1 being the token id itself. Ids of
// different levels share one table and may coincide, but only ids of the
// same level are ever compared, and within a level distinct n-grams get
// distinct ids by induction. The reference interns (Extend); the candidate
// only looks up (Find), as n-grams absent from the reference cannot match.
template <bool kIntern>
void NGramLevels(const std::vector<uint32_t>& tokens, int n, RougeWorkspace& ws) {
  std::vector<uint32_t>& grams = ws.grams;
  grams.assign(tokens.begin(), tokens.end());
  for (int k = 2; k <= n; ++k) {
    const std::size_t count = tokens.size() - k + 1;
    for (std::size_t i = 0; i < count; ++i) {
      const uint32_t last = tokens[i + k - 1];
      if constexpr (kIntern) {
        grams[i] = ws.ngrams.Extend(grams[i], last);
      } else {
        grams[i] =
            grams[i] == NGramIds::kNotFound ? NGramIds::kNotFound : ws.ngrams.Find(grams[i], last);
      }
    }
  }
  grams.resize(tokens.size() - n + 1);
}

// The largest pair table DirectNGramOverlap uses, in entries (1 MiB).
constexpr std::size_t kDirectMaxEntries = std::size_t{1} << 18;

// rouge-N's clipped overlap for n >= 2 (both sides having n-grams of order
// n) without hashing, as chrF counts character n-grams: an n-gram of the
// reference is numbered 1 + the position of its first occurrence, found
// through a direct table indexed by (number of its (n-1)-gram prefix, its
// last token id). The candidate's n-grams are only looked up; one absent
// from the reference gets 0, and so does every n-gram extending it (row 0
// is never written, since order 2's rows are token ids + 1). Each candidate
// n-gram then takes one of the reference's remaining occurrences, which
// sums min(reference count, candidate count). Returns false, having done
// nothing, when the table would exceed kDirectMaxEntries.
bool DirectNGramOverlap(RougeWorkspace& ws, int n, uint64_t& overlap) {
  const std::vector<uint32_t>& reference = ws.reference.ids;
  const std::vector<uint32_t>& candidate = ws.candidate.ids;
  const std::size_t width = ws.tokens.size();
  const std::size_t rn = reference.size();
  const std::size_t cn = candidate.size();
  const std::size_t rows = std::max(width, rn) + 1;
  if (rows > kDirectMaxEntries / std::max<std::size_t>(width, 1)) return false;
  if (ws.direct.size() < rows * width) ws.direct.resize(rows * width, 0);
  ws.reference_grams.resize(rn);
  ws.candidate_grams.resize(cn);
  ws.touched.resize(rn);
  ws.counts.resize(rn + 1);
  uint32_t* direct = ws.direct.data();
  uint32_t* rg = ws.reference_grams.data();
  uint32_t* cg = ws.candidate_grams.data();
  uint32_t* touched = ws.touched.data();
  uint32_t* remaining = ws.counts.data();
  const uint32_t* r = reference.data();
  const uint32_t* c = candidate.data();
  for (std::size_t i = 0; i < rn; ++i) rg[i] = r[i] + 1;
  for (std::size_t j = 0; j < cn; ++j) cg[j] = c[j] + 1;
  uint64_t matched = 0;
  for (int k = 2; k <= n; ++k) {
    const std::size_t rc = rn - k + 1;
    const std::size_t cc = cn - k + 1;
    const bool last = k == n;
    if (last) std::memset(remaining, 0, (rc + 1) * sizeof(uint32_t));
    for (std::size_t i = 0; i < rc; ++i) {
      const std::size_t index = std::size_t{rg[i]} * width + r[i + k - 1];
      const uint32_t seen = direct[index];
      // a conditional move: whether an n-gram is new is unpredictable
      const uint32_t id = seen != 0 ? seen : static_cast<uint32_t>(i + 1);
      direct[index] = id;
      touched[i] = static_cast<uint32_t>(index);
      rg[i] = id;
      if (last) ++remaining[id];
    }
    for (std::size_t j = 0; j < cc; ++j) {
      const uint32_t id = direct[std::size_t{cg[j]} * width + c[j + k - 1]];
      cg[j] = id;
      if (last) {
        const uint32_t left = remaining[id];
        const uint32_t take = left != 0;
        remaining[id] = left - take;
        matched += take;
      }
    }
    for (std::size_t i = 0; i < rc; ++i) direct[touched[i]] = 0;
  }
  overlap = matched;
  return true;
}

// rouge-score's _score_ngrams: the sum over reference n-grams of
// min(reference count, candidate count).
RougeScore NGramScore(RougeWorkspace& ws, int n) {
  const std::vector<uint32_t>& reference = ws.reference.ids;
  const std::vector<uint32_t>& candidate = ws.candidate.ids;
  const std::size_t order = static_cast<std::size_t>(n);
  const uint64_t reference_total = reference.size() >= order ? reference.size() - order + 1 : 0;
  const uint64_t candidate_total = candidate.size() >= order ? candidate.size() - order + 1 : 0;
  uint64_t overlap = 0;
  if (reference_total > 0 && candidate_total > 0 &&
      !(n >= 2 && DirectNGramOverlap(ws, n, overlap))) {
    ws.ngrams.Clear();
    NGramLevels<true>(reference, n, ws);
    ws.counts.assign(n == 1 ? ws.tokens.size() : ws.ngrams.size(), 0);
    for (uint32_t id : ws.grams) ++ws.counts[id];
    NGramLevels<false>(candidate, n, ws);
    for (uint32_t id : ws.grams) {
      if (id != NGramIds::kNotFound && ws.counts[id] > 0) {
        --ws.counts[id];
        ++overlap;
      }
    }
  }
  return MakeScore(Ratio(overlap, std::max<uint64_t>(candidate_total, 1)),
                   Ratio(overlap, std::max<uint64_t>(reference_total, 1)));
}

// Hyyrö's bit-parallel LCS over token ids. X (bits) is prepared once; each
// token y of the other sequence then advances the vector V by
//   V' = (V + (V & M_y)) | (V & ~M_y)
// where M_y marks the positions of y in X. Starting from all ones, after the
// first j tokens of Y bit i of V is 0 exactly when LCS(X[0, i+1), Y[0, j))
// exceeds LCS(X[0, i), Y[0, j)), so the DP table's column j is the running
// count of zero bits: t(i, j) = zeros of V_j below bit i. A step costs
// O(words) whatever the tokens, which the limits rely on.
class LcsMachine {
 public:
  LcsMachine(const uint32_t* x, std::size_t xn, RougeWorkspace& ws)
      : x_(x), xn_(xn), words_((xn + 63) / 64), ws_(ws) {
    if (words_ == 1) {
      for (std::size_t p = 0; p < xn; ++p) ws.mask1[x[p]] |= uint64_t{1} << p;
      return;
    }
    // A token's mask is normally built from its list of positions at each
    // step, which costs its number of occurrences. A token that occurs at
    // least words/2 times would make that dominate the step (with a handful
    // of distinct tokens the whole thing degrades to the scalar DP), so such
    // "heavy" tokens get a precomputed mask instead. There are at most
    // 2 * xn / words <= 128 of them, so the masks take at most 16 bytes per
    // token of X. first[id] is then -2 - (index of the mask).
    ws.next.resize(xn);
    for (std::size_t p = xn; p-- > 0;) {
      ws.next[p] = ws.first[x[p]];
      ws.first[x[p]] = static_cast<int32_t>(p);
      ++ws.occurrences[x[p]];
    }
    const uint32_t heavy = static_cast<uint32_t>(std::max<std::size_t>(words_ / 2, 1));
    std::size_t masks = 0;
    for (std::size_t p = 0; p < xn; ++p) {
      const uint32_t id = x[p];
      if (ws.occurrences[id] >= heavy) {
        ws.heavy_masks.resize((masks + 1) * words_);
        uint64_t* mask = &ws.heavy_masks[masks * words_];
        std::fill(mask, mask + words_, 0);
        for (int32_t q = ws.first[id]; q >= 0; q = ws.next[q])
          mask[q >> 6] |= uint64_t{1} << (q & 63);
        ws.first[id] = -2 - static_cast<int32_t>(masks);
        ++masks;
      }
      ws.occurrences[id] = 0;  // also marks a heavy token as done
    }
    if (ws.scratch.size() < words_) ws.scratch.resize(words_, 0);
  }

  ~LcsMachine() {
    for (std::size_t p = 0; p < xn_; ++p) {
      if (words_ == 1) {
        ws_.mask1[x_[p]] = 0;
      } else {
        ws_.first[x_[p]] = -1;
      }
    }
  }

  LcsMachine(const LcsMachine&) = delete;
  LcsMachine& operator=(const LcsMachine&) = delete;

  std::size_t words() const { return words_; }

  // out = in advanced by token y; out may be in.
  void Step(const uint64_t* in, uint64_t* out, uint32_t y) const {
    if (words_ == 1) {
      const uint64_t v = in[0];
      const uint64_t m = ws_.mask1[y];
      out[0] = (v + (v & m)) | (v & ~m);
      return;
    }
    const int32_t head = ws_.first[y];
    if (head == -1) {  // y is not in X: nothing changes
      if (out != in) std::memcpy(out, in, words_ * sizeof(uint64_t));
      return;
    }
    if (head < -1) {
      Advance(in, out, &ws_.heavy_masks[static_cast<std::size_t>(-2 - head) * words_]);
      return;
    }
    uint64_t* mask = ws_.scratch.data();
    for (int32_t p = head; p >= 0; p = ws_.next[p]) mask[p >> 6] |= uint64_t{1} << (p & 63);
    Advance(in, out, mask);
    for (int32_t p = head; p >= 0; p = ws_.next[p]) mask[p >> 6] = 0;
  }

  // Zero bits of v below bit `len`: the LCS of X[0, len) with the tokens
  // that produced v.
  static std::size_t Zeros(const uint64_t* v, std::size_t len) {
    std::size_t ones = 0;
    const std::size_t full = len / 64;
    for (std::size_t w = 0; w < full; ++w)
      ones += static_cast<std::size_t>(__builtin_popcountll(v[w]));
    if (len % 64 != 0)
      ones += static_cast<std::size_t>(
          __builtin_popcountll(v[full] & ((uint64_t{1} << (len % 64)) - 1)));
    return len - ones;
  }

  static std::size_t ZeroBit(const uint64_t* v, std::size_t i) {
    return ((v[i >> 6] >> (i & 63)) & 1) ^ 1;
  }

 private:
  // V' = (V + (V & M)) | (V & ~M) over words_ words, the carry rippling up.
  void Advance(const uint64_t* in, uint64_t* out, const uint64_t* mask) const {
    uint64_t carry = 0;
    for (std::size_t w = 0; w < words_; ++w) {
      const uint64_t v = in[w];
      const uint64_t m = mask[w];
      const uint64_t sum = v + (v & m);
      const uint64_t carry1 = sum < v;
      const uint64_t total = sum + carry;
      const uint64_t carry2 = total < sum;
      out[w] = total | (v & ~m);
      carry = carry1 | carry2;
    }
  }

  const uint32_t* x_;
  std::size_t xn_;
  std::size_t words_;
  RougeWorkspace& ws_;
};

// LCS length of x and y (x the shorter), only the final vector kept.
std::size_t LcsLength(const uint32_t* x, std::size_t xn, const uint32_t* y, std::size_t yn,
                      RougeWorkspace& ws) {
  LcsMachine machine(x, xn, ws);
  if (machine.words() == 1) {
    // The common case (sentences of up to 64 tokens), kept in a register.
    uint64_t v = ~uint64_t{0};
    const uint64_t* masks = ws.mask1.data();
    for (std::size_t j = 0; j < yn; ++j) {
      const uint64_t m = masks[y[j]];
      v = (v + (v & m)) | (v & ~m);
    }
    return LcsMachine::Zeros(&v, xn);
  }
  ws.vec.assign(machine.words(), ~uint64_t{0});
  for (std::size_t j = 0; j < yn; ++j) machine.Step(ws.vec.data(), ws.vec.data(), y[j]);
  return LcsMachine::Zeros(ws.vec.data(), xn);
}

[[noreturn]] void ThrowTooLong(const char* variant, const std::string& detail) {
  throw Error(ErrorKind::kProgramLimitExceeded, std::string("input too long for ") + variant,
              detail, "rouge1 and rouge2 take time linear in the length of the texts.");
}

// rouge-score's _score_lcs (also rougeLsum when each text has one line with
// tokens). The common prefix and suffix of the token lists belong to every
// LCS, so only the middle needs the quadratic part.
RougeScore LcsScore(RougeWorkspace& ws, const char* variant) {
  const std::vector<uint32_t>& reference = ws.reference.ids;
  const std::vector<uint32_t>& candidate = ws.candidate.ids;
  if (reference.empty() || candidate.empty()) return MakeScore(0, 0);
  std::size_t prefix = 0;
  const std::size_t shorter = std::min(reference.size(), candidate.size());
  while (prefix < shorter && reference[prefix] == candidate[prefix]) ++prefix;
  std::size_t suffix = 0;
  while (suffix < shorter - prefix &&
         reference[reference.size() - 1 - suffix] == candidate[candidate.size() - 1 - suffix])
    ++suffix;
  const uint32_t* a = reference.data() + prefix;
  const uint32_t* b = candidate.data() + prefix;
  std::size_t an = reference.size() - prefix - suffix;
  std::size_t bn = candidate.size() - prefix - suffix;
  if (an > bn) {
    std::swap(a, b);
    std::swap(an, bn);
  }
  std::size_t lcs = prefix + suffix;
  if (an > 0) {
    const uint64_t work = static_cast<uint64_t>((an + 63) / 64) * bn;
    if (work > kRougeLMaxWork)
      ThrowTooLong(variant, "The candidate has " + std::to_string(candidate.size()) +
                                " tokens and the reference " + std::to_string(reference.size()) +
                                "; after their common prefix and suffix, ceil(" +
                                std::to_string(an) + " / 64) * " + std::to_string(bn) +
                                " exceeds the limit of " + std::to_string(kRougeLMaxWork) + ".");
    lcs += LcsLength(a, an, b, bn, ws);
  }
  return MakeScore(Ratio(lcs, candidate.size()), Ratio(lcs, reference.size()));
}

// Marks in `in_union` the positions of r that rouge-score's lcs_ind(r, c)
// returns: the LCS read back from the end of its DP table, taking a match
// whenever the current tokens are equal, else moving to the larger of
// t[i][j-1] and t[i-1][j], preferring i-1 on a tie. Which LCS this picks
// decides which tokens enter the union, so the walk must be the same.
//
// The table is kept as bit vectors over the shorter sequence (X), one per
// prefix of the longer (Y). A value one bit away inside a vector costs O(1);
// a value in the neighbouring vector needs a popcount, but the walk only
// moves to a new vector at most |Y| times. The vectors are all stored when
// they fit in full_table_words; otherwise only every k-th is kept
// (checkpoints, k ~ sqrt(|Y|)) and the ones between two checkpoints are
// recomputed when the walk reaches them, trading one more pass over the
// table for memory ~ 2 sqrt(|Y|) vectors.
class UnionLcsWalker {
 public:
  UnionLcsWalker(const uint32_t* r, std::size_t rn, const uint32_t* c, std::size_t cn,
                 RougeWorkspace& ws)
      : transposed_(rn > cn),
        x_(transposed_ ? c : r),
        xn_(transposed_ ? cn : rn),
        y_(transposed_ ? r : c),
        yn_(transposed_ ? rn : cn),
        machine_(x_, xn_, ws),
        words_(machine_.words()),
        ws_(ws) {}

  void Mark(uint8_t* in_union) {
    BuildTable();
    std::size_t x = xn_;
    std::size_t y = yn_;
    std::size_t t = LcsMachine::Zeros(Vector(y), x);  // t(x, y)
    std::size_t outer = 0;                            // t(x, y - 1), when known
    bool outer_known = false;
    while (t > 0 && x > 0 && y > 0) {  // at t == 0 no match is left to find
      if (x_[x - 1] == y_[y - 1]) {
        in_union[transposed_ ? y - 1 : x - 1] = 1;
        --x;
        --y;
        --t;
        outer_known = false;
        continue;
      }
      const std::size_t inner = t - LcsMachine::ZeroBit(Vector(y), x - 1);  // t(x - 1, y)
      const uint64_t* previous = Vector(y - 1);
      if (!outer_known) {
        outer = LcsMachine::Zeros(previous, x);
        outer_known = true;
      }
      // In the reference's terms (i over r, j over c): untransposed, inner
      // is t[i-1][j] and outer t[i][j-1]; transposed, the other way round.
      // rouge-score moves j back when t[i][j-1] > t[i-1][j], else i.
      const bool move_inner = transposed_ ? inner > outer : !(outer > inner);
      if (move_inner) {
        outer -= LcsMachine::ZeroBit(previous, x - 1);  // t(x - 1, y - 1)
        --x;
        t = inner;
      } else {
        --y;
        t = outer;
        outer_known = false;
      }
    }
  }

 private:
  // Stores vectors 0..yn (full) or the checkpoints 0, k, 2k, ... (which the
  // walk's first access to a block then completes).
  void BuildTable() {
    const std::size_t vectors = yn_ + 1;
    full_ = vectors * words_ <= full_table_words;
    std::vector<uint64_t>& table = ws_.table;
    if (full_) {
      table.resize(vectors * words_);
      std::fill(table.begin(), table.begin() + words_, ~uint64_t{0});
      for (std::size_t j = 1; j <= yn_; ++j)
        machine_.Step(&table[(j - 1) * words_], &table[j * words_], y_[j - 1]);
      return;
    }
    k_ = static_cast<std::size_t>(std::sqrt(static_cast<double>(yn_))) + 1;
    table.resize((yn_ / k_ + 1) * words_);
    ws_.block.resize((k_ - 1) * words_);
    std::vector<uint64_t>& running = ws_.vec;
    running.assign(words_, ~uint64_t{0});
    std::copy(running.begin(), running.end(), table.begin());
    for (std::size_t j = 1; j <= yn_; ++j) {
      machine_.Step(running.data(), running.data(), y_[j - 1]);
      if (j % k_ == 0) std::copy(running.begin(), running.end(), table.begin() + (j / k_) * words_);
    }
    loaded_block_ = SIZE_MAX;
  }

  // V_y: the vector after the first y tokens of Y. Between checkpoints, a
  // block is recomputed from the checkpoint before it. The walk only needs
  // V_y and V_{y-1}: when y is in a block, y - 1 is in the same block or is
  // its checkpoint, so the pointer to V_y stays valid.
  const uint64_t* Vector(std::size_t y) {
    if (full_) return &ws_.table[y * words_];
    const std::size_t block = y / k_;
    const std::size_t offset = y - block * k_;
    if (offset == 0) return &ws_.table[block * words_];
    if (block != loaded_block_) {
      const uint64_t* previous = &ws_.table[block * words_];
      const std::size_t last = std::min(k_ - 1, yn_ - block * k_);
      for (std::size_t t = 1; t <= last; ++t) {
        uint64_t* out = &ws_.block[(t - 1) * words_];
        machine_.Step(previous, out, y_[block * k_ + t - 1]);
        previous = out;
      }
      loaded_block_ = block;
    }
    return &ws_.block[(offset - 1) * words_];
  }

  const bool transposed_;  // X is the candidate line, Y the reference line
  const uint32_t* x_;
  const std::size_t xn_;
  const uint32_t* y_;
  const std::size_t yn_;
  LcsMachine machine_;
  const std::size_t words_;
  RougeWorkspace& ws_;
  bool full_ = true;
  std::size_t k_ = 0;
  std::size_t loaded_block_ = SIZE_MAX;
};

uint64_t SaturatingMul(uint64_t a, uint64_t b) {
  uint64_t product;
  return __builtin_mul_overflow(a, b, &product) ? UINT64_MAX : product;
}

uint64_t SaturatingAdd(uint64_t a, uint64_t b) {
  uint64_t sum;
  return __builtin_add_overflow(a, b, &sum) ? UINT64_MAX : sum;
}

// rouge-score's _summary_level_lcs.
RougeScore LcsSumScore(RougeWorkspace& ws) {
  const std::vector<uint32_t>& reference = ws.reference.ids;
  const std::vector<uint32_t>& candidate = ws.candidate.ids;
  const std::vector<uint32_t>& reference_lines = ws.reference.lines;
  const std::vector<uint32_t>& candidate_lines = ws.candidate.lines;
  if (reference.empty() || candidate.empty()) return MakeScore(0, 0);
  // One line each: the union is that line pair's LCS, and every token of it
  // has budget in both texts, so the hits are the LCS length.
  if (reference_lines.size() == 1 && candidate_lines.size() == 1) return LcsScore(ws, "rougeLsum");

  const uint64_t m = reference.size();
  const uint64_t n = candidate.size();
  const uint64_t lines_r = reference_lines.size();
  const uint64_t lines_c = candidate_lines.size();
  const uint64_t work = SaturatingAdd(
      SaturatingMul(m, n) / 64,
      SaturatingMul(2, SaturatingAdd(SaturatingMul(m, lines_c), SaturatingMul(n, lines_r))));
  if (work > kRougeLsumMaxWork)
    ThrowTooLong("rougeLsum",
                 "The candidate has " + std::to_string(n) + " tokens in " +
                     std::to_string(lines_c) + " lines and the reference " + std::to_string(m) +
                     " tokens in " + std::to_string(lines_r) + " lines; m * n / 64 + 2 * (m * " +
                     "C + n * R) = " + std::to_string(work) + " exceeds the limit of " +
                     std::to_string(kRougeLsumMaxWork) + ".");

  // Per-token budgets: a token is a hit only while both texts have an
  // occurrence of it left (rouge-score's token_cnts_r / token_cnts_c).
  ws.budget_reference.assign(ws.tokens.size(), 0);
  ws.budget_candidate.assign(ws.tokens.size(), 0);
  for (uint32_t id : reference) ++ws.budget_reference[id];
  for (uint32_t id : candidate) ++ws.budget_candidate[id];

  uint64_t hits = 0;
  uint32_t r_begin = 0;
  for (uint32_t r_end : reference_lines) {
    const uint32_t* r = reference.data() + r_begin;
    const std::size_t rn = r_end - r_begin;
    ws.in_union.assign(rn, 0);
    uint32_t c_begin = 0;
    for (uint32_t c_end : candidate_lines) {
      UnionLcsWalker(r, rn, candidate.data() + c_begin, c_end - c_begin, ws)
          .Mark(ws.in_union.data());
      c_begin = c_end;
    }
    for (std::size_t i = 0; i < rn; ++i) {
      if (!ws.in_union[i]) continue;
      const uint32_t token = r[i];
      if (ws.budget_candidate[token] > 0 && ws.budget_reference[token] > 0) {
        ++hits;
        --ws.budget_candidate[token];
        --ws.budget_reference[token];
      }
    }
    r_begin = r_end;
  }
  return MakeScore(Ratio(hits, n), Ratio(hits, m));
}

}  // namespace

std::size_t internal::SetRougeLsumFullTableWordsForTesting(std::size_t words) {
  const std::size_t previous = full_table_words;
  full_table_words = words;
  return previous;
}

RougeVariant ParseRougeVariant(std::string_view name) {
  if (name == "rougeL") return {RougeVariant::Kind::kLcs, 0};
  if (name == "rougeLsum") return {RougeVariant::Kind::kLcsSum, 0};
  if (name.size() == 6 && name.substr(0, 5) == "rouge" && name[5] >= '1' && name[5] <= '9')
    return {RougeVariant::Kind::kNGram, name[5] - '0'};
  throw Error(ErrorKind::kInvalidParameterValue,
              "unknown rouge variant \"" + std::string(name) + "\"", {},
              "Valid variants are rouge1, rouge2, rouge3, rouge4, rouge5, rouge6, rouge7, rouge8, "
              "rouge9, rougeL and rougeLsum.");
}

namespace {

void CheckVariant(RougeVariant variant) {
  if (variant.kind == RougeVariant::Kind::kNGram && (variant.n < 1 || variant.n > kMaxOrder))
    throw Error(ErrorKind::kInvalidParameterValue,
                "rouge n-gram order must be between 1 and 9, not " + std::to_string(variant.n));
}

// Tokenizes both texts into ws (one id space). Line ends are recorded when a
// variant needs them (rougeLsum); the tokens are the same either way.
void TokenizePair(std::string_view candidate, std::string_view reference, bool lines,
                  bool use_stemmer, RougeWorkspace& ws) {
  ws.tokens.Clear();
  Tokenize(reference, use_stemmer, lines, ws, ws.reference);
  Tokenize(candidate, use_stemmer, lines, ws, ws.candidate);
}

// The LCS machinery indexes these by token id and leaves them as it found
// them (all zero / all -1), so they are set once per tokenisation.
void PrepareLcs(RougeWorkspace& ws) {
  ws.mask1.assign(ws.tokens.size(), 0);
  ws.first.assign(ws.tokens.size(), -1);
  ws.occurrences.assign(ws.tokens.size(), 0);
}

// One variant over the tokenized pair; the kernels only read the token ids.
RougeScore ScoreTokenized(RougeWorkspace& ws, RougeVariant variant) {
  switch (variant.kind) {
    case RougeVariant::Kind::kNGram: return NGramScore(ws, variant.n);
    case RougeVariant::Kind::kLcs: return LcsScore(ws, "rougeL");
    case RougeVariant::Kind::kLcsSum: return LcsSumScore(ws);
  }
  return {};
}

bool NeedsLines(const std::vector<RougeVariant>& variants) {
  return std::any_of(variants.begin(), variants.end(),
                     [](RougeVariant v) { return v.kind == RougeVariant::Kind::kLcsSum; });
}

bool NeedsLcs(const std::vector<RougeVariant>& variants) {
  return std::any_of(variants.begin(), variants.end(),
                     [](RougeVariant v) { return v.kind != RougeVariant::Kind::kNGram; });
}

// Scores every variant of one (candidate, reference) pair into scores[].
void ScorePair(std::string_view candidate, std::string_view reference,
               const std::vector<RougeVariant>& variants, bool use_stemmer, RougeWorkspace& ws,
               RougeScore* scores) {
  TokenizePair(candidate, reference, NeedsLines(variants), use_stemmer, ws);
  if (NeedsLcs(variants)) PrepareLcs(ws);
  for (std::size_t i = 0; i < variants.size(); ++i) scores[i] = ScoreTokenized(ws, variants[i]);
}

}  // namespace

RougeScore Rouge(std::string_view candidate, std::string_view reference, RougeVariant variant,
                 bool use_stemmer) {
  CheckVariant(variant);
  RougeWorkspace& ws = Workspace();
  ReleaseLargeBuffers release{ws};
  TokenizePair(candidate, reference, variant.kind == RougeVariant::Kind::kLcsSum, use_stemmer, ws);
  if (variant.kind != RougeVariant::Kind::kNGram) PrepareLcs(ws);
  return ScoreTokenized(ws, variant);
}

void RougeScores(std::string_view candidate, std::string_view reference,
                 const std::vector<RougeVariant>& variants, bool use_stemmer,
                 std::vector<RougeScore>& scores) {
  for (RougeVariant v : variants) CheckVariant(v);
  scores.resize(variants.size());
  RougeWorkspace& ws = Workspace();
  ReleaseLargeBuffers release{ws};
  ScorePair(candidate, reference, variants, use_stemmer, ws, scores.data());
}

void RougeMultiScores(std::string_view candidate, const std::vector<std::string_view>& references,
                      const std::vector<RougeVariant>& variants, bool use_stemmer,
                      std::vector<RougeScore>& scores) {
  if (references.empty())
    throw Error(ErrorKind::kInvalidParameterValue, "at least one reference is required");
  for (RougeVariant v : variants) CheckVariant(v);
  scores.resize(variants.size());
  RougeWorkspace& ws = Workspace();
  ReleaseLargeBuffers release{ws};
  ScorePair(candidate, references[0], variants, use_stemmer, ws, scores.data());
  thread_local std::vector<RougeScore> other;
  other.resize(variants.size());
  for (std::size_t r = 1; r < references.size(); ++r) {
    ScorePair(candidate, references[r], variants, use_stemmer, ws, other.data());
    for (std::size_t i = 0; i < variants.size(); ++i)
      if (other[i].fmeasure > scores[i].fmeasure) scores[i] = other[i];
  }
}

RougeScore RougeMulti(std::string_view candidate, const std::vector<std::string_view>& references,
                      RougeVariant variant, bool use_stemmer) {
  if (references.empty())
    throw Error(ErrorKind::kInvalidParameterValue, "at least one reference is required");
  RougeScore best = Rouge(candidate, references[0], variant, use_stemmer);
  for (std::size_t i = 1; i < references.size(); ++i) {
    const RougeScore score = Rouge(candidate, references[i], variant, use_stemmer);
    if (score.fmeasure > best.fmeasure) best = score;
  }
  return best;
}

}  // namespace llmeval::core::metrics
