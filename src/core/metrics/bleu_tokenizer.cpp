// The tokenizers reproduce sacrebleu's regular-expression passes literally:
// each pass scans left to right and a match consumes the characters it
// matched, so "a.,5" keeps ",5" together exactly as re.sub does. Only spaces
// are ever inserted, and the final str.split() makes their number irrelevant.
//
// The 13a passes work on UTF-8 bytes: every class they test is ASCII, and
// every non-ASCII character falls in the negated classes ([^0-9]) as a whole,
// so scanning its bytes one by one inserts spaces exactly where scanning
// code points would. The intl passes test Unicode categories and work on
// decoded code points.
#include "core/metrics/bleu_tokenizer.hpp"

#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/error.hpp"
#include "core/metrics/token_table.hpp"
#include "core/text/unicode.hpp"
#include "core/text/utf8.hpp"

namespace llmeval::core::metrics {

namespace {

// [\{-\~\[-\` -\&\(-\+\:-\@\/] from sacrebleu's TokenizerRegexp.
inline bool Is13aSymbol(unsigned char c) noexcept {
  return (c >= '{' && c <= '~') || (c >= '[' && c <= '`') || (c >= ' ' && c <= '&') ||
         (c >= '(' && c <= '+') || (c >= ':' && c <= '@') || c == '/';
}

// re.sub(r'(X)(Y)', r'\1 \2 ' or r' \1 \2', s) for one-unit classes X and Y.
// `Unit` is char (bytes) or char32_t (code points).
template <typename Unit, typename First, typename Second>
void SubstitutePair(const std::basic_string<Unit>& in, std::basic_string<Unit>& out, First first,
                    Second second, bool space_before_first) {
  out.clear();
  const std::size_t n = in.size();
  std::size_t i = 0;
  while (i < n) {
    if (i + 1 < n && first(in[i]) && second(in[i + 1])) {
      if (space_before_first) out.push_back(' ');
      out.push_back(in[i]);
      out.push_back(' ');
      out.push_back(in[i + 1]);
      if (!space_before_first) out.push_back(' ');
      i += 2;
    } else {
      out.push_back(in[i]);
      ++i;
    }
  }
}

// re.sub(r'(X)', r' \1 ', s).
template <typename Unit, typename Class>
void SubstituteSingle(const std::basic_string<Unit>& in, std::basic_string<Unit>& out,
                      Class cls) {
  out.clear();
  for (Unit u : in) {
    if (cls(u)) {
      out.push_back(' ');
      out.push_back(u);
      out.push_back(' ');
    } else {
      out.push_back(u);
    }
  }
}

// sacrebleu's TokenizerRegexp (shared by 13a and zh) is four re.sub passes
// followed by str.split():
//   P1  ([\{-\~\[-\` -\&\(-\+\:-\@\/])  -> ' \1 '     symbols
//   P2  ([^0-9])([\.,])                 -> '\1 \2 '   period/comma after a non-digit
//   P3  ([\.,])([^0-9])                 -> ' \1 \2'   period/comma before a non-digit
//   P4  ([0-9])(-)                      -> '\1 \2 '   dash after a digit
// Each pass only inserts spaces, so the tokens are the input's own bytes cut
// at whitespace and at the gaps where some pass inserted a space. Those gaps
// are computed here in one pass over the input, without building the four
// intermediate strings. The subtle part is that each pass runs on the
// previous pass's output, and re.sub resumes after each match, so a byte
// consumed as the second half of a match cannot start the next one:
//
//  - P2 matches at a period/comma v = s[i] when the unit before it is not a
//    digit and was not consumed. That unit is s[i-1], or a space P1 put after
//    a symbol (same class: not a digit, never consumed). It was consumed only
//    if it is itself a period/comma that P2 matched.
//  - P3 matches at x = s[i] when the unit after it in P2's output is not a
//    digit, and x was not consumed by a P3 match at the unit before it. The
//    unit after x is a space if P2 matched x (space after v) or matched s[i+1]
//    (space between u and v), else s[i+1] (or P1's space, not a digit). The
//    unit before x is s[i-1] only when neither P1 nor P2 put a space between.
//  - P4 sees s[i-1] right before a dash: no pass puts a space between a digit
//    and a dash.
// test/unit/bleu_tokenizer_test.cpp checks this against a literal
// transcription of the passes on every line of the benchmark workload, and
// the fuzzer does on arbitrary bytes.

inline bool PeriodOrComma(unsigned char c) noexcept { return c == '.' || c == ','; }
inline bool Digit(unsigned char c) noexcept { return c >= '0' && c <= '9'; }

enum : uint8_t {
  kSymbol = 1,       // P1 class
  kPeriodComma = 2,  // P2/P3 class
  kDash = 4,         // P4 class
  kAsciiSpace = 8,   // str.split() separator
  kNonAscii = 16,    // needs decoding to know if it is Unicode whitespace
};

struct ByteClassTable {
  uint8_t of[256] = {};
  ByteClassTable() {
    for (int c = 0; c < 256; ++c) {
      const auto b = static_cast<unsigned char>(c);
      if (Is13aSymbol(b)) of[c] |= kSymbol;
      if (PeriodOrComma(b)) of[c] |= kPeriodComma;
      if (b == '-') of[c] |= kDash;
      if (text::IsAsciiPythonSpace(b)) of[c] |= kAsciiSpace;
      if (b >= 0x80) of[c] |= kNonAscii;
    }
  }
};
const ByteClassTable kClass;

enum : uint8_t { kP2 = 1, kP3 = 2, kCutBefore = 4 };

// Splits ASCII text at whitespace and at bytes flagged kCutBefore. Token
// boundaries are data-dependent and frequent, so instead of branching on
// them, every position is written as a candidate start and end and the write
// index advances only when the condition holds.
void SplitAsciiAtCuts(std::string_view s, std::vector<uint8_t>& f, TokenizedText& out) {
  const std::size_t n = s.size();
  const auto* c = reinterpret_cast<const unsigned char*>(s.data());
  std::vector<uint32_t>& bounds = out.bounds;  // starts and ends, interleaved
  bounds.resize(2 * n + 2);
  std::size_t count = 0;
  bool in_token = false;
  for (std::size_t i = 0; i < n; ++i) {
    const bool space = kClass.of[c[i]] & kAsciiSpace;
    const bool cut = f[i] & kCutBefore;
    // A token ends here if one is open and this byte is a space or a cut;
    // one starts here if this byte is not a space and none is open after that.
    const bool ends = in_token & (space | cut);
    bounds[count] = static_cast<uint32_t>(i);
    count += ends;
    const bool open = in_token & !ends;
    const bool starts = !space & !open;
    bounds[count] = static_cast<uint32_t>(i);
    count += starts;
    in_token = !space;
  }
  bounds[count] = static_cast<uint32_t>(n);
  count += in_token;
  // Starts and ends alternate, so count is even.
  out.tokens.resize(count / 2);
  for (std::size_t k = 0; k < count; k += 2)
    out.tokens[k / 2] = std::string_view(s.data() + bounds[k], bounds[k + 1] - bounds[k]);
}

// Bit masks of one class of byte, bit i of word w for byte 64w + i.
struct ByteMasks {
  uint64_t digit, period_comma, dash, symbol, space;
  uint64_t other;  // any byte >= 0x80
};

#if defined(__SSE2__)
// One bit per byte of 16 from the comparison results.
inline uint64_t Bits16(__m128i m) noexcept {
  return static_cast<uint64_t>(static_cast<uint32_t>(_mm_movemask_epi8(m)) & 0xFFFF);
}

// Bytes of x in [lo, hi], for lo and hi below 0x80 (signed comparisons:
// bytes >= 0x80 are negative and never in range).
inline __m128i InRange(__m128i x, char lo, char hi) noexcept {
  return _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8(static_cast<char>(lo - 1))),
                       _mm_cmplt_epi8(x, _mm_set1_epi8(static_cast<char>(hi + 1))));
}
#endif

// The classes of bytes [64w, 64w + 64) of p, all of which are readable
// (the caller's buffer is padded); bits at or past `valid` are cleared.
ByteMasks ClassifyWord(const unsigned char* p, std::size_t valid) noexcept {
  ByteMasks m{};
#if defined(__SSE2__)
  for (int g = 0; g < 4 && static_cast<std::size_t>(16 * g) < valid; ++g) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * g));
    const __m128i digit = InRange(x, '0', '9');
    const __m128i letter = InRange(_mm_or_si128(x, _mm_set1_epi8(0x20)), 'a', 'z');
    const __m128i pc = _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('.')),
                                    _mm_cmpeq_epi8(x, _mm_set1_epi8(',')));
    // P1's class: printable ASCII except digits, letters, ', and , - .
    const __m128i not_symbol = _mm_or_si128(
        _mm_or_si128(digit, letter),
        _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('\'')), InRange(x, ',', '.')));
    const __m128i symbol = _mm_andnot_si128(not_symbol, InRange(x, ' ', '~'));
    const __m128i space = _mm_or_si128(InRange(x, 0x09, 0x0D), InRange(x, 0x1C, 0x20));
    const int shift = 16 * g;
    m.digit |= Bits16(digit) << shift;
    m.period_comma |= Bits16(pc) << shift;
    m.dash |= Bits16(_mm_cmpeq_epi8(x, _mm_set1_epi8('-'))) << shift;
    m.symbol |= Bits16(symbol) << shift;
    m.space |= Bits16(space) << shift;
    m.other |= Bits16(x) << shift;  // the sign bits
  }
#else
  for (std::size_t i = 0; i < 64 && i < valid; ++i) {
    const uint8_t cls = kClass.of[p[i]];
    m.digit |= static_cast<uint64_t>(Digit(p[i])) << i;
    m.period_comma |= static_cast<uint64_t>((cls & kPeriodComma) != 0) << i;
    m.dash |= static_cast<uint64_t>((cls & kDash) != 0) << i;
    m.symbol |= static_cast<uint64_t>((cls & kSymbol) != 0) << i;
    m.space |= static_cast<uint64_t>((cls & kAsciiSpace) != 0) << i;
    m.other |= static_cast<uint64_t>((cls & kNonAscii) != 0) << i;
  }
#endif
  if (valid < 64) {
    const uint64_t keep = (uint64_t{1} << valid) - 1;
    m.digit &= keep;
    m.period_comma &= keep;
    m.dash &= keep;
    m.symbol &= keep;
    m.space &= keep;
    m.other &= keep;
  }
  return m;
}

// Whether str.split() would split s at a non-ASCII character: whether
// decoding s from its start, as RegexpTokens' general path does, meets Python
// whitespace beyond ASCII (U+00A0, U+3000, ...). Without any, that path
// treats every non-ASCII byte as a token byte: the 13a rules only look at
// ASCII bytes and their neighbours, a cut only falls on an ASCII byte or
// the byte after one (a character boundary, or a malformed byte, which
// decodes alone), and none of the rules counts a non-ASCII byte as a digit.
bool HasUnicodeSpace(std::string_view s) noexcept {
  const auto* c = reinterpret_cast<const unsigned char*>(s.data());
  for (std::size_t i = 0; i < s.size();) {
    if (c[i] < 0x80) {
      ++i;
    } else if (text::IsPythonSpace(text::DecodeUtf8(s, i))) {
      return true;
    }
  }
  return false;
}

// RegexpTokens for text without Python whitespace beyond ASCII (see
// HasUnicodeSpace) in which no two periods/commas are adjacent (nearly every
// segment): then whether re.sub consumed a byte never
// matters, and the passes reduce to per-byte rules on the neighbours, done
// here 64 bytes at a time on bit masks. A period/comma v at i is cut on
// both sides when P2 or P3 matches it: P2 when i > 0 and s[i-1] is not a
// digit, P3 when s[i+1] exists and is not a digit (or P2 matched), so it is
// kept whole only between digits or at an end next to one. A symbol is cut
// on both sides (P1), and so is a dash after a digit (P4). Returns false,
// having produced nothing, when the text does not qualify.
bool RegexpTokensFast(std::string_view s, TokenizedText& out) {
  const std::size_t n = s.size();
  const auto* c = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t words = (n + 63) / 64;
  std::vector<uint64_t>& masks = out.masks;  // 5 a word: digit, period_comma, dash, symbol, space
  if (masks.size() < 5 * words + 5) masks.resize(5 * words + 5);
  uint64_t any_other = 0;
  uint64_t adjacent_pc = 0;
  uint64_t previous_pc_high = 0;
  for (std::size_t w = 0; w < words; ++w) {
    const ByteMasks m = ClassifyWord(c + 64 * w, n - 64 * w);
    any_other |= m.other;
    adjacent_pc |= m.period_comma & ((m.period_comma << 1) | previous_pc_high);
    previous_pc_high = m.period_comma >> 63;
    uint64_t* out_w = masks.data() + 5 * w;
    out_w[0] = m.digit;
    out_w[1] = m.period_comma;
    out_w[2] = m.dash;
    out_w[3] = m.symbol;
    out_w[4] = m.space;
  }
  if (adjacent_pc != 0 || (any_other != 0 && HasUnicodeSpace(s))) return false;
  // A word past the end: no digits, and the bytes count as spaces.
  uint64_t* tail = masks.data() + 5 * words;
  tail[0] = tail[1] = tail[2] = tail[3] = 0;
  tail[4] = ~uint64_t{0};

  // Both only grow: a shrink would make the next grow zero-fill.
  std::vector<uint32_t>& bounds = out.bounds;  // token starts
  if (bounds.size() < n + 2) bounds.resize(n + 2);
  uint32_t* starts = bounds.data();
  std::size_t start_count = 0;
  std::vector<uint32_t>& ends = out.marks;  // token ends
  if (ends.size() < n + 2) ends.resize(n + 2);
  std::size_t end_count = 0;
  uint64_t prev_digit = 0, prev_not_digit = 0, prev_cut_source = 0, prev_token = 0;
  for (std::size_t w = 0; w < words; ++w) {
    const uint64_t* m = masks.data() + 5 * w;
    const std::size_t valid = n - 64 * w;
    const uint64_t in_text = valid >= 64 ? ~uint64_t{0} : (uint64_t{1} << valid) - 1;
    const uint64_t digit = m[0];
    const uint64_t not_digit = ~digit & in_text;
    const uint64_t next_not_digit_low = ~m[5] & (valid > 64 ? 1 : 0);  // byte 64(w+1)
    const uint64_t not_digit_before = (not_digit << 1) | prev_not_digit;  // bit i: s[i-1]
    const uint64_t not_digit_after = (not_digit >> 1) | ((next_not_digit_low & 1) << 63);
    const uint64_t digit_before = (digit << 1) | prev_digit;
    const uint64_t cut_source = m[3] | (m[2] & digit_before) |
                                (m[1] & (not_digit_before | not_digit_after));
    const uint64_t cut = cut_source | (cut_source << 1) | prev_cut_source;
    const uint64_t token = ~m[4] & in_text;  // bytes inside tokens
    const uint64_t token_before = (token << 1) | prev_token;
    uint64_t start_bits = token & (~token_before | cut);
    uint64_t end_bits = token_before & (~token | cut) & in_text;
    const auto base = static_cast<uint32_t>(64 * w);
    for (; start_bits != 0; start_bits &= start_bits - 1)
      starts[start_count++] = base + static_cast<uint32_t>(__builtin_ctzll(start_bits));
    for (; end_bits != 0; end_bits &= end_bits - 1)
      ends[end_count++] = base + static_cast<uint32_t>(__builtin_ctzll(end_bits));
    prev_digit = digit >> 63;
    prev_not_digit = not_digit >> 63;
    prev_cut_source = cut_source >> 63;
    prev_token = token >> 63;
  }
  if (n > 0 && !(kClass.of[c[n - 1]] & kAsciiSpace)) ends[end_count++] = static_cast<uint32_t>(n);
  out.tokens.resize(start_count);
  for (std::size_t k = 0; k < start_count; ++k)
    out.tokens[k] = std::string_view(s.data() + starts[k], ends[k] - starts[k]);
  return true;
}

void RegexpTokens(std::string_view s, TokenizedText& out) {
  if (RegexpTokensFast(s, out)) return;
  const std::size_t n = s.size();
  const auto* c = reinterpret_cast<const unsigned char*>(s.data());
  std::vector<uint8_t>& f = out.flags;
  f.assign(n + 1, 0);
  std::vector<uint32_t>& marks = out.marks;  // positions of P1..P4 class bytes
  // Every position is written and the end advances only on a mark: whether a
  // byte is punctuation is unpredictable, and push_back costs a check each.
  // The vector only grows (a shrink would make the next grow zero-fill).
  if (marks.size() < n + 1) marks.resize(n + 1);
  std::size_t mark_count = 0;
  uint8_t seen = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const uint8_t cls = kClass.of[c[i]];
    seen |= cls;
    marks[mark_count] = static_cast<uint32_t>(i);
    mark_count += (cls & (kSymbol | kPeriodComma | kDash)) != 0;
  }
  const uint32_t* const marks_end = marks.data() + mark_count;
  const bool has_non_ascii = seen & kNonAscii;

  // P2, in increasing position so that f[i-1] is final when s[i] is decided.
  for (const uint32_t* m = marks.data(); m != marks_end; ++m) {
    const uint32_t i = *m;
    if (i == 0 || !PeriodOrComma(c[i]) || Digit(c[i - 1])) continue;
    if (PeriodOrComma(c[i - 1]) && (f[i - 1] & kP2)) continue;
    f[i] |= kP2;
  }
  // P3 (needs P2 at i and i+1), then the cuts every pass makes.
  for (const uint32_t* m = marks.data(); m != marks_end; ++m) {
    const uint32_t i = *m;
    const uint8_t cls = kClass.of[c[i]];
    if (cls & kPeriodComma) {
      const bool p2 = f[i] & kP2;
      const bool has_next = i + 1 < n;
      const bool next_not_digit = p2 || (has_next && ((f[i + 1] & kP2) || !Digit(c[i + 1])));
      const bool consumed = !p2 && i >= 1 && PeriodOrComma(c[i - 1]) && !(f[i - 1] & kP2) &&
                            (f[i - 1] & kP3);
      if ((p2 || has_next) && next_not_digit && !consumed) f[i] |= kP3;
      if (f[i] & (kP2 | kP3)) {
        f[i] |= kCutBefore;      // P2: between u and v; P3: before x
        f[i + 1] |= kCutBefore;  // P2: after v; P3: between x and y
      }
    } else if (cls & kSymbol) {
      f[i] |= kCutBefore;
      f[i + 1] |= kCutBefore;
    } else if (i >= 1 && Digit(c[i - 1])) {  // a dash after a digit
      f[i] |= kCutBefore;
      f[i + 1] |= kCutBefore;
    }
  }

  // str.split() plus the cuts.
  out.tokens.clear();
  if (!has_non_ascii) {
    SplitAsciiAtCuts(s, f, out);
    return;
  }
  std::size_t start = 0;
  bool in_token = false;
  for (std::size_t i = 0; i < n;) {
    const uint8_t cls = kClass.of[c[i]];
    std::size_t width = 1;
    bool space = cls & kAsciiSpace;
    if (cls & kNonAscii) {
      std::size_t next = i;
      space = text::IsPythonSpace(text::DecodeUtf8(s, next));
      width = next - i;
    }
    if (in_token && (space || (f[i] & kCutBefore))) {
      out.tokens.push_back(s.substr(start, i - start));
      in_token = false;
    }
    if (!space && !in_token) {
      start = i;
      in_token = true;
    }
    i += width;
  }
  if (in_token) out.tokens.push_back(s.substr(start, n - start));
}

void ReplaceAll(std::string& s, std::string_view from, std::string_view to) {
  std::size_t pos = s.find(from);
  if (pos == std::string::npos) return;
  std::string out;
  out.reserve(s.size());
  std::size_t last = 0;
  for (; pos != std::string::npos; pos = s.find(from, last)) {
    out.append(s, last, pos - last);
    out.append(to);
    last = pos + from.size();
  }
  out.append(s, last, std::string::npos);
  s.swap(out);
}

// Tokenizer13a's language-independent part and its " {} " padding; the
// result goes through RegexpTokens.
void Prepare13a(std::string_view line, std::string& s) {
  s.assign(" ");
  s.append(line);
  // mteval-v13a's language-independent part, in sacrebleu's order.
  // memchr scans a word at a time; a byte loop was 8% of sentence BLEU.
  auto contains = [line](char c) { return std::memchr(line.data(), c, line.size()) != nullptr; };
  if (!line.empty() && (contains('<') || contains('&') || contains('\n'))) {
    ReplaceAll(s, "<skipped>", "");
    ReplaceAll(s, "-\n", "");
    ReplaceAll(s, "\n", " ");
    ReplaceAll(s, "&quot;", "\"");
    ReplaceAll(s, "&amp;", "&");
    ReplaceAll(s, "&lt;", "<");
    ReplaceAll(s, "&gt;", ">");
  }
  s.push_back(' ');
}

void TokenizeIntl(std::string_view line, std::string& s) {
  std::u32string a;
  std::u32string b;
  text::DecodeUtf8All(line, a);
  // Separate out punctuations preceded by a non-digit
  SubstitutePair(a, b, [](char32_t c) { return !text::IsNumber(c); },
                 [](char32_t c) { return text::IsPunctuation(c); }, false);
  // Separate out punctuations followed by a non-digit
  SubstitutePair(b, a, [](char32_t c) { return text::IsPunctuation(c); },
                 [](char32_t c) { return !text::IsNumber(c); }, true);
  // Separate out symbols
  SubstituteSingle(a, b, [](char32_t c) { return text::IsSymbol(c); });
  s.clear();
  for (char32_t c : b) text::AppendUtf8(s, c);
}

// sacrebleu's TokenizerZh._is_chinese_char. Its table writes two ranges as
// '\u20000'..'\u2a6d6' and '\u2f800'..'\u2fa1d', meaning Extension B and the
// Compatibility Supplement; but '\u20000' is the two-character string
// U+2000 '0', so Python's string comparison actually selects U+2001..U+2A6D
// and U+2F81..U+2FA1 (general punctuation, arrows, math and other symbols),
// and real Extension B characters are not matched. Scores must agree with
// sacrebleu, so the effective ranges are reproduced, not the intended ones.
bool IsSacrebleuChineseChar(char32_t c) noexcept {
  static constexpr char32_t kRanges[][2] = {
      {0x3400, 0x4DB5}, {0x4E00, 0x9FA5}, {0x9FA6, 0x9FBB}, {0xF900, 0xFA2D}, {0xFA30, 0xFA6A},
      {0xFA70, 0xFAD9}, {0x2001, 0x2A6D}, {0x2F81, 0x2FA1}, {0xFF00, 0xFFEF}, {0x2E80, 0x2EFF},
      {0x3000, 0x303F}, {0x31C0, 0x31EF}, {0x2F00, 0x2FDF}, {0x2FF0, 0x2FFF}, {0x3100, 0x312F},
      {0x31A0, 0x31BF}, {0xFE10, 0xFE1F}, {0xFE30, 0xFE4F}, {0x2600, 0x26FF}, {0x2700, 0x27BF},
      {0x3200, 0x32FF}, {0x3300, 0x33FF},
  };
  for (const auto& r : kRanges)
    if (c >= r[0] && c <= r[1]) return true;
  return false;
}

// TokenizerZh: spaces around sacrebleu's "Chinese" characters; the result
// goes through RegexpTokens.
void PrepareZh(std::string_view line, std::string& s) {
  const std::string_view stripped = text::StripPython(line);
  s.clear();
  for (std::size_t pos = 0; pos < stripped.size();) {
    const char32_t c = text::DecodeUtf8(stripped, pos);
    if (IsSacrebleuChineseChar(c)) {
      s.push_back(' ');
      text::AppendUtf8(s, c);
      s.push_back(' ');
    } else {
      text::AppendUtf8(s, c);
    }
  }
}

void TokenizeChar(std::string_view line, std::string& s) {
  s.clear();
  for (std::size_t pos = 0; pos < line.size();) {
    const std::size_t start = pos;
    text::DecodeUtf8(line, pos);
    s.append(line.substr(start, pos - start));
    s.push_back(' ');
  }
}

}  // namespace

BleuTokenizer ParseBleuTokenizer(std::string_view name) {
  if (name == "13a") return BleuTokenizer::k13a;
  if (name == "intl") return BleuTokenizer::kIntl;
  if (name == "char") return BleuTokenizer::kChar;
  if (name == "zh") return BleuTokenizer::kZh;
  if (name == "none") return BleuTokenizer::kNone;
  throw Error(ErrorKind::kInvalidParameterValue,
              "unknown tokenizer \"" + std::string(name) + "\"", {},
              "Valid tokenizers are \"13a\", \"intl\", \"char\", \"zh\" and \"none\".");
}

const char* BleuTokenizerName(BleuTokenizer tokenizer) noexcept {
  switch (tokenizer) {
    case BleuTokenizer::k13a: return "13a";
    case BleuTokenizer::kIntl: return "intl";
    case BleuTokenizer::kChar: return "char";
    case BleuTokenizer::kZh: return "zh";
    case BleuTokenizer::kNone: return "none";
  }
  return "?";
}

void TokenizeForBleu(std::string_view text, BleuTokenizer tokenizer, bool lowercase,
                     TokenizedText& out) {
  std::string_view line = text;
  if (lowercase) {
    text::PyLowerInto(text, out.lowered);
    line = out.lowered;
  }
  line = text::RstripPython(line);
  // The text, then the padding the tokens' readers rely on (see TokenizedText).
  auto padded = [&out] {
    const std::size_t n = out.buffer.size();
    out.buffer.append(kTokenPad, '\0');
    return std::string_view(out.buffer.data(), n);
  };
  switch (tokenizer) {
    case BleuTokenizer::k13a:
      Prepare13a(line, out.buffer);
      RegexpTokens(padded(), out);
      return;
    case BleuTokenizer::kZh:
      PrepareZh(line, out.buffer);
      RegexpTokens(padded(), out);
      return;
    case BleuTokenizer::kIntl:
      TokenizeIntl(line, out.buffer);
      break;
    case BleuTokenizer::kChar:
      TokenizeChar(line, out.buffer);
      break;
    case BleuTokenizer::kNone:
      out.buffer.assign(line);
      break;
  }
  out.tokens.clear();
  text::SplitPythonWhitespace(padded(), out.tokens);
}

std::string BleuTokenizeString(std::string_view text, BleuTokenizer tokenizer) {
  TokenizedText t;
  TokenizeForBleu(text, tokenizer, false, t);
  std::string joined;
  for (std::size_t i = 0; i < t.tokens.size(); ++i) {
    if (i) joined.push_back(' ');
    joined.append(t.tokens[i]);
  }
  return joined;
}

}  // namespace llmeval::core::metrics
