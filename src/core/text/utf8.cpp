#include "core/text/utf8.hpp"

namespace llmeval::core::text {

char32_t DecodeUtf8(std::string_view s, std::size_t& pos) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  const unsigned char b0 = p[pos];
  if (b0 < 0x80) {
    ++pos;
    return b0;
  }
  int len;
  char32_t cp;
  char32_t min;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    ++pos;
    return kReplacementChar;
  }
  if (pos + len > n) {
    ++pos;
    return kReplacementChar;
  }
  for (int i = 1; i < len; ++i) {
    const unsigned char b = p[pos + i];
    if ((b & 0xC0) != 0x80) {
      ++pos;
      return kReplacementChar;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    ++pos;
    return kReplacementChar;
  }
  pos += len;
  return cp;
}

void AppendUtf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

void DecodeUtf8All(std::string_view s, std::u32string& out) {
  out.reserve(out.size() + s.size());
  for (std::size_t pos = 0; pos < s.size();) out.push_back(DecodeUtf8(s, pos));
}

bool IsAscii(std::string_view s) noexcept {
  for (unsigned char c : s)
    if (c >= 0x80) return false;
  return true;
}

// Python's definition (Objects/unicodetype_db.h, _PyUnicode_IsWhitespace):
// bidirectional class WS, B or S, or general category Zs. The set is small
// and stable, and it is not what ICU's u_isspace or u_isWhitespace return
// (both differ on U+001C..U+001F, U+0085, U+00A0, U+200B), so it is spelled out.
bool IsPythonSpace(char32_t cp) noexcept {
  if (cp < 0x80) return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20);
  switch (cp) {
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029:
    case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

namespace {

// Fast path for the common ASCII byte; falls back to decoding otherwise.
// Returns the byte length of a whitespace code point at pos, or 0.
inline std::size_t SpaceLengthAt(std::string_view s, std::size_t pos) noexcept {
  const unsigned char b = static_cast<unsigned char>(s[pos]);
  if (b < 0x80) return IsAsciiPythonSpace(b) ? 1 : 0;
  std::size_t next = pos;
  const char32_t cp = DecodeUtf8(s, next);
  return IsPythonSpace(cp) ? next - pos : 0;
}

inline std::size_t CharLengthAt(std::string_view s, std::size_t pos) noexcept {
  if (static_cast<unsigned char>(s[pos]) < 0x80) return 1;
  std::size_t next = pos;
  DecodeUtf8(s, next);
  return next - pos;
}

}  // namespace

void SplitPythonWhitespace(std::string_view s, std::vector<std::string_view>& out) {
  std::size_t pos = 0;
  const std::size_t n = s.size();
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  while (pos < n) {
    std::size_t space;
    while (pos < n && (space = SpaceLengthAt(s, pos)) != 0) pos += space;
    if (pos >= n) break;
    const std::size_t start = pos;
    while (pos < n) {
      // ASCII letters and digits dominate: skip them without decoding.
      if (p[pos] < 0x80) {
        if (IsAsciiPythonSpace(p[pos])) break;
        ++pos;
      } else {
        if (SpaceLengthAt(s, pos) != 0) break;
        pos += CharLengthAt(s, pos);
      }
    }
    out.push_back(s.substr(start, pos - start));
  }
}

namespace {

std::string_view RstripSlow(std::string_view s) noexcept {
  // Walk forward remembering the end of the last non-space character: UTF-8
  // cannot be decoded backwards safely when it may be malformed.
  std::size_t end = 0;
  for (std::size_t pos = 0; pos < s.size();) {
    const std::size_t space = SpaceLengthAt(s, pos);
    if (space != 0) {
      pos += space;
    } else {
      pos += CharLengthAt(s, pos);
      end = pos;
    }
  }
  return s.substr(0, end);
}

}  // namespace

std::string_view RstripPython(std::string_view s) noexcept {
  // ASCII tail (the usual case): strip backwards directly.
  std::size_t end = s.size();
  while (end > 0 && static_cast<unsigned char>(s[end - 1]) < 0x80) {
    if (!IsAsciiPythonSpace(static_cast<unsigned char>(s[end - 1]))) return s.substr(0, end);
    --end;
  }
  if (end == 0) return s.substr(0, 0);
  return RstripSlow(s.substr(0, end));
}

std::string_view StripPython(std::string_view s) noexcept {
  std::size_t start = 0;
  std::size_t space;
  while (start < s.size() && (space = SpaceLengthAt(s, start)) != 0) start += space;
  return RstripPython(s.substr(start));
}

std::size_t CodePointCount(std::string_view s) noexcept {
  std::size_t count = 0;
  for (std::size_t pos = 0; pos < s.size(); ++count) pos += CharLengthAt(s, pos);
  return count;
}

}  // namespace llmeval::core::text
