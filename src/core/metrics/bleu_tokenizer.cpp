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

#include "core/error.hpp"
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

// Byte classes of the TokenizerRegexp passes, as lookup tables.
struct ByteClasses {
  bool symbol[256] = {};       // [\{-\~\[-\` -\&\(-\+\:-\@\/]
  bool interesting[256] = {};  // anything a pass can act on
  ByteClasses() {
    for (int c = 0; c < 256; ++c) {
      symbol[c] = Is13aSymbol(static_cast<unsigned char>(c));
      interesting[c] = symbol[c] || c == '.' || c == ',' || c == '-';
    }
  }
};
const ByteClasses kBytes;

// The passes below apply each re.sub to bytes, copying the unchanged text in
// chunks: a match can only occur at a period, comma, dash or symbol byte, so
// only those are examined. re.sub scans left to right and resumes after each
// match; `next` is that resume position, so a byte consumed by one match
// cannot start the next, exactly as in the regular expression engine.

inline bool PeriodOrComma(unsigned char c) noexcept { return c == '.' || c == ','; }
inline bool Digit(unsigned char c) noexcept { return c >= '0' && c <= '9'; }

// ([\{-\~\[-\` -\&\(-\+\:-\@\/]) -> ' \1 '
void SeparateSymbols(const std::string& in, std::string& out) {
  out.clear();
  std::size_t last = 0;
  for (std::size_t i = 0; i < in.size(); ++i) {
    const auto c = static_cast<unsigned char>(in[i]);
    if (!kBytes.symbol[c]) continue;
    out.append(in, last, i - last);
    out.push_back(' ');
    out.push_back(static_cast<char>(c));
    out.push_back(' ');
    last = i + 1;
  }
  out.append(in, last, std::string::npos);
}

// ([^0-9])([\.,]) -> '\1 \2 '
void SplitPeriodCommaAfterNonDigit(const std::string& in, std::string& out) {
  out.clear();
  const auto* b = reinterpret_cast<const unsigned char*>(in.data());
  std::size_t last = 0;
  std::size_t next = 0;
  for (std::size_t i = 1; i < in.size(); ++i) {
    if (!PeriodOrComma(b[i]) || i - 1 < next || Digit(b[i - 1])) continue;
    out.append(in, last, i - last);
    out.push_back(' ');
    out.push_back(static_cast<char>(b[i]));
    out.push_back(' ');
    last = next = i + 1;
  }
  out.append(in, last, std::string::npos);
}

// ([\.,])([^0-9]) -> ' \1 \2'
void SplitPeriodCommaBeforeNonDigit(const std::string& in, std::string& out) {
  out.clear();
  const auto* b = reinterpret_cast<const unsigned char*>(in.data());
  std::size_t last = 0;
  std::size_t next = 0;
  for (std::size_t i = 0; i + 1 < in.size(); ++i) {
    if (!PeriodOrComma(b[i]) || i < next || Digit(b[i + 1])) continue;
    out.append(in, last, i - last);
    out.push_back(' ');
    out.push_back(static_cast<char>(b[i]));
    out.push_back(' ');
    out.push_back(static_cast<char>(b[i + 1]));
    last = next = i + 2;
  }
  out.append(in, last, std::string::npos);
}

// ([0-9])(-) -> '\1 \2 '. A digit is never consumed by a previous match
// (only dashes are), so no resume position is needed.
void SplitDashAfterDigit(const std::string& in, std::string& out) {
  out.clear();
  const auto* b = reinterpret_cast<const unsigned char*>(in.data());
  std::size_t last = 0;
  for (std::size_t i = 1; i < in.size(); ++i) {
    if (b[i] != '-' || !Digit(b[i - 1])) continue;
    out.append(in, last, i - last);
    out.append(" - ");
    last = i + 1;
  }
  out.append(in, last, std::string::npos);
}

// sacrebleu's TokenizerRegexp passes (shared by 13a and zh), in place on `s`.
void RegexpPasses(std::string& s, std::string& scratch) {
  bool symbols = false;
  bool punctuation = false;
  for (unsigned char c : s) {
    symbols |= kBytes.symbol[c];
    punctuation |= kBytes.interesting[c] && !kBytes.symbol[c];
  }
  if (symbols) {
    SeparateSymbols(s, scratch);
    s.swap(scratch);
  }
  // Text without periods, commas or dashes passes the other three unchanged.
  if (!punctuation) return;
  SplitPeriodCommaAfterNonDigit(s, scratch);
  SplitPeriodCommaBeforeNonDigit(scratch, s);
  SplitDashAfterDigit(s, scratch);
  s.swap(scratch);
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

void Tokenize13a(std::string_view line, std::string& s, std::string& scratch) {
  s.assign(" ");
  s.append(line);
  // mteval-v13a's language-independent part, in sacrebleu's order.
  bool needs_replacements = false;
  for (char c : line) needs_replacements |= (c == '<' || c == '&' || c == '\n');
  if (needs_replacements) {
    ReplaceAll(s, "<skipped>", "");
    ReplaceAll(s, "-\n", "");
    ReplaceAll(s, "\n", " ");
    ReplaceAll(s, "&quot;", "\"");
    ReplaceAll(s, "&amp;", "&");
    ReplaceAll(s, "&lt;", "<");
    ReplaceAll(s, "&gt;", ">");
  }
  s.push_back(' ');
  RegexpPasses(s, scratch);
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

void TokenizeZh(std::string_view line, std::string& s, std::string& scratch) {
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
  RegexpPasses(s, scratch);
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

void RunTokenizer(std::string_view line, BleuTokenizer tokenizer, std::string& s,
                  std::string& scratch) {
  switch (tokenizer) {
    case BleuTokenizer::k13a:
      Tokenize13a(line, s, scratch);
      return;
    case BleuTokenizer::kIntl:
      TokenizeIntl(line, s);
      return;
    case BleuTokenizer::kZh:
      TokenizeZh(line, s, scratch);
      return;
    case BleuTokenizer::kChar:
      TokenizeChar(line, s);
      return;
    case BleuTokenizer::kNone:
      s.assign(line);
      return;
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
  RunTokenizer(line, tokenizer, out.buffer, out.scratch);
  out.tokens.clear();
  text::SplitPythonWhitespace(out.buffer, out.tokens);
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
